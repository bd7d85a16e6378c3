"""Training loop: schedule, batches, falling loss, callbacks, exact resume, the command line, DDP."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gptviz import GPT, GPTConfig
from gptviz.training import Callback, TrainConfig, train, train_bpe
from gptviz.training.cli import main
from gptviz.training.corpus import induction_corpus
from gptviz.training.evaluate import encode_documents, ngram_baselines, stream_loss
from gptviz.training.train import learning_rate, sample_batch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def induction_data():
    """Byte-level tokens (V = 257) of the induction corpus, as train and validation streams."""
    corpus = induction_corpus(n_train=400, n_val=40, length=8, alphabet="abcdefgh", seed=0)
    tokenizer = train_bpe(corpus.train, 257)
    return encode_documents(tokenizer, corpus.train), encode_documents(tokenizer, corpus.val)


def _model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=257, block_size=32, n_layer=2, n_head=2, n_embd=32))


class Recorder(Callback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.events: list[tuple[str, int]] = []
        self.stop_at = stop_at

    def on_step_end(self, state, metrics):
        self.events.append(("step", state.step))
        if state.step == self.stop_at:
            raise KeyboardInterrupt

    def on_eval(self, state, metrics):
        self.events.append(("eval", state.step))

    def on_checkpoint(self, state, directory):
        self.events.append(("checkpoint", state.step))


def test_learning_rate_schedule():
    config = TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)

    assert learning_rate(0, config) == pytest.approx(0.1)
    assert learning_rate(9, config) == pytest.approx(1.0)
    assert learning_rate(55, config) == pytest.approx(0.55)
    assert learning_rate(100, config) == pytest.approx(0.1)
    assert all(learning_rate(s, config) >= learning_rate(s + 1, config) for s in range(10, 100))


def test_sample_batch_shift_and_seed():
    ids = torch.arange(1000)
    inputs, targets = sample_batch(ids, 4, 16, seed=0, step=3)
    again, _ = sample_batch(ids, 4, 16, seed=0, step=3)
    other, _ = sample_batch(ids, 4, 16, seed=0, step=4)

    assert inputs.shape == (4, 16)
    assert torch.equal(targets, inputs + 1)
    assert torch.equal(inputs, again)
    assert not torch.equal(inputs, other)


def test_sample_batch_short_stream():
    with pytest.raises(ValueError, match="fewer than block_size"):
        sample_batch(torch.arange(10), 2, 16, seed=0, step=0)


def test_loss_falls_on_induction_corpus(induction_data):
    train_ids, val_ids = induction_data
    model = _model()
    state = train(model, train_ids, val_ids, TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5,
                                                         eval_every=0, eval_batches=2))
    losses = [h["loss"] for h in state.history if "loss" in h]
    val_loss = [h["val_loss"] for h in state.history if "val_loss" in h]

    assert losses[0] > math.log(257) - 0.5
    assert sum(losses[-5:]) / 5 < losses[0] - 2.0
    assert val_loss[-1] < math.log(8) + 0.3  # below 257-way guessing, near uniform over 8 letters


def test_callbacks_see_steps_evals_checkpoints(induction_data, tmp_path):
    train_ids, val_ids = induction_data
    recorder = Recorder()
    train(_model(), train_ids, val_ids, TrainConfig(steps=4, batch_size=2, eval_every=2, eval_batches=1,
                                                    checkpoint_every=3), callbacks=[recorder], checkpoint_dir=tmp_path)

    assert recorder.events == [("step", 1), ("step", 2), ("eval", 2), ("step", 3), ("checkpoint", 3),
                               ("step", 4), ("eval", 4), ("checkpoint", 4)]


def test_resume_matches_uninterrupted_run(induction_data, tmp_path):
    train_ids, val_ids = induction_data
    config = TrainConfig(steps=8, batch_size=4, warmup_steps=2, eval_every=4, eval_batches=1, checkpoint_every=4)
    whole = train(_model(), train_ids, val_ids, config)

    # Interrupt a second run after its step-4 checkpoint, then resume in a fresh model.
    with pytest.raises(KeyboardInterrupt):
        train(_model(), train_ids, val_ids, config, callbacks=[Recorder(stop_at=5)], checkpoint_dir=tmp_path)
    resumed = train(_model(seed=99), train_ids, val_ids, config, resume_from=tmp_path)

    assert resumed.step == 8
    assert [h.get("loss", h.get("val_loss")) for h in resumed.history] == pytest.approx(
        [h.get("loss", h.get("val_loss")) for h in whole.history], abs=1e-6)


def test_resume_needs_trainer_state(induction_data, tmp_path):
    from gptviz import checkpoints

    checkpoints.save(_model(), tmp_path)
    with pytest.raises(FileNotFoundError, match="optimizer.safetensors"):
        train(_model(), *induction_data, TrainConfig(steps=2), resume_from=tmp_path)


def test_stream_loss_counts_every_token(induction_data):
    model = _model().eval()
    _, val_ids = induction_data
    result = stream_loss(model, val_ids, chars=1000)

    assert result.tokens == (val_ids.numel() - 1) // 32 * 32
    assert result.per_token == pytest.approx(result.nats / result.tokens)


def test_bigram_beats_unigram_on_induction(induction_data):
    baselines = ngram_baselines(*induction_data, vocab_size=257)

    assert baselines["bigram_interpolated"] <= baselines["unigram_add_one"]
    assert baselines["unigram_add_one"] < math.log(257)


def test_command_line_writes_model_and_provenance(tmp_path):
    out = tmp_path / "model"
    status = main(["--corpus", "induction", "--vocab-size", "257", "--n-layer", "1", "--n-head", "2",
                   "--n-embd", "16", "--block-size", "32", "--steps", "6", "--batch-size", "4",
                   "--warmup-steps", "2", "--eval-every", "3", "--eval-batches", "1", "--sample-tokens", "5",
                   "--out", str(out)])
    record = json.loads((out / "provenance.json").read_text())

    assert status == 0
    assert {"model.safetensors", "config.json", "tokenizer.tiktoken", "tokenizer.json"} <= set(os.listdir(out))
    assert record["command"].startswith("python -m gptviz.training --corpus induction")
    assert record["training"]["steps_done"] == 6
    assert set(record["final"]) >= {"val_nats_per_token", "val_nats_per_char", "train_nats_per_token"}
    assert set(record["baselines_val_nats_per_token"]) >= {"unigram_add_one", "bigram_add_one"}


def test_parser_lists_train_config_fields():
    from gptviz.training import build_parser

    help_text = build_parser().format_help()

    assert all(f"--{name}" in help_text for name in ("corpus", "steps", "warmup-steps", "grad-clip", "resume"))


@pytest.mark.slow
def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "gptviz.train", "--help"], capture_output=True, text=True,
                            cwd=REPO, check=False)

    assert result.returncode == 0
    assert "--corpus" in result.stdout


DDP_SCRIPT = textwrap.dedent("""
    import sys, torch
    from safetensors.torch import save_file
    from gptviz import GPT, GPTConfig
    from gptviz.training import TrainConfig, train, train_bpe
    from gptviz.training.corpus import induction_corpus
    from gptviz.training.evaluate import encode_documents
    from gptviz.training.state import close_distributed, init_distributed

    torch.set_num_threads(1)
    rank, world_size, device = init_distributed()
    corpus = induction_corpus(n_train=200, n_val=20, length=8, seed=0)
    tokenizer = train_bpe(corpus.train, 257)
    ids = encode_documents(tokenizer, corpus.train)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=257, block_size=32, n_layer=1, n_head=2, n_embd=16))
    state = train(model, ids, None, TrainConfig(steps=5, batch_size=4, warmup_steps=1))
    weights = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(weights, f"{sys.argv[1]}/rank{rank}.safetensors")
    with open(f"{sys.argv[1]}/rank{rank}.loss", "w") as f:
        f.write(repr([h["loss"] for h in state.history]))
    close_distributed()
""")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_ranks_hold_identical_weights(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
               "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), str(script), str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]

    rank0 = load_file(str(tmp_path / "rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "rank1.safetensors"))
    torch.manual_seed(0)
    initial = GPT(GPTConfig(vocab_size=257, block_size=32, n_layer=1, n_head=2, n_embd=16)).state_dict()
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert not torch.equal(rank0["embed.token.weight"], initial["embed.token.weight"])
    # Each rank drew its own batches, so their local losses differ.
    assert (tmp_path / "rank0.loss").read_text() != (tmp_path / "rank1.loss").read_text()

"""Command line for training: corpus -> BPE vocabulary -> GPT -> checkpoint with provenance.

Run ``python -m gptviz.training --help``. The same ``main`` runs under ``torchrun`` for
DistributedDataParallel training.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import tiktoken
import torch

from gptviz import checkpoints
from gptviz.config import GPTConfig
from gptviz.model import GPT
from gptviz.tokenizer import Tokenizer
from gptviz.training import evaluate
from gptviz.training.bpe import train_bpe
from gptviz.training.corpus import Corpus, load_corpus
from gptviz.training.state import close_distributed, init_distributed
from gptviz.training.train import LoggingCallback, TrainConfig, train

logger = logging.getLogger(__name__)

PROVENANCE_FILE = "provenance.json"


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``python -m gptviz.training`` (and ``gptviz train``)."""
    parser = argparse.ArgumentParser(
        prog="python -m gptviz.training",
        description="Train a GPT by maximum likelihood and write a checkpoint with a provenance record.",
    )
    data = parser.add_argument_group("data and vocabulary")
    data.add_argument("--corpus", default="shakespeare",
                      help="'shakespeare', 'induction', 'qa' or the path of a UTF-8 text file")
    data.add_argument("--tokenizer", default="bpe",
                      help="'bpe' trains a vocabulary on the training split; 'gpt2' uses tiktoken's; "
                           "or the path of a .tiktoken file")
    data.add_argument("--vocab-size", type=int, default=4096, help="V for --tokenizer bpe (ids, specials included)")
    data.add_argument("--compare-vocab-sizes", default="",
                      help="comma-separated V values whose characters per token are recorded in provenance")
    data.add_argument("--name", default=None, help="vocabulary and model name (default: the corpus name)")

    shape = parser.add_argument_group("model shape (ignored with --resume)")
    shape.add_argument("--n-layer", type=int, default=4)
    shape.add_argument("--n-head", type=int, default=4)
    shape.add_argument("--n-embd", type=int, default=128)
    shape.add_argument("--block-size", type=int, default=256, help="context length T in tokens")
    shape.add_argument("--dropout", type=float, default=0.0)
    shape.add_argument("--positional", choices=["learned", "sinusoidal"], default="learned")
    shape.add_argument("--norm", choices=["pre", "post"], default="pre")

    opt = parser.add_argument_group("optimization")
    for field in dataclasses.fields(TrainConfig):
        opt.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default,
                         help=f"TrainConfig.{field.name} (default {field.default})")

    run = parser.add_argument_group("run")
    run.add_argument("--out", type=Path, required=True, help="output directory for the final model")
    run.add_argument("--checkpoint-dir", type=Path, default=None,
                     help="directory for resumable checkpoints (weights + optimizer state)")
    run.add_argument("--resume", type=Path, default=None, help="continue from a resumable checkpoint directory")
    run.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    run.add_argument("--device", default=None, help="'cpu', 'cuda', ... (default: cuda when available)")
    run.add_argument("--log-every", type=int, default=50, help="log the training loss every this many steps")
    run.add_argument("--sample-prompt", default="", help="prompt of the sample stored in provenance")
    run.add_argument("--sample-tokens", type=int, default=200, help="tokens in that sample (0: no sample)")
    run.add_argument("--progress", action="store_true", help="show a progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the training command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    started = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world_size, device = init_distributed()
    if args.device:
        device = torch.device(args.device)
    try:
        tconfig = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})
        corpus = load_corpus(args.corpus, seed=args.seed)
        tokenizer, vocab_info = _tokenizer(args, corpus)
        train_ids = evaluate.encode_documents(tokenizer, corpus.train)
        val_ids = evaluate.encode_documents(tokenizer, corpus.val)
        logger.info("%s: %d training tokens, %d validation tokens", corpus.name, train_ids.numel(), val_ids.numel())

        torch.manual_seed(args.seed)
        config = checkpoints.load_config(args.resume) if args.resume else _model_config(args, tokenizer)
        model = GPT(config).to(device)
        extras = {"tokenizer": tokenizer}
        state = train(model, train_ids, val_ids, tconfig, callbacks=[LoggingCallback(args.log_every)],
                      progress=args.progress, checkpoint_dir=args.checkpoint_dir, resume_from=args.resume,
                      save_extras=extras)
        if rank == 0:
            record = _provenance(args, argv, corpus, tokenizer, vocab_info, model, tconfig, state, train_ids, val_ids)
            record["total_wall_time_s"] = round(time.perf_counter() - started, 1)
            write_model(args.out, model, tokenizer, record)
            logger.info("wrote %s: val loss %.4f nats/token, %.4f nats/char", args.out,
                        record["final"]["val_nats_per_token"], record["final"]["val_nats_per_char"])
    finally:
        close_distributed()
    return 0


def write_model(directory: Path, model: GPT, tokenizer: Tokenizer, record: dict[str, Any]) -> None:
    """Write weights, config, vocabulary and provenance into ``directory``."""
    checkpoints.save(model, directory, tokenizer=tokenizer)
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.name != PROVENANCE_FILE)
    record["files_bytes"] = {p.name: p.stat().st_size for p in files}
    (directory / PROVENANCE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _tokenizer(args: argparse.Namespace, corpus: Corpus) -> tuple[Tokenizer, dict[str, Any]]:
    """Load or train the vocabulary; returns it and facts about it for the provenance."""
    if args.resume:
        return Tokenizer.from_directory(args.resume), {"source": f"from the resumed checkpoint {args.resume}"}
    if args.tokenizer == "gpt2":
        return Tokenizer.from_tiktoken("gpt2"), {"source": "tiktoken gpt2"}
    if args.tokenizer != "bpe":
        return Tokenizer.from_file(args.tokenizer), {"source": f"file {Path(args.tokenizer).name}"}

    name = args.name or corpus.name
    began = time.perf_counter()
    tokenizer = train_bpe(corpus.train, args.vocab_size, name=name)
    info: dict[str, Any] = {
        "source": "byte-level BPE trained on the training split by gptviz.training.bpe.train_bpe",
        "pre_tokenization": "GPT-2 regex",
        "training_seconds": round(time.perf_counter() - began, 1),
    }
    sizes = [int(v) for v in args.compare_vocab_sizes.split(",") if v.strip()]
    info["val_chars_per_token"] = {
        str(v): round(corpus.val_chars / evaluate.encode_documents(tok, corpus.val).numel(), 3)
        for v, tok in [(args.vocab_size, tokenizer), *[(v, train_bpe(corpus.train, v)) for v in sizes]]
    }
    return tokenizer, info


def _model_config(args: argparse.Namespace, tokenizer: Tokenizer) -> GPTConfig:
    return GPTConfig(
        vocab_size=tokenizer.vocab_size, block_size=args.block_size, n_layer=args.n_layer, n_head=args.n_head,
        n_embd=args.n_embd, dropout=args.dropout, positional=args.positional, norm=args.norm,
    )


def _provenance(
    args: argparse.Namespace, argv: list[str] | None, corpus: Corpus, tokenizer: Tokenizer,
    vocab_info: dict[str, Any], model: GPT, tconfig: TrainConfig, state: Any,
    train_ids: torch.Tensor, val_ids: torch.Tensor,
) -> dict[str, Any]:
    """Everything needed to judge and rebuild the model: data, command, settings, losses."""
    argv = sys.argv[1:] if argv is None else argv
    val = evaluate.stream_loss(model, val_ids, corpus.val_chars)
    train_windows = 300
    trained = evaluate.stream_loss(model, train_ids, corpus.train_chars, max_windows=train_windows)
    baselines = evaluate.ngram_baselines(train_ids, val_ids, tokenizer.vocab_size)
    # The baselines predict every validation token after the first one.
    val_tokens_per_char = (val_ids.numel() - 1) / corpus.val_chars
    record: dict[str, Any] = {
        "name": args.name or corpus.name,
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m gptviz.training " + shlex.join(argv),
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "tiktoken": tiktoken.__version__, "threads": torch.get_num_threads(),
                        "world_size": state.world_size, "machine": platform.machine()},
        "corpus": {**corpus.source, "train_chars": corpus.train_chars, "val_chars": corpus.val_chars,
                   "train_tokens": train_ids.numel(), "val_tokens": val_ids.numel()},
        "vocabulary": {"name": tokenizer.name, "vocab_size": tokenizer.vocab_size,
                       "special_tokens": tokenizer.special_tokens, **vocab_info},
        "model": {"config": model.config.to_dict(), "parameters": model.num_parameters()},
        "training": {**tconfig.to_dict(), "steps_done": state.step, "wall_time_s": round(state.wall_time, 1),
                     "tokens_seen": state.step * tconfig.batch_size * model.config.block_size * state.world_size},
        "final": {
            "val_nats_per_token": round(val.per_token, 4),
            "val_nats_per_char": round(val.per_char, 4),
            "val_bits_per_char": round(evaluate.bits_per_char(val.per_char), 4),
            "train_nats_per_token": round(trained.per_token, 4),
            "train_nats_per_char": round(trained.per_char, 4),
            "how": "non-overlapping windows of block_size + 1 tokens sharing the boundary token; each split "
                   "is one stream with <|endoftext|> before every document; per-character figures divide "
                   f"summed nats by the characters of the documents; the training figure uses {train_windows} "
                   "evenly spaced windows, the validation figure the whole split",
        },
        "baselines_val_nats_per_token": {k: round(v, 4) for k, v in baselines.items()},
        "baselines_val_nats_per_char": {k: round(v * val_tokens_per_char, 4) for k, v in baselines.items()
                                        if k != "bigram_interpolation_weight"},
        "baselines_how": evaluate.ngram_baselines.__doc__.split("Smoothing:")[1].strip(),
        "history": _thin_history(state.history, args.log_every),
    }
    if args.sample_tokens:
        record["sample"] = {"prompt": args.sample_prompt, "temperature": 0.8, "seed": args.seed,
                            "text": evaluate.sample_text(model, tokenizer, args.sample_prompt, args.sample_tokens,
                                                         seed=args.seed)}
    return record


def _thin_history(history: list[dict[str, float]], every: int) -> list[dict[str, float]]:
    """Keep validation entries and every ``every``-th training entry, rounded."""
    thinned = [h for h in history if "val_loss" in h or int(h["step"]) % max(1, every) == 0]
    return [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in h.items()} for h in thinned]

import math

import pytest
import torch

import gptviz
from gptviz import Trace, trace


def test_token_logprobs_follow_convention(tiny_model):
    ids = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    tr = trace(tiny_model, ids)
    logprobs = torch.log_softmax(tiny_model(ids).logits[0], dim=-1)
    expected = torch.stack([logprobs[t, ids[t + 1]] for t in range(len(ids) - 1)])
    assert tr.token_logprobs.shape == (7,)
    assert torch.allclose(tr.token_logprobs, expected, atol=1e-6)
    assert math.isclose(tr.sequence_logprob, expected.sum().item(), rel_tol=1e-5)
    assert math.isclose(tr.perplexity, math.exp(-expected.mean().item()), rel_tol=1e-5)
    assert math.isclose(tr.bits_per_token, -expected.mean().item() / math.log(2), rel_tol=1e-5)


def test_logprobs_do_not_underflow():
    tr = Trace(torch.tensor([0, 1]), ["a", "b"], torch.tensor([[0.0, -200.0], [0.0, 0.0]]))
    assert tr.token_logprobs[0].item() == pytest.approx(-200.0)
    assert math.isfinite(tr.sequence_logprob)


def test_pattern_and_stack(tiny_model):
    tr = trace(tiny_model, [3, 1, 4, 1, 5])
    assert tr.pattern(1, 0).shape == (5, 5)
    assert torch.equal(tr.stack("attn.pattern")[1, 0], tr.pattern(1, 0))
    assert tr.stack("resid_post").shape == (2, 5, 16)
    assert tr["embed.pos"].shape == (5, 16)
    with pytest.raises(ValueError, match=r"layer must be an int in \[0, 2\), got 2"):
        tr.pattern(2, 0)
    with pytest.raises(ValueError, match=r"head must be an int in \[0, 2\), got 5"):
        tr.pattern(0, 5)


def test_trace_records_only_requested_names(tiny_model):
    tr = trace(tiny_model, [3, 1, 4], names="blocks.*.attn.pattern")
    assert sorted(tr.tensors) == ["blocks.0.attn.pattern", "blocks.1.attn.pattern"]
    with pytest.raises(KeyError, match="was not recorded"):
        tr["ln_f"]


def test_trace_tensors_are_cpu_and_detached(tiny_model):
    tr = trace(tiny_model, [3, 1, 4])
    for tensor in tr.tensors.values():
        assert tensor.device.type == "cpu"
        assert not tensor.requires_grad


def test_trace_restores_training_mode(tiny_model):
    tiny_model.train()
    trace(tiny_model, [1, 2])
    assert tiny_model.training


def test_trace_save_and_load_round_trip(tiny_model, tmp_path):
    tr = trace(tiny_model, [3, 1, 4, 1, 5])
    tr.save(tmp_path / "t")
    loaded = Trace.load(tmp_path / "t")
    assert torch.equal(loaded.ids, tr.ids)
    assert loaded.tokens == tr.tokens
    assert torch.equal(loaded.logits, tr.logits)
    assert set(loaded.tensors) == set(tr.tensors)
    assert torch.equal(loaded.pattern(1, 1), tr.pattern(1, 1))
    assert loaded.sequence_logprob == tr.sequence_logprob


def test_trace_load_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trace.safetensors"):
        Trace.load(tmp_path)


@pytest.mark.parametrize(
    ("args", "error", "fragment"),
    [
        (([],), ValueError, "no tokens"),
        (([1.5, 2.0],), TypeError, "must be integers"),
        (("hello",), TypeError, "needs a tokenizer"),
        ((torch.zeros(2, 3, dtype=torch.long),), ValueError, "trace one sequence"),
        (({1: 2},), TypeError, "expected a text or token ids"),
        (([40],), ValueError, "outside the vocabulary"),
    ],
)
def test_trace_bad_input(tiny_model, args, error, fragment):
    with pytest.raises(error, match=fragment):
        trace(tiny_model, *args)


def test_trace_rejects_non_model():
    with pytest.raises(TypeError, match="expected a gptviz.GPT"):
        trace(torch.nn.Linear(2, 2), [1, 2])


def test_trace_of_too_long_input_names_lengths(tiny_model):
    with pytest.raises(ValueError, match=r"sequence length 20 exceeds .*block_size=16"):
        trace(tiny_model, list(range(20)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trace_on_cuda_returns_cpu_tensors(tiny_model):
    model = tiny_model.to("cuda")
    tr = gptviz.trace(model, [1, 2, 3])
    assert all(t.device.type == "cpu" for t in tr.tensors.values())

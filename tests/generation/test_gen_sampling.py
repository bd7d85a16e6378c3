"""Sampling controls: argument checks, temperature, top-k, top-p and log-probabilities."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gptviz.generation import SamplingConfig, apply_sampling, steps
from gptviz.generation.sampling import check_logits, choose_token, entropy


def sampled(logits: list[float], **config) -> torch.Tensor:
    return apply_sampling(torch.tensor(logits), SamplingConfig(**config)).sampled_probs


@pytest.mark.parametrize(
    ("kwargs", "parameter", "allowed"),
    [
        ({"temperature": -1.0}, "temperature", ">= 0"),
        ({"temperature": float("nan")}, "temperature", ">= 0"),
        ({"temperature": float("inf")}, "temperature", ">= 0"),
        ({"top_k": 0}, "top_k", ">= 1"),
        ({"top_k": -1}, "top_k", ">= 1"),
        ({"top_p": 0.0}, "top_p", "(0, 1]"),
        ({"top_p": 1.5}, "top_p", "(0, 1]"),
        ({"top_p": -0.1}, "top_p", "(0, 1]"),
        ({"top_p": float("nan")}, "top_p", "(0, 1]"),
        ({"top_p": float("inf")}, "top_p", "(0, 1]"),
    ],
)
def test_invalid_parameter_names_range(model, tokenizer, kwargs, parameter, allowed):
    with pytest.raises(ValueError) as error:
        steps(model, tokenizer, "a", 1, **kwargs)
    assert parameter in str(error.value)
    assert allowed in str(error.value)


def test_non_number_parameters_raise_type_error():
    with pytest.raises(TypeError, match="temperature"):
        SamplingConfig(temperature="hot")
    with pytest.raises(TypeError, match="top_k"):
        SamplingConfig(top_k=2.5)
    with pytest.raises(TypeError, match="top_p"):
        SamplingConfig(top_p="0.9")


def test_temperature_zero_is_argmax():
    probs = sampled([0.1, 3.0, -2.0, 2.9], temperature=0)
    assert probs.tolist() == [0.0, 1.0, 0.0, 0.0]


def test_tiny_temperature_is_argmax_without_nan():
    logits = torch.tensor([0.1, 3.0, -2.0, 2.9, 1e4])
    dist = apply_sampling(logits, SamplingConfig(temperature=1e-8))
    assert not torch.isnan(dist.sampled_probs).any()
    assert not torch.isnan(dist.sampled_logprobs).any()
    assert int(dist.sampled_probs.argmax()) == 4
    assert float(dist.sampled_probs[4]) == 1.0
    assert choose_token(dist, torch.Generator().manual_seed(0), greedy=False) == 4


def test_greedy_generation_follows_argmax(model, tokenizer):
    for rec in steps(model, tokenizer, "hello", 6, temperature=0):
        assert rec.chosen_id == int(rec.raw_probs.argmax())
        assert rec.chosen_by == "greedy"
        assert rec.nucleus_size == 1
        assert rec.logprob_sampled == 0.0


def test_temperature_scales_distribution():
    logits = torch.tensor([1.0, 2.0, 0.5])
    probs = sampled(logits.tolist(), temperature=0.5)
    torch.testing.assert_close(probs, torch.softmax(logits / 0.5, dim=-1))


def test_top_k_above_vocab_keeps_everything():
    logits = [0.3, -1.0, 2.0, 0.0, 1.0]
    dist = apply_sampling(torch.tensor(logits), SamplingConfig(top_k=10))
    torch.testing.assert_close(dist.sampled_probs, torch.softmax(torch.tensor(logits), dim=-1))
    assert all(dist.filtered_by(i) is None for i in range(5))


def test_top_k_one_tie_takes_lowest_index():
    logits = torch.tensor([0.0, 5.0, 1.0, 5.0, 5.0])
    for seed in range(20):
        dist = apply_sampling(logits, SamplingConfig(top_k=1))
        assert choose_token(dist, torch.Generator().manual_seed(seed), greedy=False) == 1
    assert dist.filtered_by(3) == "top_k"


def test_greedy_tie_takes_lowest_index():
    probs = sampled([2.0, 7.0, 7.0], temperature=0)
    assert probs.tolist() == [0.0, 1.0, 0.0]


def test_top_k_keeps_k_most_probable():
    dist = apply_sampling(torch.tensor([0.0, 3.0, 1.0, 2.0]), SamplingConfig(top_k=2))
    assert (dist.sampled_probs > 0).tolist() == [False, True, False, True]
    assert [dist.filtered_by(i) for i in range(4)] == ["top_k", None, "top_k", None]


def test_top_p_includes_token_crossing_p():
    logits = torch.tensor([0.5, 0.3, 0.15, 0.05]).log()
    dist = apply_sampling(logits, SamplingConfig(top_p=0.6))
    # 0.5 alone is below 0.6, so 0.3 (which crosses it) is kept as well
    assert (dist.sampled_probs > 0).tolist() == [True, True, False, False]
    torch.testing.assert_close(dist.sampled_probs[:2], torch.tensor([0.625, 0.375]))
    assert dist.filtered_by(2) == "top_p"


def test_top_p_exact_mass_stops_there():
    logits = torch.tensor([0.5, 0.25, 0.25]).log()
    dist = apply_sampling(logits, SamplingConfig(top_p=0.5))
    assert (dist.sampled_probs > 0).tolist() == [True, False, False]


def test_top_p_one_keeps_everything():
    logits = torch.tensor([10.0, 0.0, -10.0, -30.0])
    dist = apply_sampling(logits, SamplingConfig(top_p=1.0))
    assert bool((dist.sampled_probs > 0).all())


def test_top_p_applies_after_top_k():
    logits = torch.tensor([0.4, 0.3, 0.2, 0.1]).log()
    dist = apply_sampling(logits, SamplingConfig(top_k=2, top_p=0.5))
    # Within the top 2 renormalized, 0.4 / 0.7 = 0.57 already reaches 0.5
    assert (dist.sampled_probs > 0).tolist() == [True, False, False, False]
    assert [dist.filtered_by(i) for i in range(4)] == [None, "top_p", "top_k", "top_k"]


def test_nan_logits_raise():
    with pytest.raises(ValueError, match="non-finite logits"):
        check_logits(torch.tensor([0.0, float("nan"), 1.0]))


def test_infinite_logits_raise():
    with pytest.raises(ValueError, match="token id 2"):
        check_logits(torch.tensor([0.0, 1.0, float("inf")]))


def test_nan_weights_raise_before_sampling(model, tokenizer):
    with torch.no_grad():
        model.lm_head.weight[5, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite logits at step 0"):
        next(steps(model, tokenizer, "abc", 1))


def test_logprob_uses_log_softmax():
    dist = apply_sampling(torch.tensor([0.0, -200.0]), SamplingConfig())
    assert float(dist.raw_logprobs[1]) == pytest.approx(-200.0, abs=1e-4)
    assert math.isfinite(float(dist.raw_logprobs[1]))
    assert float(F.log_softmax(torch.tensor([0.0, -200.0]), dim=-1)[1]) == -200.0


def test_entropy_matches_definition():
    probs = torch.tensor([0.5, 0.25, 0.25, 0.0])
    assert entropy(probs.log()) == pytest.approx(1.5 * math.log(2))


def test_same_seed_same_text(model, tokenizer):
    def run(seed):
        return [rec.chosen_id for rec in steps(model, tokenizer, "ab", 12, temperature=1.5, seed=seed)]

    assert run(3) == run(3)
    assert run(3) != run(4)

"""Conditional log-probabilities of continuations and their ranking."""

from __future__ import annotations

import math

import pytest
import torch

import gptviz
from gptviz.analysis.continuations import continuation_logprob, rank_continuations
from gptviz.tokenizer import ENDOFTEXT, Tokenizer
from tests.conftest import make_model

BYTES = 256  # a byte-level vocabulary: ids 0..255 are the bytes, 256 is <|endoftext|>


@pytest.fixture(scope="module")
def byte_tokenizer() -> Tokenizer:
    ranks = {bytes([value]): value for value in range(BYTES)}
    return Tokenizer.from_ranks(ranks, name="bytes", special_tokens={ENDOFTEXT: BYTES})


@pytest.fixture
def model() -> gptviz.GPT:
    return make_model(vocab_size=BYTES + 1, block_size=32)


def test_score_equals_trace_of_joined_text(model, byte_tokenizer) -> None:
    prompt, answer = "to be or", " not"
    score = continuation_logprob(model, byte_tokenizer, prompt, answer)
    trace = gptviz.trace(model, byte_tokenizer, prompt + answer, prepend_bos=True)
    expected = trace.token_logprobs[-len(answer):]
    torch.testing.assert_close(score.token_logprobs, expected, atol=1e-5, rtol=1e-5)
    assert math.isclose(score.logprob, float(expected.double().sum()), abs_tol=1e-4)
    assert score.n_tokens == len(answer)
    assert score.ids.tolist() == list(answer.encode())


def test_score_is_chain_rule_over_prefixes(model, byte_tokenizer) -> None:
    prompt, answer = "ab", "cd"
    score = continuation_logprob(model, byte_tokenizer, prompt, answer)
    first = continuation_logprob(model, byte_tokenizer, prompt, "c")
    second = continuation_logprob(model, byte_tokenizer, prompt + "c", "d")
    assert math.isclose(score.logprob, first.logprob + second.logprob, abs_tol=1e-4)


def test_without_bos_first_prompt_token_is_context(model, byte_tokenizer) -> None:
    with_bos = continuation_logprob(model, byte_tokenizer, "a", "b")
    without_bos = continuation_logprob(model, byte_tokenizer, "a", "b", prepend_bos=False)
    with torch.no_grad():
        logits = model(torch.tensor([[ord("a")]])).logits[0, 0]
    assert math.isclose(without_bos.logprob, float(torch.log_softmax(logits.double(), -1)[ord("b")]), abs_tol=1e-5)
    assert with_bos.logprob != without_bos.logprob


def test_empty_prompt_needs_bos(model, byte_tokenizer) -> None:
    assert continuation_logprob(model, byte_tokenizer, "", "x").n_tokens == 1
    with pytest.raises(ValueError, match="prompt is empty"):
        continuation_logprob(model, byte_tokenizer, "", "x", prepend_bos=False)


def test_empty_continuation_rejected(model, byte_tokenizer) -> None:
    with pytest.raises(ValueError, match="no tokens"):
        continuation_logprob(model, byte_tokenizer, "abc", "")


def test_too_long_rejected(model, byte_tokenizer) -> None:
    with pytest.raises(ValueError, match="block_size=32"):
        continuation_logprob(model, byte_tokenizer, "x" * 30, "yyy")


def test_non_string_rejected(model, byte_tokenizer) -> None:
    with pytest.raises(TypeError, match="continuation must be a str"):
        continuation_logprob(model, byte_tokenizer, "abc", 5)


def test_rank_sorted_best_first(model, byte_tokenizer) -> None:
    candidates = ["x", "yz", "abc", "q"]
    ranking = rank_continuations(model, byte_tokenizer, "hello", candidates)
    assert sorted(score.continuation for score in ranking) == sorted(candidates)
    logprobs = [score.logprob for score in ranking]
    assert logprobs == sorted(logprobs, reverse=True)


def test_rank_per_token_uses_mean(model, byte_tokenizer) -> None:
    ranking = rank_continuations(model, byte_tokenizer, "hello", ["x", "yz", "abc"], per_token=True)
    means = [score.mean_logprob for score in ranking]
    assert means == sorted(means, reverse=True)


def test_rank_rejects_single_string(model, byte_tokenizer) -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        rank_continuations(model, byte_tokenizer, "hello", "abc")


def test_model_mode_restored(model, byte_tokenizer) -> None:
    model.train()
    continuation_logprob(model, byte_tokenizer, "ab", "c")
    assert model.training

"""Chain-rule ledger and probability-coloured text equal the trace's log-probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gptviz
from gptviz import viz


def test_ledger_rows_equal_token_logprobs(trace) -> None:
    columns = viz.chain_rule_ledger(trace).data[0].cells.values
    logprobs = trace.token_logprobs.double().numpy()
    np.testing.assert_array_equal(np.asarray(columns[0]), np.arange(1, 12))
    assert list(columns[1]) == list(trace.tokens[1:])
    np.testing.assert_array_equal(np.asarray(columns[2]), logprobs)
    np.testing.assert_allclose(np.asarray(columns[3]), np.exp(logprobs))
    np.testing.assert_allclose(np.asarray(columns[4]), np.cumsum(logprobs))
    np.testing.assert_allclose(np.asarray(columns[5]), -logprobs / math.log(2))


def test_ledger_running_sum_ends_at_sequence_logprob(trace) -> None:
    fig = viz.chain_rule_ledger(trace)
    assert fig.data[0].cells.values[4][-1] == pytest.approx(trace.sequence_logprob, rel=1e-9)
    summary = fig.data[1].cells.values[1]
    assert summary == pytest.approx([trace.sequence_logprob, trace.perplexity, trace.bits_per_token])


def test_ledger_title_explains_first_token(trace) -> None:
    assert "not scored" in viz.chain_rule_ledger(trace).layout.title.text
    trace.has_bos = True
    assert "start token" in viz.chain_rule_ledger(trace).layout.title.text


def test_ledger_needs_two_tokens(tiny_model) -> None:
    with pytest.raises(ValueError, match="prepend_bos=True"):
        viz.chain_rule_ledger(gptviz.trace(tiny_model, [4]))


def test_probability_text_colours_equal_probabilities(trace) -> None:
    fig = viz.token_probability_text(trace, per_row=5)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (3, 5)
    flat = z.reshape(-1)
    assert np.isnan(flat[0])
    assert np.isnan(flat[12:]).all()
    np.testing.assert_allclose(flat[1:12], np.exp(trace.token_logprobs.double().numpy()))
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)
    assert list(np.asarray(fig.data[0].text).reshape(-1)[:12]) == list(trace.tokens)


def test_probability_text_shows_whitespace(markup_trace) -> None:
    text = np.asarray(viz.token_probability_text(markup_trace).data[0].text).reshape(-1)
    assert text[2] == "␣"
    assert text[3] == "↵"
    assert text[8] == "⇥"


def test_probability_text_cuts_long_tokens(tiny_model) -> None:
    tokens = ["<|endoftext|>", "short", " " + "x" * 20, "<b>&"]
    trace = gptviz.trace(tiny_model, [1, 2, 3, 4])
    trace.tokens = tokens
    fig = viz.token_probability_text(trace)
    tiles = list(np.asarray(fig.data[0].text).reshape(-1))
    assert tiles[:4] == ["&lt;|endof…", "short", "␣xxxxxx…", "&lt;b&gt;&amp;"]
    # The hover keeps every token whole
    hovers = np.asarray(fig.data[0].customdata).reshape(-1)
    assert "&lt;|endoftext|&gt;" in hovers[0]
    assert "x" * 20 in hovers[2]
    assert fig.layout.width >= 180 + 84 * 4

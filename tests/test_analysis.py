"""Analysis maths: logit lens, head metrics, attention arithmetic, residual norms, top-k, PE similarity."""

from __future__ import annotations

import math

import pytest
import torch

import gptviz
from gptviz import analysis
from gptviz.positional import sinusoidal_table
from tests.conftest import make_model

IDS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]


@pytest.fixture
def trace(tiny_model):
    return gptviz.trace(tiny_model, IDS)


# Logit lens ------------------------------------------------------------------------------


def test_lens_final_row_equals_model_output(any_tiny_model) -> None:
    trace = gptviz.trace(any_tiny_model, IDS)
    lens = analysis.logit_lens(any_tiny_model, trace, k=3)
    probs = torch.softmax(trace.logits.double(), dim=-1)
    torch.testing.assert_close(lens.top_probs[-1], probs.topk(3, dim=-1).values.float())
    assert lens.top_ids[-1].tolist() == probs.topk(3, dim=-1).indices.tolist()
    expected_target = probs[:-1].gather(1, trace.ids[1:, None]).squeeze(1).float()
    torch.testing.assert_close(lens.target_probs[-1], expected_target)
    torch.testing.assert_close(lens.target_probs[-1].log(), trace.token_logprobs, atol=1e-5, rtol=1e-5)


def test_lens_decodes_each_block_input(tiny_model, trace) -> None:
    lens = analysis.logit_lens(tiny_model, trace, k=1)
    assert lens.stream_names == ["blocks.0.resid_pre", "blocks.1.resid_pre", "blocks.1.resid_post"]
    with torch.no_grad():
        middle = torch.softmax(tiny_model.lm_head(tiny_model.norm_f(trace["blocks.1.resid_pre"])).double(), dim=-1)
    assert lens.top_ids[1, :, 0].tolist() == middle.argmax(dim=-1).tolist()
    ranks = (middle[:-1] > middle[:-1].gather(1, trace.ids[1:, None])).sum(dim=-1) + 1
    assert lens.target_ranks[1].tolist() == ranks.tolist()
    assert lens.top_tokens[1] == [str(i) for i in middle.argmax(dim=-1).tolist()]


def test_lens_checks_inputs(tiny_model) -> None:
    partial = gptviz.trace(tiny_model, IDS, names="blocks.*.attn.pattern")
    with pytest.raises(ValueError, match="'blocks.0.resid_pre'"):
        analysis.logit_lens(tiny_model, partial)
    other = make_model(n_embd=32)
    with pytest.raises(ValueError, match="pass the model that made the trace"):
        analysis.logit_lens(other, gptviz.trace(tiny_model, IDS))
    with pytest.raises(ValueError, match="k must be a positive int"):
        analysis.logit_lens(tiny_model, gptviz.trace(tiny_model, IDS), k=0)


# Head metrics ----------------------------------------------------------------------------


def _one_hot_rows(targets: list[int]) -> torch.Tensor:
    pattern = torch.zeros(len(targets), len(targets))
    pattern[torch.arange(len(targets)), torch.tensor(targets)] = 1.0
    return pattern


def test_previous_token_head_scores_one() -> None:
    pattern = _one_hot_rows([0, 0, 1, 2, 3])
    assert analysis.previous_token_score(pattern).item() == pytest.approx(1.0)
    assert analysis.first_token_attention(pattern).item() == pytest.approx(0.25)
    assert analysis.attention_entropy(pattern).item() == pytest.approx(0.0)


def test_first_token_head_and_uniform_entropy() -> None:
    uniform = torch.ones(4, 4).tril()
    uniform = uniform / uniform.sum(dim=-1, keepdim=True)
    expected = (math.log(2) + math.log(3) + math.log(4)) / 3
    assert analysis.attention_entropy(uniform).item() == pytest.approx(expected, rel=1e-6)
    assert analysis.first_token_attention(_one_hot_rows([0, 0, 0, 0])).item() == pytest.approx(1.0)


def test_induction_score_on_repeated_sequence() -> None:
    ids = torch.tensor([7, 2, 9, 4, 7, 2, 9, 4])
    # An ideal induction head: query t attends to the key after the earlier copy of ids[t]
    targets = [0, 0, 1, 2, 1, 2, 3, 4]
    pattern = _one_hot_rows(targets)
    assert analysis.induction_score(pattern, ids).item() == pytest.approx(1.0)
    assert analysis.induction_score(_one_hot_rows([0, 0, 1, 2, 3, 4, 5, 6]), ids).item() == pytest.approx(0.0)
    expected = analysis.induction_targets(ids)
    assert expected.nonzero().tolist() == [[4, 1], [5, 2], [6, 3], [7, 4]]


def test_induction_score_nan_without_repeats() -> None:
    assert math.isnan(analysis.induction_score(torch.eye(4), torch.arange(4)).item())


def test_head_metrics_of_trace(trace) -> None:
    metrics = analysis.head_metrics(trace)
    patterns = trace.stack("attn.pattern")
    for values in (metrics.previous_token, metrics.induction, metrics.first_token, metrics.entropy):
        assert values.shape == (2, 2)
    expected = torch.stack([patterns[..., t, t - 1] for t in range(1, 12)], dim=-1).mean(dim=-1)
    torch.testing.assert_close(metrics.previous_token, expected)
    assert ((metrics.entropy >= 0) & (metrics.entropy <= math.log(12))).all()


def test_head_metrics_reject_short_patterns() -> None:
    with pytest.raises(ValueError, match="at least 2 positions"):
        analysis.previous_token_score(torch.ones(1, 1))
    with pytest.raises(ValueError, match=r"\(\.\.\., T, T\)"):
        analysis.attention_entropy(torch.ones(3, 4))


# Attention arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize("query", [0, 5, 11])
def test_attention_steps_match_recorded_pattern(trace, query) -> None:
    steps = analysis.attention_steps(trace, 1, 1, query)
    torch.testing.assert_close(steps.weights.float(), trace.pattern(1, 1)[query], atol=1e-6, rtol=1e-5)
    recorded_scores = trace["blocks.1.attn.scores"][1, query].double()
    torch.testing.assert_close(steps.masked, recorded_scores, atol=1e-5, rtol=1e-5)
    assert steps.allowed.tolist() == [s <= query for s in range(12)]
    assert (steps.exp[query + 1:] == 0).all()
    assert steps.row_sum == pytest.approx(1.0, abs=1e-12)


def test_attention_steps_from_qk() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    k = torch.tensor([[1.0, 1.0], [3.0, 0.0]])
    steps = analysis.attention_steps_qk(q, k, 0)
    assert steps.scores.tolist() == [1.0, 3.0]
    assert steps.scaled.tolist() == pytest.approx([1 / math.sqrt(2), 3 / math.sqrt(2)])
    assert steps.masked[1] == float("-inf")
    assert steps.weights.tolist() == [1.0, 0.0]


def test_attention_steps_shift_large_scores() -> None:
    q = torch.tensor([[1000.0, 0.0]])
    k = torch.tensor([[1000.0, 0.0]])
    steps = analysis.attention_steps_qk(q, k, 0)
    assert steps.shift > 700
    assert steps.weights.tolist() == [1.0]


def test_attention_steps_check_inputs(trace) -> None:
    with pytest.raises(ValueError, match=r"query must be an int in \[0, 12\)"):
        analysis.attention_steps(trace, 0, 0, 12)
    with pytest.raises(ValueError, match="same D"):
        analysis.attention_steps_qk(torch.ones(2, 3), torch.ones(2, 4), 0)


# Residual stream -------------------------------------------------------------------------


def test_residual_norms_and_contributions(trace) -> None:
    norms = analysis.residual_norms(trace)
    assert norms.shape == (3, 12)
    torch.testing.assert_close(norms[2], trace["blocks.1.resid_post"].norm(dim=-1))
    parts = analysis.block_contributions(trace)
    torch.testing.assert_close(parts.attention[1], trace["blocks.1.attn.out"].norm(dim=-1))
    torch.testing.assert_close(parts.mlp[0], trace["blocks.0.mlp.out"].norm(dim=-1))
    # Pre-norm: the stream leaving a block is the stream entering it plus both contributions
    rebuilt = trace["blocks.0.resid_pre"] + trace["blocks.0.attn.out"] + trace["blocks.0.mlp.out"]
    torch.testing.assert_close(rebuilt, trace["blocks.0.resid_post"], atol=1e-6, rtol=1e-5)


# Top-k -----------------------------------------------------------------------------------


def test_top_k_rank_and_ties() -> None:
    result = analysis.top_k(torch.tensor([0.25, 0.25, 0.4, 0.1]), k=3, target=3)
    assert result.ids.tolist() == [2, 0, 1]
    assert result.target_rank == 4
    assert result.target_prob == pytest.approx(0.1)
    assert analysis.top_k(torch.tensor([0.25, 0.25, 0.5]), k=10, target=1).target_rank == 2
    assert len(analysis.top_k(torch.tensor([0.5, 0.5]), k=10).ids) == 2
    with pytest.raises(ValueError, match="k must be a positive int"):
        analysis.top_k(torch.tensor([1.0]), k=0)


# Positional similarity -------------------------------------------------------------------


def test_sinusoidal_similarity_is_a_function_of_offset() -> None:
    similarity = analysis.positional_similarity(sinusoidal_table(20, 32))
    for offset in range(-19, 20):
        diagonal = similarity.diagonal(offset)
        assert float(diagonal.max() - diagonal.min()) < 1e-4
    torch.testing.assert_close(similarity, similarity.T)
    assert similarity[0, 0].item() == pytest.approx(16.0, rel=1e-5)


def test_cosine_similarity_bounds() -> None:
    similarity = analysis.positional_similarity(torch.randn(6, 8), normalize=True)
    torch.testing.assert_close(similarity.diagonal(), torch.ones(6), atol=1e-5, rtol=1e-5)
    assert similarity.abs().max() <= 1 + 1e-5

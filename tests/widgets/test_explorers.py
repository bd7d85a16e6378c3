"""Each explorer built headless: operate its controls and compare the figures with the analysis."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from plotly.callbacks import Points

import gptviz
from gptviz.analysis.ablation import ablate_heads
from gptviz.analysis.continuations import rank_continuations
from gptviz.analysis.masking import build_mask, masked_predictions
from gptviz.positional import sinusoidal_table
from gptviz.widgets import (
    AttentionExplorer,
    ChainRuleExplorer,
    GenerationStepper,
    HeadInspector,
    MaskLab,
    PositionalEncodingExplorer,
)

TEXT = "abcabcab"


def _z(figure) -> np.ndarray:
    return np.asarray(figure.data[0].z, dtype=float)


# PositionalEncodingExplorer ------------------------------------------------------------------

def test_positional_pair_slider_draws_dimensions(byte_model):
    explorer = PositionalEncodingExplorer(byte_model, raise_errors=True)
    explorer.pair.value = 3
    table = sinusoidal_table(16, 16).double().numpy()
    assert explorer.curves.layout.title.text == "sinusoidal encoding, dimensions 6 and 7"
    np.testing.assert_allclose(explorer.curves.data[0].y, table[:, 6], atol=1e-6)
    np.testing.assert_allclose(explorer.curves.data[1].y, table[:, 7], atol=1e-6)


def test_positional_offset_is_flat_for_sinusoids(byte_model):
    explorer = PositionalEncodingExplorer(byte_model, raise_errors=True)
    explorer.offset.value = 3
    sinusoidal, learned = explorer.offsets.data
    assert (sinusoidal.name, learned.name) == ("sinusoidal", "learned")
    assert len(sinusoidal.y) == 16 - 3
    assert np.ptp(np.asarray(sinusoidal.y)) < 1e-5


def test_positional_learned_encoding_choice(byte_model):
    explorer = PositionalEncodingExplorer(byte_model, raise_errors=True)
    explorer.encoding.value = "learned"
    learned = byte_model.embed.position.weight.detach().double().numpy()
    np.testing.assert_allclose(explorer.curves.data[0].y, learned[:, 0], atol=1e-6)


# MaskLab --------------------------------------------------------------------------------------

def test_mask_lab_bidirectional_leaks_future(byte_model, byte_tokenizer):
    lab = MaskLab(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    assert _z(lab.figure)[0, 1] == 0
    lab.kind.value = "bidirectional"
    ids = torch.tensor(byte_tokenizer.encode(TEXT))
    expected = masked_predictions(byte_model, ids, build_mask("bidirectional", len(ids)))
    assert _z(lab.figure)[0, 1] == 2  # allowed future key
    np.testing.assert_allclose(lab.figure.data[1].y, expected.token_logprobs.numpy(), atol=1e-5)
    assert lab.figure.layout.title.text.startswith(f"Mask: bidirectional, loss {expected.loss:.3f}")


def test_mask_lab_window_and_cell_edit(byte_model, byte_tokenizer):
    lab = MaskLab(byte_model, byte_tokenizer, TEXT, kind="sliding_window", raise_errors=True)
    lab.window.value = 2
    assert _z(lab.figure)[5].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]
    lab.query.value, lab.key.value = 2, 6
    lab.toggle.click()
    assert _z(lab.figure)[2, 6] == 2
    assert "+ 1 edit(s)" in lab.figure.layout.title.text


def test_mask_lab_rejects_bad_text(byte_model, byte_tokenizer):
    lab = MaskLab(byte_model, byte_tokenizer, TEXT)
    lab.text.value = ""
    assert "the text is empty" in lab.message_text
    lab.text.value = "x" * 40
    assert "has 40 tokens but the model's context is 16" in lab.message_text
    lab.text.value = "abcd"
    assert lab.message.value == ""
    assert _z(lab.figure).shape == (4, 4)


# AttentionExplorer -------------------------------------------------------------------------------

def test_attention_layer_and_head_update_heatmap(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    explorer.layer.value = 1
    explorer.head.value = 1
    expected = np.tril(explorer.trace.pattern(1, 1).double().numpy())
    np.testing.assert_allclose(np.nan_to_num(_z(explorer.heatmap)), expected, atol=1e-6)
    assert explorer.heatmap.layout.title.text == "Layer 1, head 1, query 7 outlined"


def test_attention_query_links_three_views(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    explorer.query.value = 3
    assert explorer.heatmap.layout.title.text.endswith("query 3 outlined")
    assert explorer.lens.layout.title.text == "Logit lens, position 3 outlined"
    assert explorer.distribution.layout.title.text.startswith("after position 3 ")
    row_outline = explorer.heatmap.layout.shapes[0]
    assert (row_outline.y0, row_outline.y1) == (2.5, 3.5)
    column_outline = explorer.lens.layout.shapes[0]
    assert (column_outline.x0, column_outline.x1) == (2.5, 3.5)


def test_attention_thumbnail_click_selects_head(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    thumbnail = explorer.grid.data[3]  # layer 1, head 1 in layer-major order
    points = Points(point_inds=[[0, 0]], xs=[0], ys=[0], trace_name=thumbnail.name, trace_index=3)
    explorer._thumbnail_clicked((1, 1), thumbnail, points, None)
    assert (explorer.layer.value, explorer.head.value) == (1, 1)
    assert explorer.heatmap.layout.title.text.startswith("Layer 1, head 1")


def test_attention_head_out_of_range_message(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT)
    explorer.head.value = 5
    assert "head 5 does not exist; this model has heads 0 to 1" in explorer.message_text
    assert "Traceback" not in explorer.message_text
    explorer.text.value = "abcd"
    assert len(explorer.trace) == 4


def test_attention_new_text_retraces_once(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    explorer.text.value = "xyz"
    assert explorer.query.max == 2
    assert _z(explorer.heatmap).shape == (3, 3)
    assert len(explorer.grid.data) == 4


# ChainRuleExplorer -------------------------------------------------------------------------------

def test_chain_rule_ledger_matches_trace(byte_model, byte_tokenizer):
    explorer = ChainRuleExplorer(byte_model, byte_tokenizer, TEXT, "abcabcxy", raise_errors=True)
    explorer.text.value = "hello"
    expected = gptviz.trace(byte_model, byte_tokenizer, "hello", prepend_bos=True)
    assert explorer.ledger.layout.title.text == f"Text A: log p = {expected.sequence_logprob:.3f} nats over 5 tokens"
    assert explorer.other_ledger.layout.title.text.endswith("over 8 tokens")
    assert explorer.token.max == 5


def test_chain_rule_token_shows_its_distribution(byte_model, byte_tokenizer):
    explorer = ChainRuleExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    points = Points(point_inds=[[0, 3]], xs=[3], ys=[0], trace_name="", trace_index=0)
    explorer._token_clicked(explorer.tokens.data[0], points, None)
    assert explorer.token.value == 3
    # Token 3 was drawn from the distribution predicted after position 2
    assert explorer.distribution.layout.title.text.startswith("after position 2 ")


def test_chain_rule_ranks_answers(byte_model, byte_tokenizer):
    explorer = ChainRuleExplorer(byte_model, byte_tokenizer, TEXT, question="ab", answers=("c", "x"),
                                 raise_errors=True)
    explorer.answers.value = "c | x | q"
    explorer.rank.click()
    expected = rank_continuations(byte_model, byte_tokenizer, "ab", [" c", " x", " q"])
    assert list(explorer.ranking.data[0].y) == [score.continuation.strip() for score in expected]
    np.testing.assert_allclose(explorer.ranking.data[0].x, [score.logprob for score in expected], atol=1e-5)


def test_chain_rule_empty_question_message(byte_model, byte_tokenizer):
    explorer = ChainRuleExplorer(byte_model, byte_tokenizer, TEXT)
    explorer.answers.value = "c | x"
    explorer.rank.click()
    assert "the question is empty" in explorer.message_text


# GenerationStepper -------------------------------------------------------------------------------

def test_stepper_step_back_fork_reset(byte_model, byte_tokenizer):
    stepper = GenerationStepper(byte_model, byte_tokenizer, "ab", top_k=3, seed=0, raise_errors=True)
    assert stepper.distribution.layout.title.text == "Press Step to sample the first token"
    stepper.step()
    stepper.step()
    assert stepper.distribution.layout.title.text.startswith("Step 1: sampled ")
    second = stepper.node_id
    stepper.back()
    assert stepper.distribution.layout.title.text.startswith("Step 0: sampled ")
    stepper.step()  # forward again along the same branch, without sampling
    assert stepper.node_id == second
    stepper.back()
    stepper.fork()
    # A fork samples afresh; it may draw the same token as the existing branch
    assert stepper.node.parent == stepper.tree.nodes[second].parent
    assert stepper.distribution.layout.title.text.startswith("Step 1: sampled ")
    stepper.reset()
    assert len(stepper.tree.nodes) == 1


def test_stepper_greys_filtered_tokens(byte_model, byte_tokenizer):
    stepper = GenerationStepper(byte_model, byte_tokenizer, "ab", top_k=3, seed=0, raise_errors=True)
    stepper.step_button.click()
    sampled = np.asarray(stepper.distribution.data[1].y)
    assert np.count_nonzero(sampled) == 3
    assert stepper.node.step.chosen_id in stepper.node.step.sampled_probs.nonzero().flatten().tolist()
    attention = _z(stepper.attention)
    assert attention.shape == (4, 2)  # L * H rows over the 2 context tokens the step saw
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-5)


def test_stepper_play_and_seed(byte_model, byte_tokenizer):
    stepper = GenerationStepper(byte_model, byte_tokenizer, "ab", seed=3, raise_errors=True)
    stepper.play.value = 1
    stepper.play.value = 2
    tokens = stepper.tree.ids(stepper.node_id)
    assert len(tokens) == 2 + 2
    stepper.seed.value = 3  # same seed: a fresh tree, same first tokens
    stepper.seed.value = 4
    stepper.seed.value = 3
    stepper.step()
    stepper.step()
    assert stepper.tree.ids(stepper.node_id) == tokens
    assert "ab" in stepper.text_so_far.value


def test_stepper_negative_top_k_message(byte_model, byte_tokenizer):
    stepper = GenerationStepper(byte_model, byte_tokenizer, "ab")
    stepper.top_k.value = -2
    stepper.step_button.click()
    assert "top-k must be >= 0" in stepper.message_text


# HeadInspector -----------------------------------------------------------------------------------

def test_head_toggle_shows_ablation_effect(byte_model, byte_tokenizer):
    inspector = HeadInspector(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    # No head toggled: every bar is exactly 0, not last-bit noise
    assert not np.asarray(inspector.ablation.data[0].y).any()
    inspector.toggles[1, 0].value = True
    expected = ablate_heads(byte_model, inspector.trace, [(1, 0)]).delta
    np.testing.assert_allclose(inspector.ablation.data[0].y, expected.numpy(), atol=1e-5)
    assert inspector.ablation.layout.title.text.endswith("ablated: L1H0")
    assert len(inspector.metrics.data) == 4


# Static figures ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["positional", "mask", "attention", "chain", "stepper", "heads"])
def test_static_figure_is_plain_figure(name, byte_model, byte_tokenizer):
    build = {
        "positional": lambda: PositionalEncodingExplorer(byte_model),
        "mask": lambda: MaskLab(byte_model, byte_tokenizer, TEXT),
        "attention": lambda: AttentionExplorer(byte_model, byte_tokenizer, TEXT),
        "chain": lambda: ChainRuleExplorer(byte_model, byte_tokenizer, TEXT),
        "stepper": lambda: GenerationStepper(byte_model, byte_tokenizer, "ab"),
        "heads": lambda: HeadInspector(byte_model, byte_tokenizer, TEXT),
    }
    figure = build[name]().static_figure()
    assert type(figure) is go.Figure
    assert figure.to_html(include_plotlyjs=False, full_html=False)

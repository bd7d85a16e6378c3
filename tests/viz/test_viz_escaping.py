"""Token text is shown as text in every view: markup is escaped in labels, hovers, cells and titles."""

from __future__ import annotations

import pytest

from gptviz import viz
from gptviz.analysis import logit_lens
from tests.viz.conftest import all_strings

RAW_MARKUP = ("<b>x</b>", "<a href=x>", "<i>", "a&amp;b")
# Spaces inside a token are shown as the visible mark, like any other space
ESCAPED = ("&lt;b&gt;x&lt;/b&gt;", "&lt;a\u2423href=x&gt;", "&lt;i&gt;", "a&amp;amp;b")

VIEWS = {
    "attention_heatmap": lambda tr, model: viz.attention_heatmap(tr, 0, 0),
    "attention_lines": lambda tr, model: viz.attention_lines(tr, 0, 0),
    "attention_grid": lambda tr, model: viz.attention_grid(tr),
    "causal_mask_matrix": lambda tr, model: viz.causal_mask_matrix(tr),
    "attention_arithmetic": lambda tr, model: viz.attention_arithmetic(tr, 0, 0, 11),
    "chain_rule_ledger": lambda tr, model: viz.chain_rule_ledger(tr),
    "token_probability_text": lambda tr, model: viz.token_probability_text(tr),
    "logit_lens_heatmap": lambda tr, model: viz.logit_lens_heatmap(logit_lens(model, tr)),
    "residual_norm_heatmap": lambda tr, model: viz.residual_norm_heatmap(tr),
    "block_contribution_heatmap": lambda tr, model: viz.block_contribution_heatmap(tr),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_escapes_token_markup(name, markup_trace, tiny_model) -> None:
    fig = VIEWS[name](markup_trace, tiny_model)
    strings = list(all_strings(fig.to_plotly_json()))
    for raw in RAW_MARKUP:
        assert not any(raw in text for text in strings), f"{name}: raw {raw!r} reaches the figure"
    for escaped in ESCAPED:
        assert any(escaped in text for text in strings), f"{name}: escaped {escaped!r} missing"


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_token_text_never_enters_hovertemplates(name, markup_trace, tiny_model) -> None:
    fig = VIEWS[name](markup_trace, tiny_model)
    for trace in fig.data:
        template = getattr(trace, "hovertemplate", None) or ""
        assert "qq" not in template, f"{name}: the token '%{{z}}qq' reached a hovertemplate"


def test_titles_escape_tokens(markup_trace) -> None:
    assert "&lt;b&gt;x&lt;/b&gt;" in viz.chain_rule_ledger(markup_trace).layout.title.text
    bars = viz.next_token_bars(markup_trace, 0, k=3)
    assert "&lt;b&gt;x&lt;/b&gt;" in bars.layout.title.text
    assert "<b>" not in bars.layout.title.text


def test_user_titles_escaped(trace) -> None:
    fig = viz.attention_heatmap(trace, 0, 0, title="<a href=x>head</a>")
    assert fig.layout.title.text == "&lt;a href=x&gt;head&lt;/a&gt;"


def test_vocabulary_labels_escaped() -> None:
    class MarkupVocabulary:
        def token_strings(self, ids):
            return [f"<b>{i}</b>" for i in ids]

    import torch

    fig = viz.next_token_bars(torch.tensor([0.5, 0.5]), k=2, tokenizer=MarkupVocabulary())
    assert list(fig.data[0].x) == ["&lt;b&gt;0&lt;/b&gt;", "&lt;b&gt;1&lt;/b&gt;"]

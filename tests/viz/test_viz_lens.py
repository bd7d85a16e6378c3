"""Logit lens heatmap: the probability of the actual next token at every stream and position."""

from __future__ import annotations

import numpy as np
import pytest

from gptviz import viz
from gptviz.analysis import logit_lens


def test_lens_heatmap_equals_lens(tiny_model, trace) -> None:
    lens = logit_lens(tiny_model, trace, k=2)
    fig = viz.logit_lens_heatmap(lens)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (3, 12)
    np.testing.assert_array_equal(z[:, :11], lens.target_probs.double().numpy())
    assert np.isnan(z[:, 11]).all()
    assert np.asarray(fig.data[0].text).tolist() == lens.top_tokens
    assert list(fig.data[0].y) == ["embeddings", "before block 1", "final stream"]
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)


def test_lens_final_row_matches_model_prediction(tiny_model, trace) -> None:
    fig = viz.logit_lens_heatmap(logit_lens(tiny_model, trace))
    final_top = [str(i) for i in trace.logits.argmax(dim=-1).tolist()]
    assert list(np.asarray(fig.data[0].text)[-1]) == final_top
    ranks = np.asarray(fig.data[0].customdata)[..., 3]
    assert ranks[-1, -1] == ""


def test_lens_heatmap_needs_lens(trace) -> None:
    with pytest.raises(TypeError, match="logit_lens"):
        viz.logit_lens_heatmap(trace)


def test_lens_text_only_where_cells_fit(tiny_model, trace) -> None:
    lens = logit_lens(tiny_model, trace)
    wide = viz.logit_lens_heatmap(lens)
    assert wide.data[0].texttemplate == "%{text}"
    assert wide.layout.width == max(560, 280 + 56 * 12)
    narrow = viz.logit_lens_heatmap(lens, width=400)
    assert narrow.data[0].texttemplate == ""
    # The hover keeps the prediction either way
    assert "customdata[0]" in narrow.data[0].hovertemplate
    np.testing.assert_array_equal(np.asarray(narrow.data[0].customdata)[..., 0], np.asarray(lens.top_tokens))

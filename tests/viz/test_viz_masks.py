"""Causal mask view: allowed and masked cells, and the bidirectional comparison."""

from __future__ import annotations

import numpy as np
import pytest

from gptviz import viz


def test_causal_panel_is_lower_triangle(trace) -> None:
    fig = viz.causal_mask_matrix(trace)
    z = np.asarray(fig.data[0].z)
    np.testing.assert_array_equal(z, np.tril(np.ones((12, 12))))
    assert list(fig.data[0].x) == list(viz.token_labels(trace.tokens))


def test_bidirectional_panel_allows_everything() -> None:
    fig = viz.causal_mask_matrix(["a", "b", "c"])
    assert np.asarray(fig.data[1].z).tolist() == [[1.0] * 3] * 3
    assert len(viz.causal_mask_matrix(3, bidirectional=False).data) == 1


def test_mask_hover_names_the_cell_state() -> None:
    fig = viz.causal_mask_matrix(2)
    status = np.asarray(fig.data[0].customdata)
    assert status[0, 1].startswith("masked")
    assert status[1, 0].startswith("allowed")
    assert fig.layout.xaxis.title.text == "key position"
    assert fig.layout.yaxis.title.text == "query position"


def test_mask_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="Trace, an int T or a list"):
        viz.causal_mask_matrix("hello")
    with pytest.raises(ValueError, match="at least one position"):
        viz.causal_mask_matrix(0)

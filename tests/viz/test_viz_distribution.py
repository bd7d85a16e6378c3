"""Next-token bars: top-k probabilities with the actual next token and its rank."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gptviz import viz


def test_bars_equal_top_k_of_logits(trace) -> None:
    fig = viz.next_token_bars(trace, 3, k=5)
    probs = torch.softmax(trace.logits[3].double(), dim=-1)
    expected_ids = torch.sort(probs, descending=True, stable=True).indices[:5].tolist()
    bars = fig.data[0]
    ids = list(bars.customdata)
    assert ids[:5] == expected_ids
    np.testing.assert_allclose(np.asarray(bars.y), probs[ids].numpy(), rtol=1e-6)


def test_actual_next_token_marked_with_rank(trace) -> None:
    fig = viz.next_token_bars(trace, 2, k=1)
    probs = torch.softmax(trace.logits[2].double(), dim=-1)
    target = int(trace.ids[3])
    rank = int((probs > probs[target]).sum()) + 1
    bars = fig.data[0]
    assert target in list(bars.customdata)
    index = list(bars.customdata).index(target)
    assert bars.marker.color[index] == viz._style.HIGHLIGHT_COLOR
    assert f"rank {rank}" in fig.layout.title.text


def test_last_position_has_no_target(trace) -> None:
    fig = viz.next_token_bars(trace, 11, k=4)
    assert len(fig.data[0].y) == 4
    assert "rank" not in fig.layout.title.text


def test_bars_from_probabilities() -> None:
    fig = viz.next_token_bars(torch.tensor([0.1, 0.6, 0.3]), k=2, target=0)
    assert list(fig.data[0].customdata) == [1, 2, 0]
    assert list(fig.data[0].y) == pytest.approx([0.6, 0.3, 0.1])
    assert fig.layout.yaxis.range == (0, 1)


def test_bars_position_checked(trace) -> None:
    with pytest.raises(ValueError, match=r"position must be an int in \[0, 12\)"):
        viz.next_token_bars(trace, 12)

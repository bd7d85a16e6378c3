"""Attention heatmap, lines and grid: figure arrays equal the traced weights."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

import gptviz
from gptviz import viz


def test_heatmap_z_equals_pattern(trace) -> None:
    fig = viz.attention_heatmap(trace, layer=1, head=0)
    pattern = trace.pattern(1, 0).double().numpy()
    allowed = np.tril(np.ones_like(pattern, dtype=bool))
    z = np.asarray(fig.data[0].z, dtype=float)
    np.testing.assert_array_equal(z[allowed], pattern[allowed])
    assert np.isnan(z[~allowed]).all()


def test_heatmap_masked_cells_differ_from_zero_weight() -> None:
    # An allowed cell of weight exactly 0 stays 0, the masked cells are NaN plus a grey overlay
    weights = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    fig = viz.attention_heatmap(weights)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z[1, 0] == 0.0
    assert z[2, 1] == 0.0
    assert np.isnan(z[0, 1])
    assert np.isnan(z[1, 2])
    overlay = np.asarray(fig.data[1].z, dtype=float)
    np.testing.assert_array_equal(np.isnan(overlay), ~np.isnan(z))
    assert fig.data[1].colorscale[0][1] != fig.data[0].colorscale[0][1]


def test_heatmap_probability_scale_fixed(trace) -> None:
    fig = viz.attention_heatmap(trace, 0, 0)
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)


def test_heatmap_axes_and_hover(trace) -> None:
    fig = viz.attention_heatmap(trace, 0, 1)
    assert fig.layout.xaxis.title.text == "key position"
    assert fig.layout.yaxis.title.text == "query position"
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.xaxis.type == "category"
    template = fig.data[0].hovertemplate
    assert "%{y}" in template
    assert "%{x}" in template
    assert "%{z" in template


def test_heatmap_duplicate_tokens_stay_separate(trace) -> None:
    fig = viz.attention_heatmap(trace, 0, 0)
    labels = list(fig.data[0].x)
    assert len(set(labels)) == len(trace)
    assert labels[1] == "1 [1]"
    assert labels[3] == "1 [3]"


def test_heatmap_uses_recorded_mask(tiny_model) -> None:
    T = 5
    custom = torch.ones(T, T, dtype=torch.bool).tril()
    custom[4, 0] = False
    with gptviz.record(tiny_model, ["blocks.0.attn.scores", "blocks.0.attn.pattern"]) as recording:
        tiny_model(torch.tensor([[1, 2, 3, 4, 5]]), attn_mask=custom)
    trace = gptviz.trace(tiny_model, [1, 2, 3, 4, 5])
    trace.tensors["blocks.0.attn.scores"] = recording["blocks.0.attn.scores"][0]
    trace.tensors["blocks.0.attn.pattern"] = recording["blocks.0.attn.pattern"][0]
    z = np.asarray(viz.attention_heatmap(trace, 0, 0).data[0].z, dtype=float)
    assert np.isnan(z[4, 0])
    assert not np.isnan(z[4, 1])


def test_heatmap_tensor_inputs(trace) -> None:
    stacked = trace.stack("attn.pattern")  # (L, H, T, T)
    from_4d = viz.attention_heatmap(stacked, layer=1, head=1).data[0].z
    from_3d = viz.attention_heatmap(stacked[1], head=1).data[0].z
    from_trace = viz.attention_heatmap(trace, 1, 1).data[0].z
    np.testing.assert_array_equal(np.asarray(from_4d, float), np.asarray(from_trace, float))
    np.testing.assert_array_equal(np.asarray(from_3d, float), np.asarray(from_trace, float))


def test_heatmap_errors_are_actionable(trace) -> None:
    with pytest.raises(ValueError, match="layer= and head="):
        viz.attention_heatmap(trace)
    with pytest.raises(ValueError, match=r"head must be an int in \[0, 2\)"):
        viz.attention_heatmap(trace, 0, 5)
    with pytest.raises(ValueError, match="pick one batch item"):
        viz.attention_heatmap(torch.rand(1, 2, 2, 4, 4))
    with pytest.raises(ValueError, match="3 tokens for 12 positions"):
        viz.attention_heatmap(trace, 0, 0, ["a", "b", "c"])


def test_heatmap_512_tokens_builds_fast() -> None:
    model = gptviz.GPT(gptviz.GPTConfig.tiny(block_size=512)).eval()
    trace = gptviz.trace(model, torch.randint(0, 32, (512,), generator=torch.Generator().manual_seed(0)))
    viz.attention_heatmap(trace, 0, 0)  # first call imports and warms plotly validators
    start = time.perf_counter()
    fig = viz.attention_heatmap(trace, 1, 1)
    elapsed = time.perf_counter() - start
    assert np.asarray(fig.data[0].z).shape == (512, 512)
    assert elapsed < 1.0, f"attention_heatmap took {elapsed:.2f} s for 512 tokens"


def _segments(fig) -> dict[tuple[int, int], float]:
    cells = {}
    for line in fig.data:
        if line.mode != "lines":
            continue
        points = np.asarray(line.customdata, dtype=float)
        for query, key, weight in points[np.isfinite(points[:, 0])]:
            cells[int(query), int(key)] = weight
    return cells


def test_lines_carry_exact_weights(trace) -> None:
    fig = viz.attention_lines(trace, 0, 1, min_weight=0.05)
    pattern = trace.pattern(0, 1).double().numpy()
    expected = {(t, s): pattern[t, s] for t in range(12) for s in range(t + 1) if pattern[t, s] >= 0.05}
    assert _segments(fig) == pytest.approx(expected)
    assert set(_segments(fig)) == set(expected)


def test_lines_one_query(trace) -> None:
    fig = viz.attention_lines(trace, 0, 0, query=4, min_weight=0.0)
    assert sorted(_segments(fig)) == [(4, s) for s in range(5)]
    token_traces = [t for t in fig.data if t.mode == "markers+text"]
    assert [t.name for t in token_traces] == ["query tokens", "key tokens"]


def test_grid_holds_every_head(trace) -> None:
    fig = viz.attention_grid(trace)
    patterns = trace.stack("attn.pattern").double().numpy()
    assert len(fig.data) == 4
    for layer in range(2):
        for head in range(2):
            z = np.asarray(fig.data[layer * 2 + head].z, dtype=float)
            allowed = np.tril(np.ones((12, 12), dtype=bool))
            np.testing.assert_array_equal(z[allowed], patterns[layer, head][allowed])
            assert np.isnan(z[~allowed]).all()
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)

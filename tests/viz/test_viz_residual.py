"""Residual views: stream norms and what attention and MLP add."""

from __future__ import annotations

import numpy as np

from gptviz import viz


def test_norm_heatmap_equals_stream_norms(trace) -> None:
    fig = viz.residual_norm_heatmap(trace)
    z = np.asarray(fig.data[0].z)
    expected = [trace["blocks.0.resid_pre"], trace["blocks.1.resid_pre"], trace["blocks.1.resid_post"]]
    for row, stream in zip(z, expected):
        np.testing.assert_allclose(row, stream.double().norm(dim=-1).numpy(), rtol=1e-6)
    assert fig.data[0].zmin == 0.0


def test_contributions_equal_sublayer_norms(trace) -> None:
    fig = viz.block_contribution_heatmap(trace)
    stream, attention, mlp = (np.asarray(panel.z) for panel in fig.data)
    def norms(name: str) -> np.ndarray:
        return trace[name].double().norm(dim=-1).numpy()

    for layer in range(2):
        np.testing.assert_allclose(attention[layer], norms(f"blocks.{layer}.attn.out"), rtol=1e-6)
        np.testing.assert_allclose(mlp[layer], norms(f"blocks.{layer}.mlp.out"), rtol=1e-6)
        np.testing.assert_allclose(stream[layer], norms(f"blocks.{layer}.resid_pre"), rtol=1e-6)
    assert fig.layout.coloraxis.cmin == 0.0

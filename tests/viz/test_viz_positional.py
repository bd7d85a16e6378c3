"""Positional views: heatmap, curves, similarity and comparison equal the tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gptviz
from gptviz import viz
from gptviz.positional import sinusoidal_table


def test_heatmap_equals_table_and_is_diverging() -> None:
    table = sinusoidal_table(10, 16)
    fig = viz.positional_heatmap(table)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), table.double().numpy())
    assert fig.data[0].zmid == 0.0
    assert fig.data[0].zmin == -fig.data[0].zmax


def test_heatmap_from_trace_and_model(trace, tiny_model) -> None:
    from_trace = np.asarray(viz.positional_heatmap(trace).data[0].z)
    np.testing.assert_array_equal(from_trace, trace["embed.pos"].double().numpy())
    from_model = np.asarray(viz.positional_heatmap(tiny_model).data[0].z)
    np.testing.assert_array_equal(from_model, tiny_model.embed.position.weight.detach().double().numpy())


def test_curves_follow_chosen_dimensions() -> None:
    table = sinusoidal_table(12, 16)
    fig = viz.positional_curves(table, dims=[0, 3, 7])
    assert [curve.name for curve in fig.data] == ["dimension 0", "dimension 3", "dimension 7"]
    for curve, dim in zip(fig.data, [0, 3, 7]):
        np.testing.assert_array_equal(np.asarray(curve.y), table[:, dim].double().numpy())
    with pytest.raises(ValueError, match=r"dims must be ints in \[0, 16\)"):
        viz.positional_curves(table, dims=[16])


def test_sinusoidal_similarity_depends_only_on_offset() -> None:
    table = sinusoidal_table(16, 32)
    z = np.asarray(viz.positional_similarity_matrix(table).data[0].z)
    np.testing.assert_allclose(z, (table @ table.T).double().numpy(), rtol=1e-6, atol=1e-5)
    for offset in range(-15, 16):
        diagonal = np.diagonal(z, offset=offset)
        assert np.ptp(diagonal) < 1e-4, f"offset {offset} varies by {np.ptp(diagonal)}"


def test_cosine_similarity_has_unit_diagonal() -> None:
    z = np.asarray(viz.positional_similarity_matrix(torch.randn(6, 8), normalize=True).data[0].z)
    np.testing.assert_allclose(np.diag(z), 1.0, rtol=1e-5)


def test_comparison_shows_both_tables() -> None:
    sinusoidal = gptviz.GPT(gptviz.GPTConfig.tiny(positional="sinusoidal"))
    learned = gptviz.GPT(gptviz.GPTConfig.tiny(positional="learned"))
    fig = viz.positional_comparison(sinusoidal, learned)
    sinusoidal_values = sinusoidal.embed.position.table.double().numpy()
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), sinusoidal_values)
    np.testing.assert_array_equal(np.asarray(fig.data[1].z), learned.embed.position.weight.detach().double().numpy())
    assert fig.layout.coloraxis.cmid == 0.0
    assert fig.layout.coloraxis.cmin == -fig.layout.coloraxis.cmax
    assert fig.layout.coloraxis.cmax == pytest.approx(np.abs(sinusoidal_values).max())

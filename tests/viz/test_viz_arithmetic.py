"""Attention arithmetic table: every column equals the recomputed steps and the trace."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gptviz import viz
from gptviz.analysis import attention_steps


def _numbers(column) -> np.ndarray:
    return np.array([float(cell.replace("−∞", "-inf")) for cell in column])


def test_columns_equal_steps(trace) -> None:
    fig = viz.attention_arithmetic(trace, 1, 0, 6)
    columns = fig.data[0].cells.values
    steps = attention_steps(trace, 1, 0, 6)
    np.testing.assert_allclose(_numbers(columns[2][:-1]), steps.scores.numpy(), rtol=1e-5)
    np.testing.assert_allclose(_numbers(columns[3][:-1]), steps.scaled.numpy(), rtol=1e-5)
    np.testing.assert_allclose(_numbers(columns[6][:-1]), steps.exp.numpy(), rtol=1e-5)
    np.testing.assert_allclose(_numbers(columns[7][:-1]), trace.pattern(1, 0)[6].double().numpy(), rtol=1e-5, atol=1e-7)


def test_mask_column_and_row_sum(trace) -> None:
    columns = viz.attention_arithmetic(trace, 0, 1, 3).data[0].cells.values
    assert columns[4][:-1] == ["0"] * 4 + ["−∞"] * 8
    masked = _numbers(columns[5][:-1])
    assert np.isneginf(masked[4:]).all()
    assert np.isfinite(masked[:4]).all()
    assert _numbers(columns[6][4:-1]).tolist() == [0.0] * 8
    assert columns[0][-1] == "sum"
    assert float(columns[7][-1]) == pytest.approx(1.0, abs=1e-6)
    assert float(columns[6][-1]) == pytest.approx(float(attention_steps(trace, 0, 1, 3).exp.sum()), rel=1e-5)


def test_title_reports_scale_and_sum(trace) -> None:
    title = viz.attention_arithmetic(trace, 0, 0, 2).layout.title.text
    assert f"{1 / math.sqrt(8):.4g}" in title
    assert "weights sum to 1.000000" in title


def test_arithmetic_accepts_steps_object(trace) -> None:
    steps = attention_steps(trace, 0, 0, 2)
    fig = viz.attention_arithmetic(steps, tokens=trace.tokens)
    assert fig.data[0].cells.values[1][:12] == list(trace.tokens)


def test_arithmetic_needs_query(trace) -> None:
    with pytest.raises(ValueError, match="query="):
        viz.attention_arithmetic(trace, 0, 0)

"""Head summary: four (L, H) panels equal the head metrics."""

from __future__ import annotations

import math

import numpy as np

from gptviz import viz
from gptviz.analysis import head_metrics


def test_head_summary_panels_equal_metrics(trace) -> None:
    fig = viz.head_summary(trace)
    metrics = head_metrics(trace)
    expected = [metrics.previous_token, metrics.induction, metrics.first_token, metrics.entropy]
    for panel, values in zip(fig.data, expected):
        np.testing.assert_array_equal(np.asarray(panel.z, dtype=float), values.double().numpy())
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert fig.data[3].zmax == math.log(12)
    assert [panel.name for panel in fig.data][0] == "previous-token score"

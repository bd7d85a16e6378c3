"""Head summary: four (L, H) panels equal the head metrics."""

from __future__ import annotations

import math

import numpy as np

import gptviz
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


def test_head_summary_names_missing_induction(tiny_model) -> None:
    titles = [annotation.text for annotation in viz.head_summary(gptviz.trace(tiny_model, [1, 2, 3, 4])).layout.annotations]
    assert titles[1] == "induction score (none: no token repeats)"
    repeated = [annotation.text for annotation in viz.head_summary(gptviz.trace(tiny_model, [1, 2, 1, 2])).layout.annotations]
    assert repeated[1] == "induction score"

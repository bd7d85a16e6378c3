"""Head summary: layers x heads heatmaps of the four head metrics."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.analysis.heads import HeadMetrics, head_metrics
from gptviz.tracing import Trace
from gptviz.viz import _style

PANELS = (
    ("previous_token", "previous-token score"),
    ("induction", "induction score"),
    ("first_token", "attention to token 0"),
    ("entropy", "entropy (nats)"),
)


def head_summary(data: Trace | HeadMetrics, *, title: str | None = None) -> go.Figure:
    """Draw the previous-token, induction, first-token and entropy score of every head.

    Each panel is an (L, H) heatmap, rows are layers and columns are heads. The three
    scores in [0, 1] share the fixed probability scale. Entropy has its own scale, from 0
    to ln T (the entropy of uniform attention over all T keys). An induction score is NaN when no token
    repeats, and the panel's title then gives that reason. The metrics are defined in `gptviz.analysis.heads`.

    Args:
        data: a `Trace` with every ``attn.pattern`` recorded, or precomputed `HeadMetrics`.
        title: figure title (shown as plain text).

    Returns:
        Figure with four heatmaps, in the order previous-token, induction, first-token,
        entropy; each ``z`` is (L, H).

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 3, 1, 4])
        >>> [panel.z.shape for panel in gptviz.viz.head_summary(tr).data]
        [(2, 2), (2, 2), (2, 2), (2, 2)]
    """
    if isinstance(data, Trace):
        metrics, T = head_metrics(data), len(data)
    elif isinstance(data, HeadMetrics):
        metrics, T = data, None
    else:
        raise TypeError(f"head_summary(): data must be a Trace or HeadMetrics, got {type(data).__name__}")
    titles = [label for _, label in PANELS]
    if bool(metrics.induction.isnan().all()):
        # An all-grey panel needs its reason next to it
        titles[1] = "induction score (none: no token repeats)"
    fig = make_subplots(rows=2, cols=2, subplot_titles=titles, horizontal_spacing=0.12, vertical_spacing=0.2)
    for index, (field, label) in enumerate(PANELS):
        values = getattr(metrics, field).double().numpy()  # (L, H)
        L, H = values.shape
        if field == "entropy":
            upper = math.log(T) if T else float(np.nanmax(values)) or 1.0
            scale = {"zmin": 0.0, "zmax": upper, "colorscale": _style.MAGNITUDE_SCALE,
                     "colorbar": {"title": {"text": "nats"}, "y": 0.2, "len": 0.45}}
        else:
            scale = {"coloraxis": "coloraxis"}
        fig.add_trace(go.Heatmap(
            z=values, x=[f"H{h}" for h in range(H)], y=[f"L{layer}" for layer in range(L)], name=label,
            texttemplate="%{z:.2f}", hoverongaps=False,
            hovertemplate=f"{label}<br>layer %{{y}}, head %{{x}}<br>%{{z:.4f}}<extra></extra>", **scale,
        ), row=index // 2 + 1, col=index % 2 + 1)
    fig.update_xaxes(type="category")
    fig.update_xaxes(title_text="head", row=2)
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_yaxes(title_text="layer", col=1)
    _style.base_layout(fig, _style.escape_text(title or "What each head attends to"), height=220 + 100 * L,
                       width=max(680, 300 + 120 * H),
                       coloraxis={"colorscale": _style.PROBABILITY_SCALE, "cmin": 0.0, "cmax": 1.0,
                                  "colorbar": {"title": {"text": "score"}, "y": 0.8, "len": 0.45}})
    fig.update_layout(plot_bgcolor=_style.MASKED_COLOR)
    return fig

"""The causal mask as a T x T matrix, next to the bidirectional mask for comparison."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.model import causal_mask
from gptviz.tracing import Trace
from gptviz.viz import _style
from gptviz.viz._data import resolve_tokens

_ALLOWED_COLOR = "#4c78a8"
# z = 1 for allowed cells, 0 for masked ones
_MASK_SCALE = [[0.0, _style.MASKED_COLOR], [0.5, _style.MASKED_COLOR], [0.5, _ALLOWED_COLOR], [1.0, _ALLOWED_COLOR]]


def _mask_heatmap(allowed: np.ndarray, labels: list[str], name: str) -> go.Heatmap:
    status = np.where(allowed, "allowed (score kept)", "masked (score set to -inf, weight 0)")
    return go.Heatmap(
        z=allowed.astype(np.float64), x=labels, y=labels, zmin=0.0, zmax=1.0, colorscale=_MASK_SCALE,
        showscale=False, xgap=1, ygap=1, customdata=status, name=name,
        hovertemplate="query %{y}<br>key %{x}<br>%{customdata}<extra></extra>",
    )


def causal_mask_matrix(
    data: Trace | int | Sequence[str],
    tokens: Sequence[str] | None = None,
    *,
    bidirectional: bool = True,
    title: str | None = None,
) -> go.Figure:
    """Draw which keys each query may attend to: rows are queries, columns are keys.

    Under the causal mask query t attends to keys 0 .. t (blue) and keys after t are masked
    (grey). With ``bidirectional=True`` a second panel shows the mask of a bidirectional
    encoder, where every query attends to every key.

    Args:
        data: a `Trace`, the number of positions T, or T token strings.
        tokens: T display strings; defaults to the trace's tokens, else positions.
        bidirectional: add the bidirectional mask as a second panel.
        title: figure title (shown as plain text).

    Returns:
        Figure whose ``data[0].z`` is the (T, T) causal mask (1 allowed, 0 masked) and,
        with ``bidirectional``, ``data[1].z`` all ones.

    Example:
        >>> import gptviz
        >>> fig = gptviz.viz.causal_mask_matrix(4)
        >>> fig.data[0].z.tolist()[1]
        [1.0, 1.0, 0.0, 0.0]
    """
    caller = "causal_mask_matrix()"
    trace = data if isinstance(data, Trace) else None
    if trace is not None:
        T = len(trace)
    elif isinstance(data, int) and not isinstance(data, bool):
        T = data
    elif isinstance(data, Sequence) and not isinstance(data, str):
        tokens, T = (tokens if tokens is not None else list(data)), len(data)
    else:
        raise TypeError(
            f"{caller}: data must be a Trace, an int T or a list of token strings, got {type(data).__name__}"
        )
    if T < 1:
        raise ValueError(f"{caller}: need at least one position, got T={T}")
    labels = _style.token_labels(resolve_tokens(tokens, trace, T, caller))

    panels = [("causal (decoder)", causal_mask(T, T).numpy())]
    if bidirectional:
        panels.append(("bidirectional (encoder)", np.ones((T, T), dtype=bool)))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[name for name, _ in panels], horizontal_spacing=0.12)
    for column, (name, allowed) in enumerate(panels, start=1):
        fig.add_trace(_mask_heatmap(allowed, labels, name), row=1, col=column)
    fig.update_xaxes(title_text="key position", type="category", showgrid=False)
    fig.update_yaxes(title_text="query position", type="category", autorange="reversed", showgrid=False)
    size = max(260, min(700, 100 + 28 * T))
    _style.base_layout(fig, _style.escape_text(title or "Which keys each query may attend to"),
                       height=size + 60, width=size * len(panels) + 80)
    return fig

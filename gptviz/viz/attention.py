"""Attention of one head as a heatmap and as lines, and all heads as a grid of thumbnails.

In every view rows (or the left column) are queries and columns (or the right column)
are keys: cell (t, s) is how much position t attends to position s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from gptviz.tracing import Trace
from gptviz.viz import _style
from gptviz.viz._data import allowed_cells, as_array, resolve_tokens, select_pattern


def _pattern_traces(weights: np.ndarray, allowed: np.ndarray, labels: list[str]) -> list[go.Heatmap]:
    """Build a weights heatmap with NaN at masked cells, plus a grey heatmap covering exactly those cells."""
    z = np.where(allowed, weights, np.nan)
    masked = np.where(allowed, np.nan, 1.0)
    weights_trace = go.Heatmap(
        z=z, x=labels, y=labels, zmin=0.0, zmax=1.0, colorscale=_style.PROBABILITY_SCALE,
        colorbar={"title": {"text": "weight"}}, hoverongaps=False, name="weights",
        hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.6f}<extra></extra>",
    )
    mask_trace = go.Heatmap(
        z=masked, x=labels, y=labels, colorscale=_style.MASKED_SCALE, showscale=False, hoverongaps=False,
        name="masked", hovertemplate="query %{y}<br>key %{x}<br>masked: the key comes after the query<extra></extra>",
    )
    return [weights_trace, mask_trace]


def attention_heatmap(
    data: Trace | torch.Tensor | np.ndarray,
    layer: int | None = None,
    head: int | None = None,
    tokens: Sequence[str] | None = None,
    *,
    mask: torch.Tensor | np.ndarray | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Draw the attention weights of one head as a heatmap; rows are queries, columns are keys.

    Weights use a fixed [0, 1] scale, so a weight of 0 is white. Cells that the mask
    removes are NaN in the weights trace and covered by a grey second trace, so they look
    different from an allowed cell of weight 0. Hovering shows the token pair and the weight.

    Args:
        data: a `Trace`, or weights (T, T), (H, T, T) or (L, H, T, T).
        layer: block index; needed for a Trace or a 4-D tensor.
        head: head index; needed for a Trace, a 3-D or a 4-D tensor.
        tokens: T display strings; defaults to the trace's tokens, else positions.
        mask: (T, T) bool, True where a query may attend to a key. The default is the
            finite cells of the recorded ``attn.scores``, else the causal mask.
        title: figure title (shown as plain text).
        height: figure height in pixels.

    Returns:
        Figure with two heatmaps: ``data[0]`` weights (NaN where masked), ``data[1]`` mask.
        Axis titles are "key position" (x) and "query position" (y).

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> fig = gptviz.viz.attention_heatmap(tr, layer=0, head=1)
        >>> fig.data[0].z.shape
        (5, 5)
    """
    caller = "attention_heatmap()"
    weights, allowed, trace = select_pattern(data, layer, head, caller)
    T = weights.shape[0]
    if mask is not None:
        allowed = as_array(mask, caller, "mask").astype(bool)
        if allowed.shape != (T, T):
            raise ValueError(f"{caller}: mask must have shape ({T}, {T}), got {allowed.shape}")
    labels = _style.token_labels(resolve_tokens(tokens, trace, T, caller))
    if title is None:
        title = f"Layer {layer}, head {head}" if layer is not None and head is not None else "Attention weights"
    fig = go.Figure(_pattern_traces(weights, allowed, labels))
    _style.base_layout(fig, _style.escape_text(title), height=height or max(360, min(900, 120 + 18 * T)))
    fig.update_xaxes(title_text="key position", type="category", side="bottom", showgrid=False)
    fig.update_yaxes(title_text="query position", type="category", autorange="reversed", showgrid=False)
    return fig


def _line_segments(weights: np.ndarray, allowed: np.ndarray, query: int | None, min_weight: float) -> np.ndarray:
    """Rows (query, key, weight) of the allowed cells with weight >= min_weight."""
    keep = allowed & (weights >= min_weight)
    if query is not None:
        keep = keep & (np.arange(weights.shape[0]) == query)[:, None]
    queries, keys = np.nonzero(keep)
    return np.column_stack([queries, keys, weights[queries, keys]]).astype(np.float64)


def attention_lines(
    data: Trace | torch.Tensor | np.ndarray,
    layer: int | None = None,
    head: int | None = None,
    tokens: Sequence[str] | None = None,
    *,
    query: int | None = None,
    min_weight: float = 0.01,
    n_bins: int = 8,
    title: str | None = None,
) -> go.Figure:
    """Draw attention as lines from each query token (left) to the keys it attends to (right).

    Line opacity grows with the weight. Lines are grouped into ``n_bins`` traces by weight;
    each point's customdata is (query position, key position, exact weight).

    Args:
        data: a `Trace`, or weights (T, T), (H, T, T) or (L, H, T, T); rows are queries,
            columns are keys.
        layer: block index; needed for a Trace or a 4-D tensor.
        head: head index; needed for a Trace, a 3-D or a 4-D tensor.
        tokens: T display strings; defaults to the trace's tokens, else positions.
        query: draw only the lines of this query position.
        min_weight: weights below this are not drawn.
        n_bins: number of opacity levels.
        title: figure title (shown as plain text).

    Returns:
        Figure: the line traces, then the query tokens (left) and key tokens (right).

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> fig = gptviz.viz.attention_lines(tr, layer=0, head=0, min_weight=0.0)
        >>> sum(len(line.customdata) // 3 for line in fig.data if line.mode == "lines")
        15
    """
    caller = "attention_lines()"
    weights, allowed, trace = select_pattern(data, layer, head, caller)
    T = weights.shape[0]
    if query is not None and (isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < T):
        raise ValueError(f"{caller}: query must be an int in [0, {T}) or None, got {query!r}")
    texts = _style.token_texts(resolve_tokens(tokens, trace, T, caller))
    segments = _line_segments(weights, allowed, query, min_weight)

    fig = go.Figure()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(segments[:, 2], edges[1:-1]), 0, n_bins - 1)
    for index in range(n_bins):
        chosen = segments[bins == index]
        if len(chosen) == 0:
            continue
        # Each segment is start, end and a NaN gap, so one trace draws many separate lines
        points = np.full((3 * len(chosen), 3), np.nan)
        points[0::3], points[1::3] = chosen, chosen
        x = np.tile([0.0, 1.0, np.nan], len(chosen))
        y = np.column_stack([chosen[:, 0], chosen[:, 1], np.full(len(chosen), np.nan)]).reshape(-1)
        alpha = 0.15 + 0.85 * (edges[index] + edges[index + 1]) / 2
        fig.add_trace(go.Scatter(
            x=x, y=y, customdata=points, mode="lines", hoverinfo="skip", showlegend=False,
            name=f"weight {edges[index]:.2f}-{edges[index + 1]:.2f}",
            line={"color": f"rgba(31, 119, 180, {alpha:.3f})", "width": 1 + 3 * edges[index + 1]},
        ))
    positions = np.arange(T)
    for side, x_value, anchor in (("query", 0.0, "middle left"), ("key", 1.0, "middle right")):
        fig.add_trace(go.Scatter(
            x=np.full(T, x_value), y=positions, text=texts, mode="markers+text", textposition=anchor,
            marker={"size": 6, "color": _style.BAR_COLOR}, showlegend=False, name=f"{side} tokens",
            customdata=positions, hovertemplate=f"{side} position %{{customdata}}: %{{text}}<extra></extra>",
        ))
    default = f"Layer {layer}, head {head}: queries (left) attend to keys (right)"
    _style.base_layout(fig, _style.escape_text(title or default), height=max(300, 40 + 20 * T))
    fig.update_xaxes(range=[-0.6, 1.6], showticklabels=False, showgrid=False, zeroline=False,
                     title_text="query position → key position")
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    return fig


def attention_grid(
    data: Trace | torch.Tensor | np.ndarray,
    tokens: Sequence[str] | None = None,
    *,
    thumbnail_size: int = 110,
    title: str | None = None,
) -> go.Figure:
    """Draw every head of every layer as a thumbnail heatmap: one row per layer, one column per head.

    Each thumbnail has queries as rows and keys as columns, on the shared [0, 1] scale.
    Masked cells are NaN, so they show the grey plot background.

    Args:
        data: a `Trace` with every ``attn.pattern`` recorded, or weights (L, H, T, T).
        tokens: T display strings, shown on hover; defaults to the trace's, else positions.
        thumbnail_size: pixel size of one thumbnail.
        title: figure title (shown as plain text).

    Returns:
        Figure with L * H heatmaps in layer-major order (``data[l * H + h]``).

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> len(gptviz.viz.attention_grid(tr).data)
        4
    """
    caller = "attention_grid()"
    trace = data if isinstance(data, Trace) else None
    if trace is not None:
        patterns = trace.stack("attn.pattern").double().numpy()  # (L, H, T, T)
        T = patterns.shape[-1]
        allowed = np.stack(
            [np.broadcast_to(allowed_cells(trace, i, T), patterns.shape[1:]) for i in range(trace.n_layer)]
        )
    else:
        patterns = as_array(data, caller, "data")
        if patterns.ndim != 4 or patterns.shape[-1] != patterns.shape[-2]:
            raise ValueError(f"{caller}: expected a Trace or weights of shape (L, H, T, T), got {patterns.shape}")
        allowed = np.broadcast_to(np.tril(np.ones(patterns.shape[-2:], dtype=bool)), patterns.shape)
    L, H, T, _ = patterns.shape
    labels = _style.token_labels(resolve_tokens(tokens, trace, T, caller))

    fig = make_subplots(rows=L, cols=H, subplot_titles=[f"L{i} H{j}" for i in range(L) for j in range(H)],
                        horizontal_spacing=0.1 / max(H, 1), vertical_spacing=0.3 / max(L, 1))
    for i in range(L):
        for j in range(H):
            fig.add_trace(go.Heatmap(
                z=np.where(allowed[i, j], patterns[i, j], np.nan), x=labels, y=labels, coloraxis="coloraxis",
                hoverongaps=False, name=f"layer {i} head {j}",
                hovertemplate=f"layer {i} head {j}<br>query %{{y}}<br>key %{{x}}<br>weight %{{z:.4f}}<extra></extra>",
            ), row=i + 1, col=j + 1)
    fig.update_xaxes(type="category", showticklabels=False, showgrid=False)
    fig.update_yaxes(type="category", showticklabels=False, showgrid=False, autorange="reversed")
    fig.update_xaxes(title_text="key position", row=L, col=1)
    fig.update_yaxes(title_text="query position", row=L, col=1)
    _style.base_layout(fig, _style.escape_text(title or "Every head: layers are rows, heads are columns"),
                       width=max(480, 160 + thumbnail_size * H), height=120 + thumbnail_size * L,
                       coloraxis={"colorscale": _style.PROBABILITY_SCALE, "cmin": 0.0, "cmax": 1.0})
    fig.update_layout(plot_bgcolor=_style.MASKED_COLOR)
    return fig

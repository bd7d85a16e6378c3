"""The residual stream: its norm per stream and position, and what attention and MLP add."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gptviz.analysis.residual import block_contributions, residual_norms
from gptviz.tracing import Trace
from gptviz.viz import _style
from gptviz.viz._data import resolve_tokens


def residual_norm_heatmap(trace: Trace, tokens: Sequence[str] | None = None, *, title: str | None = None) -> go.Figure:
    """Draw the L2 norm of the residual stream at every stream (rows) and position (columns).

    Row 0 is the embeddings (the stream entering block 0), row i the stream entering block
    i, and the last row the stream leaving the last block. The scale starts at 0.

    Args:
        trace: a `Trace` with ``blocks.*.resid_pre`` and the last ``resid_post`` recorded.
        tokens: T display strings; defaults to the trace's tokens.
        title: figure title (shown as plain text).

    Returns:
        Figure with one heatmap whose ``z`` is `gptviz.analysis.residual_norms(trace)`, (L + 1, T).

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> gptviz.viz.residual_norm_heatmap(tr).data[0].z.shape
        (3, 5)
    """
    norms = residual_norms(trace).double().numpy()  # (L + 1, T)
    labels = _style.token_labels(resolve_tokens(tokens, trace, norms.shape[1], "residual_norm_heatmap()"))
    rows = ["embeddings"] + [f"before block {i}" for i in range(1, trace.n_layer)] + ["final stream"]
    fig = go.Figure(go.Heatmap(
        z=norms, x=labels, y=rows, zmin=0.0, colorscale=_style.MAGNITUDE_SCALE,
        colorbar={"title": {"text": "‖resid‖"}},
        hovertemplate="%{y}, position %{x}<br>norm %{z:.4f}<extra></extra>",
    ))
    _style.base_layout(fig, _style.escape_text(title or "Norm of the residual stream"), height=160 + 40 * len(rows))
    fig.update_xaxes(title_text="position", type="category")
    fig.update_yaxes(title_text="residual stream", type="category", autorange="reversed")
    return fig


def block_contribution_heatmap(
    trace: Trace, tokens: Sequence[str] | None = None, *, title: str | None = None
) -> go.Figure:
    """Draw what each block adds: the norms of attention output and MLP output per layer and position.

    Three panels share one scale starting at 0: the stream entering the block, what
    attention adds (``attn.out``) and what the MLP adds (``mlp.out``).

    Args:
        trace: a `Trace` with ``attn.out``, ``mlp.out`` and ``resid_pre`` of every block.
        tokens: T display strings; defaults to the trace's tokens.
        title: figure title (shown as plain text).

    Returns:
        Figure with three heatmaps, each ``z`` (L, T): stream, attention, MLP norms from
        `gptviz.analysis.block_contributions`.

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> [panel.z.shape for panel in gptviz.viz.block_contribution_heatmap(tr).data]
        [(2, 5), (2, 5), (2, 5)]
    """
    parts = block_contributions(trace)
    panels = [("stream entering the block", parts.stream), ("attention adds", parts.attention), ("MLP adds", parts.mlp)]
    T = parts.stream.shape[1]
    labels = _style.token_labels(resolve_tokens(tokens, trace, T, "block_contribution_heatmap()"))
    rows = [f"block {i}" for i in range(trace.n_layer)]
    upper = max(float(values.max()) for _, values in panels) or 1.0
    fig = make_subplots(rows=1, cols=3, subplot_titles=[name for name, _ in panels], horizontal_spacing=0.06)
    for column, (name, values) in enumerate(panels, start=1):
        fig.add_trace(go.Heatmap(
            z=values.double().numpy(), x=labels, y=rows, coloraxis="coloraxis", name=name,
            hovertemplate=f"{name}<br>%{{y}}, position %{{x}}<br>norm %{{z:.4f}}<extra></extra>",
        ), row=1, col=column)
    fig.update_xaxes(title_text="position", type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_yaxes(title_text="block", row=1, col=1)
    for column in (2, 3):
        fig.update_yaxes(showticklabels=False, row=1, col=column)
    _style.base_layout(fig, _style.escape_text(title or "What attention and MLP add to the residual stream (L2 norms)"),
                       height=180 + 40 * trace.n_layer,
                       coloraxis={"colorscale": _style.MAGNITUDE_SCALE, "cmin": 0.0, "cmax": upper})
    return fig

"""Positional encodings: the table as a heatmap, chosen dimensions as curves, the similarity
PE[p] . PE[q] of every pair of positions, and sinusoidal next to learned."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from gptviz.analysis.positional import positional_similarity
from gptviz.model import GPT
from gptviz.tracing import Trace
from gptviz.viz import _style
from gptviz.viz._data import as_array

TableSource = Trace | GPT | torch.Tensor | np.ndarray


def positional_table(data: TableSource, caller: str = "positional_table()") -> np.ndarray:
    """(T, C) float64 positional encodings from a trace (``embed.pos``), a model or a tensor.

    For a model this is the whole (block_size, C) table: the learned weights or the
    sinusoidal buffer.
    """
    if isinstance(data, Trace):
        if "embed.pos" not in data:
            raise ValueError(f"{caller}: the trace has no 'embed.pos'; trace with names=None or include 'embed.pos'")
        return data["embed.pos"].double().numpy()
    if isinstance(data, GPT):
        position = data.embed.position
        table = position.table if hasattr(position, "table") else position.weight
        return table.detach().cpu().double().numpy()
    table = as_array(data, caller, "data")
    if table.ndim != 2:
        raise ValueError(f"{caller}: expected positional encodings of shape (T, C), got {table.shape}")
    return table


def _signed_limit(values: np.ndarray) -> float:
    return float(np.abs(values).max()) or 1.0


def positional_heatmap(data: TableSource, *, title: str | None = None) -> go.Figure:
    """Draw positional encodings as a heatmap: rows are positions, columns are dimensions.

    Values use a diverging scale centred at 0 and symmetric around it.

    Args:
        data: (T, C) encodings, a `Trace` (its ``embed.pos``) or a `GPT` (its whole table).
        title: figure title (shown as plain text).

    Returns:
        Figure with one heatmap whose z is the (T, C) table.

    Example:
        >>> from gptviz.positional import sinusoidal_table
        >>> import gptviz
        >>> gptviz.viz.positional_heatmap(sinusoidal_table(8, 16)).data[0].z.shape
        (8, 16)
    """
    table = positional_table(data, "positional_heatmap()")
    limit = _signed_limit(table)
    fig = go.Figure(go.Heatmap(
        z=table, colorscale=_style.DIVERGING_SCALE, zmid=0.0, zmin=-limit, zmax=limit,
        colorbar={"title": {"text": "value"}},
        hovertemplate="position %{y}<br>dimension %{x}<br>value %{z:.4f}<extra></extra>",
    ))
    _style.base_layout(fig, _style.escape_text(title or "Positional encoding PE[position, dimension]"))
    fig.update_xaxes(title_text="dimension")
    fig.update_yaxes(title_text="position", autorange="reversed")
    return fig


def positional_curves(
    data: TableSource, dims: Sequence[int] = (0, 1, 4, 5), *, title: str | None = None
) -> go.Figure:
    """Draw chosen dimensions of the positional encoding as curves over position.

    Args:
        data: (T, C) encodings, a `Trace` or a `GPT`.
        dims: dimensions to draw, one line each.
        title: figure title (shown as plain text).

    Returns:
        Figure with one line per dimension, in the order of ``dims``; y is ``table[:, dim]``.

    Example:
        >>> from gptviz.positional import sinusoidal_table
        >>> import gptviz
        >>> len(gptviz.viz.positional_curves(sinusoidal_table(8, 16), dims=[0, 1]).data)
        2
    """
    table = positional_table(data, "positional_curves()")
    C = table.shape[1]
    bad = [dim for dim in dims if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim < C]
    if bad or len(dims) == 0:
        raise ValueError(f"positional_curves(): dims must be ints in [0, {C}), got {list(dims)!r}")
    positions = np.arange(table.shape[0])
    fig = go.Figure([
        go.Scatter(x=positions, y=table[:, dim], mode="lines+markers", name=f"dimension {dim}",
                   hovertemplate=f"dimension {dim}<br>position %{{x}}<br>value %{{y:.4f}}<extra></extra>")
        for dim in dims
    ])
    _style.base_layout(fig, _style.escape_text(title or "Positional encoding along the positions"))
    fig.update_xaxes(title_text="position")
    fig.update_yaxes(title_text="value", zeroline=True)
    return fig


def positional_similarity_matrix(
    data: TableSource, *, normalize: bool = False, title: str | None = None
) -> go.Figure:
    """Draw PE[p] . PE[q] for every pair of positions.

    For sinusoidal encodings every diagonal is constant: the similarity depends only on
    the offset p - q. Learned encodings need not show this.

    Args:
        data: (T, C) encodings, a `Trace` or a `GPT`.
        normalize: draw cosine similarities instead of dot products.
        title: figure title (shown as plain text).

    Returns:
        Figure with one heatmap whose z is the (T, T) similarity, diverging around 0.

    Example:
        >>> from gptviz.positional import sinusoidal_table
        >>> import gptviz
        >>> gptviz.viz.positional_similarity_matrix(sinusoidal_table(8, 16)).data[0].z.shape
        (8, 8)
    """
    table = positional_table(data, "positional_similarity_matrix()")
    similarity = positional_similarity(torch.from_numpy(table), normalize=normalize).double().numpy()
    limit = _signed_limit(similarity)
    kind = "cosine similarity" if normalize else "PE[p] · PE[q]"
    fig = go.Figure(go.Heatmap(
        z=similarity, colorscale=_style.DIVERGING_SCALE, zmid=0.0, zmin=-limit, zmax=limit,
        colorbar={"title": {"text": "similarity"}},
        hovertemplate="p = %{y}<br>q = %{x}<br>" + kind + " = %{z:.4f}<extra></extra>",
    ))
    _style.base_layout(fig, _style.escape_text(title or f"Similarity of positions: {kind}"))
    fig.update_xaxes(title_text="position q")
    fig.update_yaxes(title_text="position p", autorange="reversed")
    return fig


def positional_comparison(
    sinusoidal: TableSource, learned: TableSource, *, title: str | None = None
) -> go.Figure:
    """Draw a sinusoidal and a learned positional table side by side, on one diverging scale.

    Args:
        sinusoidal: (T, C) sinusoidal encodings (or a model or trace that uses them).
        learned: (T', C') learned encodings (or a model or trace that uses them).
        title: figure title (shown as plain text).

    Returns:
        Figure with two heatmaps: ``data[0].z`` the sinusoidal table, ``data[1].z`` the learned one.

    Example:
        >>> import torch, gptviz
        >>> from gptviz.positional import sinusoidal_table
        >>> fig = gptviz.viz.positional_comparison(sinusoidal_table(8, 16), torch.randn(8, 16))
        >>> [trace.z.shape for trace in fig.data]
        [(8, 16), (8, 16)]
    """
    tables = [positional_table(table, "positional_comparison()") for table in (sinusoidal, learned)]
    limit = max(_signed_limit(table) for table in tables)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["sinusoidal (fixed)", "learned"], horizontal_spacing=0.08)
    for column, table in enumerate(tables, start=1):
        fig.add_trace(go.Heatmap(
            z=table, coloraxis="coloraxis",
            hovertemplate="position %{y}<br>dimension %{x}<br>value %{z:.4f}<extra></extra>",
        ), row=1, col=column)
    fig.update_xaxes(title_text="dimension")
    fig.update_yaxes(title_text="position", autorange="reversed")
    _style.base_layout(fig, _style.escape_text(title or "Sinusoidal and learned positional encodings"),
                       coloraxis={"colorscale": _style.DIVERGING_SCALE, "cmid": 0.0, "cmin": -limit, "cmax": limit})
    return fig

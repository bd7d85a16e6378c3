"""Logit lens: the top prediction at every layer and position, coloured by the probability
of the token that actually comes next."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gptviz.analysis.lens import LogitLens
from gptviz.viz import _style
from gptviz.viz._data import resolve_tokens

# Cell text of the logit lens has at most LENS_MAX_CHARS characters and is shown when a cell
# is at least LENS_MIN_CELL_PX wide. LENS_FRAME_PX is the width of everything but the cells
# (row labels, margins, colour bar).
LENS_MAX_CHARS = 6
LENS_CELL_PX = 56
LENS_MIN_CELL_PX = 44
LENS_FRAME_PX = 280
LENS_MAX_WIDTH_PX = 1400


def _stream_label(name: str, index: int, n_streams: int) -> str:
    if index == 0:
        return "embeddings"
    if index == n_streams - 1:
        return "final stream"
    return f"before block {name.split('.')[1]}"


def logit_lens_heatmap(
    lens: LogitLens,
    tokens: Sequence[str] | None = None,
    *,
    title: str | None = None,
    width: int | None = None,
) -> go.Figure:
    """Draw the logit lens: rows are residual streams (embeddings first), columns are positions.

    Cell (i, t) shows the top-1 prediction when stream i is decoded at position t, and is
    coloured by the probability it gives the actual next token ids[t + 1] (fixed [0, 1]
    scale). The last position has no next token and is NaN. A cell shows its prediction
    as text (cut to ``LENS_MAX_CHARS`` characters) only when cells are at least
    ``LENS_MIN_CELL_PX`` pixels wide; the hover always shows it whole.

    Args:
        lens: the result of `gptviz.analysis.logit_lens(model, trace)`.
        tokens: T display strings for the columns; defaults to the lens's tokens.
        title: figure title (shown as plain text).
        width: figure width in pixels; None sizes the cells for their text, up to
            ``LENS_MAX_WIDTH_PX``.

    Returns:
        Figure with one heatmap: ``z`` (L + 1, T) with ``z[:, :T-1] = lens.target_probs``,
        ``text`` the top-1 predictions as cell text and ``customdata`` (prediction, its
        probability, actual next token, its rank).

    Example:
        >>> import gptviz
        >>> from gptviz.analysis import logit_lens
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> lens = logit_lens(model, gptviz.trace(model, [3, 1, 4, 1, 5]))
        >>> gptviz.viz.logit_lens_heatmap(lens).data[0].z.shape
        (3, 5)
    """
    caller = "logit_lens_heatmap()"
    if not isinstance(lens, LogitLens):
        raise TypeError(
            f"{caller}: expected the LogitLens from gptviz.analysis.logit_lens(model, trace), got {type(lens).__name__}"
        )
    n_streams, T = lens.top_ids.shape[:2]
    column_labels = _style.token_labels(resolve_tokens(tokens if tokens is not None else lens.tokens, None, T, caller))
    row_labels = [_stream_label(name, i, n_streams) for i, name in enumerate(lens.stream_names)]

    z = np.full((n_streams, T), np.nan)
    z[:, : T - 1] = lens.target_probs.double().numpy()
    predictions = np.array([_style.token_texts(row) for row in lens.top_tokens], dtype=object)  # (S, T)
    cells = np.array([[_style.cell_text(token, LENS_MAX_CHARS) for token in row] for row in lens.top_tokens],
                     dtype=object)  # (S, T)
    if width is None:
        width = min(max(560, LENS_FRAME_PX + LENS_CELL_PX * T), LENS_MAX_WIDTH_PX)
    show_text = (width - LENS_FRAME_PX) / T >= LENS_MIN_CELL_PX
    next_tokens = _style.token_texts(lens.tokens[1:]) + ["(none)"]
    customdata = np.empty((n_streams, T, 4), dtype=object)
    customdata[..., 0] = predictions
    customdata[..., 1] = np.char.mod("%.4f", lens.top_probs[..., 0].double().numpy())
    customdata[..., 2] = np.array(next_tokens, dtype=object)[None, :]
    ranks = np.full((n_streams, T), "", dtype=object)
    ranks[:, : T - 1] = lens.target_ranks.numpy().astype(str)
    customdata[..., 3] = ranks
    fig = go.Figure(go.Heatmap(
        z=z, x=column_labels, y=row_labels, text=cells, texttemplate="%{text}" if show_text else "",
        textfont={"size": 11}, customdata=customdata,
        zmin=0.0, zmax=1.0, colorscale=_style.PROBABILITY_SCALE, colorbar={"title": {"text": "p(actual next)"}},
        hovertemplate=(
            "%{y}, position %{x}<br>top prediction %{customdata[0]} (p = %{customdata[1]})"
            "<br>actual next %{customdata[2]}: p = %{z:.4f}, rank %{customdata[3]}<extra></extra>"
        ),
    ))
    _style.base_layout(fig, _style.escape_text(title or "Logit lens: top prediction when decoding each stream early"),
                       height=160 + 40 * n_streams, width=width)
    fig.update_xaxes(title_text="position", type="category")
    fig.update_yaxes(title_text="residual stream", type="category", autorange="reversed")
    return fig

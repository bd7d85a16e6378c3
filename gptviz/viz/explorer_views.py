"""Views that the explorers need beyond the standard ones: an edited attention mask next
to its predictions, the effect of ablating heads, and answers ranked by log-probability.

Each function is pure: data in, a `plotly.graph_objects.Figure` out. Token text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from gptviz.analysis.masking import MaskedPrediction
from gptviz.viz import _style

_ALLOWED_COLOR = "#4c78a8"
# z = 0 masked, 1 allowed (key at or before the query), 2 allowed future key (a leak)
_MASK_LAB_SCALE = [
    [0.0, _style.MASKED_COLOR], [0.33, _style.MASKED_COLOR],
    [0.33, _ALLOWED_COLOR], [0.67, _ALLOWED_COLOR],
    [0.67, _style.HIGHLIGHT_COLOR], [1.0, _style.HIGHLIGHT_COLOR],
]
_MASK_STATUS = np.array(["masked", "allowed", "allowed: a future key leaks in"])


def _check_tokens(tokens: Sequence[str], T: int, caller: str) -> list[str]:
    if isinstance(tokens, str) or len(tokens) != T:
        raise ValueError(f"{caller}: expected {T} token strings, got {tokens!r}")
    return [str(token) for token in tokens]


def masked_prediction_view(
    prediction: MaskedPrediction,
    tokens: Sequence[str],
    *,
    baseline: MaskedPrediction | None = None,
    mask_name: str = "custom",
    title: str | None = None,
) -> go.Figure:
    """Draw an attention mask beside the log-probability it gives each next token.

    Left: the (T, T) mask, rows are queries and columns keys; grey cells are masked, blue
    cells allowed, red cells allowed keys after the query (the future leaks in). Right:
    log p(token t + 1 | allowed keys) for every position t, with the causal baseline.

    Args:
        prediction: predictions under the mask (`gptviz.analysis.masking.masked_predictions`).
        tokens: T display strings.
        baseline: predictions under the causal mask, drawn as a second bar series.
        mask_name: name of the mask shown in the title.
        title: figure title (shown as plain text); defaults to the mask name and losses.

    Returns:
        Figure whose ``data[0].z`` is the (T, T) mask state (0 masked, 1 allowed, 2 leak)
        and ``data[1].y`` the (T - 1,) next-token log-probabilities under the mask.
    """
    caller = "masked_prediction_view()"
    mask = prediction.mask.bool()
    T = mask.shape[0]
    tokens = _check_tokens(tokens, T, caller)
    labels = _style.token_labels(tokens)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    state = mask.int() + (mask & ~causal).int()  # (T, T) in {0, 1, 2}

    fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.14,
                        subplot_titles=["attention mask (red: future leaks in)", "log p(next token)"])
    fig.add_trace(go.Heatmap(
        z=state.double().numpy(), x=labels, y=labels, zmin=0, zmax=2, colorscale=_MASK_LAB_SCALE,
        showscale=False, xgap=1, ygap=1, customdata=_MASK_STATUS[state.numpy()], name="mask",
        hovertemplate="query %{y}<br>key %{x}<br>%{customdata}<extra></extra>",
    ), row=1, col=1)
    targets = [f"{labels[t]} → {labels[t + 1]}" for t in range(T - 1)]
    fig.add_trace(go.Bar(x=targets, y=prediction.token_logprobs.double().numpy(), name=_style.escape_text(mask_name),
                         marker_color=[_style.HIGHLIGHT_COLOR if leak else _style.BAR_COLOR for leak in prediction.leaks[:-1].tolist()],
                         hovertemplate="%{x}<br>log p = %{y:.3f}<extra></extra>"), row=1, col=2)
    if baseline is not None:
        fig.add_trace(go.Bar(x=targets, y=baseline.token_logprobs.double().numpy(), name="causal",
                             marker_color=_style.MASKED_COLOR,
                             hovertemplate="%{x}<br>causal log p = %{y:.3f}<extra></extra>"), row=1, col=2)
    fig.update_xaxes(title_text="key position", type="category", row=1, col=1)
    fig.update_yaxes(title_text="query position", type="category", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title_text="position → next token", type="category", tickangle=-45, row=1, col=2)
    fig.update_yaxes(title_text="log-probability (nats)", row=1, col=2)
    if title is None:
        title = f"Mask: {mask_name}, loss {prediction.loss:.3f} nats/token"
        if baseline is not None:
            title += f" (causal {baseline.loss:.3f})"
    _style.base_layout(fig, _style.escape_text(title), barmode="group", height=420,
                       width=max(760, 300 + 48 * T), legend={"orientation": "h", "y": -0.35})
    return fig


def ablation_view(
    delta: torch.Tensor,
    tokens: Sequence[str],
    ablated: Sequence[tuple[int, int]],
    *,
    title: str | None = None,
) -> go.Figure:
    """Draw how ablating heads changes the log-probability of each next token.

    Args:
        delta: (T - 1,) ablated minus original log p(ids[t + 1] | ids[0..t]), in nats.
        tokens: T display strings.
        ablated: the (layer, head) pairs that were zeroed, named in the title.
        title: figure title (shown as plain text).

    Returns:
        Figure with one bar trace whose ``y`` is ``delta``; red bars are losses.
    """
    values = torch.as_tensor(delta).double().reshape(-1).numpy()
    labels = _style.token_labels(_check_tokens(tokens, values.shape[0] + 1, "ablation_view()"))
    targets = [f"{labels[t]} → {labels[t + 1]}" for t in range(values.shape[0])]
    colors = [_style.HIGHLIGHT_COLOR if value < 0 else _style.BAR_COLOR for value in values]
    fig = go.Figure(go.Bar(x=targets, y=values, marker_color=colors, name="change",
                           hovertemplate="%{x}<br>Δ log p = %{y:+.4f}<extra></extra>"))
    if title is None:
        names = ", ".join(f"L{layer}H{head}" for layer, head in ablated) or "none"
        title = f"Change in log p(next token) with heads ablated: {names}"
    _style.base_layout(fig, _style.escape_text(title), height=360)
    fig.update_xaxes(title_text="position → next token", type="category", tickangle=-45)
    fig.update_yaxes(title_text="Δ log-probability (nats)", zeroline=True, zerolinecolor="#444")
    return fig


def answer_ranking_view(
    answers: Sequence[str],
    logprobs: Sequence[float],
    *,
    question: str = "",
    title: str | None = None,
) -> go.Figure:
    """Draw candidate answers ranked by log p(answer | question), best on top.

    Args:
        answers: candidate answer strings.
        logprobs: their conditional log-probabilities in nats, in the same order.
        question: the question, shown in the title.
        title: figure title (shown as plain text).

    Returns:
        Horizontal bar figure; ``data[0].y`` holds the answers from best to worst.
    """
    if len(answers) != len(logprobs) or not answers:
        raise ValueError(f"answer_ranking_view(): need one log-probability per answer, got {len(answers)} answers "
                         f"and {len(logprobs)} values")
    order = sorted(range(len(answers)), key=lambda index: -float(logprobs[index]))
    labels = _style.token_labels([answers[index] for index in order])
    values = [float(logprobs[index]) for index in order]
    colors = [_style.HIGHLIGHT_COLOR] + [_style.BAR_COLOR] * (len(order) - 1)
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h", marker_color=colors,
                           hovertemplate="%{y}<br>log p = %{x:.3f}<extra></extra>"))
    _style.base_layout(fig, _style.escape_text(title or f"Answers ranked by log p(answer | {question!r})"),
                       height=120 + 36 * len(order))
    fig.update_xaxes(title_text="log p(answer | question) (nats)")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def offset_similarity_view(
    tables: dict[str, np.ndarray | torch.Tensor],
    offset: int,
    *,
    title: str | None = None,
) -> go.Figure:
    """Draw PE[p] . PE[p + offset] against p, one line per positional table.

    For sinusoidal encodings the line is flat: the dot product depends only on the offset.

    Args:
        tables: name -> (T, C) positional encodings.
        offset: distance between the two positions, in [0, T).
        title: figure title (shown as plain text).

    Returns:
        Figure with one line per table, in the order of ``tables``; ``y[p]`` is the dot
        product of positions p and p + offset.
    """
    from gptviz.analysis.positional import positional_similarity

    if not tables:
        raise ValueError("offset_similarity_view(): pass at least one positional table")
    fig = go.Figure()
    for name, table in tables.items():
        table = torch.as_tensor(np.asarray(table, dtype=np.float64))
        T = table.shape[0]
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < T:
            raise ValueError(f"offset_similarity_view(): offset must be an int in [0, {T}), got {offset!r}")
        similarity = positional_similarity(table).double().numpy()  # (T, T)
        values = np.diagonal(similarity, offset=offset)  # (T - offset,)
        fig.add_trace(go.Scatter(x=np.arange(values.shape[0]), y=values, mode="lines+markers",
                                 name=_style.escape_text(name),
                                 hovertemplate="p = %{x}<br>PE[p] · PE[p + k] = %{y:.4f}<extra></extra>"))
    _style.base_layout(fig, _style.escape_text(title or f"PE[p] · PE[p + k] for offset k = {offset}"), height=340)
    fig.update_xaxes(title_text="position p")
    fig.update_yaxes(title_text="dot product")
    return fig


def highlight_cells(
    figure: go.Figure,
    *,
    row: int | None = None,
    column: int | None = None,
    n_rows: int,
    n_columns: int,
    title: str | None = None,
) -> go.Figure:
    """Outline one row or one column of a categorical heatmap, in place.

    Categorical axes place category i at coordinate i, so the outline spans i - 0.5 to
    i + 0.5. Used to show the selected query row of an attention heatmap or the selected
    position of the logit lens.

    Args:
        figure: a figure whose first trace is a heatmap on categorical axes.
        row: index of the row to outline.
        column: index of the column to outline.
        n_rows: number of rows of the heatmap.
        n_columns: number of columns of the heatmap.
        title: new figure title (shown as plain text); None keeps the title.

    Returns:
        The same figure, with one rectangle shape per outlined row or column.
    """
    outline = {"type": "rect", "xref": "x", "yref": "y", "line": {"color": _style.HIGHLIGHT_COLOR, "width": 3}}
    if row is not None:
        figure.add_shape(x0=-0.5, x1=n_columns - 0.5, y0=row - 0.5, y1=row + 0.5, **outline)
    if column is not None:
        figure.add_shape(x0=column - 0.5, x1=column + 0.5, y0=-0.5, y1=n_rows - 0.5, **outline)
    if title is not None:
        figure.update_layout(title={"text": _style.escape_text(title)})
    return figure


def placeholder_view(message: str, *, height: int = 320) -> go.Figure:
    """An empty figure whose title tells the user what to do (for example "press Step")."""
    fig = go.Figure()
    _style.base_layout(fig, _style.escape_text(message), height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def newest_attention_view(attention: torch.Tensor, tokens: Sequence[str], *, title: str | None = None) -> go.Figure:
    """Draw where the newest position attends, for every layer and head.

    Args:
        attention: (L, H, T) weights of the newest query position over the T context keys;
            each (layer, head) row sums to 1.
        tokens: T display strings of the context.
        title: figure title (shown as plain text).

    Returns:
        Figure with one heatmap: ``z`` is (L * H, T), row ``l * H + h`` is layer l head h.
    """
    weights = torch.as_tensor(attention).double()
    if weights.dim() != 3:
        raise ValueError(f"newest_attention_view(): attention must be (L, H, T), got {tuple(weights.shape)}")
    L, H, T = weights.shape
    labels = _style.token_labels(_check_tokens(tokens, T, "newest_attention_view()"))
    rows = [f"L{layer} H{head}" for layer in range(L) for head in range(H)]
    fig = go.Figure(go.Heatmap(
        z=weights.reshape(L * H, T).numpy(), x=labels, y=rows, zmin=0.0, zmax=1.0,
        colorscale=_style.PROBABILITY_SCALE, colorbar={"title": {"text": "weight"}},
        hovertemplate="%{y}<br>key %{x}<br>weight %{z:.4f}<extra></extra>",
    ))
    _style.base_layout(fig, _style.escape_text(title or "Attention of the newest token, every layer and head"),
                       height=max(300, 120 + 22 * L * H))
    fig.update_xaxes(title_text="key position", type="category", tickangle=-45)
    fig.update_yaxes(title_text="layer and head", type="category", autorange="reversed")
    return fig

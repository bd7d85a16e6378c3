"""Attention arithmetic of one query as a table: scores, scaling, mask, exponentials, weights."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from gptviz.analysis.attention import AttentionSteps, attention_steps
from gptviz.tracing import Trace
from gptviz.viz import _style
from gptviz.viz._data import resolve_tokens

MINUS_INFINITY = "\u2212\u221e"
COLUMNS = ("key position", "key token", "score q·k", "scaled ÷√D", "mask", "scaled + mask", "exp", "weight")


def _number(value: float) -> str:
    """Six significant digits; -inf as the minus-infinity sign."""
    return MINUS_INFINITY if value == float("-inf") else f"{value:.6g}"


def attention_arithmetic(
    data: Trace | AttentionSteps,
    layer: int | None = None,
    head: int | None = None,
    query: int | None = None,
    tokens: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """Show how one query's attention weights come out of q and k, one row per key.

    Columns: key position, key token, q·k, q·k / sqrt(D), the mask (0 or -inf), the masked
    scaled score, exp of it, and the weight. The weights are one row of the pattern, where
    rows are queries and columns are keys. The last row contains the sums, and the
    weights sum to 1.

    Args:
        data: a `Trace` with ``attn.q`` and ``attn.k`` recorded, or an `AttentionSteps`
            from `gptviz.analysis.attention_steps`.
        layer: block index (with a Trace).
        head: head index (with a Trace).
        query: query position (with a Trace).
        tokens: T display strings; defaults to the trace's tokens, else positions.
        title: figure title (shown as plain text).

    Returns:
        Figure with one ``go.Table`` of 8 text columns: T rows for the keys, then the sum
        row. Numbers are written with 6 significant digits and -inf as "−∞".

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> fig = gptviz.viz.attention_arithmetic(tr, layer=0, head=0, query=1)
        >>> fig.data[0].cells.values[4][:3]
        ['0', '0', '−∞']
    """
    caller = "attention_arithmetic()"
    trace = data if isinstance(data, Trace) else None
    if trace is not None:
        if layer is None or head is None or query is None:
            raise ValueError(f"{caller}: a Trace needs layer=, head= and query=")
        steps = attention_steps(trace, layer, head, query)
    elif isinstance(data, AttentionSteps):
        steps = data
    else:
        raise TypeError(f"{caller}: data must be a Trace or an AttentionSteps, got {type(data).__name__}")
    T = steps.scores.shape[0]
    texts = _style.token_texts(resolve_tokens(tokens, trace, T, caller))

    exp_sum, weight_sum = float(steps.exp.sum()), float(steps.weights.sum())
    columns = [
        [str(position) for position in range(T)] + ["sum"],
        texts + [""],
        [_number(value) for value in steps.scores.tolist()] + [""],
        [_number(value) for value in steps.scaled.tolist()] + [""],
        ["0" if ok else MINUS_INFINITY for ok in steps.allowed.tolist()] + [""],
        [_number(value) for value in steps.masked.tolist()] + [""],
        [_number(value) for value in steps.exp.tolist()] + [_number(exp_sum)],
        [_number(value) for value in steps.weights.tolist()] + [_number(weight_sum)],
    ]
    fill = [["white"] * T + ["#eeeeee"]]
    table = go.Table(
        header={"values": list(COLUMNS), "fill_color": "#dde6f0", "align": "center", "height": 40},
        columnwidth=[1, 2, 1.4, 1.4, 0.8, 1.4, 1.4, 1.4],
        cells={"height": 26, "values": columns, "fill_color": fill, "align": ["right", "left"] + ["right"] * 6},
    )
    shift = f", exp shifted by {steps.shift:.4g}" if steps.shift else ""
    where = f"Layer {layer}, head {head}, query {query}" if layer is not None else f"Query {steps.query}"
    default = f"{where}: scale 1/√D = {steps.scale:.4g}{shift}; weights sum to {weight_sum:.6f}"
    fig = go.Figure(table)
    _style.base_layout(fig, _style.escape_text(title or default), height=180 + 30 * (T + 1))
    return fig

"""The chain rule as a ledger: log p(w_t | w_<t) per token, the running sum, perplexity and
bits per token, and the text with each token coloured by its probability."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from gptviz.analysis._checks import require_trace
from gptviz.tracing import Trace
from gptviz.viz import _style

# Token tiles of token_probability_text: text size, cell width, and the longest token text
# shown in full in a cell. Longer tokens end in an ellipsis there, and the hover shows them whole.
TILE_FONT_SIZE = 14
TILE_WIDTH_PX = 84
TILE_MAX_CHARS = 8
# Table texts come with their line breaks: see _fixed_lines
LEDGER_COLUMNS = ("position", "token", "log p(token\n| earlier)", "p", "running\nsum", "bits")
SUMMARY_ROWS = (
    "log p(w_1..w_n) = sum of the column (nats)",
    "perplexity = exp(-mean log p)",
    "bits per token = -mean log2 p",
)


def chain_rule_ledger(trace: Trace, *, title: str | None = None) -> go.Figure:
    """Tabulate the chain-rule factors of a traced text, one row per scored token.

    Row t contains token t + 1 and ``trace.token_logprobs[t]`` = log p(ids[t + 1] | ids[0..t])
    in nats, its probability, the running sum (after the last row it is
    log p(w_1..w_n | w_0)) and -log2 p in bits. The first token has no context and gets no
    factor; a trace made with ``prepend_bos=True`` starts with ``<|endoftext|>``, so every
    text token is scored. A second table lists the total, the perplexity and bits per token.

    Args:
        trace: a `Trace` with at least 2 tokens.
        title: figure title (shown as plain text).

    Returns:
        Figure with two ``go.Table``: ``data[0]`` the T - 1 rows (numeric columns 2-5 hold
        the exact values), ``data[1]`` the summary (column 1: total log p, perplexity, bits
        per token).

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> len(gptviz.viz.chain_rule_ledger(tr).data[0].cells.values[0])
        4
    """
    require_trace(trace, "chain_rule_ledger()")
    if len(trace) < 2:
        raise ValueError(
            "chain_rule_ledger(): the trace has 1 token, so no factor is scored; trace with prepend_bos=True"
        )
    logprobs = trace.token_logprobs.double().numpy()  # (T - 1,)
    texts = _style.token_texts(trace.tokens)
    # Pixel budget: the per-token rows on top, the three summary rows below
    rows_px, summary_px = 50 + 28 * (len(trace) - 1), 50 + 28 * 3
    split = summary_px / (rows_px + summary_px + 30)
    rows = go.Table(
        domain={"x": [0, 1], "y": [split + 0.03, 1]},
        header={"values": [_fixed_lines(name) for name in LEDGER_COLUMNS], "fill_color": "#dde6f0", "height": 40,
                "align": "left"},
        # Widths that fit each header line in a 500 px figure
        columnwidth=[1.35, 1.6, 1.85, 1.1, 1.6, 1.1],
        cells={
            "height": 26,
            "values": [
                np.arange(1, len(trace)), texts[1:], logprobs, np.exp(logprobs), np.cumsum(logprobs),
                -logprobs / math.log(2),
            ],
            "format": ["d", "", ".4f", ".4f", ".4f", ".3f"],
            "align": ["right", "left", "right", "right", "right", "right"],
        },
    )
    summary = go.Table(
        domain={"x": [0, 1], "y": [0, split]},
        header={"values": ["quantity", "value"], "fill_color": "#eeeeee", "height": 28, "align": "left"},
        # A wide first column keeps each quantity's name on one line in a 500 px figure
        columnwidth=[3, 1],
        cells={
            "height": 26,
            "values": [
                [_fixed_lines(row) for row in SUMMARY_ROWS],
                [trace.sequence_logprob, trace.perplexity, trace.bits_per_token],
            ],
            "format": ["", ".4f"],
            "align": ["left", "right"],
        },
    )
    first = "start token " + texts[0] if trace.has_bos else f"first token {texts[0]} (not scored: it has no context)"
    fig = go.Figure([rows, summary])
    _style.base_layout(fig, title and _style.escape_text(title) or f"Chain rule, from the {first}",
                       height=rows_px + summary_px + 180)
    return fig


def token_probability_text(trace: Trace, *, per_row: int = 12, title: str | None = None) -> go.Figure:
    """Lay the text out token by token, each cell coloured by p(token | earlier tokens).

    Cells are filled left to right, ``per_row`` tokens per row. The colour of token t is
    exp(token_logprobs[t - 1]) on the fixed [0, 1] scale. The first token has no
    probability, so it is NaN and shows the grey background.

    Args:
        trace: a `Trace`.
        per_row: tokens per row.
        title: figure title (shown as plain text).

    Returns:
        Figure with one heatmap: ``z`` is (rows, per_row) with ``z.flat[t]`` the
        probability of token t (NaN for token 0 and for empty cells), ``text`` the tokens
        (cut to ``TILE_MAX_CHARS`` characters) and ``customdata`` the hover text.

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> gptviz.viz.token_probability_text(tr, per_row=4).data[0].z.shape
        (2, 4)
    """
    require_trace(trace, "token_probability_text()")
    if isinstance(per_row, bool) or not isinstance(per_row, int) or per_row < 1:
        raise ValueError(f"token_probability_text(): per_row must be a positive int, got {per_row!r}")
    T = len(trace)
    per_row = min(per_row, T)
    n_rows = math.ceil(T / per_row)
    probs = np.full(n_rows * per_row, np.nan)
    probs[1:T] = np.exp(trace.token_logprobs.double().numpy())
    texts = np.full(n_rows * per_row, "", dtype=object)
    texts[:T] = _style.token_texts(trace.tokens)
    tiles = np.full(n_rows * per_row, "", dtype=object)
    tiles[:T] = [_style.cell_text(token, TILE_MAX_CHARS) for token in trace.tokens]
    hovers = np.full(n_rows * per_row, "", dtype=object)
    hovers[0] = f"position 0: {texts[0]}<br>first token, not scored"
    for position in range(1, T):
        logprob = math.log(max(probs[position], 1e-300))
        hovers[position] = f"position {position}: {texts[position]}<br>p = {probs[position]:.4f}, log p = {logprob:.4f}"
    fig = go.Figure(go.Heatmap(
        z=probs.reshape(n_rows, per_row), text=tiles.reshape(n_rows, per_row), texttemplate="%{text}",
        customdata=hovers.reshape(n_rows, per_row), hovertemplate="%{customdata}<extra></extra>",
        zmin=0.0, zmax=1.0, colorscale=_style.PROBABILITY_SCALE, xgap=2, ygap=2, hoverongaps=False,
        colorbar={"title": {"text": "p(token | earlier)"}},
        # A fixed size: plotly's automatic size shrinks the text to fit narrow cells
        textfont={"size": TILE_FONT_SIZE},
    ))
    default = "Each token coloured by its probability given the tokens before it"
    # Cells wide enough for a token of about 8 characters at that size
    _style.base_layout(fig, _style.escape_text(title or default), height=160 + 44 * n_rows,
                       width=max(520, 180 + TILE_WIDTH_PX * per_row))
    fig.update_layout(plot_bgcolor=_style.MASKED_COLOR)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    return fig


def _fixed_lines(text: str) -> str:
    """Return ``text`` for a plotly table cell with its line breaks fixed in advance.

    plotly.js wraps table text at spaces using measured text widths, and a figure drawn
    before it is on screen (a widget's second figure in a JupyterLab output, for example)
    measures zero and leaves such cells blank. Non-breaking spaces leave nothing to wrap,
    and the newlines of ``text`` become ``<br>``.
    """
    return "<br>".join(line.replace(" ", "\u00a0") for line in text.split("\n"))

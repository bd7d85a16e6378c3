"""Shared choices of every view: colour scales, fonts, token labels and HTML escaping.

Plotly renders a subset of HTML (``<b>``, ``<br>``, ``<a href>``, ``<i>``...) in tick
labels, hover text, cell text and titles. Token text is data, so every string that comes
from a token or a user passes through `escape_text` or `token_labels` before it is drawn.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence

import plotly.graph_objects as go

# Probabilities: sequential, white at 0, fixed to [0, 1] in every view
PROBABILITY_SCALE = "Blues"
# Signed quantities (encodings, similarities): diverging, centred at 0
DIVERGING_SCALE = "RdBu_r"
# Non-negative magnitudes that are not probabilities (norms, entropies)
MAGNITUDE_SCALE = "Viridis"
# Cells the causal mask removes, and tokens that sampling filtered out
MASKED_COLOR = "#b0b0b0"
MASKED_SCALE = [[0.0, MASKED_COLOR], [1.0, MASKED_COLOR]]
FILTERED_COLOR = "#cccccc"
HIGHLIGHT_COLOR = "#d62728"
BAR_COLOR = "#1f77b4"
FONT = {"family": "Menlo, Consolas, 'DejaVu Sans Mono', monospace", "size": 12}

# Whitespace is shown with a visible mark, so a space token is not an empty label
WHITESPACE_MARKS = {" ": "\u2423", "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d"}
EMPTY_TOKEN_MARK = "\u2205"


def escape_text(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as HTML entities, so plotly shows the text as written."""
    return html.escape(str(text), quote=False)


def visible_whitespace(token: str) -> str:
    """Replace spaces, newlines and tabs by visible marks and other control characters by escapes.

    Example:
        >>> visible_whitespace(" the\\n")
        '␣the↵'
    """
    if token == "":
        return EMPTY_TOKEN_MARK
    shown = []
    for char in token:
        if char in WHITESPACE_MARKS:
            shown.append(WHITESPACE_MARKS[char])
        elif char.isspace() or not char.isprintable():
            shown.append(char.encode("unicode_escape").decode("ascii"))
        else:
            shown.append(char)
    return "".join(shown)


def token_labels(tokens: Sequence[str]) -> list[str]:
    """Turn token strings into labels that are visible, unique and safe to render.

    Whitespace becomes visible, a token that occurs more than once gets its position
    appended (``the [2]``, ``the [7]``), and the result is HTML-escaped.

    Args:
        tokens: display strings of T tokens.

    Returns:
        T distinct strings, ready for tick labels and categorical axes.

    Example:
        >>> token_labels(["<b>", " a", " a"])
        ['&lt;b&gt;', '␣a [1]', '␣a [2]']
    """
    visible = [visible_whitespace(str(token)) for token in tokens]
    counts = Counter(visible)
    # Visible labels contain no plain space, so a " [n]" suffix never collides with a token
    labels = [f"{label} [{position}]" if counts[label] > 1 else label for position, label in enumerate(visible)]
    assert len(set(labels)) == len(labels)
    return [escape_text(label) for label in labels]


def cell_text(token: str, max_chars: int) -> str:
    """Return the visible, escaped text of a token for a heatmap cell, cut to ``max_chars``
    characters (the last one an ellipsis) so it fits the cell at a readable size."""
    visible = visible_whitespace(str(token))
    if len(visible) > max_chars:
        visible = visible[: max_chars - 1] + "…"
    # Escaping comes after the cut, so an entity such as &lt; is never split
    return escape_text(visible)


def token_texts(tokens: Sequence[str]) -> list[str]:
    """Visible, escaped token strings without the position suffix, for hovers and cell text."""
    return [escape_text(visible_whitespace(str(token))) for token in tokens]


def base_layout(fig: go.Figure, title: str | None, **layout: object) -> go.Figure:
    """Apply the shared font, white background and an already escaped title to ``fig``."""
    fig.update_layout(
        title={"text": title} if title else None,
        font=FONT,
        plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 80 if title else 30, "b": 50},
        **layout,
    )
    return fig

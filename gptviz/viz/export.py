"""Write figures to one standalone HTML file that works offline (plotly.js inlined)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

from gptviz.viz._style import escape_text

logger = logging.getLogger(__name__)


def to_html(figures: go.Figure | Sequence[go.Figure], path: str | Path, *, title: str = "gptviz") -> Path:
    """Write one or more figures to a standalone HTML page, with plotly.js inlined once.

    The page loads nothing from the network, so it can be shared as a file and opened
    offline.

    Args:
        figures: a Figure or a list of Figures, drawn top to bottom.
        path: the ``.html`` file to write; parent folders are created.
        title: the page title (shown as plain text).

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib, gptviz
        >>> path = gptviz.viz.to_html(gptviz.viz.causal_mask_matrix(3), pathlib.Path(tempfile.mkdtemp()) / "mask.html")
        >>> "<script src=\\"http" in path.read_text()
        False
    """
    figure_list = [figures] if isinstance(figures, go.Figure) else list(figures)
    if not figure_list or not all(isinstance(figure, go.Figure) for figure in figure_list):
        raise TypeError("to_html(): expected a plotly Figure or a non-empty list of Figures")
    divs = [
        figure.to_html(full_html=False, include_plotlyjs=(index == 0), include_mathjax=False)
        for index, figure in enumerate(figure_list)
    ]
    page = (
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape_text(title)}</title>\n</head>\n<body>\n" + "\n".join(divs) + "\n</body>\n</html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    logger.debug("to_html(): wrote %d figures to %s", len(figure_list), path)
    return path

"""Interactive explorers for JupyterLab: ipywidgets controls wired to plotly FigureWidgets.

Each explorer is an object with a ``widget`` to display (a notebook shows the explorer
itself) and a ``static_figure()`` for places that cannot run widgets. Callback errors are
shown inside the explorer; see `Explorer`.

plotly 6 and later draw ``FigureWidget`` through anywidget, so this package needs it and
raises ImportError at import time when it is missing.
"""

from __future__ import annotations

from importlib import metadata

try:
    import anywidget  # noqa: F401 - plotly's FigureWidget is an anywidget
except ImportError as error:
    raise ImportError(
        "gptviz.widgets needs the anywidget package: plotly >= 6 draws FigureWidget through it, "
        "and without it figures stay blank. Install it with `pip install anywidget` "
        "(or `pip install 'gptviz[notebook]'`) and restart the kernel."
    ) from error

from gptviz.widgets._base import RAISE_ENV_VAR, Explorer, LiveFigure, show_figure
from gptviz.widgets.attention import AttentionExplorer
from gptviz.widgets.chain_rule import ChainRuleExplorer
from gptviz.widgets.generation import GenerationStepper
from gptviz.widgets.heads import HeadInspector
from gptviz.widgets.mask_lab import MaskLab
from gptviz.widgets.positional import PositionalEncodingExplorer

__all__ = [
    "RAISE_ENV_VAR",
    "AttentionExplorer",
    "ChainRuleExplorer",
    "Explorer",
    "GenerationStepper",
    "HeadInspector",
    "LiveFigure",
    "MaskLab",
    "PositionalEncodingExplorer",
    "check_environment",
    "show_figure",
]


def _major(package: str) -> int | None:
    try:
        return int(metadata.version(package).split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


def check_environment() -> list[str]:
    """List problems that stop the explorers from rendering in JupyterLab.

    Checks that the kernel-side and front-end widget packages match (ipywidgets 8 needs
    jupyterlab_widgets 3; ipywidgets 7 needs jupyterlab_widgets 1), and that plotly >= 6
    has anywidget. Returns an empty list when everything matches.
    """
    problems = []
    ipywidgets_major, lab_major = _major("ipywidgets"), _major("jupyterlab_widgets")
    expected_lab = {8: 3, 7: 1}.get(ipywidgets_major or 0)
    if ipywidgets_major != 8:
        problems.append(f"ipywidgets {metadata.version('ipywidgets') if ipywidgets_major else 'is missing'}; "
                        "gptviz needs ipywidgets 8: pip install 'ipywidgets>=8,<9'")
    if lab_major is None:
        problems.append("jupyterlab_widgets is missing, so JupyterLab cannot draw widgets: "
                        "pip install 'jupyterlab_widgets>=3,<4'")
    elif expected_lab is not None and lab_major != expected_lab:
        problems.append(f"jupyterlab_widgets {metadata.version('jupyterlab_widgets')} does not match ipywidgets "
                        f"{metadata.version('ipywidgets')} (needs {expected_lab}.x): "
                        f"pip install 'jupyterlab_widgets>={expected_lab},<{expected_lab + 1}'")
    if (_major("plotly") or 0) < 6:
        problems.append("plotly >= 6 is needed for FigureWidget on anywidget: pip install 'plotly>=6'")
    return problems

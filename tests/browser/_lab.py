"""Helpers that drive a JupyterLab page: run the notebook, find explorers, read plotly figures."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KERNEL_TIMEOUT_MS = 120_000
UPDATE_TIMEOUT_MS = 30_000

# Reads the figure that plotly drew: the graph div keeps its data and layout as properties
READ_FIGURE_JS = """
([root, figure]) => {
    const explorer = document.querySelector(root);
    if (!explorer) return null;
    const graph = explorer.querySelector(`${figure} .js-plotly-plot`);
    if (!graph || !graph.data) return null;
    const title = graph.layout && graph.layout.title ? graph.layout.title.text || "" : "";
    const ticks = Array.from(graph.querySelectorAll(".xtick text")).map((tick) => tick.textContent);
    const shownTitle = graph.querySelector(".gtitle");
    return {title: title, shownTitle: shownTitle ? shownTitle.textContent : "", xticks: ticks,
            data: graph.data.map((trace) => ({type: trace.type, name: trace.name || "",
                                              x: trace.x ? Array.from(trace.x) : null,
                                              y: trace.y ? Array.from(trace.y) : null,
                                              z: trace.z ? Array.from(trace.z, (row) => Array.from(row)) : null}))};
}
"""


def wait_for_idle_kernel(page: Any) -> None:
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=KERNEL_TIMEOUT_MS)
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel && panel.sessionContext && panel.sessionContext.session
                && panel.sessionContext.session.kernel;
            return kernel && kernel.status === "idle";
        }""",
        timeout=KERNEL_TIMEOUT_MS,
    )


def run_cells_one_by_one(page: Any) -> None:
    """Run the code cells in order, each after every figure of the cells before it is drawn.

    Creating many FigureWidgets at once on a busy machine can exceed anywidget's model
    initialization timeout, so the figures are created a cell at a time.
    """
    wait_for_idle_kernel(page)
    n_cells = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    for index in range(n_cells):
        page.evaluate(
            """async (index) => {
                const panel = window.jupyterapp.shell.currentWidget;
                if (panel.content.widgets[index].model.type !== "code") return;
                panel.content.activeCellIndex = index;
                await window.jupyterapp.commands.execute("notebook:run-cell");
            }""",
            index,
        )
        wait_for_idle_kernel(page)
        page.wait_for_function(
            """() => {
                const plots = document.querySelectorAll(".js-plotly-plot");
                return Array.from(plots).every((plot) => plot.querySelector(".gtitle"))
                    || document.querySelector('[data-mime-type="application/vnd.jupyter.error"]');
            }""",
            timeout=KERNEL_TIMEOUT_MS,
        )


def explorer_selector(name: str) -> str:
    return f".gptviz-{name}"


def control(page: Any, explorer: str, name: str) -> Any:
    """Playwright locator of one control, by explorer class name and attribute name."""
    return page.locator(f"{explorer_selector(explorer)} .gptviz-control-{name.replace('_', '-')}")


def read_figure(page: Any, explorer: str, figure: str = "figure") -> dict[str, Any] | None:
    return page.evaluate(READ_FIGURE_JS, [explorer_selector(explorer), f".gptviz-control-{figure}"])


def wait_for_figure(page: Any, explorer: str, figure: str = "figure") -> dict[str, Any]:
    """Wait until the explorer's figure is drawn, and return what it shows."""
    page.wait_for_function(
        "([root, figure]) => { const e = document.querySelector(root);"
        " return (e && e.querySelector(`${figure} .js-plotly-plot .gtitle`))"
        " || document.querySelector('[data-mime-type=\"application/vnd.jupyter.error\"]'); }",
        arg=[explorer_selector(explorer), f".gptviz-control-{figure}"], timeout=KERNEL_TIMEOUT_MS,
    )
    errors = page.locator('[data-mime-type="application/vnd.jupyter.error"]')
    assert errors.count() == 0, f"a notebook cell failed:\n{errors.first.inner_text()}"
    shown = read_figure(page, explorer, figure)
    assert shown is not None
    return shown


def wait_until(page: Any, explorer: str, check: Callable[[dict[str, Any]], bool], figure: str = "figure",
               what: str = "the expected update") -> dict[str, Any]:
    """Poll the figure until ``check(shown)`` is true; return what it shows then."""
    deadline = time.monotonic() + UPDATE_TIMEOUT_MS / 1000
    shown = None
    while time.monotonic() < deadline:
        shown = read_figure(page, explorer, figure)
        if shown is not None and check(shown):
            return shown
        page.wait_for_timeout(200)
    title = shown["title"] if shown else None
    raise AssertionError(f"{explorer}.{figure}: no {what} within {UPDATE_TIMEOUT_MS} ms; the title is {title!r}")


def wait_for_title(page: Any, explorer: str, expected: str, figure: str = "figure") -> dict[str, Any]:
    """Wait until the figure title starts with ``expected``."""
    return wait_until(page, explorer, lambda shown: shown["title"].startswith(expected), figure,
                      f"title starting with {expected!r}")


def screenshot(page: Any, explorer: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{explorer}.png"
    page.locator(explorer_selector(explorer)).screenshot(path=str(path))
    return path

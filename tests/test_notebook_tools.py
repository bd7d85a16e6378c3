"""The notebook tool that stores only the outputs nbval compares (no kernel is started here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

TOOL = Path(__file__).resolve().parents[1] / "notebooks" / "tools" / "run_notebooks.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("run_notebooks", TOOL)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the file executes
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def executed_cell(source: str, outputs: list, count: int) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=count)
    cell.outputs = [nbformat.from_dict(output) for output in outputs]
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    return cell


FIGURE = {"output_type": "display_data", "metadata": {}, "data": {"application/vnd.plotly.v1+json": {"data": []}, "text/plain": "Figure()"}}
STDOUT = {"output_type": "stream", "name": "stdout", "text": "check passed\n"}
STDERR = {"output_type": "stream", "name": "stderr", "text": "a warning\n"}


def test_ignored_cell_loses_outputs_and_count(tool) -> None:
    nb = nbformat.v4.new_notebook(cells=[executed_cell("# NBVAL_IGNORE_OUTPUT\nfigure", [FIGURE], 3)])
    problems: list[str] = []
    tool.clean_notebook(nb, problems)
    assert nb.cells[0].outputs == []
    assert nb.cells[0].execution_count is None
    assert problems == []


def test_text_cell_keeps_output_and_count(tool) -> None:
    nb = nbformat.v4.new_notebook(cells=[executed_cell("print('check passed')", [STDOUT], 2)])
    problems: list[str] = []
    tool.clean_notebook(nb, problems)
    assert nb.cells[0].outputs[0].text == "check passed\n"
    assert nb.cells[0].execution_count == 2
    assert "execution" not in nb.cells[0].metadata
    assert problems == []


def test_unmarked_figure_is_a_problem(tool) -> None:
    nb = nbformat.v4.new_notebook(cells=[executed_cell("figure", [FIGURE], 1)])
    problems: list[str] = []
    tool.clean_notebook(nb, problems)
    assert len(problems) == 1
    assert "application/vnd.plotly.v1+json" in problems[0]


def test_stderr_is_a_problem(tool) -> None:
    nb = nbformat.v4.new_notebook(cells=[executed_cell("warn()", [STDERR], 1)])
    problems: list[str] = []
    tool.clean_notebook(nb, problems)
    assert len(problems) == 1
    assert "stderr" in problems[0]


def test_metadata_pinned_to_python3(tool) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    tool.clean_notebook(nb, [])
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["language_info"] == {"name": "python"}
    assert "widgets" not in nb.metadata


def test_marker_must_be_first_line(tool) -> None:
    marked = nbformat.v4.new_code_cell("\n# NBVAL_IGNORE_OUTPUT\nfigure")
    late = nbformat.v4.new_code_cell("figure\n# NBVAL_IGNORE_OUTPUT")
    assert tool.is_ignored(marked)
    assert not tool.is_ignored(late)


def test_peak_rss_of_this_process(tool) -> None:
    import os

    peak = tool.peak_rss_mib(os.getpid())
    if not Path("/proc/self/status").exists():
        assert peak is None
    else:
        assert peak is not None
        assert peak > 1
    assert tool.peak_rss_mib(None) is None

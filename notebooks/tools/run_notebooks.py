"""Execute notebooks in place and store only the outputs that nbval should compare.

Each notebook runs top to bottom in a fresh ``python3`` kernel, in its own folder. Then:

- a code cell whose first line is ``# NBVAL_IGNORE_OUTPUT`` (figures, widgets, anything
  with random ids or timings) is stored without outputs;
- every other code cell keeps its text outputs (``stream``, ``text/plain``), which nbval
  compares on every run. A rich output (a plotly figure, a widget, HTML) in such a cell is an
  error, because it would be stored as megabytes of JSON and compared byte for byte;
- every other cell keeps its execution count, because nbval compares only cells that have
  one (a cell stored with a count and no output must still produce no output);
- per-cell timing metadata and widget state are removed, so that a rerun with the same
  results leaves the file unchanged.

The script prints the wall time and the kernel's peak resident memory (VmHWM, Linux only)
of every notebook, and the slowest cells.

Usage:
    python notebooks/tools/run_notebooks.py notebooks/01_chain_rule.ipynb [...]
    python notebooks/tools/run_notebooks.py --check notebooks/*.ipynb   # run, write nothing
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

IGNORE_MARKER = "# NBVAL_IGNORE_OUTPUT"
TEXT_MIME_TYPES = {"text/plain"}
KERNEL_NAME = "python3"


@dataclass
class RunReport:
    """Wall time, peak kernel memory and per-cell times of one notebook run."""

    path: Path
    seconds: float = 0.0
    peak_rss_mib: float | None = None
    cell_seconds: list[tuple[int, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def peak_rss_mib(pid: int | None) -> float | None:
    """Read the peak resident set size (VmHWM) of a process in MiB; None where /proc is missing."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def is_ignored(cell: nbformat.NotebookNode) -> bool:
    """Return True for a code cell whose first line is the nbval ignore-output marker."""
    lines = cell.source.lstrip().splitlines()
    return bool(lines) and lines[0].strip() == IGNORE_MARKER


def rich_mime_types(output: nbformat.NotebookNode) -> set[str]:
    """Return the MIME types of a display output other than plain text."""
    if output.output_type not in ("display_data", "execute_result"):
        return set()
    return set(output.get("data", {})) - TEXT_MIME_TYPES


def clean_cell(cell: nbformat.NotebookNode, index: int, problems: list[str]) -> None:
    """Drop the outputs nbval must not compare and the metadata that changes on every run."""
    cell.metadata.pop("execution", None)
    if cell.cell_type != "code":
        return
    if is_ignored(cell):
        # nbval treats a cell without an execution count as never run and skips its comparison
        cell.execution_count = None
        cell.outputs = []
        return
    for output in cell.outputs:
        rich = rich_mime_types(output)
        if rich:
            problems.append(
                f"cell {index}: output of type {sorted(rich)} in a cell without '{IGNORE_MARKER}'; "
                "add the marker as the first line, or print a text check instead"
            )
        if output.output_type == "stream" and output.name == "stderr":
            problems.append(f"cell {index}: writes to stderr ({output.text[:80]!r}); nbval would compare it")


def clean_notebook(nb: nbformat.NotebookNode, problems: list[str]) -> None:
    """Clean every cell and pin the notebook metadata to the python3 kernelspec."""
    for index, cell in enumerate(nb.cells):
        clean_cell(cell, index, problems)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": KERNEL_NAME}
    # The Python version in language_info changes between machines, so only the name stays
    nb.metadata["language_info"] = {"name": "python"}


def run_notebook(path: Path, cell_timeout: int) -> tuple[nbformat.NotebookNode, RunReport]:
    """Execute one notebook in a fresh kernel started in the notebook's folder."""
    nb = nbformat.read(path, as_version=4)
    report = RunReport(path)
    started: dict[str, float] = {}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        started["cell"] = time.perf_counter()

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        report.cell_seconds.append((cell_index, time.perf_counter() - started["cell"]))
        pid = getattr(client.km.provisioner, "pid", None) if client.km is not None else None
        peak = peak_rss_mib(pid)
        if peak is not None:
            report.peak_rss_mib = max(peak, report.peak_rss_mib or 0.0)

    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=on_cell_start,
        on_cell_executed=on_cell_executed,
    )
    start = time.perf_counter()
    client.execute()
    report.seconds = time.perf_counter() - start
    return nb, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook files to execute")
    parser.add_argument("--check", action="store_true", help="execute and report, but do not write the files")
    parser.add_argument("--cell-timeout", type=int, default=300, help="seconds one cell may run (default 300)")
    parser.add_argument("--slowest", type=int, default=3, help="number of slowest cells to list (default 3)")
    args = parser.parse_args(argv)

    failed = False
    for path in args.notebooks:
        try:
            nb, report = run_notebook(path, args.cell_timeout)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            print(f"{path}: FAILED\n{error}", file=sys.stderr)
            failed = True
            continue
        clean_notebook(nb, report.problems)
        peak = f"{report.peak_rss_mib:.0f} MiB" if report.peak_rss_mib is not None else "unavailable"
        print(f"{path}: {report.seconds:.1f} s, kernel peak RSS {peak}")
        for index, seconds in sorted(report.cell_seconds, key=lambda item: -item[1])[: args.slowest]:
            print(f"  cell {index}: {seconds:.1f} s")
        for problem in report.problems:
            print(f"  problem: {problem}", file=sys.stderr)
        if report.problems:
            print(f"  {path} was not written; fix the problems above and run again", file=sys.stderr)
            failed = True
        elif not args.check:
            nbformat.write(nb, path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

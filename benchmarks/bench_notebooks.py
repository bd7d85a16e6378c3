"""Execution time and peak memory of each notebook in ``notebooks/``.

Each notebook runs top to bottom in a fresh ``python3`` kernel through nbclient. A thread
samples the resident memory of the kernel process and its children every 50 ms; the
row reports the wall time of the whole execution (kernel start included) and the highest
sum seen. Sampling can miss a peak shorter than the interval, so the memory is a lower bound.

``python benchmarks/bench_notebooks.py --json OUT``
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
from nbclient import NotebookClient

from common import REPO_DIR, write_json

logger = logging.getLogger(__name__)
NOTEBOOK_DIR = REPO_DIR / "notebooks"
SAMPLE_INTERVAL_S = 0.05
CELL_TIMEOUT_S = 600


class KernelMemorySampler(threading.Thread):
    """Track the peak resident memory of the kernel process tree of one NotebookClient."""

    def __init__(self, client: NotebookClient) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.peak_bytes = 0
        self._stop_event = threading.Event()

    def _kernel_pid(self) -> int | None:
        manager = getattr(self.client, "km", None)
        provisioner = getattr(manager, "provisioner", None) if manager is not None else None
        return getattr(provisioner, "pid", None) if provisioner is not None else None

    def run(self) -> None:
        while not self._stop_event.is_set():
            pid = self._kernel_pid()
            if pid is not None:
                try:
                    process = psutil.Process(pid)
                    tree = [process, *process.children(recursive=True)]
                    total = sum(p.memory_info().rss for p in tree)
                    self.peak_bytes = max(self.peak_bytes, total)
                except psutil.Error:
                    pass
            self._stop_event.wait(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def execute(path: Path) -> dict[str, Any]:
    """Run one notebook in a fresh kernel; returns its wall time, peak memory and any error."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    sampler = KernelMemorySampler(client)
    sampler.start()
    started = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - a failing notebook is reported in its row, the others still run
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
        logger.warning("%s failed: %s", path.name, error)
    elapsed = time.perf_counter() - started
    sampler.stop()
    return {
        "notebook": path.name,
        "cells": sum(1 for cell in notebook.cells if cell.cell_type == "code"),
        "wall_s": elapsed,
        "peak_rss_mib": sampler.peak_bytes / 2**20,
        "error": error,
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Execute every notebook; with ``quick``, only the first one."""
    paths = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if not paths:
        return {"rows": [], "note": f"no notebooks in {NOTEBOOK_DIR.relative_to(REPO_DIR)}/ yet; nothing was run"}
    if quick:
        paths = paths[:1]
    rows = []
    for path in paths:
        logger.info("executing %s", path.name)
        rows.append(execute(path))
    return {"rows": rows, "sample_interval_s": SAMPLE_INTERVAL_S}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run only the first notebook")
    parser.add_argument("--json", type=Path, required=True, help="write the results to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    write_json(args.json, run(args.quick))


if __name__ == "__main__":
    main()

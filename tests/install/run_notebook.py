"""Execute one notebook top to bottom in a fresh kernel, as Binder would, and report its peak memory.

Run it with the interpreter of the environment under test:
``ENV/bin/python tests/install/run_notebook.py NOTEBOOK [--max-rss-mb 1536]``.
The kernel is the notebook's own kernelspec, which must be ``python3``, so it resolves to
this interpreter. Exit status 0 when every cell ran and the kernel's peak resident memory
stayed under the limit, 1 otherwise, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNEL_NAME = "python3"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def check_kernel(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Raise SystemExit unless the notebook's kernelspec is ``python3`` and that kernel is this interpreter."""
    name = notebook.metadata.get("kernelspec", {}).get("name")
    if name != KERNEL_NAME:
        raise SystemExit(f"{path}: kernelspec name is {name!r}; every notebook must use {KERNEL_NAME!r}")
    argv0 = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv[0]
    # jupyter_client starts a kernelspec whose command is a bare "python" or "python3" with
    # the interpreter that launches it, which is this one
    bare_names = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    if argv0 not in bare_names and Path(argv0).resolve() != Path(sys.executable).resolve():
        raise SystemExit(
            f"kernel {KERNEL_NAME!r} starts {argv0}, not {sys.executable}; another kernelspec named "
            f"{KERNEL_NAME!r} shadows this environment's (check JUPYTER_PATH and JUPYTER_DATA_DIR)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--max-rss-mb", type=float, default=1536.0, help="limit on the kernel's peak RSS in MiB")
    parser.add_argument("--cell-timeout", type=int, default=600, help="seconds one cell may run")
    args = parser.parse_args()

    notebook = nbformat.read(args.notebook, as_version=4)
    check_kernel(notebook, args.notebook)
    client = NotebookClient(
        notebook, timeout=args.cell_timeout, kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(args.notebook.resolve().parent)}},
    )
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        # Tracebacks from the kernel carry terminal colour codes, which CI logs show as noise
        sys.stderr.write(f"{args.notebook}: a cell failed:\n{ANSI_ESCAPE.sub('', str(error))}\n")
        return 1
    seconds = time.perf_counter() - started

    # The kernel is this process's only child, and nbclient has waited for it, so the
    # children's peak RSS is the kernel's (Linux reports it in KiB)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    print(f"{args.notebook.name}: {cells} code cells in {seconds:.1f} s, kernel peak RSS {peak_mb:.0f} MiB")
    if peak_mb > args.max_rss_mb:
        sys.stderr.write(f"{args.notebook}: kernel peak RSS {peak_mb:.0f} MiB exceeds {args.max_rss_mb:.0f} MiB\n")
        return 1
    if peak_mb < 50:
        sys.stderr.write(f"{args.notebook}: kernel peak RSS {peak_mb:.0f} MiB is implausibly low; was it measured?\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

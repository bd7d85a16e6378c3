"""Run every benchmark, each in its own process, and write the results and the results page.

``make bench`` runs this after ``benchmarks/setup.sh``. Each benchmark script runs as a
child process with 2 torch threads and fixed glibc allocator thresholds:

- timing children: ``mmap_threshold`` at its 32 MiB maximum and a trim threshold of 4 GiB,
  so freed tensors stay in the heap and are reused. Without a fixed threshold glibc moves
  it after each freed large block, which made one row's time swing by 20-40% depending on
  what ran before it.
- memory children (forward memory, notebooks): ``mmap_threshold`` of 128 KiB, so every
  tensor larger than that is mapped on its own and returned on free, and the resident size
  follows live tensors.

Outputs: ``benchmarks/results/<name>.json`` per child, ``benchmarks/results/results.json``
(everything, with the machine and package versions), ``benchmarks/results/results.md``
(tables) and the tables section of ``docs/benchmarks.md``.

``python benchmarks/run_all.py [--quick] [--only NAME ...] [--skip NAME ...] [--reuse-earlier]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, REPO_DIR, machine_info, package_versions, write_json  # noqa: E402
from report import render_markdown, update_page  # noqa: E402

logger = logging.getLogger("run_all")
RESULTS_DIR = BENCH_DIR / "results"
PAGE = REPO_DIR / "docs" / "benchmarks.md"
THREADS = 2
TIMING_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
MEMORY_TUNABLES = "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072"
PACKAGES = [
    "torch", "transformers", "transformer-lens", "gptviz", "numpy", "tiktoken", "plotly",
    "ipywidgets", "anywidget", "nbclient", "ipykernel", "safetensors",
]


# bench_widgets.py prints markdown; this calls its measure() and writes the rows as JSON.
WIDGETS_ADAPTER = """
import json, sys
import torch
import bench_widgets
out, threads, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
rows = [{"control": name, "median_ms": median, "max_ms": worst} for name, median, worst in bench_widgets.measure(repeats)]
with open(out, "w", encoding="utf-8") as handle:
    json.dump({"rows": rows, "repeats": repeats, "threads": threads}, handle, indent=2)
"""


@dataclass
class Step:
    """One child process: a script with its arguments, the allocator setting and a time limit."""

    name: str
    script: str
    args: list[str] = field(default_factory=list)
    tunables: str = TIMING_TUNABLES
    timeout_s: int = 900
    quick_args: list[str] = field(default_factory=lambda: ["--quick"])
    adapter: str | None = None  # Python code run with -c in place of the script: argv = [out, *args]


def steps() -> list[Step]:
    """List every benchmark in the order it runs; a missing script is reported as skipped."""
    return [
        Step("forward", "bench_forward.py", ["--part", "timing"], timeout_s=2400),
        Step("forward_memory", "bench_forward.py", ["--part", "memory"], tunables=MEMORY_TUNABLES),
        Step("ledger", "bench_ledger.py"),
        Step("training", "bench_training.py"),
        Step("flops", "bench_flops.py"),
        Step(
            "generation",
            "bench_generation.py",
            ["--threads", str(THREADS), "--new-tokens", "32", "--repeats", "3"],
            quick_args=["--new-tokens", "8", "--repeats", "1", "--models", "bundled"],
        ),
        Step("decode", "bench_decode.py"),
        Step("widgets", "bench_widgets.py", [str(THREADS), "20"], quick_args=[], adapter=WIDGETS_ADAPTER),
        Step("notebooks", "bench_notebooks.py", tunables=MEMORY_TUNABLES, timeout_s=1800),
    ]


def child_env(tunables: str) -> dict[str, str]:
    """Build the environment of a child: fixed threads and allocator, this checkout first on the path."""
    env = dict(os.environ)
    env.update(
        {
            "GLIBC_TUNABLES": tunables,
            "OMP_NUM_THREADS": str(THREADS),
            "MKL_NUM_THREADS": str(THREADS),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), str(BENCH_DIR), env.get("PYTHONPATH", "")])),
            "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_VERBOSITY": "error",
        }
    )
    return env


def run_step(step: Step, quick: bool) -> dict[str, Any]:
    """Run one child; returns its JSON, or a dict with the error and the end of its log."""
    script = BENCH_DIR / step.script
    if not script.is_file():
        return {"skipped": f"{step.script} is not in benchmarks/ in this checkout"}
    out = RESULTS_DIR / f"{step.name}.json"
    log = RESULTS_DIR / "logs" / f"{step.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    if step.adapter is not None:
        command = [sys.executable, "-c", step.adapter, str(out), *step.args]
    else:
        command = [sys.executable, str(script), *step.args, *(step.quick_args if quick else []), "--json", str(out)]
    logger.info("%s: %s", step.name, " ".join(command[1:]))
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as log_file:
        try:
            completed = subprocess.run(
                command, cwd=REPO_DIR, env=child_env(step.tunables), stdout=log_file, stderr=subprocess.STDOUT,
                timeout=step.timeout_s, check=False,
            )
            returncode: int | None = completed.returncode
        except subprocess.TimeoutExpired:
            returncode = None
    elapsed = time.perf_counter() - started
    logger.info("%s: done in %.0f s", step.name, elapsed)
    if returncode != 0 or not out.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        reason = f"timed out after {step.timeout_s} s" if returncode is None else f"exit status {returncode}"
        logger.error("%s failed (%s); log: %s", step.name, reason, log)
        return {"error": reason, "log_tail": tail, "elapsed_s": elapsed}
    data = json.loads(out.read_text(encoding="utf-8"))
    return {"data": data, "elapsed_s": elapsed, "glibc_tunables": step.tunables}


def _earlier_steps() -> dict[str, dict[str, Any]]:
    """Load the successful steps of the previous results.json, each marked with its run's start time."""
    path = RESULTS_DIR / "results.json"
    if not path.is_file():
        return {}
    previous = json.loads(path.read_text(encoding="utf-8"))
    successful = {}
    for name, step in previous.get("steps", {}).items():
        if "data" in step:
            successful[name] = {**step, "earlier_run": step.get("earlier_run", previous.get("started"))}
    return successful


def write_reports(results: dict[str, Any], page: bool) -> None:
    """Write results.md and, with ``page``, the tables section of docs/benchmarks.md."""
    markdown = render_markdown(results)
    (RESULTS_DIR / "results.md").write_text(markdown, encoding="utf-8")
    if page:
        update_page(PAGE, markdown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of everything, to check that it runs")
    parser.add_argument("--only", nargs="+", help="run only these steps")
    parser.add_argument("--skip", nargs="+", default=[], help="leave these steps out")
    parser.add_argument("--no-page", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--reuse-earlier", action="store_true",
        help="report the steps left out by --only/--skip from the previous results.json, marked as earlier",
    )
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite results.md and the page from results.json, run nothing"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        write_reports(json.loads((RESULTS_DIR / "results.json").read_text(encoding="utf-8")), page=not args.no_page)
        return

    sys.path.append(str(BENCH_DIR / ".peers" / "tl39"))  # so the TransformerLens version is found
    started = time.time()
    results: dict[str, Any] = {
        "command": "make bench",
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
        "machine": machine_info(),
        "versions": package_versions(PACKAGES),
        "threads": THREADS,
        "steps": {},
    }
    results["machine"]["torch_threads"] = THREADS
    earlier = _earlier_steps() if args.reuse_earlier else {}
    for step in steps():
        if (args.only and step.name not in args.only) or step.name in args.skip:
            if step.name in earlier:
                results["steps"][step.name] = earlier[step.name]
            continue
        results["steps"][step.name] = run_step(step, args.quick)
    results["total_s"] = time.time() - started
    results["load_average_end"] = os.getloadavg()

    write_json(RESULTS_DIR / "results.json", results)
    write_reports(results, page=not args.no_page)
    logger.info("results: %s and %s (%.0f s in all)", RESULTS_DIR / "results.json", RESULTS_DIR / "results.md", results["total_s"])


if __name__ == "__main__":
    main()

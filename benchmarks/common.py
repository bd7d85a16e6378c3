"""Timing, memory and environment helpers shared by the benchmark scripts.

Timings are paired: in every round each candidate is timed next to the reference model
(alternating which goes first), and its ratio to that reference call is kept. The median of
these per-round ratios cancels most of the drift of a shared, noisy machine, where absolute
times move by 10-20% within minutes.

Memory is read from the kernel's resident-set counters of this process: the peak (VmHWM,
reset through /proc/self/clear_refs before each measured call) and the resident size after
the call while its outputs are still alive. With a fixed glibc mmap threshold (set by
``run_all.py``) large tensors are mapped and unmapped on their own, so both counters follow
live tensor memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
MIB = 1024 * 1024


def setup_torch(threads: int) -> None:
    """Set the torch thread count, float32 as the default dtype, and the seed."""
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)


def timed_call(fn: Callable[[], Any]) -> float:
    """Run ``fn`` once and return its wall time in seconds; its result is dropped after the clock stops."""
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    del result
    return elapsed


def paired_timing(
    reference: Callable[[], Any],
    candidates: dict[str, Callable[[], Any]],
    *,
    rounds: int,
    warmup: int,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Time each candidate against the reference, one adjacent pair per round and candidate.

    Args:
        reference: the call every ratio is relative to.
        candidates: row name -> call.
        rounds: timed pairs per candidate.
        warmup: untimed calls of every function before the first round.
        seed: order of candidates within a round (shuffled, so no row always follows another).

    Returns:
        Row name -> {"median_s", "ratio" (median of per-round candidate / reference),
        "ratio_q1", "ratio_q3", "ratios" (one per round), "times_s"}; the reference itself is
        under the key "reference", with its own times and ratio 1.
    """
    for fn in [reference, *candidates.values()]:
        for _ in range(warmup):
            timed_call(fn)
    order = list(candidates)
    rng = random.Random(seed)
    times: dict[str, list[float]] = {name: [] for name in order}
    ratios: dict[str, list[float]] = {name: [] for name in order}
    reference_times: list[float] = []
    for round_index in range(rounds):
        rng.shuffle(order)
        for position, name in enumerate(order):
            gc.collect()
            if (round_index + position) % 2 == 0:
                ref_s = timed_call(reference)
                gc.collect()
                cand_s = timed_call(candidates[name])
            else:
                cand_s = timed_call(candidates[name])
                gc.collect()
                ref_s = timed_call(reference)
            reference_times.append(ref_s)
            times[name].append(cand_s)
            ratios[name].append(cand_s / ref_s)
    results = {"reference": _summary(reference_times, [1.0] * len(reference_times))}
    for name in candidates:
        results[name] = _summary(times[name], ratios[name])
    return results


def _summary(times: list[float], ratios: list[float]) -> dict[str, Any]:
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return {
        "median_s": statistics.median(times),
        "ratio": statistics.median(ratios),
        "ratio_q1": quartiles[0],
        "ratio_q3": quartiles[2],
        "ratios": ratios,
        "times_s": times,
    }


def ratio_between(results: dict[str, dict[str, Any]], row: str, base: str) -> float:
    """Median over rounds of (row / base), each side already relative to its own reference call."""
    pairs = zip(results[row]["ratios"], results[base]["ratios"], strict=True)
    return statistics.median(a / b for a, b in pairs)


def median_time(fn: Callable[[], Any], *, repeats: int, warmup: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        timed_call(fn)
    samples = []
    for _ in range(repeats):
        gc.collect()
        samples.append(timed_call(fn))
    return statistics.median(samples)


# Memory ------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def _reset_peak() -> bool:
    """Reset VmHWM to the current resident size (Linux 4.0 and later); False where that is refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def memory_of(fn: Callable[[], Any]) -> dict[str, float | None]:
    """Measure the memory one call of ``fn`` uses, keeping its result alive until the end.

    Returns:
        {"peak_mib": highest resident size during the call minus the size before it (None
        where the peak counter cannot be reset), "held_mib": resident size after the call,
        with the result alive, minus the size before it}.
    """
    gc.collect()
    before = _status_kib("VmRSS")
    can_reset = _reset_peak()
    result = fn()
    peak = _status_kib("VmHWM")
    after = _status_kib("VmRSS")
    del result
    gc.collect()
    return {
        "peak_mib": (peak - before) / 1024 if can_reset else None,
        "held_mib": (after - before) / 1024,
    }


def tensor_bytes(tensors: list[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind ``tensors`` (views of one storage count once)."""
    seen: dict[int, int] = {}
    for tensor in tensors:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


# Environment -------------------------------------------------------------------------


def package_versions(names: list[str]) -> dict[str, str | None]:
    """Installed version of each distribution, or None where it is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_info() -> dict[str, Any]:
    """CPU model, core count, memory, OS, Python and torch build facts, and the load average."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = None
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "torch_threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "load_average": os.getloadavg(),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def run_benchmark_script(description: str, run: Callable[[bool], dict[str, Any]], quick_help: str) -> None:
    """Parse ``--quick``, ``--threads`` and ``--json``, run one benchmark step and write its JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--json", type=Path, required=True, help="write the results to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    setup_torch(args.threads)
    write_json(args.json, run(args.quick))

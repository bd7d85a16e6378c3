"""Achieved GFLOP/s of the plain forward pass against the machine's measured matrix-multiply rate.

The matrix-multiply rate is the best median rate of ``torch.mm`` over a few float32 sizes,
including the model's own projection shapes, on the same threads. The forward passes
(gptviz plain and the reference) are timed in the same process, interleaved with the
multiplies, and their FLOPs are counted by `peers.forward_flops`.

``python benchmarks/bench_flops.py --json OUT [--quick]``
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from common import median_time, run_benchmark_script
from peers import SHAPES, ReferenceGPT, build_hf, forward_flops, gptviz_from_hf, ids_for

logger = logging.getLogger(__name__)

# (M, K, N): square sizes, then the MLP input projections of the two shapes (M = B * T tokens)
MATMUL_SIZES = [(1024, 1024, 1024), (2048, 2048, 2048), (2048, 128, 512), (512, 768, 3072)]


def matmul_rates(repeats: int) -> dict[str, float]:
    """GFLOP/s of ``torch.mm`` for each size, median of ``repeats`` calls."""
    rates = {}
    for m, k, n in MATMUL_SIZES:
        a, b = torch.randn(m, k), torch.randn(k, n)
        seconds = median_time(lambda: torch.mm(a, b), repeats=repeats, warmup=2)
        rates[f"{m}x{k}x{n}"] = 2 * m * k * n / seconds / 1e9
    return rates


def run(quick: bool = False) -> dict[str, Any]:
    """Measure the matmul rate, then the plain forward rate of each shape; returns a JSON-ready dict."""
    repeats = 2 if quick else 7
    results: dict[str, Any] = {"matmul_gflops_before": matmul_rates(repeats), "shapes": {}}
    with torch.no_grad():
        for name, shape in SHAPES.items():
            model = gptviz_from_hf(build_hf(shape), shape)
            reference = ReferenceGPT.sharing_weights(model)
            ids = ids_for(shape)
            flops = forward_flops(shape)
            shape_repeats = repeats if shape.n_layer < 12 else max(2, repeats // 2)
            results["shapes"][name] = {
                "gflop_per_forward": flops / 1e9,
                "gptviz_gflops": flops / median_time(lambda: model(ids), repeats=shape_repeats, warmup=1) / 1e9,
                "reference_gflops": flops / median_time(lambda: reference(ids), repeats=shape_repeats, warmup=1) / 1e9,
            }
    results["matmul_gflops_after"] = matmul_rates(repeats)
    peak = max(max(results["matmul_gflops_before"].values()), max(results["matmul_gflops_after"].values()))
    results["matmul_peak_gflops"] = peak
    for shape_result in results["shapes"].values():
        shape_result["gptviz_fraction_of_matmul"] = shape_result["gptviz_gflops"] / peak
        shape_result["reference_fraction_of_matmul"] = shape_result["reference_gflops"] / peak
    return results


def main() -> None:
    run_benchmark_script(__doc__.splitlines()[0], run, "two repeats, to check that it runs")


if __name__ == "__main__":
    main()

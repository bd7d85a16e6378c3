"""Forward pass: gptviz plain and recording, against Hugging Face, TransformerLens and a reference.

Every row runs one forward pass of the same weights on the same token ids, in float32 on
the CPU without autograd, and keeps what that row exposes to its user (logits, recorded
tensors, caches) until the call returns. Times are paired with the reference model (see
``common.paired_timing``); memory is measured in separate, untimed calls.

Timing and memory run in two processes, because they need different allocator settings
(``run_all.py`` sets them): ``python benchmarks/bench_forward.py --part timing|memory
--json OUT [--shape tiny|gpt2-small] [--quick]``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from common import memory_of, paired_timing, ratio_between, setup_torch, tensor_bytes, write_json
from gptviz import record
from peers import (
    SHAPES,
    ReferenceGPT,
    Shape,
    build_hf,
    gptviz_from_hf,
    hf_sharing_weights,
    ids_for,
    max_logit_difference,
    tl_from_hf,
)

logger = logging.getLogger(__name__)
MIB = 1024 * 1024

LABELS = {
    "reference": "reference model, fused attention",
    "gptviz_plain": "gptviz plain",
    "gptviz_patterns": "gptviz recording all attention patterns",
    "gptviz_everything": "gptviz recording every hook point",
    "hf_sdpa": "Hugging Face GPT-2, sdpa",
    "hf_eager_outputs": "Hugging Face GPT-2, eager, attentions + hidden states",
    "tl_plain": "TransformerLens 3.9 plain",
    "tl_cache_everything": "TransformerLens 3.9 run_with_cache, every hook",
    "tl_cache_patterns": "TransformerLens 3.9 run_with_cache, attention patterns",
}

# Settings per shape: timed rounds and untimed warm-up calls.
ROUNDS = {"tiny": (15, 3), "gpt2-small": (5, 1)}
QUICK_ROUNDS = {"tiny": (3, 1), "gpt2-small": (1, 1)}


def build_calls(shape: Shape) -> tuple[dict[str, Callable[[], Any]], dict[str, Callable[[Any], list[torch.Tensor]]]]:
    """Build every model of ``shape`` and return (row name -> call, row name -> tensors it exposes)."""
    hf = build_hf(shape, "sdpa")
    hf_eager = hf_sharing_weights(hf, "eager")
    model = gptviz_from_hf(hf, shape)
    reference = ReferenceGPT.sharing_weights(model)
    tl = tl_from_hf(hf, shape)
    ids = ids_for(shape)

    def gptviz_recording(names: str | None) -> Callable[[], Any]:
        def call() -> Any:
            with record(model, names) as recording:
                logits = model(ids).logits
            return logits, recording

        return call

    calls: dict[str, Callable[[], Any]] = {
        "reference": lambda: reference(ids),
        "gptviz_plain": lambda: model(ids).logits,
        "gptviz_patterns": gptviz_recording("blocks.*.attn.pattern"),
        "gptviz_everything": gptviz_recording(None),
        "hf_sdpa": lambda: hf(ids, use_cache=False).logits,
        "hf_eager_outputs": lambda: hf_eager(ids, use_cache=False, output_attentions=True, output_hidden_states=True),
    }
    exposed: dict[str, Callable[[Any], list[torch.Tensor]]] = {
        "reference": lambda out: [out],
        "gptviz_plain": lambda out: [out],
        "gptviz_patterns": lambda out: [out[0], *out[1].as_dict().values()],
        "gptviz_everything": lambda out: [out[0], *out[1].as_dict().values()],
        "hf_sdpa": lambda out: [out],
        "hf_eager_outputs": lambda out: [out.logits, *out.attentions, *out.hidden_states],
    }
    if tl is not None:
        calls["tl_plain"] = lambda: tl(ids)
        calls["tl_cache_everything"] = lambda: tl.run_with_cache(ids)
        calls["tl_cache_patterns"] = lambda: tl.run_with_cache(ids, names_filter=lambda name: name.endswith("hook_pattern"))
        exposed["tl_plain"] = lambda out: [out]
        exposed["tl_cache_everything"] = lambda out: [out[0], *out[1].cache_dict.values()]
        exposed["tl_cache_patterns"] = lambda out: [out[0], *out[1].cache_dict.values()]
    return calls, exposed


def _logits(out: Any) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, tuple):
        return out[0]
    return out.logits


def measure_memory(calls: dict[str, Callable[[], Any]], exposed: dict[str, Callable[[Any], list[torch.Tensor]]]) -> dict[str, dict[str, Any]]:
    """Peak and held memory of each row, the bytes it exposes, and its logits' distance to the reference."""
    reference_logits = calls["reference"]()
    rows: dict[str, dict[str, Any]] = {}
    for name, call in calls.items():
        call()  # first-call allocations (thread pools, caches) stay out of the measurement
        exposed_bytes: list[int] = []
        difference: list[float] = []

        def keep() -> Any:
            out = call()
            exposed_bytes.append(tensor_bytes(exposed[name](out)))
            difference.append(max_logit_difference(reference_logits, _logits(out)))
            return out

        memory = memory_of(keep)
        rows[name] = {**memory, "exposed_mib": exposed_bytes[0] / MIB, "max_logit_diff": difference[0]}
    return rows


def run_shape(shape: Shape, part: str, quick: bool = False) -> dict[str, Any]:
    """Time (``part="timing"``) or measure the memory of (``part="memory"``) every row on one shape."""
    calls, exposed = build_calls(shape)
    if part == "memory":
        return {"shape": shape.__dict__, "memory": measure_memory(calls, exposed)}
    rounds, warmup = (QUICK_ROUNDS if quick else ROUNDS)[shape.name]
    timing = paired_timing(
        calls["reference"], {name: call for name, call in calls.items() if name != "reference"}, rounds=rounds, warmup=warmup
    )
    rows = [
        {
            "row": name,
            "label": LABELS[name],
            "median_ms": timing[name]["median_s"] * 1000,
            "ratio": timing[name]["ratio"],
            "ratio_q1": timing[name]["ratio_q1"],
            "ratio_q3": timing[name]["ratio_q3"],
        }
        for name in calls
    ]
    return {
        "shape": shape.__dict__,
        "rounds": rounds,
        "warmup": warmup,
        "rows": rows,
        "between": _between(timing),
        "samples": {name: {"ratios": r["ratios"], "times_s": r["times_s"]} for name, r in timing.items()},
    }


def _between(timing: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Ratios between two rows (each per round against its own reference call)."""
    pairs = {
        "gptviz_patterns / gptviz_plain": ("gptviz_patterns", "gptviz_plain"),
        "gptviz_everything / gptviz_plain": ("gptviz_everything", "gptviz_plain"),
        "gptviz_plain / hf_sdpa": ("gptviz_plain", "hf_sdpa"),
        "gptviz_everything / hf_eager_outputs": ("gptviz_everything", "hf_eager_outputs"),
        "gptviz_patterns / hf_eager_outputs": ("gptviz_patterns", "hf_eager_outputs"),
        "gptviz_plain / tl_plain": ("gptviz_plain", "tl_plain"),
        "gptviz_everything / tl_cache_everything": ("gptviz_everything", "tl_cache_everything"),
        "gptviz_patterns / tl_cache_patterns": ("gptviz_patterns", "tl_cache_patterns"),
    }
    return {label: ratio_between(timing, a, b) for label, (a, b) in pairs.items() if a in timing and b in timing}


def merge(timing: dict[str, Any], memory: dict[str, Any]) -> dict[str, Any]:
    """Join the memory columns to the timed rows and evaluate the targets on every shape."""
    merged: dict[str, Any] = {"shapes": {}, "targets": []}
    for name, shape_result in timing["shapes"].items():
        shape_memory = memory.get("shapes", {}).get(name, {}).get("memory", {})
        for row in shape_result["rows"]:
            row.update(shape_memory.get(row["row"], {}))
        merged["shapes"][name] = shape_result
        merged["targets"].extend(targets(shape_result))
    return merged


def targets(shape_result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for one shape, each with the measured value and whether it is met."""
    rows = {row["row"]: row for row in shape_result["rows"]}
    between = shape_result["between"]
    everything = rows["gptviz_everything"]
    checks = [
        ("gptviz plain / reference", rows["gptviz_plain"]["ratio"], 1.05),
        ("recording all patterns / gptviz plain", between["gptviz_patterns / gptviz_plain"], 1.2),
        ("recording everything / reference", everything["ratio"], 1.3),
    ]
    if "held_mib" in everything:
        checks.append(
            ("memory held by recording everything / recorded tensors", everything["held_mib"] / everything["exposed_mib"], 1.2)
        )
    return [
        {"shape": shape_result["shape"]["name"], "target": label, "value": value, "limit": limit, "met": value <= limit}
        for label, value, limit in checks
    ]


def run(part: str = "timing", quick: bool = False, shapes: tuple[str, ...] = ("tiny", "gpt2-small")) -> dict[str, Any]:
    """Run one part of the forward benchmark on each shape; returns a JSON-ready dict."""
    results: dict[str, Any] = {"part": part, "shapes": {}}
    for shape_name in shapes:
        logger.info("forward pass, shape %s, %s", shape_name, part)
        with torch.no_grad():
            results["shapes"][shape_name] = run_shape(SHAPES[shape_name], part, quick)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["timing", "memory"], default="timing")
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append", help="default: both shapes")
    parser.add_argument("--quick", action="store_true", help="one to three rounds, to check that it runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, required=True, help="write the results to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    setup_torch(args.threads)
    write_json(args.json, run(args.part, args.quick, tuple(args.shape or ("tiny", "gpt2-small"))))


if __name__ == "__main__":
    main()

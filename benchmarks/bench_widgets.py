"""Kernel-side latency of the explorers' controls on the bundled model.

Measures, in the Python process (no browser): moving the layer slider and the head box of
`AttentionExplorer`, moving its query slider, toggling a head in `HeadInspector`, and
pressing Step in `GenerationStepper`. Each number is the median of repeats after warm-up
moves; the time covers the callback, the figure rebuild and the FigureWidget update
messages, but not the browser's drawing.

Usage:
    python benchmarks/bench_widgets.py [--repeats 30] [--threads 1] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

import gptviz
from gptviz.widgets import AttentionExplorer, GenerationStepper, HeadInspector

TEXT = "ROMEO: But soft, what light through yonder window breaks? It is the east"
BUDGET_MS = 50.0


def median_ms(action: Callable[[int], None], repeats: int, warmup: int = 3) -> tuple[float, float]:
    """Run ``action(i)`` warm-up times, then ``repeats`` times; return (median, max) in ms."""
    for index in range(warmup):
        action(index)
    times = []
    for index in range(repeats):
        start = time.perf_counter()
        action(warmup + index)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def measure(repeats: int) -> list[tuple[str, float, float]]:
    model, tokenizer = gptviz.load_pretrained("shakespeare")
    config = model.config
    explorer = AttentionExplorer(model, tokenizer, TEXT, raise_errors=True)
    T = len(explorer.trace)
    inspector = HeadInspector(model, tokenizer, TEXT, raise_errors=True)
    stepper = GenerationStepper(model, tokenizer, "ROMEO:", top_k=20, seed=0, raise_errors=True)

    def move_layer(i: int) -> None:
        explorer.layer.value = (explorer.layer.value + 1) % config.n_layer

    def move_head(i: int) -> None:
        explorer.head.value = (explorer.head.value + 1) % config.n_head

    def move_query(i: int) -> None:
        explorer.query.value = (explorer.query.value + 1) % T

    def toggle_head(i: int) -> None:
        toggle = inspector.toggles[i % config.n_layer, 0]
        toggle.value = not toggle.value

    def press_step(i: int) -> None:
        # Start again every 16 tokens, so every step samples a new token at a similar length
        if i % 16 == 0:
            stepper.reset()
        stepper.step_button.click()

    return [
        (f"AttentionExplorer: layer slider (T = {T})", *median_ms(move_layer, repeats)),
        (f"AttentionExplorer: head box (T = {T})", *median_ms(move_head, repeats)),
        (f"AttentionExplorer: query slider, 3 linked views (T = {T})", *median_ms(move_query, repeats)),
        ("HeadInspector: ablation toggle (one forward pass)", *median_ms(toggle_head, repeats)),
        ("GenerationStepper: Step button (one sampled token, 3 views)", *median_ms(press_step, repeats)),
    ]


def report(rows: list[tuple[str, float, float]], repeats: int, threads: int) -> str:
    lines = [
        "## Widget latency (kernel side)",
        "",
        f"`python benchmarks/bench_widgets.py --repeats {repeats} --threads {threads}` on the bundled "
        f"`shakespeare` model; {platform.machine()}, torch {torch.__version__}, {threads} thread(s). "
        "Median and maximum of the repeats after 3 warm-up moves; the browser's drawing is not included.",
        "",
        "| control | median (ms) | max (ms) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {median:.1f} | {worst:.1f} |" for name, median, worst in rows]
    layer_head = [median for name, median, _ in rows if "layer slider" in name or "head box" in name]
    verdict = "within" if max(layer_head) < BUDGET_MS else "over"
    lines += ["", f"Layer and head moves are {verdict} the {BUDGET_MS:.0f} ms budget: the trace is computed once "
              "per text, and a move rebuilds one heatmap."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed moves per control")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--out", type=Path, help="write the Markdown results here as well")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    text = report(measure(args.repeats), args.repeats, args.threads)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()

"""Markdown tables from the collected benchmark results, and the update of the results page.

The results page keeps its hand-written text; only the part between the two marker lines
(`BEGIN` and `END` below) is replaced by the tables of the latest run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench_forward import merge

BEGIN = "<!-- results: begin (written by benchmarks/run_all.py) -->"
END = "<!-- results: end -->"


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if value != 0 and abs(value) < 10 ** -digits:
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v, digits) for v in value)
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _data(results: dict[str, Any], name: str) -> Any:
    return results["steps"].get(name, {}).get("data")


def _earlier_note(results: dict[str, Any], name: str) -> list[str]:
    earlier = results["steps"].get(name, {}).get("earlier_run")
    return [f"_From an earlier run, started {earlier}._", ""] if earlier else []


def _problem(results: dict[str, Any], name: str) -> list[str]:
    step = results["steps"].get(name)
    if step is None:
        return [f"_Not run in this run (`--only`/`--skip`)._", ""]
    if "skipped" in step:
        return [f"_Skipped: {step['skipped']}._", ""]
    if "error" in step:
        tail = "\n".join(step.get("log_tail", []))
        return [f"_Failed: {step['error']}._ End of its log:", "", "```", tail, "```", ""]
    return []


def forward_section(results: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    timing = _data(results, "forward")
    if timing is None:
        return ["## Forward pass", "", *_problem(results, "forward")], []
    merged = merge(timing, _data(results, "forward_memory") or {})
    lines = ["## Forward pass", "", *_earlier_note(results, "forward")]
    for name, shape_result in merged["shapes"].items():
        shape = shape_result["shape"]
        lines += [
            f"### {name}: {shape['n_layer']} layers, {shape['n_head']} heads, width {shape['n_embd']}, "
            f"vocabulary {shape['vocab_size']}, {shape['batch']} x {shape['tokens']} tokens",
            "",
            f"Median of {shape_result['rounds']} paired rounds after {shape_result['warmup']} warm-up call(s). "
            "Ratio: time / reference time in the same round (quartiles in brackets). Memory: peak and "
            "held resident growth during one call, and the bytes of the tensors the row returns.",
            "",
        ]
        rows = [
            [
                row["label"], row["median_ms"], f"{row['ratio']:.2f} [{row['ratio_q1']:.2f}–{row['ratio_q3']:.2f}]",
                row.get("peak_mib"), row.get("held_mib"), row.get("exposed_mib"), row.get("max_logit_diff"),
            ]
            for row in shape_result["rows"]
        ]
        lines += _table(
            ["row", "median ms", "ratio to reference", "peak MiB", "held MiB", "returned tensors MiB", "max logit diff"],
            rows,
        )
        lines += _table(["between rows (median per-round ratio)", "ratio"], [[k, v] for k, v in shape_result["between"].items()])
    return lines, merged["targets"]


def _rows_section(title: str, results: dict[str, Any], name: str, columns: list[tuple[str, str]]) -> list[str]:
    data = _data(results, name)
    lines = [f"## {title}", "", *_earlier_note(results, name)]
    if data is None:
        return lines + _problem(results, name)
    if "rounds" in data:
        lines += [f"Median of {data['rounds']} paired rounds after {data['warmup']} warm-up call(s).", ""]
    if "repeats" in data:
        lines += [
            f"Median and maximum of {data['repeats']} moves after 3 warm-up moves, {data['threads']} torch "
            "thread(s); the time covers the callback, the figure rebuild and the update messages, not the "
            "browser's drawing.",
            "",
        ]
    if data.get("note"):
        lines += [f"_{data['note']}_", ""]
    rows = [[row.get(key) for key, _ in columns] for row in data.get("rows", [])]
    return lines + _table([label for _, label in columns], rows)


def generation_section(results: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    data = _data(results, "generation")
    lines = ["## Generation (greedy)", "", *_earlier_note(results, "generation")]
    if data is None:
        return lines + _problem(results, "generation"), []
    rows, targets = [], []
    for row in data:
        speed = row["tokens_per_s"]
        rows.append(
            [row["model"], speed["gptviz_cache"], speed["gptviz_no_cache"], speed["hf_generate"],
             row["cache_speedup"], row["hf_time_over_gptviz_cache"], row["same_tokens"]]
        )
        ratio = speed["gptviz_cache"] / speed["hf_generate"]
        targets.append(
            {"shape": row["model"], "target": "generation with KV cache / HF generate (tokens/s, at least)",
             "value": ratio, "limit": 1.0, "met": ratio >= 1.0}
        )
    lines += _table(
        ["model", "gptviz + KV cache tok/s", "gptviz no cache tok/s", "HF generate tok/s", "cache speed-up",
         "HF time / gptviz cache time", "same tokens"],
        rows,
    )
    lines += [f"- {row['model']}: {row.get('note', '')}" for row in data] + [""]
    return lines, targets


def decode_section(results: dict[str, Any]) -> list[str]:
    data = _data(results, "decode")
    lines = ["## One decoding step and the weight layout (GPT-2-small shape)", "", *_earlier_note(results, "decode")]
    if data is None:
        return lines + _problem(results, "decode")
    lines += [
        f"Model only: {data['decode_steps']} cached one-token steps after a {data['prompt_tokens']}-token prompt, "
        f"per step; median of {data['rounds']} paired rounds, ratio to the first row of each pair "
        f"(quartiles in brackets). Max logit difference of the two models: {_fmt(data['max_logit_diff'])}. "
        "The projection rows multiply one token by the weights of all 12 blocks (or by the vocabulary matrix), "
        "stored in the two layouts.",
        "",
    ]
    rows = []
    for row in data["rows"]:
        bracket = f" [{_fmt(row['ratio_q1'])}–{_fmt(row['ratio_q3'])}]" if "ratio_q1" in row else ""
        rows.append([row["row"], row["median_ms"], _fmt(row["ratio"]) + bracket])
    return lines + _table(["row", "median ms", "ratio"], rows)


def flops_section(results: dict[str, Any]) -> list[str]:
    data = _data(results, "flops")
    lines = ["## Achieved GFLOP/s of the plain forward pass", "", *_earlier_note(results, "flops")]
    if data is None:
        return lines + _problem(results, "flops")
    lines += [
        f"Matrix-multiply rate of this machine (best median of `torch.mm` sizes, before and after the "
        f"forward passes): **{data['matmul_peak_gflops']:.1f} GFLOP/s**.",
        "",
    ]
    lines += _table(
        ["size (M x K x N)", "GFLOP/s before", "GFLOP/s after"],
        [[k, v, data["matmul_gflops_after"].get(k)] for k, v in data["matmul_gflops_before"].items()],
    )
    lines += _table(
        ["shape", "GFLOP per forward", "gptviz GFLOP/s", "gptviz / matmul rate", "reference GFLOP/s", "reference / matmul rate"],
        [
            [name, s["gflop_per_forward"], s["gptviz_gflops"], s["gptviz_fraction_of_matmul"], s["reference_gflops"],
             s["reference_fraction_of_matmul"]]
            for name, s in data["shapes"].items()
        ],
    )
    return lines


def header_section(results: dict[str, Any]) -> list[str]:
    machine = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in results["versions"].items() if v)
    step_minutes = sum(step.get("elapsed_s", 0) for step in results["steps"].values()) / 60
    earlier = sorted({step["earlier_run"] for step in results["steps"].values() if step.get("earlier_run")})
    earlier_note = f" Some steps come from earlier runs ({', '.join(earlier)}), as marked below." if earlier else ""
    return [
        f"Run started {results['started']}{' (quick mode: too few rounds to trust)' if results['quick'] else ''}. "
        f"The steps below took {step_minutes:.1f} minutes together.{earlier_note}",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, {machine['os']}, "
        f"Python {machine['python']}; torch threads {results['threads']}; float32 on the CPU.",
        f"- Load average (1, 5, 15 min) at the start: {_fmt(list(machine['load_average']))}; at the end: "
        f"{_fmt(list(results.get('load_average_end', [])))}.",
        f"- Versions: {versions}.",
        "",
    ]


def render_markdown(results: dict[str, Any]) -> str:
    """Render the tables of one run as markdown."""
    forward_lines, targets = forward_section(results)
    generation_lines, generation_targets = generation_section(results)
    targets += generation_targets

    lines = header_section(results)
    lines += ["## Targets", ""]
    lines += _table(
        ["shape", "target", "measured", "limit", "met"],
        [[t["shape"], t["target"], t["value"], t["limit"], t["met"]] for t in targets],
    )

    lines += forward_lines
    lines += _rows_section(
        "Per-token log-probabilities of a 512-token text (GPT-2-small shape)", results, "ledger",
        [("label", "row"), ("median_ms", "median ms"), ("tokens_per_s", "tokens/s"), ("ratio", "ratio to reference"),
         ("max_logprob_diff", "max log-prob diff")],
    )
    lines += generation_lines
    lines += decode_section(results)
    lines += _rows_section(
        "Training (bundled model's configuration, batch 32 x 256)", results, "training",
        [("label", "row"), ("median_ms", "median ms per step"), ("tokens_per_s", "tokens/s"), ("ratio", "ratio to reference")],
    )
    lines += _rows_section(
        "Widget update latency (kernel side, bundled model)", results, "widgets",
        [("control", "control"), ("median_ms", "median ms"), ("max_ms", "max ms")],
    )
    lines += _rows_section(
        "Notebooks (fresh kernel each)", results, "notebooks",
        [("notebook", "notebook"), ("cells", "code cells"), ("wall_s", "wall s"), ("peak_rss_mib", "peak RSS MiB"),
         ("error", "error")],
    )
    lines += flops_section(results)
    return "\n".join(lines).rstrip() + "\n"


def update_page(page: Path, markdown: str) -> None:
    """Replace the tables between the markers of ``page``; create the page if it is missing."""
    block = f"{BEGIN}\n\n{markdown}\n{END}"
    if page.is_file():
        text = page.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            after = rest.split(END, 1)[1]
            page.write_text(before + block + after, encoding="utf-8")
            return
        page.write_text(text.rstrip() + "\n\n" + block + "\n", encoding="utf-8")
        return
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(f"# Benchmarks\n\nReproduce with `make bench`.\n\n{block}\n", encoding="utf-8")

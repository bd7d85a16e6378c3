"""Per-token log-probabilities of a 512-token text (the chain-rule ledger), GPT-2-small shape.

Each row turns token ids (1, 512) into the 511 values log p(w[t + 1] | w[0..t]):

- reference: fused-attention forward pass, float32 log-softmax, gather;
- gptviz trace: ``gptviz.trace(model, ids, names=[])`` then ``Trace.token_logprobs``;
- gptviz trace, every hook: the same with ``trace``'s default of recording every hook point;
- gptviz ledger figure: the trace plus ``gptviz.viz.chain_rule_ledger`` (a plotly table);
- Hugging Face: forward pass (sdpa), log-softmax, gather;
- TransformerLens 3.9: ``model(ids, return_type="loss", loss_per_token=True)``.

``python benchmarks/bench_ledger.py --json OUT [--quick]``
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

import gptviz
from common import paired_timing, run_benchmark_script
from peers import GPT2_SMALL, ReferenceGPT, build_hf, gptviz_from_hf, ids_for, tl_from_hf

logger = logging.getLogger(__name__)

LABELS = {
    "reference": "reference model, log-softmax + gather",
    "gptviz_trace": "gptviz trace(names=[]) + token_logprobs",
    "gptviz_trace_everything": "gptviz trace() recording every hook + token_logprobs",
    "gptviz_ledger_figure": "gptviz trace(names=[]) + chain_rule_ledger figure",
    "hf_sdpa": "Hugging Face GPT-2 (sdpa), log-softmax + gather",
    "tl_loss_per_token": "TransformerLens 3.9, loss_per_token",
}


def _gather_logprobs(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(T - 1,) log p(ids[t + 1] | ids[0..t]) from logits (1, T, V)."""
    return torch.log_softmax(logits[0, :-1], dim=-1).gather(1, ids[0, 1:, None])[:, 0]


def build_calls() -> dict[str, Callable[[], torch.Tensor]]:
    """Row name -> call returning the (511,) per-token log-probabilities."""
    shape = GPT2_SMALL
    hf = build_hf(shape, "sdpa")
    model = gptviz_from_hf(hf, shape)
    reference = ReferenceGPT.sharing_weights(model)
    tl = tl_from_hf(hf, shape)
    ids = ids_for(shape)

    def ledger_figure() -> torch.Tensor:
        trace = gptviz.trace(model, ids[0], names=[])
        gptviz.viz.chain_rule_ledger(trace)
        return trace.token_logprobs

    calls = {
        "reference": lambda: _gather_logprobs(reference(ids), ids),
        "gptviz_trace": lambda: gptviz.trace(model, ids[0], names=[]).token_logprobs,
        "gptviz_trace_everything": lambda: gptviz.trace(model, ids[0]).token_logprobs,
        "gptviz_ledger_figure": ledger_figure,
        "hf_sdpa": lambda: _gather_logprobs(hf(ids, use_cache=False).logits, ids),
    }
    if tl is not None:
        calls["tl_loss_per_token"] = lambda: -tl(ids, return_type="loss", loss_per_token=True)[0]
    return calls


def run(quick: bool = False) -> dict[str, Any]:
    """Time every row against the reference; returns a JSON-ready dict."""
    rounds, warmup = (1, 1) if quick else (5, 1)
    with torch.no_grad():
        calls = build_calls()
        expected = calls["reference"]()
        differences = {name: float((call() - expected).abs().max()) for name, call in calls.items()}
        timing = paired_timing(
            calls["reference"], {n: c for n, c in calls.items() if n != "reference"}, rounds=rounds, warmup=warmup
        )
    rows = [
        {
            "row": name,
            "label": LABELS[name],
            "median_ms": timing[name]["median_s"] * 1000,
            "tokens_per_s": (GPT2_SMALL.tokens - 1) / timing[name]["median_s"],
            "ratio": timing[name]["ratio"],
            "ratio_q1": timing[name]["ratio_q1"],
            "ratio_q3": timing[name]["ratio_q3"],
            "max_logprob_diff": differences[name],
        }
        for name in calls
    ]
    return {"shape": GPT2_SMALL.__dict__, "rounds": rounds, "warmup": warmup, "rows": rows}


def main() -> None:
    run_benchmark_script(__doc__.splitlines()[0], run, "one round, to check that it runs")


if __name__ == "__main__":
    main()

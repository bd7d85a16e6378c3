"""One cached decoding step of the model, gptviz against Hugging Face, and the weight layouts behind it.

Greedy generation on the GPT-2-small shape spends almost all of its time in the model's
one-token steps, and there every projection is a matrix-vector product that reads each
weight once from memory. gptviz keeps its weights as ``nn.Linear`` does, (out, in), while
Hugging Face's GPT-2 keeps the four projections of a block in ``Conv1D`` modules, (in, out).
This script measures, on the same threads:

- ``steps``: 16 cached one-token steps after a 13-token prompt, model only (no sampling and
  no step records), for gptviz's ``GPT`` (the reference) and Hugging Face's
  ``GPT2LMHeadModel`` with the same weights;
- ``layout``: the matrix-vector products of one token through the projections of all
  blocks. Each weight is stored once as (out, in) and multiplied with ``F.linear`` (the
  reference), and once as (in, out) and multiplied with ``torch.addmm``. The same is
  measured for the vocabulary projection (the tied embedding, (V, C) against (C, V)).

``python benchmarks/bench_decode.py --json OUT [--quick]``
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch
import torch.nn.functional as F

from common import paired_timing, run_benchmark_script
from peers import GPT2_SMALL, build_hf, gptviz_from_hf

from gptviz.model import KVCache

logger = logging.getLogger(__name__)

PROMPT_TOKENS = 13
DECODE_STEPS = 16


def step_calls(shape=GPT2_SMALL) -> tuple[Any, Any, float]:
    """Return two calls that each run ``DECODE_STEPS`` cached steps (gptviz, Hugging Face),
    and the largest difference of their last logits."""
    hf_model = build_hf(shape)
    model = gptviz_from_hf(hf_model, shape)
    prompt = torch.randint(0, shape.vocab_size, (1, PROMPT_TOKENS), generator=torch.Generator().manual_seed(2))
    new_ids = torch.randint(0, shape.vocab_size, (DECODE_STEPS, 1, 1), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        prefix = KVCache()
        model(prompt, cache=prefix)
        hf_prefix = hf_model(prompt, use_cache=True).past_key_values

    def gptviz_steps() -> torch.Tensor:
        # Each step's torch.cat makes new tensors, so the shared prefix stays unchanged
        cache = KVCache()
        cache.layers = list(prefix.layers)
        with torch.no_grad():
            for token in new_ids:
                logits = model(token, cache=cache).logits
        return logits

    def hf_steps() -> torch.Tensor:
        past = copy.deepcopy(hf_prefix)
        with torch.no_grad():
            for token in new_ids:
                out = hf_model(token, past_key_values=past, use_cache=True)
                past = out.past_key_values
        return out.logits

    difference = float((gptviz_steps() - hf_steps()).abs().max())
    return gptviz_steps, hf_steps, difference


def layout_calls(shape=GPT2_SMALL) -> dict[str, Any]:
    """Return calls that multiply one token by every block projection, or by the vocabulary
    matrix, with the weights in each layout. Every weight is a separate tensor, so as in a
    decoding step each one is read from memory rather than from the cache."""
    torch.manual_seed(0)
    C, hidden = shape.n_embd, 4 * shape.n_embd
    # (in, out) of the attention input and output projections, then the MLP's two
    sizes = [(C, 3 * C), (C, C), (C, hidden), (hidden, C)]
    out_in = [[torch.randn(n_out, n_in) * 0.02 for n_in, n_out in sizes] for _ in range(shape.n_layer)]
    in_out = [[weight.t().contiguous() for weight in layer] for layer in out_in]
    biases = [torch.zeros(n_out) for _, n_out in sizes]
    inputs = {n_in: torch.randn(1, n_in) for n_in, _ in sizes}
    embedding = torch.randn(shape.vocab_size, C) * 0.02
    embedding_t = embedding.t().contiguous()

    def blocks_linear() -> None:
        for layer in out_in:
            for weight, bias in zip(layer, biases):
                F.linear(inputs[weight.shape[1]], weight, bias)

    def blocks_addmm() -> None:
        for layer in in_out:
            for weight, bias in zip(layer, biases):
                torch.addmm(bias, inputs[weight.shape[0]], weight)

    x = inputs[C]
    return {
        "blocks_out_in": blocks_linear,
        "blocks_in_out": blocks_addmm,
        "vocab_out_in": lambda: F.linear(x, embedding),
        "vocab_in_out": lambda: torch.mm(x, embedding_t),
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Time the decoding steps and the two layouts; returns a JSON-ready dict."""
    rounds, warmup = (2, 1) if quick else (9, 2)
    gptviz_steps, hf_steps, difference = step_calls()
    logger.info("decoding steps, %d rounds", rounds)
    steps = paired_timing(gptviz_steps, {"hf": hf_steps}, rounds=rounds, warmup=warmup)
    calls = layout_calls()
    logger.info("weight layouts, %d rounds", rounds)
    blocks = paired_timing(calls["blocks_out_in"], {"in_out": calls["blocks_in_out"]}, rounds=rounds, warmup=warmup)
    vocab = paired_timing(calls["vocab_out_in"], {"in_out": calls["vocab_in_out"]}, rounds=rounds, warmup=warmup)
    per_step = 1000 / DECODE_STEPS
    return {
        "shape": GPT2_SMALL.name,
        "prompt_tokens": PROMPT_TOKENS,
        "decode_steps": DECODE_STEPS,
        "rounds": rounds,
        "rows": [
            {"row": "gptviz GPT, one cached step", "median_ms": steps["reference"]["median_s"] * per_step, "ratio": 1.0},
            {"row": "Hugging Face GPT2LMHeadModel, one cached step", "median_ms": steps["hf"]["median_s"] * per_step,
             "ratio": steps["hf"]["ratio"], "ratio_q1": steps["hf"]["ratio_q1"], "ratio_q3": steps["hf"]["ratio_q3"]},
            {"row": "block projections, weights (out, in), F.linear", "median_ms": blocks["reference"]["median_s"] * 1000,
             "ratio": 1.0},
            {"row": "block projections, weights (in, out), torch.addmm", "median_ms": blocks["in_out"]["median_s"] * 1000,
             "ratio": blocks["in_out"]["ratio"], "ratio_q1": blocks["in_out"]["ratio_q1"],
             "ratio_q3": blocks["in_out"]["ratio_q3"]},
            {"row": "vocabulary projection, (V, C), F.linear", "median_ms": vocab["reference"]["median_s"] * 1000,
             "ratio": 1.0},
            {"row": "vocabulary projection, (C, V), torch.mm", "median_ms": vocab["in_out"]["median_s"] * 1000,
             "ratio": vocab["in_out"]["ratio"], "ratio_q1": vocab["in_out"]["ratio_q1"],
             "ratio_q3": vocab["in_out"]["ratio_q3"]},
        ],
        "max_logit_diff": difference,
    }


def main() -> None:
    run_benchmark_script(__doc__.splitlines()[0], run, "two rounds, to check that it runs")


if __name__ == "__main__":
    main()

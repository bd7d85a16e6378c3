"""Training throughput for the bundled model's configuration: gptviz against Hugging Face GPT-2.

Shape: 4 layers, 4 heads, width 128, context 256, vocabulary 4096, learned positions,
pre-norm, tied head, batch 32 x 256 tokens, float32 on the CPU. One step is: draw a batch,
forward pass with the cross-entropy loss, backward pass, gradient clipping at norm 1, and an
AdamW update.

- gptviz: the training loop's own step function (``gptviz.training.train._train_step``);
- Hugging Face: ``GPT2LMHeadModel`` (sdpa) with the same weights, batches and optimizer;
- reference: the minimal fused-attention model, the same step written out.

``python benchmarks/bench_training.py --json OUT [--quick]``
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from common import paired_timing, run_benchmark_script
from gptviz.training.train import TrainConfig, TrainState, _train_step, make_optimizer, sample_batch
from peers import TINY, ReferenceGPT, build_hf, gptviz_from_hf

logger = logging.getLogger(__name__)
BATCH = 32
STREAM_TOKENS = 200_000


def _plain_step(
    model: nn.Module, logits_of: Callable[[torch.Tensor], torch.Tensor], stream: torch.Tensor, config: TrainConfig, step: list[int]
) -> Callable[[], float]:
    """A training step for a model that returns logits: the same batch draw, loss, clipping and optimizer."""
    optimizer = make_optimizer(model, config)  # type: ignore[arg-type]

    def train_step() -> float:
        inputs, targets = sample_batch(stream, config.batch_size, TINY.block_size, seed=config.seed, step=step[0])
        step[0] += 1
        logits = logits_of(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        return loss.item()

    return train_step


def build_steps(batch: int) -> dict[str, Callable[[], Any]]:
    """Row name -> one training step, each on its own copy of the same initial weights."""
    config = TrainConfig(steps=10_000, batch_size=batch, warmup_steps=0)
    stream = torch.randint(0, TINY.vocab_size, (STREAM_TOKENS,), generator=torch.Generator().manual_seed(0))
    hf = build_hf(TINY, "sdpa").train()
    model = gptviz_from_hf(hf, TINY).train()
    reference = ReferenceGPT(model.config)
    reference.load_state_dict(ReferenceGPT.sharing_weights(model).state_dict())
    reference.train()

    gptviz_optimizer = make_optimizer(model, config)
    state = TrainState()

    def gptviz_step() -> dict[str, float]:
        metrics = _train_step(model, model, gptviz_optimizer, stream, config, state, rank=0)
        state.step += 1
        return metrics

    return {
        "reference": _plain_step(reference, reference, stream, config, [0]),
        "gptviz": gptviz_step,
        "hf_sdpa": _plain_step(hf, lambda ids: hf(ids, use_cache=False).logits, stream, config, [0]),
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Time one training step of each row against the reference; returns a JSON-ready dict."""
    rounds, warmup = (1, 1) if quick else (6, 2)
    steps = build_steps(BATCH)
    timing = paired_timing(steps["reference"], {n: s for n, s in steps.items() if n != "reference"}, rounds=rounds, warmup=warmup)
    tokens = BATCH * TINY.block_size
    labels = {
        "reference": "reference model, fused attention",
        "gptviz": "gptviz training step (the training loop's own)",
        "hf_sdpa": "Hugging Face GPT-2 (sdpa), same step",
    }
    rows = [
        {
            "row": name,
            "label": labels[name],
            "median_ms": timing[name]["median_s"] * 1000,
            "tokens_per_s": tokens / timing[name]["median_s"],
            "ratio": timing[name]["ratio"],
            "ratio_q1": timing[name]["ratio_q1"],
            "ratio_q3": timing[name]["ratio_q3"],
        }
        for name in steps
    ]
    return {"shape": TINY.__dict__, "batch": BATCH, "rounds": rounds, "warmup": warmup, "rows": rows}


def main() -> None:
    run_benchmark_script(__doc__.splitlines()[0], run, "one round, to check that it runs")


if __name__ == "__main__":
    main()

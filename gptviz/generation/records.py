"""Data records of step-by-step generation: one `StepRecord` per new token.

Widgets and figures read these records, so generation runs once and a widget can step
back and forth through it without running the model again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

FilterName = Literal["temperature", "top_k", "top_p"]
ChoiceKind = Literal["sampled", "greedy", "forced"]


@dataclass
class Candidate:
    """One of the most probable next tokens at a step.

    Attributes:
        id: token id.
        token: display string of the token (partial UTF-8 bytes shown as ``\\xNN``).
        raw_prob: probability under the raw distribution (temperature 1, no filters).
        sampled_prob: probability under the distribution actually sampled from; 0 when
            a filter removed the token.
        filtered_by: ``None`` when the token stayed in the sampled distribution, else the
            filter that removed it: ``"top_k"``, ``"top_p"``, or ``"temperature"`` when
            temperature 0 (greedy decoding) keeps only the most probable token.
    """

    id: int
    token: str
    raw_prob: float
    sampled_prob: float
    filtered_by: FilterName | None


@dataclass
class StepRecord:
    """Everything about one generated token: context, distributions, choice and text.

    Attributes:
        index: 0-based step number (the first new token is step 0).
        context_ids: ids the model saw at this step, after any window slide (T_ctx ids).
        window_start: index in the full sequence (prompt + generated) where
            ``context_ids`` starts; 0 until the sequence outgrows ``block_size``.
        window_moved: True when ``window_start`` changed at this step, that is, the oldest
            tokens were dropped to keep the context within ``block_size``.
        raw_probs: (V,) softmax of the raw logits at the last context position, float32, CPU.
        sampled_probs: (V,) the distribution sampled from after temperature, top-k and
            top-p, renormalized; exact zeros where a filter removed a token.
        candidates: the most probable tokens under the raw distribution, most probable
            first, with ties broken by the lower id.
        chosen_id: the token appended at this step.
        chosen_token: display string of the chosen token.
        logprob_raw: natural log-probability of the chosen token under ``raw_probs``
            (computed with log_softmax, so it stays finite where the probability underflows).
        logprob_sampled: log-probability of the chosen token under ``sampled_probs``;
            ``-inf`` when a forced token had been filtered out.
        entropy: entropy of ``sampled_probs`` in nats.
        entropy_raw: entropy of ``raw_probs`` in nats.
        nucleus_size: number of tokens with nonzero sampled probability.
        attention: (L, H, T_ctx) attention weights of the newest context position over the
            context, per layer and head, when attention was recorded; else ``None``.
        text: generated text so far (prompt excluded), complete characters only.
        pending_bytes: trailing bytes held back from ``text`` because they do not yet form
            a complete UTF-8 character.
        chosen_by: ``"sampled"``, ``"greedy"`` (temperature 0) or ``"forced"`` (the caller
            picked the token).
        recorded: hook name -> tensor of the newest context position, for the hook names
            requested with ``record`` (batch and position axes removed; for
            ``attn.pattern`` and ``attn.scores`` an (H, T_ctx) row).
    """

    index: int
    context_ids: list[int]
    window_start: int
    window_moved: bool
    raw_probs: torch.Tensor
    sampled_probs: torch.Tensor
    candidates: list[Candidate]
    chosen_id: int
    chosen_token: str
    logprob_raw: float
    logprob_sampled: float
    entropy: float
    entropy_raw: float
    nucleus_size: int
    attention: torch.Tensor | None
    text: str
    pending_bytes: bytes
    chosen_by: ChoiceKind = "sampled"
    recorded: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def raw_prob(self) -> float:
        """Probability of the chosen token under the raw distribution."""
        return float(self.raw_probs[self.chosen_id])

    @property
    def sampled_prob(self) -> float:
        """Probability of the chosen token under the sampled distribution."""
        return float(self.sampled_probs[self.chosen_id])

"""Attention masks beyond the causal one, and what the model predicts under each of them.

A mask is a (T, T) bool tensor, True where a query (row) may attend to a key (column).
Cells above the diagonal that a mask allows let a position see tokens after it: the
"future" leaks into its prediction of the next token, so its loss becomes too optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from gptviz.model import GPT, causal_mask

MaskKind = Literal["causal", "bidirectional", "sliding_window", "prefix"]
MASK_KINDS: tuple[MaskKind, ...] = ("causal", "bidirectional", "sliding_window", "prefix")


def build_mask(kind: MaskKind, T: int, *, window: int = 3, prefix: int = 2) -> torch.Tensor:
    """Build a (T, T) bool attention mask of a named kind.

    Args:
        kind: ``"causal"`` (query t sees keys 0..t), ``"bidirectional"`` (every key),
            ``"sliding_window"`` (keys t - window + 1 .. t) or ``"prefix"`` (the first
            ``prefix`` positions see each other in both directions, the rest is causal).
        T: number of positions.
        window: keys per query for ``"sliding_window"``, >= 1.
        prefix: length of the bidirectional prefix for ``"prefix"``, >= 0.

    Returns:
        (T, T) bool tensor, rows are queries and columns keys.

    Example:
        >>> build_mask("sliding_window", 4, window=2).int().tolist()[3]
        [0, 0, 1, 1]
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"build_mask(): kind must be one of {MASK_KINDS}, got {kind!r}")
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"build_mask(): T must be an int >= 1, got {T!r}")
    causal = causal_mask(T, T)
    if kind == "causal":
        return causal
    if kind == "bidirectional":
        return torch.ones(T, T, dtype=torch.bool)
    if kind == "sliding_window":
        if window < 1:
            raise ValueError(f"build_mask(): window must be >= 1, got {window}")
        offset = torch.arange(T).unsqueeze(1) - torch.arange(T).unsqueeze(0)  # (T, T) query - key
        return causal & (offset < window)
    if prefix < 0:
        raise ValueError(f"build_mask(): prefix must be >= 0, got {prefix}")
    mask = causal.clone()
    mask[:prefix, :prefix] = True
    return mask


def future_cells(mask: torch.Tensor) -> torch.Tensor:
    """(T, T) bool: cells where ``mask`` lets a query see a key after it (above the diagonal)."""
    T = mask.shape[-1]
    return mask.bool() & ~causal_mask(T, T, mask.device)


def toggle_cell(mask: torch.Tensor, query: int, key: int) -> torch.Tensor:
    """Return a copy of ``mask`` with the cell (query, key) flipped."""
    T = mask.shape[-1]
    for name, value in (("query", query), ("key", key)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < T:
            raise ValueError(f"toggle_cell(): {name} must be an int in [0, {T}), got {value!r}")
    edited = mask.clone()
    edited[query, key] = not bool(edited[query, key])
    return edited


@dataclass(frozen=True)
class MaskedPrediction:
    """Next-token predictions of one sequence under one attention mask.

    ``token_logprobs[t]`` is log p(ids[t + 1] | the keys that row t of the mask allows),
    shape (T - 1,), in nats.

    Attributes:
        mask: (T, T) bool mask used for every layer and head.
        token_logprobs: (T - 1,) log-probability of each actual next token.
        loss: mean of ``-token_logprobs`` in nats per token (NaN when T = 1).
        top_ids: (T,) most probable next token at every position.
        top_probs: (T,) its probability, in [0, 1].
        leaks: (T,) bool, True where row t may see a key after t.
    """

    mask: torch.Tensor
    token_logprobs: torch.Tensor
    loss: float
    top_ids: torch.Tensor
    top_probs: torch.Tensor
    leaks: torch.Tensor


@torch.no_grad()
def masked_predictions(model: GPT, ids: torch.Tensor, mask: torch.Tensor) -> MaskedPrediction:
    """Run ``ids`` (T,) through ``model`` with ``mask`` in place of the causal mask.

    Args:
        model: a `gptviz.GPT` (switched to eval mode for the call).
        ids: token ids (T,).
        mask: (T, T) bool, True where a query may attend to a key.

    Returns:
        A `MaskedPrediction`.
    """
    ids = torch.as_tensor(ids, dtype=torch.long).reshape(-1)
    T = ids.shape[0]
    if tuple(mask.shape) != (T, T):
        raise ValueError(f"masked_predictions(): mask must be ({T}, {T}) for {T} tokens, got {tuple(mask.shape)}")
    was_training = model.training
    model.eval()
    try:
        logits = model(ids.unsqueeze(0).to(model.device), attn_mask=mask.bool().to(model.device)).logits[0]
    finally:
        model.train(was_training)
    logprobs = torch.log_softmax(logits.double().cpu(), dim=-1)  # (T, V)
    token_logprobs = logprobs[:-1].gather(1, ids[1:].unsqueeze(1)).squeeze(1).float()  # (T - 1,)
    top_logprobs, top_ids = logprobs.max(dim=-1)
    loss = float(-token_logprobs.double().mean()) if T > 1 else float("nan")
    leaks = future_cells(mask).any(dim=-1)
    return MaskedPrediction(mask.bool().cpu(), token_logprobs, loss, top_ids, top_logprobs.exp().float(), leaks)

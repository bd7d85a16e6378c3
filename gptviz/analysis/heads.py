"""Per-head attention metrics, each a number per (layer, head) computed from the patterns.

All functions take patterns of shape (..., T, T), where rows are queries and columns are
keys and each row sums to 1, and reduce the last two axes. Query position 0 can only
attend to itself, so every metric averages over query positions 1 .. T-1 and needs T >= 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gptviz.analysis._checks import require_recorded, require_trace
from gptviz.tracing import Trace


@dataclass(frozen=True)
class HeadMetrics:
    """Four (L, H) tables that summarise what each head attends to.

    Attributes:
        previous_token: mean weight on the key just before the query, in [0, 1].
        induction: mean weight on keys that follow an earlier copy of the query token, in
            [0, 1]; NaN when no token of the text repeats.
        first_token: mean weight on key position 0, in [0, 1].
        entropy: mean entropy of the query rows in nats, in [0, ln T].
    """

    previous_token: torch.Tensor
    induction: torch.Tensor
    first_token: torch.Tensor
    entropy: torch.Tensor


def _check_patterns(patterns: torch.Tensor, caller: str) -> torch.Tensor:
    if not isinstance(patterns, torch.Tensor):
        raise TypeError(f"{caller}: patterns must be a tensor (..., T, T), got {type(patterns).__name__}")
    if patterns.dim() < 2 or patterns.shape[-1] != patterns.shape[-2]:
        raise ValueError(f"{caller}: patterns must have shape (..., T, T), got {tuple(patterns.shape)}")
    if patterns.shape[-1] < 2:
        raise ValueError(f"{caller}: head metrics need at least 2 positions, got T={patterns.shape[-1]}")
    return patterns.detach().cpu().double()


def previous_token_score(patterns: torch.Tensor) -> torch.Tensor:
    """Mean attention from each query to the key right before it.

    score = mean over t = 1 .. T-1 of A[t, t-1].

    Args:
        patterns: (..., T, T) attention weights, rows are queries and columns are keys.

    Returns:
        (...) float tensor in [0, 1]; 1 for a head that always looks one token back.
    """
    weights = _check_patterns(patterns, "previous_token_score()")
    return weights.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=-1).float()


def first_token_attention(patterns: torch.Tensor) -> torch.Tensor:
    """Mean attention from each query to key position 0 (often a resting place for heads).

    score = mean over t = 1 .. T-1 of A[t, 0].

    Args:
        patterns: (..., T, T) attention weights, rows are queries and columns are keys.

    Returns:
        (...) float tensor in [0, 1].
    """
    weights = _check_patterns(patterns, "first_token_attention()")
    return weights[..., 1:, 0].mean(dim=-1).float()


def attention_entropy(patterns: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the attention rows, in nats.

    entropy = mean over t = 1 .. T-1 of -sum_s A[t, s] ln A[t, s], with 0 ln 0 = 0. A head
    that puts all weight on one key scores 0; uniform attention over t + 1 keys scores
    ln(t + 1).

    Args:
        patterns: (..., T, T) attention weights, rows are queries and columns are keys.

    Returns:
        (...) float tensor in [0, ln T].
    """
    weights = _check_patterns(patterns, "attention_entropy()")[..., 1:, :]
    terms = torch.where(weights > 0, -weights * torch.log(weights.clamp_min(1e-300)), torch.zeros_like(weights))
    return terms.sum(dim=-1).mean(dim=-1).float()


def induction_targets(ids: torch.Tensor) -> torch.Tensor:
    """Boolean (T, T) matrix, True at (t, s) when s < t and ids[s - 1] == ids[t].

    Key s is the token that followed an earlier copy of the query token, the key an
    induction head attends to.
    """
    ids = torch.as_tensor(ids).reshape(-1)
    T = ids.shape[0]
    earlier_copy = torch.zeros(T, T, dtype=torch.bool)
    earlier_copy[:, 1:] = ids.unsqueeze(1) == ids[:-1].unsqueeze(0)  # (t, s) compares ids[t], ids[s-1]
    strictly_before = torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)
    return earlier_copy & strictly_before


def induction_score(patterns: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Mean attention from each query to the tokens that followed earlier copies of it.

    For query t let S_t = {s : s < t and ids[s - 1] == ids[t]}. The score is the mean, over
    the queries with a non-empty S_t, of sum over s in S_t of A[t, s]. On a random sequence
    repeated twice, an induction head scores close to 1.

    Args:
        patterns: (..., T, T) attention weights, rows are queries and columns are keys.
        ids: (T,) token ids of the same sequence.

    Returns:
        (...) float tensor in [0, 1], NaN everywhere when no token repeats.
    """
    weights = _check_patterns(patterns, "induction_score()")
    ids = torch.as_tensor(ids).reshape(-1).cpu()
    if ids.shape[0] != weights.shape[-1]:
        raise ValueError(
            f"induction_score(): ids have {ids.shape[0]} positions but patterns have {weights.shape[-1]}; "
            "pass the ids of the traced sequence"
        )
    targets = induction_targets(ids).double()  # (T, T)
    has_target = targets.sum(dim=-1) > 0  # (T,)
    if not bool(has_target.any()):
        return torch.full(weights.shape[:-2], float("nan"))
    per_query = (weights * targets).sum(dim=-1)  # (..., T)
    return per_query[..., has_target].mean(dim=-1).float()


def head_metrics(trace: Trace) -> HeadMetrics:
    """Compute the four head metrics of every head from a trace.

    Args:
        trace: a `Trace` with ``blocks.*.attn.pattern`` recorded and at least 2 tokens.

    Returns:
        `HeadMetrics` with four (L, H) tensors.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis import head_metrics
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> head_metrics(tr).previous_token.shape
        torch.Size([2, 2])
    """
    require_trace(trace, "head_metrics()")
    require_recorded(trace, [f"blocks.{i}.attn.pattern" for i in range(trace.n_layer)], "head_metrics()")
    patterns = trace.stack("attn.pattern")  # (L, H, T, T)
    return HeadMetrics(
        previous_token=previous_token_score(patterns),
        induction=induction_score(patterns, trace.ids),
        first_token=first_token_attention(patterns),
        entropy=attention_entropy(patterns),
    )

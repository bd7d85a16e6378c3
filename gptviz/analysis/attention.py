"""Attention arithmetic for one query: from dot products to softmax weights, step by step."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gptviz.analysis._checks import require_index, require_recorded, require_tensor, require_trace
from gptviz.tracing import Trace

# exp() of a float64 overflows above about 709.8, so larger scores are shifted first
_EXP_LIMIT = 700.0


@dataclass(frozen=True)
class AttentionSteps:
    """Each step of one query's attention over the keys, all (T_k,) float64 tensors.

    Attributes:
        query: the query position.
        scores: q . k for every key (the raw dot products).
        scale: 1 / sqrt(D).
        scaled: scores * scale.
        allowed: bool, True where the causal mask lets the query see the key (key <= query).
        masked: scaled where allowed, -inf where masked.
        shift: number subtracted before exp(): 0 unless a score exceeds 700, when it is the
            row maximum (softmax is unchanged by a shift, and it keeps exp() finite).
        exp: exp(masked - shift); exactly 0 at masked keys.
        weights: exp / exp.sum(), the attention weights, in [0, 1].
        row_sum: weights.sum(), 1 up to rounding.
    """

    query: int
    scores: torch.Tensor
    scale: float
    scaled: torch.Tensor
    allowed: torch.Tensor
    masked: torch.Tensor
    shift: float
    exp: torch.Tensor
    weights: torch.Tensor
    row_sum: float


def attention_steps_qk(q: torch.Tensor, k: torch.Tensor, query: int) -> AttentionSteps:
    """Compute the attention arithmetic of one query from per-head queries and keys.

    Queries are taken to be the last T_q of the T_k key positions (the layout of a KV
    cache), so query i may attend to keys 0 .. T_k - T_q + i.

    Args:
        q: (T_q, D) queries of one head.
        k: (T_k, D) keys of the same head.
        query: index into the rows of ``q``.

    Returns:
        `AttentionSteps` over the T_k keys.
    """
    caller = "attention_steps_qk()"
    q = require_tensor(q, 2, caller, "q", "(T_q, D)").double()
    k = require_tensor(k, 2, caller, "k", "(T_k, D)").double()
    if q.shape[1] != k.shape[1] or q.shape[0] > k.shape[0]:
        raise ValueError(
            f"{caller}: q (T_q, D) and k (T_k, D) need the same D and T_q <= T_k, "
            f"got {tuple(q.shape)} and {tuple(k.shape)}"
        )
    require_index(query, q.shape[0], caller, "query")

    # Dot products of the query with every key, then the 1/sqrt(D) scale
    scores = k @ q[query]  # (T_k,)
    scale = 1.0 / math.sqrt(q.shape[1])
    scaled = scores * scale

    # Causal mask: keys after the query position get -inf
    key_positions = torch.arange(k.shape[0])
    allowed = key_positions <= (k.shape[0] - q.shape[0] + query)
    masked = scaled.masked_fill(~allowed, float("-inf"))

    # Exponentials and normalisation
    row_max = float(masked.max())
    shift = row_max if row_max > _EXP_LIMIT else 0.0
    exp = torch.exp(masked - shift)
    weights = exp / exp.sum()
    return AttentionSteps(query, scores, scale, scaled, allowed, masked, shift, exp, weights, float(weights.sum()))


def attention_steps(trace: Trace, layer: int, head: int, query: int) -> AttentionSteps:
    """Compute the attention arithmetic of one query of one head from a trace.

    Uses the recorded ``blocks.{layer}.attn.q`` and ``.k``; the resulting weights equal row
    ``query`` of ``trace.pattern(layer, head)`` up to float32 rounding.

    Args:
        trace: a `Trace` with the layer's ``attn.q`` and ``attn.k`` recorded.
        layer: block index in [0, L).
        head: head index in [0, H).
        query: query position in [0, T).

    Returns:
        `AttentionSteps` over the T keys.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis import attention_steps
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> steps = attention_steps(tr, 0, 1, query=2)
        >>> steps.allowed.tolist(), round(steps.row_sum, 6)
        ([True, True, True, False, False], 1.0)
    """
    caller = "attention_steps()"
    require_trace(trace, caller)
    require_index(layer, trace.n_layer, caller, "layer")
    require_recorded(trace, [f"blocks.{layer}.attn.q", f"blocks.{layer}.attn.k"], caller)
    q, k = trace[f"blocks.{layer}.attn.q"], trace[f"blocks.{layer}.attn.k"]  # (H, T, D) each
    require_index(head, q.shape[0], caller, "head")
    require_index(query, q.shape[1], caller, "query")
    return attention_steps_qk(q[head], k[head], query)

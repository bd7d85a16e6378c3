"""Top-k of a next-token distribution, with the rank of the token that actually came next."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gptviz.analysis._checks import require_index, require_tensor


@dataclass(frozen=True)
class TopK:
    """The k most likely tokens of a distribution over V tokens.

    Attributes:
        ids: (k,) token ids, most likely first (ties go to the lower id).
        probs: (k,) their probabilities, descending, in [0, 1].
        target_id: the token to locate, or None.
        target_prob: its probability, or None.
        target_rank: 1 + the number of tokens with a strictly higher probability, or None.
    """

    ids: torch.Tensor
    probs: torch.Tensor
    target_id: int | None
    target_prob: float | None
    target_rank: int | None


def top_k(probs: torch.Tensor, k: int = 10, target: int | None = None) -> TopK:
    """Take the k most likely tokens of a distribution and locate ``target`` in it.

    Args:
        probs: (V,) probabilities that sum to 1.
        k: number of tokens to keep; values above V keep all V.
        target: a token id in [0, V) whose probability and rank to report.

    Returns:
        `TopK`.

    Example:
        >>> import torch
        >>> from gptviz.analysis import top_k
        >>> result = top_k(torch.tensor([0.1, 0.6, 0.3]), k=2, target=0)
        >>> result.ids.tolist(), result.target_rank
        ([1, 2], 3)
    """
    caller = "top_k()"
    probs = require_tensor(probs, 1, caller, "probs", "(V,)").double()
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{caller}: k must be a positive int, got {k!r}")
    # A stable descending sort keeps tied tokens in id order
    order = torch.sort(probs, descending=True, stable=True).indices[: min(k, probs.shape[0])]
    if target is None:
        return TopK(order, probs[order].float(), None, None, None)
    require_index(target, probs.shape[0], caller, "target")
    target_prob = float(probs[target])
    rank = int((probs > probs[target]).sum()) + 1
    return TopK(order, probs[order].float(), target, target_prob, rank)

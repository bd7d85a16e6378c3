"""Similarity of positional encodings across positions."""

from __future__ import annotations

import torch

from gptviz.analysis._checks import require_tensor


def positional_similarity(table: torch.Tensor, *, normalize: bool = False) -> torch.Tensor:
    """Dot products PE[p] . PE[q] of every pair of positions.

    For the sinusoidal table each dot product is a sum of cos((p - q) * w_i), so every
    diagonal of the result is constant: the similarity depends only on the offset p - q.

    Args:
        table: (T, C) positional encodings, one row per position.
        normalize: divide by the norms, giving cosine similarities in [-1, 1].

    Returns:
        (T, T) float tensor, symmetric.

    Example:
        >>> from gptviz.positional import sinusoidal_table
        >>> from gptviz.analysis import positional_similarity
        >>> sim = positional_similarity(sinusoidal_table(8, 16))
        >>> abs(float(sim[2, 5] - sim[4, 7])) < 1e-5
        True
    """
    table = require_tensor(table, 2, "positional_similarity()", "table", "(T, C)").double()
    if normalize:
        table = table / table.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return (table @ table.T).float()  # (T, T)

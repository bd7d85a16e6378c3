"""Positional encodings: fixed sinusoids or a learned table, both (T, C)."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_table(n_positions: int, n_embd: int) -> torch.Tensor:
    """Build the sinusoidal encoding of "Attention Is All You Need" (Vaswani et al., 2017).

    PE[p, 2i] = sin(p / 10000^(2i / C)) and PE[p, 2i + 1] = cos(p / 10000^(2i / C)).
    Each sin/cos pair rotates with p at its own frequency, so PE[p] . PE[q] is a sum of
    cos((p - q) * w_i) terms and depends only on the offset p - q.

    Args:
        n_positions: number of positions T.
        n_embd: width C; must be even.

    Returns:
        Float tensor (T, C) with values in [-1, 1].
    """
    if n_embd % 2 != 0:
        raise ValueError(f"sinusoidal_table(): n_embd must be even, got {n_embd}")
    positions = torch.arange(n_positions, dtype=torch.float64).unsqueeze(1)  # (T, 1)
    frequencies = torch.exp(
        -math.log(10000.0) * torch.arange(0, n_embd, 2, dtype=torch.float64) / n_embd
    )  # (C/2,)
    angles = positions * frequencies  # (T, C/2)
    table = torch.empty(n_positions, n_embd, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles)
    return table.float()


class SinusoidalPositions(nn.Module):
    """Fixed sinusoidal encodings, kept as a buffer outside the state dict."""

    def __init__(self, block_size: int, n_embd: int) -> None:
        super().__init__()
        self.register_buffer("table", sinusoidal_table(block_size, n_embd), persistent=False)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        return self.table[positions]  # (T, C)


class LearnedPositions(nn.Module):
    """A trainable (block_size, C) table, as in GPT-2."""

    def __init__(self, block_size: int, n_embd: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(block_size, n_embd))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        return self.weight[positions]  # (T, C)

"""Residual stream sizes and what each block's attention and MLP add to it."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gptviz.analysis._checks import require_recorded, require_trace
from gptviz.tracing import Trace


def stream_names(n_layer: int) -> list[str]:
    """Hook names of the L + 1 residual streams: the input of each block, then the output."""
    return [f"blocks.{i}.resid_pre" for i in range(n_layer)] + [f"blocks.{n_layer - 1}.resid_post"]


def residual_norms(trace: Trace) -> torch.Tensor:
    """L2 norm of the residual stream at every stream and position.

    Row i < L is the stream entering block i (row 0 is the embeddings), and row L is the
    stream leaving the last block.

    Args:
        trace: a `Trace` with ``blocks.*.resid_pre`` and the last ``resid_post`` recorded.

    Returns:
        (L + 1, T) float tensor, non-negative.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis import residual_norms
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> residual_norms(tr).shape
        torch.Size([3, 5])
    """
    require_trace(trace, "residual_norms()")
    names = stream_names(trace.n_layer)
    require_recorded(trace, names, "residual_norms()")
    return torch.stack([trace[name].double().norm(dim=-1) for name in names]).float()


@dataclass(frozen=True)
class BlockContributions:
    """L2 norms of what each sublayer adds to the residual stream, before any norm.

    Attributes:
        attention: (L, T) norm of ``blocks.{i}.attn.out`` at each position.
        mlp: (L, T) norm of ``blocks.{i}.mlp.out`` at each position.
        stream: (L, T) norm of ``blocks.{i}.resid_pre``, the stream the block adds to.
    """

    attention: torch.Tensor
    mlp: torch.Tensor
    stream: torch.Tensor


def block_contributions(trace: Trace) -> BlockContributions:
    """Measure what the attention and the MLP of every block add at each position.

    Args:
        trace: a `Trace` with ``blocks.*.attn.out``, ``blocks.*.mlp.out`` and
            ``blocks.*.resid_pre`` recorded.

    Returns:
        `BlockContributions` of three (L, T) tensors.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis import block_contributions
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> block_contributions(tr).mlp.shape
        torch.Size([2, 5])
    """
    require_trace(trace, "block_contributions()")
    parts = ("attn.out", "mlp.out", "resid_pre")
    names = [f"blocks.{i}.{part}" for i in range(trace.n_layer) for part in parts]
    require_recorded(trace, names, "block_contributions()")
    norms = [trace.stack(part).double().norm(dim=-1).float() for part in parts]  # (L, T) each
    return BlockContributions(attention=norms[0], mlp=norms[1], stream=norms[2])

"""Argument checks shared by the analysis functions."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from gptviz.tracing import Trace


def require_trace(trace: object, caller: str) -> Trace:
    """Raise TypeError unless ``trace`` is a `Trace`."""
    if not isinstance(trace, Trace):
        raise TypeError(
            f"{caller}: expected a gptviz.Trace, got {type(trace).__name__}; "
            "build one with gptviz.trace(model, tokenizer, text)"
        )
    return trace


def require_recorded(trace: Trace, names: Iterable[str], caller: str) -> None:
    """Raise ValueError naming the first hook in ``names`` that the trace did not record."""
    for name in names:
        if name not in trace:
            raise ValueError(
                f"{caller}: the trace has no {name!r}; trace with names=None (the default) "
                "or include this hook name in names="
            )


def require_tensor(value: object, dims: int, caller: str, argument: str, shape: str) -> torch.Tensor:
    """Convert ``value`` to a float tensor with ``dims`` axes, or raise with the expected shape."""
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(
                f"{caller}: {argument} must be a tensor of shape {shape}, got {type(value).__name__}"
            ) from error
    if value.dim() != dims:
        raise ValueError(f"{caller}: {argument} must have shape {shape}, got {tuple(value.shape)}")
    return value.detach().cpu().float()


def require_index(value: object, size: int, caller: str, argument: str) -> int:
    """Return ``value`` if it is an int in [0, size), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ValueError(f"{caller}: {argument} must be an int in [0, {size}), got {value!r}")
    return value


def token_strings(ids: Iterable[int], tokenizer: object | None) -> list[str]:
    """Display strings of vocabulary ids: ``tokenizer.token_strings(ids)``, or the ids as text."""
    ids = [int(i) for i in ids]
    if tokenizer is None:
        return [str(i) for i in ids]
    if not hasattr(tokenizer, "token_strings"):
        raise TypeError(
            f"expected a gptviz.Tokenizer (anything with token_strings(ids)) as tokenizer, "
            f"got {type(tokenizer).__name__}"
        )
    return list(tokenizer.token_strings(ids))

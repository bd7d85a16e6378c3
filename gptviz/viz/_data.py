"""Turn the data argument of a view (a Trace or a tensor) into numpy arrays and token labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gptviz.model import causal_mask
from gptviz.tracing import Trace


def as_array(value: object, caller: str, argument: str) -> np.ndarray:
    """Convert a tensor, array or nested list to a float64 numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{caller}: {argument} must be a tensor or array, got {type(value).__name__}") from error


def resolve_tokens(tokens: Sequence[str] | None, trace: Trace | None, T: int, caller: str) -> list[str]:
    """Pick the token strings of a view: ``tokens`` if given, else the trace's, else positions."""
    if tokens is None:
        tokens = trace.tokens if trace is not None else [str(position) for position in range(T)]
    if isinstance(tokens, str):
        raise TypeError(f"{caller}: tokens must be a list of T strings, got one string {tokens!r}")
    tokens = [str(token) for token in tokens]
    if len(tokens) != T:
        raise ValueError(f"{caller}: got {len(tokens)} tokens for {T} positions; pass one token string per position")
    return tokens


def check_index(value: object, size: int, caller: str, argument: str) -> int:
    """Return ``value`` if it is an int in [0, size), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ValueError(f"{caller}: {argument} must be an int in [0, {size}), got {value!r}")
    return value


def allowed_cells(trace: Trace, layer: int, T: int) -> np.ndarray:
    """(H, T, T) or (T, T) bool: where the recorded scores are finite, else the causal mask."""
    name = f"blocks.{layer}.attn.scores"
    if name in trace:
        return torch.isfinite(trace[name]).numpy()
    return causal_mask(T, T).numpy()


def select_pattern(
    data: Trace | torch.Tensor | np.ndarray,
    layer: int | None,
    head: int | None,
    caller: str,
) -> tuple[np.ndarray, np.ndarray, Trace | None]:
    """Return one head's (T, T) weights, the (T, T) allowed cells and the trace, if any.

    ``data`` is a Trace (``layer`` and ``head`` required) or a tensor of shape (T, T),
    (H, T, T) with ``head``, or (L, H, T, T) with ``layer`` and ``head``. For tensors the
    causal mask gives the allowed cells.
    """
    if isinstance(data, Trace):
        if layer is None or head is None:
            raise ValueError(
                f"{caller}: a Trace needs layer= and head=, for example {caller[:-2]}(trace, layer=0, head=0)"
            )
        check_index(layer, data.n_layer, caller, "layer")
        patterns = data[f"blocks.{layer}.attn.pattern"]  # (H, T, T)
        check_index(head, patterns.shape[0], caller, "head")
        T = patterns.shape[-1]
        allowed = allowed_cells(data, layer, T)
        allowed = allowed[head] if allowed.ndim == 3 else allowed
        return patterns[head].double().numpy(), allowed, data

    weights = as_array(data, caller, "data")
    if weights.ndim == 4:
        if layer is None or head is None:
            raise ValueError(f"{caller}: patterns of shape {weights.shape} need layer= and head=")
        layer = check_index(layer, weights.shape[0], caller, "layer")
        weights = weights[layer, check_index(head, weights.shape[1], caller, "head")]
    elif weights.ndim == 3:
        if head is None:
            raise ValueError(f"{caller}: patterns of shape {weights.shape} need head=")
        weights = weights[check_index(head, weights.shape[0], caller, "head")]
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(
            f"{caller}: expected a Trace or weights of shape (T, T), (H, T, T) or (L, H, T, T), "
            f"got {tuple(weights.shape)}; pick one batch item first"
        )
    T = weights.shape[0]
    return weights, causal_mask(T, T).numpy(), None

"""Head ablation: remove attention heads and measure what the model's predictions lose.

A head is ablated by replacing its slice of ``blocks.{layer}.attn.head_out`` (B, H, T, D),
the pattern-weighted values before the output projection, and running the model again on
the same tokens. ``"zero"`` sets the slice to 0; ``"mean"`` sets every position to the
head's mean output over the positions of this sequence, which keeps the average signal
the rest of the model is used to and removes only what varies with the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from gptviz.analysis._checks import require_trace
from gptviz.hooks import HookPoint, intervene
from gptviz.model import GPT
from gptviz.tracing import Trace

AblationMethod = Literal["zero", "mean"]
_METHODS = ("zero", "mean")


@dataclass(frozen=True)
class AblationResult:
    """Per-token log-probabilities with and without some heads.

    Both tensors follow the ``token_logprobs`` convention: entry t is
    log p(ids[t + 1] | ids[0..t]), shape (T - 1,), in nats.

    Attributes:
        heads: the (layer, head) pairs that were ablated.
        method: ``"zero"`` or ``"mean"``.
        original: (T - 1,) log-probabilities of the unmodified model, from a forward pass
            run the same way as the ablated one, so heads that change nothing give a delta
            of exactly 0 (the trace may have used the explicit attention path, whose values
            differ from the fused kernel's in the last bits).
        ablated: (T - 1,) log-probabilities with the heads ablated.
    """

    heads: list[tuple[int, int]]
    method: str
    original: torch.Tensor
    ablated: torch.Tensor

    @property
    def delta(self) -> torch.Tensor:
        """(T - 1,) ablated minus original log-probability; negative where the heads helped."""
        return self.ablated - self.original


def _check_heads(model: GPT, heads: Sequence[tuple[int, int]], caller: str) -> list[tuple[int, int]]:
    L, H = model.config.n_layer, model.config.n_head
    checked = []
    for pair in heads:
        if (
            not isinstance(pair, (tuple, list))
            or len(pair) != 2
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in pair)
            or not (0 <= pair[0] < L and 0 <= pair[1] < H)
        ):
            raise ValueError(
                f"{caller}: each head must be a (layer, head) pair with layer in [0, {L}) and head in "
                f"[0, {H}), got {pair!r}"
            )
        checked.append((int(pair[0]), int(pair[1])))
    return checked


def _ablation_hook(heads: list[int], method: str):  # noqa: ANN202 - an intervene() function
    def replace(head_out: torch.Tensor, hook: HookPoint) -> torch.Tensor:
        head_out = head_out.clone()  # (B, H, T, D)
        for head in heads:
            if method == "zero":
                head_out[:, head] = 0.0
            else:
                head_out[:, head] = head_out[:, head].mean(dim=1, keepdim=True)
        return head_out

    return replace


def ablate_heads(
    model: GPT, trace: Trace, heads: Sequence[tuple[int, int]], *, method: AblationMethod = "zero"
) -> AblationResult:
    """Run the traced tokens again with some heads ablated and compare the log-probabilities.

    Args:
        model: the `GPT` that made the trace.
        trace: a `Trace` of the sequence (any recorded names; only ids and logits are used).
        heads: (layer, head) pairs to ablate together; an empty list changes nothing.
        method: ``"zero"`` sets the heads' outputs to 0; ``"mean"`` replaces them by their
            mean over the sequence's positions.

    Returns:
        `AblationResult` with both (T - 1,) log-probability tensors.

    Raises:
        ValueError: a pair is out of range, the method is unknown, or the trace has fewer
            than 2 tokens.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis.ablation import ablate_heads
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> tr = gptviz.trace(model, [3, 1, 4, 1, 5])
        >>> ablate_heads(model, tr, [(1, 0)]).delta.shape
        torch.Size([4])
    """
    caller = "ablate_heads()"
    _check_inputs(model, trace, method, caller)
    pairs = _check_heads(model, heads, caller)
    original = _scored_logprobs(model, trace.ids, {})
    return _ablate(model, trace.ids, pairs, method, original)


def _check_inputs(model: GPT, trace: Trace, method: str, caller: str) -> None:
    if not isinstance(model, GPT):
        raise TypeError(f"{caller}: expected a gptviz.GPT as model, got {type(model).__name__}")
    require_trace(trace, caller)
    if method not in _METHODS:
        raise ValueError(f"{caller}: method must be one of {_METHODS}, got {method!r}")
    if len(trace) < 2:
        raise ValueError(f"{caller}: the trace has {len(trace)} token; at least 2 are needed to score a prediction")


def _ablate(model: GPT, ids: torch.Tensor, pairs: list[tuple[int, int]], method: str,
            original: torch.Tensor) -> AblationResult:
    if not pairs:
        return AblationResult(heads=[], method=method, original=original, ablated=original.clone())
    by_layer: dict[int, list[int]] = {}
    for layer, head in pairs:
        by_layer.setdefault(layer, []).append(head)
    interventions = {f"blocks.{layer}.attn.head_out": _ablation_hook(hs, method) for layer, hs in by_layer.items()}
    ablated = _scored_logprobs(model, ids, interventions)
    return AblationResult(heads=pairs, method=method, original=original, ablated=ablated)


def _scored_logprobs(model: GPT, ids: torch.Tensor, interventions: dict[str, Any]) -> torch.Tensor:
    """Return (T - 1,) log p(ids[t + 1] | ids[0..t]) of one eval-mode pass with ``interventions``."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), intervene(model, interventions):
            logits = model(ids.unsqueeze(0).to(model.device)).logits[0].float().cpu()  # (T, V)
    finally:
        model.train(was_training)
    logprobs = torch.log_softmax(logits.double(), dim=-1)[:-1]  # (T - 1, V)
    return logprobs.gather(1, ids[1:].unsqueeze(1)).squeeze(1).float()


def head_ablation_effects(
    model: GPT, trace: Trace, *, positions: slice | None = None, method: AblationMethod = "zero"
) -> torch.Tensor:
    """Ablate every head on its own and average the change in log-probability.

    Args:
        model: the `GPT` that made the trace.
        trace: a `Trace` of the sequence.
        positions: which entries of the (T - 1,) log-probabilities to average, for example
            ``slice(20, None)`` for the predictions of token 21 onwards; None averages all.
        method: as for `ablate_heads`.

    Returns:
        (L, H) mean change in log p(next token) in nats, negative where the head helped.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis.ablation import head_ablation_effects
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> head_ablation_effects(model, gptviz.trace(model, [3, 1, 4, 1, 5])).shape
        torch.Size([2, 2])
    """
    caller = "head_ablation_effects()"
    _check_inputs(model, trace, method, caller)
    if positions is not None and not isinstance(positions, slice):
        raise TypeError(f"{caller}: positions must be a slice such as slice(10, None), got {type(positions).__name__}")
    L, H = model.config.n_layer, model.config.n_head
    original = _scored_logprobs(model, trace.ids, {})
    effects = torch.zeros(L, H)
    for layer in range(L):
        for head in range(H):
            delta = _ablate(model, trace.ids, [(layer, head)], method, original).delta
            selected = delta[positions] if positions is not None else delta
            if selected.numel() == 0:
                raise ValueError(f"{caller}: positions={positions} selects none of the {delta.numel()} predictions")
            effects[layer, head] = selected.double().mean().float()
    return effects

"""Named hook points, and the context managers that record or replace their tensors.

Every intermediate quantity of `gptviz.model.GPT` passes through a `HookPoint`, an identity
module whose ``name`` is its module path (``"blocks.0.attn.pattern"``). `record` attaches
forward hooks that copy tensors out; `intervene` attaches hooks that may replace them.
Both remove exactly the hooks they attached when the ``with`` block exits, also when the
forward pass raises, so hooks a user registered stay in place.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Union

import torch
from torch import nn

logger = logging.getLogger(__name__)

NameSelector = Union[str, Iterable[str], Callable[[str], bool], None]
InterventionFn = Callable[[torch.Tensor, "HookPoint"], Union[torch.Tensor, None]]


class HookPoint(nn.Module):
    """Identity module marking one named tensor in the forward pass.

    ``name`` is set from the module path when the model is built.
    """

    def __init__(self) -> None:
        super().__init__()
        self.name = ""

    @property
    def is_active(self) -> bool:
        """Whether any forward hook (ours or a user's) is attached."""
        return bool(self._forward_hooks) or bool(self._forward_pre_hooks)

    def forward(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        # Most hook points have no hook attached most of the time. Skipping nn.Module's call
        # machinery for them cut the Python overhead of a one-token decoding step by about a third.
        if self._forward_hooks or self._forward_pre_hooks or _global_hooks_present():
            return super().__call__(tensor)
        return tensor

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _global_hooks_present() -> bool:
    """Whether hooks registered with torch.nn.modules.module.register_module_forward_hook exist."""
    module_globals = torch.nn.modules.module
    return bool(
        module_globals._global_forward_hooks
        or module_globals._global_forward_pre_hooks
        or module_globals._global_backward_hooks
        or module_globals._global_backward_pre_hooks
    )


def name_hook_points(model: nn.Module) -> list[str]:
    """Set every HookPoint's name to its module path and return the names in order."""
    names = []
    for path, module in model.named_modules():
        if isinstance(module, HookPoint):
            module.name = path
            names.append(path)
    return names


def hook_points(model: nn.Module) -> dict[str, HookPoint]:
    """Map hook names to HookPoint modules, in forward order."""
    points = {module.name: module for module in model.modules() if isinstance(module, HookPoint)}
    if not points:
        raise TypeError(
            f"{type(model).__name__} has no gptviz hook points; pass a gptviz.GPT model"
        )
    return points


def resolve_names(model: nn.Module, names: NameSelector, caller: str = "record()") -> list[str]:
    """Expand exact names, globs or a predicate into the model's hook names, in forward order.

    Args:
        model: a model with HookPoints.
        names: ``None`` (every hook point), one name or glob, a list of them, or a predicate
            ``str -> bool``.
        caller: function name for error messages.

    Raises:
        ValueError: for a name or glob that matches no hook point; the message lists the
            closest valid names.
        TypeError: for a selector of another type.
    """
    all_names = list(hook_points(model))
    if names is None:
        return all_names
    if callable(names):
        return [name for name in all_names if names(name)]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Iterable):
        raise TypeError(
            f"{caller}: names must be a string, a list of strings or a predicate, got {type(names).__name__}"
        )
    chosen: set[str] = set()
    for pattern in names:
        if not isinstance(pattern, str):
            raise TypeError(f"{caller}: each name must be a string, got {pattern!r}")
        matches = fnmatch.filter(all_names, pattern) if _is_glob(pattern) else (
            [pattern] if pattern in all_names else []
        )
        if not matches:
            close = difflib.get_close_matches(pattern, all_names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(
                f"{caller}: unknown hook {pattern!r}{hint} "
                f"All names: gptviz.hooks.hook_names(model) ({len(all_names)} names)"
            )
        chosen.update(matches)
    return [name for name in all_names if name in chosen]


def hook_names(model: nn.Module) -> list[str]:
    """Return every hook name of ``model`` in forward order."""
    return list(hook_points(model))


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")


class Recording:
    """Tensors captured by `record`, keyed by hook name.

    ``recording[name]`` is the tensor from the latest forward pass, detached and on the CPU;
    ``recording.calls(name)`` lists one tensor per forward pass, oldest first.
    """

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._tensors: dict[str, list[torch.Tensor]] = {name: [] for name in names}

    def _store(self, name: str, tensor: torch.Tensor) -> None:
        self._tensors[name].append(tensor.detach().to("cpu"))

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._tensors:
            raise KeyError(f"{name!r} was not recorded; recorded names: {self.names}")
        if not self._tensors[name]:
            raise KeyError(f"{name!r} was selected but no forward pass has run inside record()")
        return self._tensors[name][-1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self._tensors.get(name))

    def __iter__(self) -> Iterator[str]:
        return (name for name in self.names if self._tensors[name])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def calls(self, name: str) -> list[torch.Tensor]:
        if name not in self._tensors:
            raise KeyError(f"{name!r} was not recorded; recorded names: {self.names}")
        return list(self._tensors[name])

    def as_dict(self) -> dict[str, torch.Tensor]:
        """Return the latest tensor of every recorded name."""
        return {name: self[name] for name in self}

    def clear(self) -> None:
        for tensors in self._tensors.values():
            tensors.clear()


@contextlib.contextmanager
def record(model: nn.Module, names: NameSelector = None) -> Iterator[Recording]:
    """Record named tensors during forward passes run inside the ``with`` block.

    Recording ``attn.scores`` or ``attn.pattern`` switches those attention layers from the
    fused kernel to the explicit softmax path, because the fused kernel never builds the
    (T, T) matrix; both paths give the same logits.

    Args:
        model: a `gptviz.GPT`.
        names: exact names, globs (``"blocks.*.attn.pattern"``), a predicate, or ``None``
            for every hook point.

    Yields:
        A `Recording` that fills as forward passes run; tensors are detached, on the CPU.

    Example:
        >>> import torch, gptviz
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> with gptviz.record(model, "blocks.*.attn.pattern") as rec:
        ...     _ = model(torch.tensor([[1, 2, 3]]))
        >>> rec["blocks.1.attn.pattern"].shape
        torch.Size([1, 2, 3, 3])
    """
    selected = resolve_names(model, names, "record()")
    points = hook_points(model)
    recording = Recording(selected)

    def make_hook(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            recording._store(name, output)

        return hook

    with _attached(points[name].register_forward_hook(make_hook(name)) for name in selected):
        yield recording


@contextlib.contextmanager
def intervene(model: nn.Module, interventions: dict[str, InterventionFn]) -> Iterator[None]:
    """Let functions replace named tensors during forward passes inside the ``with`` block.

    Each key is an exact name or a glob; each function is called as ``fn(tensor, hook_point)``
    and returns a replacement of the same shape, or ``None`` to keep the tensor (for example
    after editing it in place).

    Example:
        >>> import torch, gptviz
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> def zero_head_0(head_out, hook):
        ...     head_out = head_out.clone(); head_out[:, 0] = 0; return head_out
        >>> with gptviz.intervene(model, {"blocks.0.attn.head_out": zero_head_0}):
        ...     logits = model(torch.tensor([[1, 2, 3]])).logits
    """
    if not isinstance(interventions, dict):
        raise TypeError(
            f"intervene(): expected a dict {{hook name: function}}, got {type(interventions).__name__}"
        )
    points = hook_points(model)
    handles = []
    for pattern, fn in interventions.items():
        if not callable(fn):
            raise TypeError(f"intervene(): the value for {pattern!r} must be callable, got {fn!r}")
        for name in resolve_names(model, pattern, "intervene()"):
            handles.append(points[name].register_forward_hook(_replacing_hook(name, fn)))
    with _attached(handles):
        yield


def _replacing_hook(name: str, fn: InterventionFn) -> Callable[..., torch.Tensor | None]:
    def hook(module: HookPoint, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor | None:
        replacement = fn(output, module)
        if replacement is None:
            return None
        if not isinstance(replacement, torch.Tensor):
            raise TypeError(
                f"intervene(): the function for {name!r} returned {type(replacement).__name__}; "
                "return a tensor of the same shape, or None to keep the original"
            )
        if replacement.shape != output.shape:
            raise ValueError(
                f"intervene(): the function for {name!r} returned shape {tuple(replacement.shape)}, "
                f"expected {tuple(output.shape)}"
            )
        return replacement

    return hook


@contextlib.contextmanager
def _attached(handles: Iterable[torch.utils.hooks.RemovableHandle]) -> Iterator[None]:
    """Remove the given hook handles on exit, whatever happens inside the block."""
    attached: list[torch.utils.hooks.RemovableHandle] = []
    try:
        for handle in handles:
            attached.append(handle)
        yield
    finally:
        for handle in attached:
            handle.remove()
        logger.debug("removed %d gptviz hooks", len(attached))

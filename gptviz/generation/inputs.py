"""Checks and conversions of generation inputs: prompts, record selectors and counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from gptviz.hooks import resolve_names
from gptviz.model import GPT

ATTENTION = "attention"
PATTERN_GLOB = "blocks.*.attn.pattern"
# Hook names whose tensors are (B, H, T, ...) rather than (B, T, ...)
_HEAD_FIRST = {"q", "k", "v", "scores", "pattern", "head_out"}

Prompt = str | Sequence[int] | torch.Tensor
RecordSelector = str | Sequence[str] | None


def prompt_to_ids(tokenizer: Any, prompt: Prompt, vocab_size: int) -> list[int]:
    """Encode a prompt (text or ids); an empty prompt becomes ``[start token id]``.

    Raises:
        TypeError: the prompt is neither a string nor a sequence of ints.
        ValueError: an id is outside the model's vocabulary, or the prompt is empty and the
            tokenizer has no start token.
    """
    if isinstance(prompt, str):
        ids = tokenizer.encode(prompt)
    elif isinstance(prompt, torch.Tensor):
        ids = prompt.flatten().tolist()
    elif isinstance(prompt, Sequence):
        ids = list(prompt)
    else:
        raise TypeError(f"generation: prompt must be a str or a sequence of token ids, got {type(prompt).__name__}")
    for position, token_id in enumerate(ids):
        if isinstance(token_id, bool) or not isinstance(token_id, int) or not 0 <= token_id < vocab_size:
            raise ValueError(
                f"generation: prompt id {token_id!r} at position {position} is not a token id of the "
                f"model (valid: ints in [0, {vocab_size})); check that the tokenizer matches the model"
            )
    return ids if ids else [start_token_id(tokenizer)]


def start_token_id(tokenizer: Any) -> int:
    """Return the id that starts generation from an empty prompt: ``eot_id``, else ``bos_id``."""
    for attribute in ("eot_id", "bos_id"):
        try:
            token_id = getattr(tokenizer, attribute)
        except (AttributeError, ValueError):
            continue
        if isinstance(token_id, int):
            return token_id
    raise ValueError(
        "generation: the prompt is empty and the tokenizer has neither an <|endoftext|> token "
        "(eot_id) nor a bos_id to start from; pass a non-empty prompt"
    )


def resolve_record(model: GPT, record: RecordSelector) -> list[str]:
    if record is None:
        return []
    selectors = [record] if isinstance(record, str) else list(record)
    selectors = [PATTERN_GLOB if name == ATTENTION else name for name in selectors]
    return resolve_names(model, selectors, "generation record=")


def newest_position(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Cut the newest position out of a recorded tensor, dropping the batch axis."""
    if name == "embed.pos":
        return tensor[-1]  # (C,)
    if ".attn." in name and name.rsplit(".", 1)[-1] in _HEAD_FIRST:
        return tensor[0, :, -1]  # (H, D) or (H, T_ctx)
    return tensor[0, -1]


def stack_attention(recorded: dict[str, torch.Tensor], n_layer: int) -> torch.Tensor | None:
    names = [f"blocks.{layer}.attn.pattern" for layer in range(n_layer)]
    if not all(name in recorded for name in names):
        return None
    return torch.stack([recorded[name] for name in names])  # (L, H, T_ctx)


def check_count(value: int, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"generation: {name} must be an int >= {minimum}, got {value!r}")
    return value

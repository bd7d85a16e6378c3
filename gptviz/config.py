"""Model configuration: one frozen, validated dataclass and a few named presets."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

PositionalKind = Literal["sinusoidal", "learned"]
NormPlacement = Literal["pre", "post"]


@dataclass(frozen=True)
class GPTConfig:
    """Shape and options of a GPT model.

    Letters used for shapes across gptviz: V = ``vocab_size``, T <= ``block_size``,
    L = ``n_layer``, H = ``n_head``, C = ``n_embd``, D = C // H (``head_size``),
    F = ``mlp_width``.

    Raises:
        ValueError: for values that cannot build a model (for example ``n_embd`` not
            divisible by ``n_head``); the message names the values.
    """

    vocab_size: int = 2048  # V: number of token ids the embedding and head cover
    block_size: int = 128  # maximum context length T
    n_layer: int = 4  # L: transformer blocks
    n_head: int = 4  # H: attention heads per block
    n_embd: int = 128  # C: residual stream width
    mlp_width: int | None = None  # F: MLP hidden width; None means 4 * n_embd
    dropout: float = 0.0  # on embeddings, attention weights and sublayer outputs
    positional: PositionalKind = "learned"  # "learned" (GPT-2) or "sinusoidal" (fixed)
    norm: NormPlacement = "pre"  # layer norm before (GPT-2) or after the sublayers
    tie_weights: bool = True  # head shares its weight matrix with the token embedding
    bias: bool = True  # biases in linear layers (layer norms always have them)
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"GPTConfig: n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                f"pick n_embd as a multiple of n_head (for example {self.n_head * max(1, self.n_embd // self.n_head)})"
            )
        if self.mlp_width is not None and (
            isinstance(self.mlp_width, bool) or not isinstance(self.mlp_width, int) or self.mlp_width < 1
        ):
            raise ValueError(f"GPTConfig: mlp_width must be a positive int or None, got {self.mlp_width!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout!r}")
        if self.positional not in get_args(PositionalKind):
            raise ValueError(
                f"GPTConfig: positional must be one of {get_args(PositionalKind)}, got {self.positional!r}"
            )
        if self.norm not in get_args(NormPlacement):
            raise ValueError(f"GPTConfig: norm must be one of {get_args(NormPlacement)}, got {self.norm!r}")
        if self.positional == "sinusoidal" and self.n_embd % 2 != 0:
            raise ValueError(
                f"GPTConfig: sinusoidal positions pair sin and cos dimensions, so n_embd must be even, "
                f"got n_embd={self.n_embd}"
            )
        if not self.layer_norm_eps > 0:
            raise ValueError(f"GPTConfig: layer_norm_eps must be positive, got {self.layer_norm_eps!r}")

    @property
    def head_size(self) -> int:
        """D, the width of one attention head."""
        return self.n_embd // self.n_head

    @property
    def hidden_width(self) -> int:
        """F, the MLP hidden width."""
        return self.mlp_width if self.mlp_width is not None else 4 * self.n_embd

    def replace(self, **changes: Any) -> GPTConfig:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPTConfig:
        """Build a config from a dict, rejecting unknown keys by name."""
        if not isinstance(data, dict):
            raise TypeError(f"GPTConfig.from_dict: expected a dict, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"GPTConfig.from_dict: unknown keys {unknown}; valid keys are {sorted(known)}")
        return cls(**data)

    # Named presets -----------------------------------------------------------------

    @classmethod
    def tiny(cls, **changes: Any) -> GPTConfig:
        """2 layers, 2 heads, C = 16, T <= 16, V = 32: for tests, runs in milliseconds."""
        base = cls(vocab_size=32, block_size=16, n_layer=2, n_head=2, n_embd=16)
        return base.replace(**changes)

    @classmethod
    def small(cls, **changes: Any) -> GPTConfig:
        """4 layers, 4 heads, C = 128, T <= 256: trains on a laptop CPU in minutes."""
        base = cls(vocab_size=2048, block_size=256, n_layer=4, n_head=4, n_embd=128)
        return base.replace(**changes)

    @classmethod
    def gpt2(cls, **changes: Any) -> GPTConfig:
        """The GPT-2 small shape: 12 layers, 12 heads, C = 768, V = 50257, T <= 1024."""
        base = cls(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
        return base.replace(**changes)

"""`Trace`: one text run through the model, with every recorded tensor and its log-probabilities.

Figures, widgets and notebooks read from a Trace, so the model runs once per text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file

from gptviz.hooks import NameSelector, record
from gptviz.model import GPT

if TYPE_CHECKING:
    from gptviz.tokenizer import Tokenizer

TRACE_TENSORS = "trace.safetensors"
TRACE_META = "trace.json"


@dataclass
class Trace:
    """Tokens, logits and recorded tensors of one sequence.

    Recorded tensors are detached, on the CPU, and stored without the batch axis: for
    example ``trace["blocks.0.attn.pattern"]`` is (H, T, T) with rows as queries.

    Per-token log-probabilities follow one convention: ``token_logprobs[t]`` is
    log p(ids[t + 1] | ids[0..t]), shape (T - 1,). The first token has no context, so it
    gets no factor; trace with ``prepend_bos=True`` to put ``<|endoftext|>`` in front and
    score every token of the text.

    Attributes:
        ids: token ids (T,).
        tokens: display string of each token (honest about partial UTF-8 bytes).
        logits: (T, V) next-token logits at every position.
        tensors: hook name -> recorded tensor without the batch axis.
        n_layer: number of blocks of the model that made the trace.
        has_bos: whether ids[0] is a start token added by `trace` (not part of the text).
        text: the traced text, if a text was given.
    """

    ids: torch.Tensor
    tokens: list[str]
    logits: torch.Tensor
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    n_layer: int = 0
    has_bos: bool = False
    text: str | None = None

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self.tensors:
            raise KeyError(
                f"Trace: {name!r} was not recorded; recorded names: {sorted(self.tensors)}. "
                "Pass names=None to gptviz.trace() to record every hook point"
            )
        return self.tensors[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tensors

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def logprobs(self) -> torch.Tensor:
        """(T, V) log-probabilities of the next token at every position (log-softmax of logits)."""
        return torch.log_softmax(self.logits.double(), dim=-1).float()

    @property
    def token_logprobs(self) -> torch.Tensor:
        """(T - 1,) log p(ids[t + 1] | ids[0..t]) for t = 0 .. T - 2, in nats."""
        # Only T - 1 entries are needed, so the float64 (T, V) copy that `logprobs` makes is
        # skipped: a float32 log-softmax differs from it by about 1e-6 nats and, for GPT-2's
        # vocabulary, takes a fraction of the time
        return torch.log_softmax(self.logits[:-1].float(), dim=-1).gather(1, self.ids[1:].unsqueeze(1)).squeeze(1)

    @property
    def sequence_logprob(self) -> float:
        """Sum of `token_logprobs`: log p(ids[1:] | ids[0]), in nats."""
        return float(self.token_logprobs.double().sum())

    @property
    def perplexity(self) -> float:
        """exp of the mean negative log-probability per scored token."""
        return math.exp(-self.sequence_logprob / max(1, len(self) - 1))

    @property
    def bits_per_token(self) -> float:
        """Mean negative log2-probability per scored token."""
        return -self.sequence_logprob / max(1, len(self) - 1) / math.log(2)

    def _check_layer_head(self, layer: int, head: int | None = None) -> None:
        if not isinstance(layer, int) or not 0 <= layer < self.n_layer:
            raise ValueError(f"Trace: layer must be an int in [0, {self.n_layer}), got {layer!r}")
        if head is not None:
            n_head = self[f"blocks.{layer}.attn.pattern"].shape[0]
            if not isinstance(head, int) or not 0 <= head < n_head:
                raise ValueError(f"Trace: head must be an int in [0, {n_head}), got {head!r}")

    def pattern(self, layer: int, head: int) -> torch.Tensor:
        """(T, T) attention weights of one head; rows are queries, columns keys, rows sum to 1."""
        self._check_layer_head(layer, head)
        return self[f"blocks.{layer}.attn.pattern"][head]

    def stack(self, name: str) -> torch.Tensor:
        """Stack a per-block tensor across layers: ``stack("attn.pattern")`` is (L, H, T, T).

        Args:
            name: the part of a hook name after ``blocks.{i}.``, such as ``"resid_post"``.
        """
        names = [f"blocks.{layer}.{name}" for layer in range(self.n_layer)]
        missing = [n for n in names if n not in self.tensors]
        if missing:
            raise KeyError(f"Trace.stack(): {missing[0]!r} was not recorded; recorded: {sorted(self.tensors)}")
        return torch.stack([self.tensors[n] for n in names])

    def save(self, directory: str | Path) -> Path:
        """Write the trace as safetensors (tensors) plus JSON (tokens, text), for use without the model."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        # Recorded tensors may share storage (resid_post of block i is resid_pre of i + 1),
        # which safetensors rejects, so each one is written as its own copy
        tensors = {name: t.clone().contiguous() for name, t in self.tensors.items()}
        tensors["__ids__"] = self.ids.clone().contiguous()
        tensors["__logits__"] = self.logits.clone().contiguous()
        save_file(tensors, str(directory / TRACE_TENSORS))
        meta = {"tokens": self.tokens, "n_layer": self.n_layer, "has_bos": self.has_bos, "text": self.text}
        (directory / TRACE_META).write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Trace:
        """Read a trace written by `save`."""
        directory = Path(directory)
        for name in (TRACE_TENSORS, TRACE_META):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"Trace.load(): no {name} in {directory}; was it written by Trace.save()?")
        tensors = load_file(str(directory / TRACE_TENSORS))
        meta = json.loads((directory / TRACE_META).read_text())
        ids, logits = tensors.pop("__ids__"), tensors.pop("__logits__")
        return cls(ids, meta["tokens"], logits, tensors, meta["n_layer"], meta["has_bos"], meta.get("text"))


def _ids_from_input(
    model: GPT, tokenizer: Tokenizer | None, text_or_ids: str | Sequence[int] | torch.Tensor, prepend_bos: bool
) -> tuple[torch.Tensor, list[str], str | None]:
    text = None
    if isinstance(text_or_ids, str):
        if tokenizer is None:
            raise TypeError("trace(): a text needs a tokenizer; call trace(model, tokenizer, text)")
        if text_or_ids == "" and not prepend_bos:
            raise ValueError("trace(): the text is empty; pass some text, or prepend_bos=True")
        text = text_or_ids
        ids = torch.tensor(tokenizer.encode(text_or_ids), dtype=torch.long)
    elif isinstance(text_or_ids, torch.Tensor):
        ids = text_or_ids
        if ids.dim() == 2 and ids.shape[0] == 1:
            ids = ids[0]
        if ids.dim() != 1:
            raise ValueError(f"trace(): expected ids of shape (T,) or (1, T), got {tuple(ids.shape)}; trace one sequence")
    elif isinstance(text_or_ids, Sequence):
        ids = torch.tensor(list(text_or_ids), dtype=None if len(text_or_ids) else torch.long)
    else:
        raise TypeError(f"trace(): expected a text or token ids, got {type(text_or_ids).__name__}")
    if ids.is_floating_point() or ids.dtype == torch.bool:
        raise TypeError(f"trace(): token ids must be integers, got dtype {ids.dtype}")
    ids = ids.long().cpu()
    if prepend_bos:
        if tokenizer is None:
            raise TypeError("trace(): prepend_bos=True needs a tokenizer to know the <|endoftext|> id")
        ids = torch.cat([torch.tensor([tokenizer.eot_id]), ids])
    if ids.numel() == 0:
        raise ValueError("trace(): no tokens to trace; pass a non-empty text or id list")
    if tokenizer is not None:
        tokens = tokenizer.token_strings(ids.tolist())
    else:
        tokens = [str(i) for i in ids.tolist()]
    return ids, tokens, text


def trace(
    model: GPT,
    tokenizer_or_ids: Tokenizer | str | Sequence[int] | torch.Tensor | None,
    text_or_ids: str | Sequence[int] | torch.Tensor | None = None,
    *,
    names: NameSelector = None,
    prepend_bos: bool = False,
) -> Trace:
    """Run one sequence through ``model`` and record named tensors.

    Call as ``trace(model, tokenizer, text)``, ``trace(model, tokenizer, ids)`` or
    ``trace(model, ids)`` (token labels are then the ids).

    Args:
        model: a `gptviz.GPT`, on any device; recorded tensors come back on the CPU.
        tokenizer_or_ids: a `Tokenizer`, or the ids when no tokenizer is used.
        text_or_ids: the text or token ids (T,) when a tokenizer is given.
        names: hook names or globs to record; ``None`` records every hook point.
        prepend_bos: put the ``<|endoftext|>`` id in front, so the first text token is
            also scored (``token_logprobs[t]`` is log p(ids[t + 1] | ids[0..t])).

    Returns:
        A `Trace`.

    Example:
        >>> import gptviz
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> tr = gptviz.trace(model, [3, 1, 4, 1, 5])
        >>> tr.token_logprobs.shape, tr.pattern(layer=0, head=1).shape
        (torch.Size([4]), torch.Size([5, 5]))
    """
    if not isinstance(model, GPT):
        raise TypeError(f"trace(): expected a gptviz.GPT as model, got {type(model).__name__}")
    if text_or_ids is None:
        tokenizer, text_or_ids = None, tokenizer_or_ids
    else:
        tokenizer = tokenizer_or_ids  # type: ignore[assignment]
    ids, tokens, text = _ids_from_input(model, tokenizer, text_or_ids, prepend_bos)  # type: ignore[arg-type]

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), record(model, names) as recording:
            logits = model(ids.unsqueeze(0).to(model.device)).logits
    finally:
        model.train(was_training)
    tensors = {name: _drop_batch(name, tensor) for name, tensor in recording.as_dict().items()}
    return Trace(ids, tokens, logits[0].float().cpu(), tensors, model.config.n_layer, prepend_bos, text)


_UNBATCHED = re.compile(r"^embed\.pos$")


def _drop_batch(name: str, tensor: torch.Tensor) -> torch.Tensor:
    return tensor if _UNBATCHED.match(name) else tensor[0]

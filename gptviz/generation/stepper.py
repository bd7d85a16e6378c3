"""`Stepper`: the next-token loop as a stateful object that steps forward, back and sideways.

Each step runs the model on the context, turns the logits of the last position into the raw
and the sampled distribution, chooses a token, appends it, and returns a `StepRecord`.

KV cache: with ``use_cache=True`` (default) only the tokens the cache has not seen go
through the model, and positions continue from the cache length, so each step costs one
position instead of the whole context. The logits equal a full recomputation of the window.

Context overflow: a model has positions 0 .. block_size - 1 only. When the sequence
(prompt plus generated tokens) is longer than ``block_size``, each step runs on only the last
``block_size`` tokens (a sliding window). The step record gives the window's start in the
full sequence and sets ``window_moved``. Sliding shifts every position by one, so the
cached keys no longer match their positions: while the window slides, each step recomputes
the whole window with a fresh cache.

Empty prompt: generation needs at least one token of context, so an empty prompt starts
from the tokenizer's ``<|endoftext|>`` token (``tokenizer.eot_id``), or from
``tokenizer.bos_id`` when the tokenizer has no ``<|endoftext|>``. The start token counts as
the prompt and is not part of the generated text.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Any

import torch

from gptviz.generation.inputs import (
    Prompt,
    RecordSelector,
    check_count,
    newest_position,
    prompt_to_ids,
    resolve_record,
    stack_attention,
)
from gptviz.generation.records import Candidate, ChoiceKind, StepRecord
from gptviz.generation.sampling import (
    Distribution,
    SamplingConfig,
    apply_sampling,
    check_logits,
    choose_token,
    entropy,
    top_ids,
)
from gptviz.generation.textstream import TextStream
from gptviz.hooks import record as record_hooks
from gptviz.model import GPT, KVCache

logger = logging.getLogger(__name__)

# Default of keyword arguments that keep the current setting (None has a meaning there)
UNCHANGED: Any = object()


class Stepper:
    """Generate one token at a time, keeping every step's record for stepping back.

    Args:
        model: a `gptviz.GPT`, in eval mode for reproducible output.
        tokenizer: any object with ``encode``, ``token_bytes``, ``token_strings`` and
            ``eot_id`` (or ``bos_id``), such as `gptviz.tokenizer.Tokenizer`.
        prompt: text, or a sequence of token ids. Empty means: start from the end-of-text token.
        temperature: >= 0; 0 is greedy decoding.
        top_k: None or >= 1; keep only the k most probable tokens (k > V keeps all).
        top_p: None or in (0, 1]; keep the smallest set of most probable tokens whose mass
            reaches p, including the token that crosses p.
        seed: seed of the sampling random generator; None picks a random seed (stored in
            ``self.seed``). The same seed and settings give the same tokens.
        record: None, ``"attention"``, or hook names and globs. ``"attention"`` fills
            ``StepRecord.attention`` with the new position's weights in every layer and head.
            Hook names fill ``StepRecord.recorded`` with their tensors at the new position,
            and recorded ``attn.pattern`` of every layer also fills ``attention``.
        use_cache: reuse keys and values of earlier positions (`KVCache`).
        n_candidates: number of top candidates kept in each record.

    Example:
        >>> import gptviz
        >>> from gptviz.tokenizer import Tokenizer
        >>> tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
        ...                            special_tokens={"<|endoftext|>": 256})
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()
        >>> stepper = Stepper(model, tok, "Hi", temperature=0)
        >>> first = stepper.step()
        >>> stepper.back().chosen_id == first.chosen_id
        True
    """

    def __init__(
        self,
        model: GPT,
        tokenizer: Any,
        prompt: Prompt = "",
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        record: RecordSelector = None,
        use_cache: bool = True,
        n_candidates: int = 10,
    ) -> None:
        if not isinstance(model, GPT):
            raise TypeError(f"Stepper(): model must be a gptviz.GPT, got {type(model).__name__}")
        if model.training:
            warnings.warn(
                "Stepper(): the model is in training mode, so dropout makes every step random; "
                "call model.eval() first",
                stacklevel=2,
            )
        tokenizer_size = getattr(tokenizer, "vocab_size", None)
        if tokenizer_size is not None and tokenizer_size != model.config.vocab_size:
            warnings.warn(
                f"Stepper(): the tokenizer has {tokenizer_size} ids but the model has "
                f"vocab_size={model.config.vocab_size}; ids outside the tokenizer cannot be shown "
                "as text, so check that they belong together",
                stacklevel=2,
            )
        self.model = model
        self.tokenizer = tokenizer
        self.sampling = SamplingConfig(temperature, top_k, top_p, caller="Stepper()")
        self.use_cache = bool(use_cache)
        self.n_candidates = check_count(n_candidates, "n_candidates", minimum=1)
        self.prompt_ids = prompt_to_ids(tokenizer, prompt, model.config.vocab_size)
        self.record_names = resolve_record(model, record)

        self._generator = torch.Generator()
        self.seed = self._seed_generator(seed)
        self._initial_rng = self._generator.get_state()
        self._ids = list(self.prompt_ids)
        self._history: list[tuple[StepRecord, torch.Tensor]] = []  # record, RNG state after it
        self._redo: list[tuple[StepRecord, torch.Tensor]] = []
        self._cache: KVCache | None = None
        self._cache_start = 0

    # State ---------------------------------------------------------------------------------

    @property
    def ids(self) -> list[int]:
        """Full sequence: prompt ids followed by the generated ids."""
        return list(self._ids)

    @property
    def new_ids(self) -> list[int]:
        """Generated ids (prompt excluded)."""
        return self._ids[len(self.prompt_ids) :]

    @property
    def records(self) -> list[StepRecord]:
        """Records of the steps taken so far, oldest first."""
        return [rec for rec, _ in self._history]

    @property
    def text(self) -> str:
        """Generated text, complete characters only (see `StepRecord.pending_bytes`)."""
        return self._history[-1][0].text if self._history else ""

    @property
    def pending_bytes(self) -> bytes:
        return self._history[-1][0].pending_bytes if self._history else b""

    @property
    def can_redo(self) -> bool:
        """True when `step` would replay a record undone by `back` instead of computing."""
        return bool(self._redo)

    def set_sampling(
        self, *, temperature: float = UNCHANGED, top_k: int | None = UNCHANGED, top_p: float | None = UNCHANGED
    ) -> None:
        """Change sampling parameters for the next steps; undone steps are discarded.

        Arguments left out keep their value (``top_k=None`` / ``top_p=None`` remove the limit).
        """
        self.sampling = updated_sampling(self.sampling, temperature, top_k, top_p, caller="Stepper.set_sampling()")
        self._redo.clear()

    # Moving --------------------------------------------------------------------------------

    def step(self, token_id: int | None = None) -> StepRecord:
        """Append one token and return its record.

        Args:
            token_id: force this token instead of choosing one (the record still contains
                the full distributions, and ``chosen_by`` is ``"forced"``).

        A plain step after `back` replays the undone record without running the model.
        """
        if token_id is None and self._redo:
            rec, rng_state = self._redo.pop()
            self._append(rec, rng_state)
            return rec
        self._redo.clear()
        if token_id is not None:
            token_id = self._check_token(token_id)
        rec = self._compute_step(token_id)
        self._append(rec, self._generator.get_state())
        return rec

    def run(self, n_tokens: int) -> list[StepRecord]:
        """Take ``n_tokens`` steps and return their records."""
        n_tokens = check_count(n_tokens, "n_tokens", minimum=0)
        return [self.step() for _ in range(n_tokens)]

    def back(self) -> StepRecord | None:
        """Undo the last step and return its record (None at the prompt); `step` replays it."""
        if not self._history:
            return None
        rec, rng_state = self._history.pop()
        self._ids.pop()
        self._redo.append((rec, rng_state))
        self._generator.set_state(self._history[-1][1] if self._history else self._initial_rng)
        return rec

    def replay(self, rec: StepRecord, rng_state: torch.Tensor | None = None) -> None:
        """Append a record computed earlier for this exact sequence, without running the model.

        Used to resume from a saved path (for example a node of a `ContinuationTree`).

        Args:
            rec: the record of the next step; its ``index`` must equal the number of steps taken.
            rng_state: generator state after that step; None keeps the current state.
        """
        if rec.index != len(self._history):
            raise ValueError(
                f"Stepper.replay(): record {rec.index} cannot follow {len(self._history)} steps; "
                "replay records in order, starting at index 0"
            )
        self._redo.clear()
        self._append(rec, self._generator.get_state() if rng_state is None else rng_state)

    def rng_state(self) -> torch.Tensor:
        """State of the sampling random generator (restore with `set_rng_state`)."""
        return self._generator.get_state()

    def set_rng_state(self, state: torch.Tensor) -> None:
        self._generator.set_state(state)
        self._redo.clear()

    # One step ------------------------------------------------------------------------------

    def _compute_step(self, forced_id: int | None) -> StepRecord:
        index = len(self._history)
        window_start = max(0, len(self._ids) - self.model.config.block_size)
        previous_start = self._history[-1][0].window_start if self._history else 0
        context = self._ids[window_start:]

        logits, recorded = self._next_logits(context, window_start)
        check_logits(logits, step=index)
        dist = apply_sampling(logits, self.sampling)

        chosen_by: ChoiceKind
        if forced_id is not None:
            chosen, chosen_by = forced_id, "forced"
        elif self.sampling.greedy:
            chosen, chosen_by = choose_token(dist, None, greedy=True), "greedy"
        else:
            chosen, chosen_by = choose_token(dist, self._generator, greedy=False), "sampled"

        raw_probs = dist.raw_probs.cpu()
        sampled_probs = dist.sampled_probs.cpu()
        stream = TextStream(self.text, self.pending_bytes).push(self.tokenizer.token_bytes([chosen])[0])
        return StepRecord(
            index=index,
            context_ids=context,
            window_start=window_start,
            window_moved=window_start != previous_start,
            raw_probs=raw_probs,
            sampled_probs=sampled_probs,
            candidates=self._candidates(dist, raw_probs, sampled_probs),
            chosen_id=chosen,
            chosen_token=self.tokenizer.token_strings([chosen])[0],
            logprob_raw=float(dist.raw_logprobs[chosen]),
            logprob_sampled=float(dist.sampled_logprobs[chosen]),
            entropy=entropy(dist.sampled_logprobs, sampled_probs),
            entropy_raw=entropy(dist.raw_logprobs, raw_probs),
            nucleus_size=int(torch.count_nonzero(sampled_probs)),
            attention=stack_attention(recorded, self.model.config.n_layer),
            text=stream.text,
            pending_bytes=stream.pending,
            chosen_by=chosen_by,
            recorded=recorded,
        )

    def _next_logits(self, context: list[int], window_start: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Run the model on what the cache has not seen; return (V,) logits and recorded rows."""
        cache, fed = self._prepare_cache(context, window_start)
        tokens = torch.tensor([context[fed:]], dtype=torch.long, device=self.model.device)
        recording = record_hooks(self.model, self.record_names) if self.record_names else contextlib.nullcontext()
        with torch.no_grad(), recording as rec:
            logits = self.model(tokens, cache=cache).logits[0, -1]  # (V,)
        recorded = {name: newest_position(name, rec[name]) for name in self.record_names} if self.record_names else {}
        return logits, recorded

    def _prepare_cache(self, context: list[int], window_start: int) -> tuple[KVCache | None, int]:
        """Return the cache to use and how many context tokens it already holds."""
        if not self.use_cache:
            return None, 0
        if self._cache is None or self._cache_start != window_start:
            # First step, or the window slid: positions shifted, so start a fresh cache
            self._cache, self._cache_start = KVCache(), window_start
            return self._cache, 0
        # The last context token is always fed again, because its logits are the output
        keep = min(self._cache.length, len(context) - 1)
        if keep < self._cache.length:
            self._cache.layers = [
                None if kv is None else (kv[0][:, :, :keep], kv[1][:, :, :keep]) for kv in self._cache.layers
            ]
        if keep == 0:
            self._cache = KVCache()
        return self._cache, keep

    def _candidates(self, dist: Distribution, raw_probs: torch.Tensor, sampled_probs: torch.Tensor) -> list[Candidate]:
        top = top_ids(raw_probs, self.n_candidates)
        strings = self.tokenizer.token_strings(top)
        return [
            Candidate(
                id=token_id,
                token=string,
                raw_prob=float(raw_probs[token_id]),
                sampled_prob=float(sampled_probs[token_id]),
                filtered_by=dist.filtered_by(token_id),
            )
            for token_id, string in zip(top, strings)
        ]

    def _append(self, rec: StepRecord, rng_state: torch.Tensor) -> None:
        self._ids.append(rec.chosen_id)
        self._history.append((rec, rng_state))
        self._generator.set_state(rng_state)

    def _check_token(self, token_id: int) -> int:
        V = self.model.config.vocab_size
        if isinstance(token_id, bool) or not isinstance(token_id, int) or not 0 <= token_id < V:
            raise ValueError(f"Stepper.step(): token_id must be an int in [0, {V}), got {token_id!r}")
        return token_id

    def _seed_generator(self, seed: int | None) -> int:
        if seed is None:
            return self._generator.seed()
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"Stepper(): seed must be an int or None, got {type(seed).__name__}")
        self._generator.manual_seed(seed)
        return seed


def updated_sampling(
    current: SamplingConfig, temperature: Any, top_k: Any, top_p: Any, *, caller: str
) -> SamplingConfig:
    """Return ``current`` with the arguments that are not `UNCHANGED` replaced, validated."""
    return SamplingConfig(
        current.temperature if temperature is UNCHANGED else temperature,
        current.top_k if top_k is UNCHANGED else top_k,
        current.top_p if top_p is UNCHANGED else top_p,
        caller=caller,
    )

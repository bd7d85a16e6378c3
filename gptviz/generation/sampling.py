"""Sampling controls: temperature, top-k and top-p, applied to one next-token distribution.

The order is the usual one: divide the logits by the temperature, keep the k most probable
tokens, then keep the smallest set of most probable tokens whose mass reaches p. Ties are
broken by the lower token id everywhere, so ``top_k=1`` and temperature 0 are deterministic.
"""

from __future__ import annotations

import math
from dataclasses import InitVar, dataclass
from numbers import Integral, Real

import torch
import torch.nn.functional as F

from gptviz.generation.records import FilterName

# Code stored in `Distribution.removed_by` -> filter name
FILTER_CODES: tuple[FilterName | None, ...] = (None, "temperature", "top_k", "top_p")


@dataclass(frozen=True)
class SamplingConfig:
    """Validated sampling parameters.

    Attributes:
        temperature: >= 0; 0 means greedy decoding (always the most probable token).
        top_k: None (no limit) or >= 1; a value above V keeps the whole vocabulary.
        top_p: None (no limit) or in (0, 1]; 1 keeps every token.
    """

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    caller: InitVar[str] = "SamplingConfig()"

    def __post_init__(self, caller: str) -> None:
        check_sampling_args(self.temperature, self.top_k, self.top_p, caller=caller)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Distribution:
    """Raw and sampled next-token distributions of one step.

    Attributes:
        raw_logprobs: (V,) log_softmax of the raw logits, float32.
        sampled_logprobs: (V,) log-probabilities actually sampled from, ``-inf`` where removed.
        removed_by: (V,) int8 code of the filter that removed each token, 0 if kept; the
            index into `FILTER_CODES` gives the name (see `filtered_by`).
    """

    raw_logprobs: torch.Tensor
    sampled_logprobs: torch.Tensor
    removed_by: torch.Tensor

    def filtered_by(self, token_id: int) -> FilterName | None:
        """Return the name of the filter that removed ``token_id``, or None if it was kept."""
        return FILTER_CODES[int(self.removed_by[token_id])]

    @property
    def raw_probs(self) -> torch.Tensor:
        return self.raw_logprobs.exp()

    @property
    def sampled_probs(self) -> torch.Tensor:
        return self.sampled_logprobs.exp()


def check_sampling_args(
    temperature: float, top_k: int | None, top_p: float | None, *, caller: str = "generate()"
) -> None:
    """Raise ValueError or TypeError naming the parameter and its allowed range.

    Raises:
        TypeError: a parameter is not a number (or None where None is allowed).
        ValueError: temperature < 0 or not finite; top_k < 1; top_p outside (0, 1] or not finite.
    """
    if isinstance(temperature, bool) or not isinstance(temperature, Real):
        raise TypeError(f"{caller}: temperature must be a number >= 0, got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(
            f"{caller}: temperature must be a finite number >= 0 (0 means greedy decoding), "
            f"got {temperature!r}"
        )
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, Integral):
            raise TypeError(f"{caller}: top_k must be an int >= 1 or None, got {type(top_k).__name__}")
        if top_k < 1:
            raise ValueError(
                f"{caller}: top_k must be an int >= 1 or None (no limit), got {top_k!r}; "
                "use top_k=None to sample from the whole vocabulary"
            )
    if top_p is not None:
        if isinstance(top_p, bool) or not isinstance(top_p, Real):
            raise TypeError(f"{caller}: top_p must be a number in (0, 1] or None, got {type(top_p).__name__}")
        if not math.isfinite(top_p) or not 0 < top_p <= 1:
            raise ValueError(
                f"{caller}: top_p must be a number in (0, 1] or None (no limit), got {top_p!r}; "
                "use top_p=1 or None to keep every token"
            )


def check_logits(logits: torch.Tensor, *, step: int | None = None) -> None:
    """Raise ValueError if next-token logits contain NaN or an infinity."""
    finite = torch.isfinite(logits)
    if bool(finite.all()):
        return
    bad = (~finite).nonzero().flatten()
    first = int(bad[0])
    where = f" at step {step}" if step is not None else ""
    raise ValueError(
        f"generation: the model returned non-finite logits{where} ({len(bad)} of {logits.numel()} "
        f"values, first at token id {first}: {float(logits[first])}); sampling from them would "
        "give meaningless tokens. Check the weights for NaN/inf (a diverged training run, a "
        "wrong dtype) and any intervention that edits the logits"
    )


def descending_order(values: torch.Tensor) -> torch.Tensor:
    """Indices that sort a 1-D tensor from largest to smallest, ties by the lower index."""
    return torch.sort(values, descending=True, stable=True).indices


def top_ids(values: torch.Tensor, k: int) -> list[int]:
    """Ids of the ``k`` largest entries of a 1-D tensor, largest first, ties by the lower id."""
    k = min(k, values.shape[0])
    top = torch.topk(values, k)
    # topk does not promise an order among equal values, so sort its few results stably
    pairs = sorted(zip(top.values.tolist(), top.indices.tolist()), key=lambda pair: (-pair[0], pair[1]))
    return [index for _, index in pairs]


def apply_sampling(logits: torch.Tensor, config: SamplingConfig) -> Distribution:
    """Turn raw next-token logits into the raw and the sampled distribution.

    Args:
        logits: (V,) finite raw logits of the last position.
        config: validated sampling parameters.

    Returns:
        A `Distribution` in float32 on the logits' device.
    """
    logits = logits.float()
    raw_logprobs = F.log_softmax(logits, dim=-1)  # (V,)
    V = logits.shape[0]

    if config.greedy:
        # Temperature 0 keeps only the most probable token (argmax returns the lowest id among
        # ties). It gets probability 1, and the temperature removes every other token.
        best = int(torch.argmax(logits))
        sampled_logprobs = torch.full((V,), float("-inf"), device=logits.device)
        sampled_logprobs[best] = 0.0
        removed_by = torch.full((V,), FILTER_CODES.index("temperature"), dtype=torch.int8, device=logits.device)
        removed_by[best] = 0
        return Distribution(raw_logprobs, sampled_logprobs, removed_by)

    removed_by = torch.zeros(V, dtype=torch.int8, device=logits.device)
    # Subtracting the maximum first keeps logits / temperature finite for tiny temperatures
    scaled = (logits - logits.max()) / config.temperature  # (V,)
    keep = torch.ones(V, dtype=torch.bool, device=logits.device)
    filtering = (config.top_k is not None and config.top_k < V) or (config.top_p is not None and config.top_p < 1)
    order = descending_order(logits) if filtering else None  # (V,), sorted only when a filter needs it

    if config.top_k is not None and config.top_k < V:
        keep[order[config.top_k :]] = False
        _mark_removed(removed_by, keep, "top_k")

    if config.top_p is not None and config.top_p < 1:
        probs = _masked_log_softmax(scaled, keep).exp().double()  # (V,)
        sorted_probs = probs[order]
        # A token stays when the mass of the more probable tokens is still below p,
        # so the token whose probability crosses p is kept too
        mass_before = torch.cumsum(sorted_probs, dim=0) - sorted_probs
        stays_sorted = mass_before < config.top_p - 1e-12
        stays = torch.zeros(V, dtype=torch.bool, device=logits.device)
        stays[order] = stays_sorted
        keep &= stays
        _mark_removed(removed_by, keep, "top_p")

    return Distribution(raw_logprobs, _masked_log_softmax(scaled, keep), removed_by)


def _masked_log_softmax(scores: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return F.log_softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)


def _mark_removed(removed_by: torch.Tensor, keep: torch.Tensor, name: FilterName) -> None:
    """Name ``name`` as the filter for every removed token that no earlier filter removed."""
    newly_removed = ~keep & (removed_by == 0)
    removed_by[newly_removed] = FILTER_CODES.index(name)


def choose_token(distribution: Distribution, generator: torch.Generator | None, greedy: bool) -> int:
    """Pick a token: the argmax when greedy, else one draw from the sampled distribution.

    The draw runs on the CPU with ``generator``, so one seed gives the same tokens on any device.
    """
    sampled = distribution.sampled_logprobs
    if greedy:
        # argmax returns the first maximal index, so ties go to the lowest id
        return int(torch.argmax(sampled))
    probs = sampled.detach().to("cpu", torch.float64).exp()
    return int(torch.multinomial(probs, 1, generator=generator))


def entropy(logprobs: torch.Tensor, probs: torch.Tensor | None = None) -> float:
    """Entropy in nats of a distribution given by (V,) log-probabilities (``-inf`` allowed).

    ``probs``, when given, must equal ``logprobs.exp()``; passing it saves recomputing it.
    """
    if probs is None:
        probs = logprobs.exp()
    # p * log p is 0 * -inf = NaN where a token was removed; such tokens contribute 0
    terms = torch.where(probs > 0, probs * logprobs, 0.0)
    return float(-terms.sum())

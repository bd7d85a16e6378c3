"""Conditional log-probabilities of continuations: question answering as conditional generation.

log p(a | q) = sum over the tokens a_i of the continuation of log p(a_i | q, a_<i), read
from one forward pass over the prompt followed by the continuation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from gptviz.model import GPT


@dataclass(frozen=True)
class ContinuationScore:
    """How likely one continuation is after a prompt.

    Attributes:
        continuation: the continuation text.
        ids: (m,) its token ids, tokenized on its own (not merged with the prompt).
        token_logprobs: (m,) log p(a_i | prompt, a_<i) for each continuation token, in nats.
        logprob: their sum, log p(continuation | prompt), in nats.
    """

    continuation: str
    ids: torch.Tensor
    token_logprobs: torch.Tensor
    logprob: float

    @property
    def n_tokens(self) -> int:
        """m, the number of continuation tokens."""
        return int(self.ids.shape[0])

    @property
    def mean_logprob(self) -> float:
        """logprob / m: the per-token average, for comparing continuations of different lengths."""
        return self.logprob / self.n_tokens


def _encode(tokenizer: Any, text: str, caller: str, argument: str) -> list[int]:
    if not isinstance(text, str):
        raise TypeError(f"{caller}: {argument} must be a str, got {type(text).__name__}")
    return list(tokenizer.encode(text))


@torch.no_grad()
def continuation_logprob(
    model: GPT, tokenizer: Any, prompt: str, continuation: str, *, prepend_bos: bool = True
) -> ContinuationScore:
    """Score log p(continuation | prompt) with the chain rule over the continuation's tokens.

    The prompt and the continuation are tokenized separately and joined, so the
    continuation's tokens are the same whatever the prompt. Start a continuation that is
    a new word with a space (``" question"``), as it would appear in running text.

    Args:
        model: a `gptviz.GPT` (run in eval mode for the call).
        tokenizer: a `gptviz.tokenizer.Tokenizer` (anything with ``encode`` and ``eot_id``).
        prompt: the context q; may be empty when ``prepend_bos`` is True.
        continuation: the candidate a; must encode to at least one token.
        prepend_bos: put ``<|endoftext|>`` before the prompt, so the first prompt token has a
            context too (as ``gptviz.trace(..., prepend_bos=True)`` does).

    Returns:
        A `ContinuationScore`.

    Raises:
        ValueError: the continuation is empty, the prompt is empty without ``prepend_bos``,
            or prompt plus continuation exceed the model's context ``block_size``.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis.continuations import continuation_logprob
        >>> model, tokenizer = gptviz.load_pretrained("shakespeare")  # doctest: +SKIP
        >>> score = continuation_logprob(model, tokenizer, "My good", " lord")  # doctest: +SKIP
        >>> score.logprob == float(score.token_logprobs.double().sum())  # doctest: +SKIP
        True
    """
    caller = "continuation_logprob()"
    context = _encode(tokenizer, prompt, caller, "prompt")
    answer = _encode(tokenizer, continuation, caller, "continuation")
    if not answer:
        raise ValueError(f"{caller}: the continuation {continuation!r} encodes to no tokens; pass a non-empty text")
    if prepend_bos:
        context = [tokenizer.eot_id, *context]
    if not context:
        raise ValueError(f"{caller}: the prompt is empty, so the first continuation token has no context; "
                         "pass a prompt or prepend_bos=True")
    total = len(context) + len(answer)
    if total > model.config.block_size:
        raise ValueError(
            f"{caller}: prompt and continuation are {total} tokens, more than the context block_size="
            f"{model.config.block_size}; shorten the prompt"
        )

    ids = torch.tensor(context + answer, dtype=torch.long)
    was_training = model.training
    model.eval()
    try:
        logits = model(ids.unsqueeze(0).to(model.device)).logits[0].cpu()  # (T, V)
    finally:
        model.train(was_training)

    # Position t predicts token t + 1, so the answer tokens are predicted by the positions just before them
    start = len(context)
    logprobs = torch.log_softmax(logits[start - 1 : total - 1].double(), dim=-1)  # (m, V)
    answer_ids = ids[start:]
    token_logprobs = logprobs.gather(1, answer_ids.unsqueeze(1)).squeeze(1)  # (m,)
    return ContinuationScore(continuation, answer_ids, token_logprobs.float(), float(token_logprobs.sum()))


def rank_continuations(
    model: GPT,
    tokenizer: Any,
    prompt: str,
    continuations: Sequence[str],
    *,
    prepend_bos: bool = True,
    per_token: bool = False,
) -> list[ContinuationScore]:
    """Rank candidate continuations (answers) of a prompt (question), most likely first.

    Args:
        model: a `gptviz.GPT`.
        tokenizer: a `gptviz.tokenizer.Tokenizer`.
        prompt: the context q.
        continuations: the candidates, at least one.
        prepend_bos: see `continuation_logprob`.
        per_token: rank by the mean log-probability per token instead of the sum, which
            does not favour short continuations.

    Returns:
        One `ContinuationScore` per candidate, sorted by decreasing score; ties keep the
        input order.
    """
    if isinstance(continuations, str) or not continuations:
        raise ValueError(
            f"rank_continuations(): continuations must be a non-empty list of strings, got {continuations!r}"
        )
    scores = [continuation_logprob(model, tokenizer, prompt, text, prepend_bos=prepend_bos) for text in continuations]
    return sorted(scores, key=lambda score: -(score.mean_logprob if per_token else score.logprob))

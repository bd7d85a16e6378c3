"""Token streams, held-out loss in nats per token and per character, n-gram baselines, samples.

A split becomes one token stream: each document is preceded by ``<|endoftext|>``. A loss "on
a stream" predicts every token after the first one, the ``<|endoftext|>`` separators included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from gptviz.model import GPT
from gptviz.tokenizer import Tokenizer


def encode_documents(tokenizer: Tokenizer, documents: Sequence[str]) -> torch.Tensor:
    """Encode documents into one 1-D int64 stream, each document preceded by ``<|endoftext|>``."""
    ids: list[int] = []
    for document in documents:
        ids.append(tokenizer.eot_id)
        ids.extend(tokenizer.encode(document))
    return torch.tensor(ids, dtype=torch.long)


@dataclass(frozen=True)
class StreamLoss:
    """Loss of a model on a token stream."""

    nats: float  # summed negative log-likelihood
    tokens: int  # number of predicted tokens
    chars: int  # characters of the text the stream encodes

    @property
    def per_token(self) -> float:
        return self.nats / self.tokens

    @property
    def per_char(self) -> float:
        return self.nats / self.chars


@torch.no_grad()
def stream_loss(model: GPT, ids: torch.Tensor, chars: int, *, batch_size: int = 16,
                max_windows: int | None = None) -> StreamLoss:
    """Loss over non-overlapping windows of T + 1 tokens that share their boundary token.

    Every token after the first is predicted once; the context restarts at each window, so
    a token is predicted from between 1 and T tokens of context (T = ``block_size``).

    Args:
        model: the model (put in eval mode here, restored afterwards).
        ids: 1-D token stream.
        chars: characters in the text behind ``ids``, for the per-character figure.
        batch_size: windows per forward pass.
        max_windows: evaluate only this many evenly spaced windows; ``chars`` is then
            scaled by the fraction of tokens predicted.
    """
    T = model.config.block_size
    n_windows = max(1, (ids.numel() - 1) // T)
    starts = torch.arange(n_windows) * T
    if max_windows is not None and max_windows < n_windows:
        starts = starts[torch.linspace(0, n_windows - 1, max_windows).long()]
    was_training = model.training
    model.eval()
    nats, tokens = 0.0, 0
    for first in range(0, starts.numel(), batch_size):
        windows = ids[starts[first : first + batch_size, None] + torch.arange(T + 1)].to(model.device)
        loss = model(windows[:, :-1], windows[:, 1:]).loss
        nats += loss.item() * windows[:, 1:].numel()
        tokens += windows[:, 1:].numel()
    model.train(was_training)
    covered = tokens / max(1, ids.numel() - 1)
    return StreamLoss(nats=nats, tokens=tokens, chars=round(chars * covered))


def ngram_baselines(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int) -> dict[str, float]:
    """Validation cross-entropy (nats per token) of unigram and bigram models fit on ``train_ids``.

    Predicts the same tokens as :func:`stream_loss` (every token of ``val_ids`` after the
    first). Smoothing:

    - ``unigram_add_one``: p(w) = (c(w) + 1) / (N + V).
    - ``bigram_add_one``: p(w | v) = (c(v, w) + 1) / (c(v) + V).
    - ``bigram_interpolated``: p(w | v) = l * c(v, w) / c(v) + (1 - l) * p_unigram(w), with
      l picked from 0.05, 0.10, ..., 0.95 by the loss on the last 10 % of the training stream,
      counts taken from the first 90 %; the final model uses counts from all training tokens.
    """
    train = train_ids.numpy().astype(np.int64)
    val = val_ids.numpy().astype(np.int64)
    cut = int(len(train) * 0.9)
    lambdas = [round(0.05 * k, 2) for k in range(1, 20)]
    tuning = [_bigram_interpolated_nll(train[:cut], train[cut:], vocab_size, lam) for lam in lambdas]
    best = lambdas[int(np.argmin(tuning))]
    return {
        "unigram_add_one": _unigram_nll(train, val, vocab_size),
        "bigram_add_one": _bigram_add_one_nll(train, val, vocab_size),
        "bigram_interpolated": _bigram_interpolated_nll(train, val, vocab_size, best),
        "bigram_interpolation_weight": best,
    }


def _unigram_probs(train: np.ndarray, vocab_size: int) -> np.ndarray:
    counts = np.bincount(train, minlength=vocab_size).astype(np.float64)
    return (counts + 1.0) / (len(train) + vocab_size)


def _unigram_nll(train: np.ndarray, val: np.ndarray, vocab_size: int) -> float:
    return float(-np.log(_unigram_probs(train, vocab_size)[val[1:]]).mean())


def _pair_counts(train: np.ndarray, vocab_size: int, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """c(v, w) and c(v) from ``train``, looked up for every (v, w) pair of ``val``."""
    codes = train[:-1] * vocab_size + train[1:]
    unique, counts = np.unique(codes, return_counts=True)
    queries = val[:-1] * vocab_size + val[1:]
    where = np.clip(np.searchsorted(unique, queries), 0, len(unique) - 1)
    pair = np.where(unique[where] == queries, counts[where], 0).astype(np.float64)
    context = np.bincount(train[:-1], minlength=vocab_size).astype(np.float64)[val[:-1]]
    return pair, context


def _bigram_add_one_nll(train: np.ndarray, val: np.ndarray, vocab_size: int) -> float:
    pair, context = _pair_counts(train, vocab_size, val)
    return float(-np.log((pair + 1.0) / (context + vocab_size)).mean())


def _bigram_interpolated_nll(train: np.ndarray, val: np.ndarray, vocab_size: int, weight: float) -> float:
    pair, context = _pair_counts(train, vocab_size, val)
    conditional = np.divide(pair, context, out=np.zeros_like(pair), where=context > 0)
    unigram = _unigram_probs(train, vocab_size)[val[1:]]
    return float(-np.log(weight * conditional + (1 - weight) * unigram).mean())


@torch.no_grad()
def sample_text(model: GPT, tokenizer: Tokenizer, prompt: str, max_new_tokens: int, *,
                temperature: float = 0.8, seed: int = 0) -> str:
    """Sample a continuation of ``prompt`` with temperature, for a quick look at a model."""
    generator = torch.Generator().manual_seed(seed)
    ids = tokenizer.encode(prompt) or [tokenizer.eot_id]
    was_training = model.training
    model.eval()
    for _ in range(max_new_tokens):
        context = torch.tensor([ids[-model.config.block_size :]], device=model.device)
        logits = model(context).logits[0, -1].float().cpu() / temperature
        probs = torch.softmax(logits, dim=-1)
        ids.append(int(torch.multinomial(probs, 1, generator=generator)))
    model.train(was_training)
    return tokenizer.decode(ids)


def bits_per_char(nats_per_char: float) -> float:
    return nats_per_char / math.log(2)

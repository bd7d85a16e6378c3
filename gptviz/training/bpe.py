"""Byte-level BPE vocabulary training with GPT-2 pre-tokenization, saved in tiktoken's format.

The text is first split into pre-tokens with the GPT-2 regex, so no merge ever crosses a word
boundary. Each pre-token starts as a sequence of single bytes. Then the most frequent adjacent
pair (counted over all pre-tokens, weighted by their frequency) is merged into a new token,
again and again until the vocabulary has the requested size. A token's rank is the order in
which it was created, which is the order in which tiktoken applies merges.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable

import regex

from gptviz.tokenizer import ENDOFTEXT, GPT2_PATTERN, Tokenizer

logger = logging.getLogger(__name__)

Pair = tuple[int, int]


def count_pretokens(texts: Iterable[str], pattern: str = GPT2_PATTERN) -> Counter[bytes]:
    """Split texts with the pre-tokenization regex and count each piece's UTF-8 bytes."""
    compiled = regex.compile(pattern)
    counts: Counter[bytes] = Counter()
    for text in texts:
        counts.update(piece.encode("utf-8") for piece in compiled.findall(text))
    return counts


def train_bpe(
    texts: Iterable[str],
    vocab_size: int,
    *,
    name: str = "bpe",
    pattern: str = GPT2_PATTERN,
    special_tokens: Iterable[str] = (ENDOFTEXT,),
) -> Tokenizer:
    """Train a byte-level BPE vocabulary.

    Args:
        texts: training documents. Special token strings inside them are treated as text.
        vocab_size: V, the total number of ids: 256 bytes + merges + special tokens.
        name: vocabulary name stored with it.
        pattern: pre-tokenization regex (GPT-2's by default).
        special_tokens: strings that get the last ids, in this order.

    Returns:
        A :class:`Tokenizer` with ``vocab_size`` ids. If the texts run out of pairs that
        occur at least twice, the vocabulary is smaller and a warning is logged.

    Raises:
        ValueError: ``vocab_size`` leaves no room for the 256 bytes and the special tokens.
    """
    specials = list(special_tokens)
    n_merges = vocab_size - 256 - len(specials)
    if n_merges < 0:
        raise ValueError(
            f"train_bpe(): vocab_size={vocab_size} is too small; it must be at least "
            f"256 (bytes) + {len(specials)} (special tokens) = {256 + len(specials)}"
        )
    ranks = learn_merges(count_pretokens(texts, pattern), n_merges)
    if len(ranks) < 256 + n_merges:
        logger.warning("train_bpe(): the texts only support %d merges, not %d", len(ranks) - 256, n_merges)
    special_ids = {token: len(ranks) + i for i, token in enumerate(specials)}
    return Tokenizer.from_ranks(ranks, name=name, pattern=pattern, special_tokens=special_ids)


def learn_merges(word_counts: Counter[bytes], n_merges: int) -> dict[bytes, int]:
    """Learn up to ``n_merges`` merges over pre-token counts.

    Ties between equally frequent pairs go to the pair whose bytes sort first, so the
    result depends only on the counts.

    Returns:
        token bytes -> rank, starting with the 256 single bytes at ranks 0..255.
    """
    vocab: list[bytes] = [bytes([b]) for b in range(256)]
    words = [list(word) for word in word_counts]
    freqs = list(word_counts.values())

    # pair -> weighted count, and pair -> indices of the words that contain it
    pair_counts: dict[Pair, int] = defaultdict(int)
    pair_words: dict[Pair, set[int]] = defaultdict(set)
    for index, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += freqs[index]
            pair_words[pair].add(index)

    # Max-heap with lazy deletion: stale entries are skipped when their count is out of date.
    heap = [(-count, vocab[a], vocab[b], (a, b)) for (a, b), count in pair_counts.items()]
    heapq.heapify(heap)
    while len(vocab) < 256 + n_merges and heap:
        neg_count, _, _, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg_count:
            continue
        if -neg_count < 2:
            break
        new_id = len(vocab)
        vocab.append(vocab[pair[0]] + vocab[pair[1]])
        changed = _merge_pair(pair, new_id, words, freqs, pair_counts, pair_words)
        for other in changed:
            count = pair_counts.get(other, 0)
            if count > 0:
                heapq.heappush(heap, (-count, vocab[other[0]], vocab[other[1]], other))

    ranks: dict[bytes, int] = {}
    for token in vocab:
        # Two merge paths can build the same bytes; the first (lowest rank) wins.
        ranks.setdefault(token, len(ranks))
    return ranks


def _merge_pair(
    pair: Pair,
    new_id: int,
    words: list[list[int]],
    freqs: list[int],
    pair_counts: dict[Pair, int],
    pair_words: dict[Pair, set[int]],
) -> set[Pair]:
    """Replace ``pair`` by ``new_id`` in every word containing it; return pairs whose count changed."""
    changed: set[Pair] = set()
    for index in pair_words.pop(pair, set()):
        word, freq = words[index], freqs[index]

        # Remove this word's old pair counts.
        for old in zip(word, word[1:]):
            pair_counts[old] -= freq
            changed.add(old)

        # Merge left to right, without overlaps.
        merged: list[int] = []
        position = 0
        while position < len(word):
            if position + 1 < len(word) and word[position] == pair[0] and word[position + 1] == pair[1]:
                merged.append(new_id)
                position += 2
            else:
                merged.append(word[position])
                position += 1
        words[index] = merged

        # Add the new pair counts.
        for new in zip(merged, merged[1:]):
            pair_counts[new] += freq
            pair_words[new].add(index)
            changed.add(new)
    pair_counts.pop(pair, None)
    changed.discard(pair)
    return changed

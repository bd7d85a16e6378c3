"""Streamed text never shows a broken character; per-token strings still show the bytes."""

from __future__ import annotations

from gptviz.generation import Stepper, TextStream

ROCKETS = "I like 🚀 rockets"


def test_stream_of_rocket_tokens_has_no_replacement(model, tokenizer):
    ids = tokenizer.encode(ROCKETS)
    assert len(ids) > len(ROCKETS)  # the emoji is split over several byte tokens
    stepper = Stepper(model, tokenizer, "", temperature=0)
    texts = []
    for token_id in ids:
        rec = stepper.step(token_id)
        texts.append(rec.text)
        assert "\ufffd" not in rec.text
    assert stepper.text == ROCKETS
    assert stepper.pending_bytes == b""
    # While the emoji is incomplete, the text stops before it and the bytes wait
    emoji_start = ROCKETS.index("🚀")
    partial = [rec for rec in stepper.records if rec.pending_bytes]
    assert [len(rec.pending_bytes) for rec in partial] == [1, 2, 3]
    assert all(rec.text == ROCKETS[:emoji_start] for rec in partial)
    assert texts == sorted(texts, key=len)


def test_per_token_view_shows_bytes(model, tokenizer):
    stepper = Stepper(model, tokenizer, "", temperature=0)
    records = [stepper.step(token_id) for token_id in tokenizer.encode("🚀")]
    assert [rec.chosen_token for rec in records] == ["\\xf0", "\\x9f", "\\x9a", "\\x80"]
    assert all("\ufffd" not in rec.chosen_token for rec in records)
    assert b"".join(tokenizer.token_bytes([r.chosen_id for r in records])) == "🚀".encode()


def test_push_holds_incomplete_bytes():
    data = "né🚀".encode()
    stream = TextStream()
    for byte in data:
        stream = stream.push(bytes([byte]))
        assert "\ufffd" not in stream.text
        assert (stream.text.encode() + stream.pending) == data[: len(stream.text.encode()) + len(stream.pending)]
    assert stream.text == "né🚀"
    assert stream.pending == b""


def test_invalid_bytes_match_decode():
    data = b"ok\x80 then \xf0\x9f"
    stream = TextStream().push(data[:4]).push(data[4:])
    assert stream.text == "ok\ufffd then "
    assert stream.pending == b"\xf0\x9f"
    assert stream.flush() == data.decode("utf-8", errors="replace")


def test_stream_is_immutable():
    empty = TextStream()
    grown = empty.push(b"abc")
    assert empty.text == ""
    assert grown.text == "abc"

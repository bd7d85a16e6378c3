"""The bundled Shakespeare model: loads offline, is small, scores held-out text, traces and generates."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch

import gptviz
from gptviz.tokenizer import Tokenizer
from gptviz.training.corpus import SHAKESPEARE_SHA256, VALIDATION_PLAYS

BUNDLE = Path(gptviz.__file__).parent / "assets" / "shakespeare"

# Held-out text: these lines come from Hamlet and Twelfth Night, which are validation plays.
HELD_OUT = """Ham.
To be, or not to be,--that is the question:--
Whether 'tis nobler in the mind to suffer
The slings and arrows of outrageous fortune
Or to take arms against a sea of troubles,
And by opposing end them?--To die,--to sleep,--
No more; and by a sleep to say we end
The heartache, and the thousand natural shocks
That flesh is heir to,--'tis a consummation
Devoutly to be wish'd.

MALVOLIO.
She returns this ring to you, sir; you might have saved
me my pains, to have taken it away yourself. She adds moreover,
that you should put your lord into a desperate assurance she will
none of him: and one thing more: that you be never so hardy to
come again in his affairs, unless it be to report your lord's
taking of this. Receive it so.

VIOLA.
She took the ring of me: I'll none of it.
"""


@pytest.fixture
def no_network(monkeypatch):
    """Make every DNS lookup and socket connection fail, as on a machine with no network."""

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def provenance() -> dict:
    return json.loads((BUNDLE / "provenance.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bundled():
    return gptviz.load_pretrained("shakespeare")


def test_bundle_files_under_ten_megabytes():
    names = {p.name for p in BUNDLE.iterdir()}
    total = sum(p.stat().st_size for p in BUNDLE.iterdir() if p.is_file())

    assert {"model.safetensors", "config.json", "tokenizer.tiktoken", "tokenizer.json", "provenance.json"} <= names
    assert total < 10 * 1024 * 1024


def test_loads_offline(no_network):
    model, tokenizer = gptviz.load_pretrained("shakespeare")

    assert isinstance(tokenizer, Tokenizer)
    assert tokenizer.vocab_size == model.config.vocab_size == 4096
    assert tokenizer.name == "shakespeare"
    assert tokenizer.decode(tokenizer.encode(HELD_OUT)) == HELD_OUT


def test_bundled_tokenizer_matches_model_directory():
    assert Tokenizer.bundled("shakespeare").encode(HELD_OUT) == Tokenizer.from_directory(BUNDLE).encode(HELD_OUT)


def test_provenance_records_corpus_and_losses(provenance):
    assert provenance["corpus"]["sha256"] == SHAKESPEARE_SHA256
    assert provenance["corpus"]["val_documents"] == list(VALIDATION_PLAYS)
    assert provenance["command"].startswith("python -m gptviz.training --corpus shakespeare")
    assert provenance["training"]["steps_done"] == provenance["training"]["steps"]
    final, baselines = provenance["final"], provenance["baselines_val_nats_per_token"]
    assert final["val_nats_per_token"] < baselines["bigram_interpolated"] < baselines["unigram_add_one"]


def test_provenance_per_char_figures_consistent(provenance):
    tokens_per_char = (provenance["corpus"]["val_tokens"] - 1) / provenance["corpus"]["val_chars"]
    per_token = provenance["baselines_val_nats_per_token"]

    for name, per_char in provenance["baselines_val_nats_per_char"].items():
        assert per_char == pytest.approx(per_token[name] * tokens_per_char, abs=1e-3)
    final = provenance["final"]
    assert final["val_nats_per_char"] == pytest.approx(final["val_nats_per_token"] * tokens_per_char, rel=1e-2)


def test_scores_held_out_text_near_validation_loss(bundled, provenance):
    model, tokenizer = bundled
    ids = torch.tensor([[tokenizer.eot_id, *tokenizer.encode(HELD_OUT)]])

    with torch.no_grad():
        loss = model(ids[:, :-1], ids[:, 1:]).loss.item()
    assert abs(loss - provenance["final"]["val_nats_per_token"]) < 0.75


def test_trace_a_line(bundled):
    model, tokenizer = bundled
    line = "To be, or not to be, that is the question"
    trace = gptviz.trace(model, tokenizer, line)
    n = len(tokenizer.encode(line))

    assert trace.token_logprobs.shape == (n - 1,)
    assert trace.pattern(layer=1, head=2).shape == (n, n)
    assert "".join(trace.tokens) == line


def test_generates_play_like_text(bundled):
    from gptviz.generation import generate

    model, tokenizer = bundled
    result = generate(model, tokenizer, "KING.\n", max_new_tokens=120, temperature=0.8, seed=0)
    lines = [line for line in result.text.splitlines() if line.strip()]

    assert len(lines) >= 4
    assert "\ufffd" not in result.text

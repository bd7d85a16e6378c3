"""Fixtures for the explorers: a tiny seeded model over a byte-level vocabulary."""

from __future__ import annotations

import pytest
import torch

from gptviz import GPT, GPTConfig
from gptviz.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def byte_tokenizer() -> Tokenizer:
    """256 byte tokens plus <|endoftext|> (id 256)."""
    return Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
                                special_tokens={"<|endoftext|>": 256})


@pytest.fixture(scope="module")
def byte_model(byte_tokenizer) -> GPT:
    """2 layers, 2 heads, C = 16, T <= 16, learned positions, over the byte vocabulary."""
    torch.manual_seed(0)
    return GPT(GPTConfig.tiny(vocab_size=byte_tokenizer.vocab_size)).eval()


@pytest.fixture(autouse=True)
def _no_raise_env(monkeypatch):
    # Each test chooses test mode explicitly
    monkeypatch.delenv("GPTVIZ_WIDGETS_RAISE", raising=False)

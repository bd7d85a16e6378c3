"""Fixtures for generation tests: a byte-level tokenizer and tiny models over its 257 ids."""

from __future__ import annotations

import pytest
import torch

from gptviz import GPT, GPTConfig
from gptviz.tokenizer import Tokenizer

BYTE_VOCAB = 257  # 256 single bytes plus <|endoftext|>


def byte_tokenizer() -> Tokenizer:
    """A real tiktoken tokenizer whose tokens are single bytes, so emoji split across tokens."""
    ranks = {bytes([i]): i for i in range(256)}
    return Tokenizer.from_ranks(ranks, name="bytes", special_tokens={"<|endoftext|>": 256})


def byte_model(seed: int = 0, **changes) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig.tiny(vocab_size=BYTE_VOCAB, **changes)).eval()


@pytest.fixture
def tokenizer() -> Tokenizer:
    return byte_tokenizer()


@pytest.fixture
def model() -> GPT:
    """2 layers, 2 heads, C = 16, block_size 16, V = 257, seeded random weights."""
    return byte_model()

"""Shared fixtures: tiny seeded models that run in milliseconds on a CPU."""

from __future__ import annotations

import pytest
import torch

from gptviz import GPT, GPTConfig

# Tiny models gain nothing from intra-op threads, and on a busy 2-core machine extra
# threads only contend with each other
torch.set_num_threads(1)


def make_model(seed: int = 0, **changes) -> GPT:
    torch.manual_seed(seed)
    model = GPT(GPTConfig.tiny(**changes))
    return model.eval()


@pytest.fixture
def tiny_model() -> GPT:
    """2 layers, 2 heads, C = 16, T <= 16, V = 32, pre-norm, learned positions."""
    return make_model()


@pytest.fixture(params=[("pre", "learned"), ("pre", "sinusoidal"), ("post", "learned"), ("post", "sinusoidal")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def any_tiny_model(request) -> GPT:
    """The tiny model in every norm placement and positional encoding."""
    norm, positional = request.param
    return make_model(norm=norm, positional=positional)


@pytest.fixture
def ids() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, 32, (2, 12), generator=generator)

"""Fixtures for the view tests: traces of the tiny model and tokens that contain markup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import gptviz
from gptviz import GPT, Trace

IDS = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]

# Token strings that plotly would render as markup, whitespace, and a duplicate
MARKUP_TOKENS = ["<b>x</b>", "<a href=x>", " ", "\n", "a&amp;b", "<i>", "%{z}qq", " the", "\t", " the", "<br>", "z"]


@pytest.fixture
def trace(tiny_model: GPT) -> Trace:
    """A 12-token trace of the tiny model with every hook recorded; labels are the ids."""
    return gptviz.trace(tiny_model, IDS)


@pytest.fixture
def markup_trace(trace: Trace) -> Trace:
    """The same trace with token strings that contain HTML markup and whitespace."""
    trace.tokens = list(MARKUP_TOKENS)
    return trace


def all_strings(value: object) -> Iterator[str]:
    """Every string inside a figure dict (layout, traces, nested lists and arrays)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from all_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from all_strings(item)
    elif hasattr(value, "tolist"):
        yield from all_strings(value.tolist())

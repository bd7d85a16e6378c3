"""The Example sections of every view and analysis function run as doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gptviz.viz._style",
    "gptviz.viz.arithmetic",
    "gptviz.viz.attention",
    "gptviz.viz.distribution",
    "gptviz.viz.export",
    "gptviz.viz.generation",
    "gptviz.viz.heads",
    "gptviz.viz.ledger",
    "gptviz.viz.lens",
    "gptviz.viz.masks",
    "gptviz.viz.positional",
    "gptviz.viz.residual",
    "gptviz.viz.training",
    "gptviz.analysis.attention",
    "gptviz.analysis.distribution",
    "gptviz.analysis.heads",
    "gptviz.analysis.lens",
    "gptviz.analysis.positional",
    "gptviz.analysis.residual",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_public_view_has_an_example() -> None:
    import gptviz.viz

    helpers = {"escape_text", "token_labels", "visible_whitespace"}
    for name in sorted(set(gptviz.viz.__all__) - helpers):
        docstring = getattr(gptviz.viz, name).__doc__ or ""
        assert "Example:" in docstring, f"gptviz.viz.{name} has no Example section"
        assert ">>>" in docstring, f"gptviz.viz.{name} has no doctest"

"""to_html writes one offline page with plotly.js inlined."""

from __future__ import annotations

import re

import plotly
import pytest

from gptviz import viz


def test_to_html_inlines_plotly(tmp_path, trace) -> None:
    figures = [viz.attention_heatmap(trace, 0, 0), viz.causal_mask_matrix(trace)]
    path = viz.to_html(figures, tmp_path / "views" / "page.html", title="<b>views</b>")
    page = path.read_text(encoding="utf-8")
    assert '<script src="http' not in page
    assert re.search(r"<script[^>]*\ssrc=", page) is None
    assert plotly.offline.get_plotlyjs()[:200] in page
    assert len(page) > 3_000_000  # the whole plotly.min.js bundle is inside
    assert page.count("Plotly.newPlot") == 2
    assert "<title>&lt;b&gt;views&lt;/b&gt;</title>" in page


def test_to_html_inlines_bundle_once(tmp_path, trace) -> None:
    bundle_marker = plotly.offline.get_plotlyjs()[:200]
    page = viz.to_html([viz.causal_mask_matrix(3)] * 3, tmp_path / "three.html").read_text(encoding="utf-8")
    assert page.count(bundle_marker) == 1


def test_to_html_rejects_non_figures(tmp_path) -> None:
    with pytest.raises(TypeError, match="plotly Figure"):
        viz.to_html(["not a figure"], tmp_path / "x.html")

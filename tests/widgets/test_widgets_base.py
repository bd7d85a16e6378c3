"""Shared explorer behaviour: environment checks, error display, test mode, figure updates."""

from __future__ import annotations

import json
import subprocess
import sys

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import pytest
from ipywidgets.widgets.widget import _remove_buffers

from gptviz import viz
from gptviz.widgets import AttentionExplorer, LiveFigure, check_environment, show_figure
from gptviz.widgets._base import fit_width, json_compliant

TEXT = "abcabcab"


def test_environment_has_matching_widget_packages():
    assert check_environment() == []


def test_import_without_anywidget_names_the_fix():
    # sys.modules[name] = None makes every later import of that name fail, as if it were not installed
    code = "import sys; sys.modules['anywidget'] = None\nimport gptviz.widgets"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "ImportError: gptviz.widgets needs the anywidget package" in result.stderr
    assert "pip install anywidget" in result.stderr


def test_figure_in_hbox_follows_slider(byte_model, byte_tokenizer):
    trace = AttentionExplorer(byte_model, byte_tokenizer, TEXT).trace
    figure = LiveFigure(viz.attention_heatmap(trace, 0, 0))
    slider = widgets.IntSlider(value=0, min=0, max=1, description="head")
    slider.observe(lambda change: show_figure(figure, viz.attention_heatmap(trace, 0, change["new"])), names="value")
    box = widgets.HBox([figure, slider])
    assert box.children[0] is figure

    slider.value = 1
    expected = np.tril(trace.pattern(0, 1).double().numpy())
    shown = np.nan_to_num(np.asarray(figure.data[0].z, dtype=float))
    np.testing.assert_allclose(shown, expected, atol=1e-6)


def test_live_figure_sends_data_when_opened():
    figure = LiveFigure(go.Figure(go.Scatter(y=[1.0, 2.0]), layout={"title": {"text": "t"}}))
    state = figure.get_state()
    assert len(state["_widget_data"]) == 1
    assert state["_widget_layout"]["title"]["text"] == "t"
    assert figure.comm is not None


def _sent_json(figure, monkeypatch) -> list[str]:
    """Serialize every message ``figure`` sends the way the kernel does (NaN not allowed)."""
    sent: list[str] = []

    def send(msg, buffers=None):
        sent.append(json.dumps(msg, allow_nan=False))

    monkeypatch.setattr(figure, "_send", send)
    return sent


def test_masked_cells_sent_as_valid_json(byte_model, byte_tokenizer, monkeypatch):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, "hello there")
    # The initial state: masked attention cells and the lens's last column are NaN in the figures
    assert np.isnan(np.asarray(explorer.heatmap.data[0].z, dtype=float)).any()
    for figure in (explorer.heatmap, explorer.lens):
        state, _, _ = _remove_buffers(figure.get_state())
        json.dumps(state, allow_nan=False)
    heatmap_sent = _sent_json(explorer.heatmap, monkeypatch)
    lens_sent = _sent_json(explorer.lens, monkeypatch)
    explorer.query.value = 3
    explorer.layer.value = 1
    assert heatmap_sent and lens_sent
    assert any("null" in message for message in heatmap_sent)


def test_json_compliant_keeps_finite_values():
    buffer = memoryview(np.array([np.nan, 1.0]))
    value = {"z": [[1.5, float("nan")], [float("-inf"), 2]], "b": buffer, "s": "NaN", "t": (float("inf"),)}
    assert json_compliant(value) == {"z": [[1.5, None], [None, 2]], "b": buffer, "s": "NaN", "t": [None]}


def test_show_figure_replaces_different_traces():
    figure = LiveFigure(go.Figure(go.Scatter(y=[1.0])))
    show_figure(figure, go.Figure([go.Bar(y=[3.0]), go.Bar(y=[4.0])], layout={"title": {"text": "bars"}}))
    assert [trace.type for trace in figure.data] == ["bar", "bar"]
    assert figure.layout.title.text == "bars"


def test_show_figure_clears_removed_layout_entries():
    figure = LiveFigure(go.Figure(go.Heatmap(z=[[1.0]]), layout={"shapes": [{"type": "rect", "x0": 0, "x1": 1,
                                                                             "y0": 0, "y1": 1}]}))
    show_figure(figure, go.Figure(go.Heatmap(z=[[2.0]])))
    assert figure.layout.shapes == ()
    assert np.asarray(figure.data[0].z).tolist() == [[2.0]]


def test_invalid_layer_shows_message_and_recovers(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=False)
    explorer.layer.max = 5  # a slider whose range is wider than the model
    explorer.layer.value = 4

    assert "layer must be an int in [0, 2), got 4" in explorer.message_text
    assert isinstance(explorer.errors[-1], ValueError)
    assert explorer.heatmap.layout.title.text.startswith("Layer 0, head 0")

    explorer.layer.value = 1
    assert explorer.message.value == ""
    assert explorer.heatmap.layout.title.text.startswith("Layer 1, head 0")


def test_invalid_layer_raises_in_test_mode(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=True)
    explorer.layer.max = 5
    with pytest.raises(ValueError, match="layer must be an int"):
        explorer.layer.value = 4
    assert "layer must be" in explorer.message_text


def test_env_var_turns_on_test_mode(byte_model, byte_tokenizer, monkeypatch):
    monkeypatch.setenv("GPTVIZ_WIDGETS_RAISE", "1")
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT)
    assert explorer.raise_errors
    with pytest.raises(ValueError, match="head 7 does not exist"):
        explorer.head.value = 7


def test_unexpected_error_shows_traceback(byte_model, byte_tokenizer, caplog):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT, raise_errors=False)

    def broken_callback() -> None:
        raise RuntimeError("figure failed")

    assert explorer.guarded(broken_callback) is None
    assert "RuntimeError: figure failed" in explorer.message_text
    traceback_text = "".join(output["text"] for output in explorer.error_output.outputs)
    assert "Traceback" in traceback_text and "broken_callback" in traceback_text
    assert any("broken_callback" in record.getMessage() for record in caplog.records)

    explorer.head.value = 1  # the explorer keeps working
    assert explorer.error_output.outputs == ()
    assert explorer.heatmap.layout.title.text.startswith("Layer 0, head 1")


def test_explorer_displays_as_its_widget(byte_model, byte_tokenizer):
    explorer = AttentionExplorer(byte_model, byte_tokenizer, TEXT)
    bundle = explorer._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id


def test_fit_width_wraps_long_title():
    title = "after position 0 (&lt;|endoftext|&gt;): actual next token Good has rank 12 of 4096"
    figure = viz.explorer_views.placeholder_view("x")
    figure.update_layout(title_text=title, margin={"l": 60, "r": 20, "t": 80})
    fit_width(figure, 400, title_font_size=12)
    lines = figure.layout.title.text.split("<br>")
    assert len(lines) == 2
    assert " ".join(lines) == title
    assert all(len(line) <= (400 - 80) / (0.6 * 12) for line in lines)
    assert figure.layout.width == 400
    assert figure.layout.margin.t == 80 + round(1.3 * 12)


def test_fit_width_keeps_short_title():
    figure = viz.explorer_views.placeholder_view("Press Step")
    top = figure.layout.margin.t
    fit_width(figure, 520)
    assert figure.layout.title.text == "Press Step"
    assert figure.layout.margin.t == top

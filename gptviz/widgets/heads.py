"""`HeadInspector`: metrics of every head, and toggles that ablate heads."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from gptviz.analysis.ablation import ablate_heads
from gptviz.model import GPT
from gptviz.tracing import trace as run_trace
from gptviz.viz.explorer_views import ablation_view
from gptviz.viz.heads import head_summary
from gptviz.widgets._base import Explorer, LiveFigure, encode_text, show_figure


class HeadInspector(Explorer):
    """Head metrics of a text, and one toggle per head that ablates it (zeroes its output).

    The ablation figure shows, for every token, how much its log-probability changes
    when the toggled heads are ablated together: red bars are tokens the heads helped.

    Args:
        model: a `gptviz.GPT`.
        tokenizer: a `gptviz.tokenizer.Tokenizer`.
        text: the text, at least 2 tokens (repeat a phrase to see induction heads).
        method: ``"zero"`` or ``"mean"`` ablation (see `gptviz.analysis.ablation`).
        raise_errors: test mode, see `gptviz.widgets.Explorer`.
    """

    def __init__(self, model: GPT, tokenizer: Any, text: str, *, method: str = "zero",
                 raise_errors: bool | None = None) -> None:
        super().__init__(raise_errors=raise_errors)
        self.model, self.tokenizer, self.method = model, tokenizer, method
        L, H = model.config.n_layer, model.config.n_head
        self.text = widgets.Text(value=text, description="text", continuous_update=False,
                                 layout=widgets.Layout(width="560px"))
        self.toggles = {(layer, head): self._toggle(layer, head) for layer in range(L) for head in range(H)}
        self._trace_text(text)
        self.metrics = LiveFigure(head_summary(self.trace))
        self.ablation = LiveFigure(self._ablation_figure())

        self._on_change(self.text, self._text_changed)
        for toggle in self.toggles.values():
            self._on_change(toggle, self._ablation_changed)
        rows = [widgets.HBox([widgets.Label(f"layer {layer}")] + [self.toggles[layer, head] for head in range(H)])
                for layer in range(L)]
        self._assemble(self.text, self._boxed("metrics"),
                       widgets.HTML("<b>Ablate heads</b> (toggle to zero a head's output)"),
                       widgets.VBox(rows), self._boxed("ablation"))

    @staticmethod
    def _toggle(layer: int, head: int) -> widgets.ToggleButton:
        toggle = widgets.ToggleButton(value=False, description=f"L{layer} H{head}",
                                      layout=widgets.Layout(width="80px"))
        toggle.add_class(f"gptviz-head-L{layer}H{head}")
        return toggle

    @property
    def ablated(self) -> list[tuple[int, int]]:
        """The (layer, head) pairs whose toggle is on."""
        return [pair for pair, toggle in self.toggles.items() if toggle.value]

    def _trace_text(self, text: str) -> None:
        ids = encode_text(self.tokenizer, text, self.model.config.block_size, "HeadInspector", minimum=2)
        self.trace = run_trace(self.model, self.tokenizer, ids, names="blocks.*.attn.pattern")

    def _ablation_figure(self) -> go.Figure:
        result = ablate_heads(self.model, self.trace, self.ablated, method=self.method)
        return ablation_view(result.delta, self.trace.tokens, result.heads)

    def _text_changed(self) -> None:
        self._trace_text(self.text.value)
        show_figure(self.metrics, head_summary(self.trace))
        self._ablation_changed()

    def _ablation_changed(self) -> None:
        show_figure(self.ablation, self._ablation_figure())

    def static_figure(self) -> go.Figure:
        return head_summary(self.trace)

"""`MaskLab`: swap the causal mask for another one and watch predictions and loss change."""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import torch

from gptviz.analysis.masking import MASK_KINDS, build_mask, masked_predictions, toggle_cell
from gptviz.model import GPT
from gptviz.viz.explorer_views import masked_prediction_view
from gptviz.widgets._base import Explorer, LiveFigure, encode_text, show_figure

logger = logging.getLogger(__name__)


class MaskLab(Explorer):
    """Choose an attention mask (causal, bidirectional, sliding window, prefix, or edited
    cell by cell) and see the next-token log-probabilities and the loss it gives.

    Red mask cells are keys after the query: there the future leaks into the prediction,
    so the loss drops below the causal loss without the model having learned anything.

    Args:
        model: a `gptviz.GPT`.
        tokenizer: a `gptviz.tokenizer.Tokenizer` (or any object with ``encode`` and
            ``token_strings``).
        text: the starting text.
        kind: the starting mask, one of ``"causal"``, ``"bidirectional"``,
            ``"sliding_window"``, ``"prefix"``.
        raise_errors: test mode, see `gptviz.widgets.Explorer`.

    Example:
        >>> lab = MaskLab(model, tokenizer, "To be or not to be")   # doctest: +SKIP
        >>> lab.kind.value = "bidirectional"                        # doctest: +SKIP
        >>> lab                                                     # doctest: +SKIP
    """

    def __init__(self, model: GPT, tokenizer: Any, text: str, *, kind: str = "causal",
                 raise_errors: bool | None = None) -> None:
        super().__init__(raise_errors=raise_errors)
        self.model, self.tokenizer = model, tokenizer
        self.text = widgets.Text(value=text, description="text", continuous_update=False,
                                 layout=widgets.Layout(width="520px"))
        self.kind = widgets.Dropdown(options=list(MASK_KINDS), value=kind, description="mask")
        self.window = widgets.IntSlider(value=3, min=1, max=model.config.block_size, description="window")
        self.prefix = widgets.IntSlider(value=2, min=0, max=model.config.block_size, description="prefix")
        self.query = widgets.BoundedIntText(value=0, min=0, max=model.config.block_size - 1, description="query",
                                            layout=widgets.Layout(width="150px"))
        self.key = widgets.BoundedIntText(value=1, min=0, max=model.config.block_size - 1, description="key",
                                          layout=widgets.Layout(width="150px"))
        self.toggle = widgets.Button(description="toggle cell", tooltip="allow or mask the (query, key) cell")

        self.ids = encode_text(tokenizer, text, model.config.block_size, "MaskLab", minimum=2)
        self.mask = build_mask(kind, len(self.ids), window=self.window.value, prefix=self.prefix.value)
        self.edits = 0
        self.figure = LiveFigure(self._build_figure())
        self.figure.data[0].on_click(self._on_cell_click)

        self._on_change(self.text, self._text_changed)
        for control in (self.kind, self.window, self.prefix):
            self._on_change(control, self._mask_changed)
        self._on_click(self.toggle, lambda: self.toggle_cell(self.query.value, self.key.value))
        controls = widgets.HBox([self.kind, self.window, self.prefix])
        edit = widgets.HBox([self.query, self.key, self.toggle])
        self._assemble(self.text, controls, edit, self._boxed("figure"))

    # Updates -------------------------------------------------------------------------------

    @property
    def mask_name(self) -> str:
        name = self.kind.value
        if name == "sliding_window":
            name = f"sliding window of {self.window.value}"
        elif name == "prefix":
            name = f"prefix of {self.prefix.value}"
        return name + (f" + {self.edits} edit(s)" if self.edits else "")

    def _build_figure(self) -> go.Figure:
        ids = torch.tensor(self.ids)
        prediction = masked_predictions(self.model, ids, self.mask)
        baseline = masked_predictions(self.model, ids, build_mask("causal", len(self.ids)))
        tokens = self.tokenizer.token_strings(self.ids)
        return masked_prediction_view(prediction, tokens, baseline=baseline, mask_name=self.mask_name)

    def _refresh(self) -> None:
        show_figure(self.figure, self._build_figure())

    def _text_changed(self) -> None:
        self.ids = encode_text(self.tokenizer, self.text.value, self.model.config.block_size, "MaskLab", minimum=2)
        self._mask_changed()

    def _mask_changed(self) -> None:
        self.edits = 0
        self.mask = build_mask(self.kind.value, len(self.ids), window=self.window.value, prefix=self.prefix.value)
        self._refresh()

    def toggle_cell(self, query: int, key: int) -> None:
        """Allow or mask one cell of the current mask (rows are queries, columns keys)."""
        T = len(self.ids)
        if not (0 <= query < T and 0 <= key < T):
            raise ValueError(f"MaskLab: the cell (query {query}, key {key}) is outside the {T} x {T} mask; "
                             f"pick positions in [0, {T})")
        self.mask = toggle_cell(self.mask, query, key)
        self.edits += 1
        self._refresh()

    def _on_cell_click(self, trace: Any, points: Any, selector: Any) -> None:
        # Clicks on heatmap cells arrive with the row and column indices of the cell
        for row, column in zip(points.ys, points.xs):
            labels = list(trace.x)
            self.guarded(self.toggle_cell, labels.index(row), labels.index(column))

    def static_figure(self) -> go.Figure:
        return self._build_figure()

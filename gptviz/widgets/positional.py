"""`PositionalEncodingExplorer`: move through the dimensions and offsets of positional encodings."""

from __future__ import annotations

import ipywidgets as widgets
import plotly.graph_objects as go

from gptviz.model import GPT
from gptviz.positional import sinusoidal_table
from gptviz.viz.explorer_views import offset_similarity_view
from gptviz.viz.positional import positional_curves, positional_table
from gptviz.widgets._base import Explorer, LiveFigure, fit_width, show_figure


class PositionalEncodingExplorer(Explorer):
    """Curves of one sin/cos pair of dimensions, and PE[p] . PE[p + k] for a chosen offset k.

    The sinusoidal table is always shown; a model with learned positions adds its learned
    table, so the two can be compared.

    Args:
        model: a `gptviz.GPT`; its width C and context T size the sinusoidal table.
        n_positions: number of positions to draw (at most the model's context).
        raise_errors: test mode, see `gptviz.widgets.Explorer`.
    """

    def __init__(self, model: GPT, *, n_positions: int | None = None, raise_errors: bool | None = None) -> None:
        super().__init__(raise_errors=raise_errors)
        block_size, C = model.config.block_size, model.config.n_embd
        T = block_size if n_positions is None else n_positions
        if not 2 <= T <= block_size:
            raise ValueError(f"PositionalEncodingExplorer: n_positions must be in [2, {block_size}], got {T}")
        self.tables = {"sinusoidal": sinusoidal_table(T, C).double().numpy()}
        if model.config.positional == "learned":
            self.tables["learned"] = positional_table(model)[:T]

        self.encoding = widgets.Dropdown(options=list(self.tables), value="sinusoidal", description="encoding")
        self.pair = widgets.IntSlider(value=0, min=0, max=C // 2 - 1, description="dim pair",
                                      tooltip="draws dimensions 2i (sin) and 2i + 1 (cos)")
        self.offset = widgets.IntSlider(value=1, min=0, max=T - 1, description="offset k")
        self.curves = LiveFigure(self._curves_figure())
        self.offsets = LiveFigure(self._offset_figure())

        self._on_change(self.encoding, self._update_curves)
        self._on_change(self.pair, self._update_curves)
        self._on_change(self.offset, lambda: show_figure(self.offsets, self._offset_figure()))
        self._assemble(widgets.HBox([self.encoding, self.pair, self.offset]),
                       widgets.HBox([self._boxed("curves"), self._boxed("offsets")]))

    @property
    def dims(self) -> list[int]:
        """The two dimensions drawn: 2i (sine) and 2i + 1 (cosine) of pair i."""
        return [2 * self.pair.value, 2 * self.pair.value + 1]

    def _curves_figure(self) -> go.Figure:
        dims = self.dims
        title = f"{self.encoding.value} encoding, dimensions {dims[0]} and {dims[1]}"
        figure = positional_curves(self.tables[self.encoding.value], dims, title=title)
        fit_width(figure, 520).update_layout(height=340)
        return figure

    def _offset_figure(self) -> go.Figure:
        figure = offset_similarity_view(self.tables, self.offset.value)
        fit_width(figure, 520)
        return figure

    def _update_curves(self) -> None:
        show_figure(self.curves, self._curves_figure())

    def static_figure(self) -> go.Figure:
        return self._curves_figure()

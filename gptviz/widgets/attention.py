"""`AttentionExplorer`: every head of a text, one head in detail, and linked per-position views."""

from __future__ import annotations

from functools import partial
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from gptviz.analysis.lens import logit_lens
from gptviz.model import GPT
from gptviz.tracing import trace as run_trace
from gptviz.viz.attention import attention_grid, attention_heatmap
from gptviz.viz.distribution import next_token_bars
from gptviz.viz.explorer_views import highlight_cells
from gptviz.viz.lens import logit_lens_heatmap
from gptviz.widgets._base import Explorer, LiveFigure, encode_text, fit_width, show_figure


class AttentionExplorer(Explorer):
    """Explore the attention of one text: a layer slider, a head box, a query-position slider.

    - The grid shows every head; clicking a thumbnail selects that head.
    - The heatmap shows the selected head, with the query row outlined.
    - Picking a query position updates that row, the next-token distribution at that
      position and the outlined column of the logit lens together.

    The model runs once per text (`gptviz.trace`); moving a control only redraws.

    Args:
        model: a `gptviz.GPT`.
        tokenizer: a `gptviz.tokenizer.Tokenizer`.
        text: the starting text, at most ``block_size`` tokens.
        layer: starting layer.
        head: starting head.
        query: starting query position; None picks the last one.
        raise_errors: test mode, see `gptviz.widgets.Explorer`.
    """

    def __init__(self, model: GPT, tokenizer: Any, text: str, *, layer: int = 0, head: int = 0,
                 query: int | None = None, raise_errors: bool | None = None) -> None:
        super().__init__(raise_errors=raise_errors)
        self.model, self.tokenizer = model, tokenizer
        config = model.config
        self._trace_text(text)
        T = len(self.trace)

        self.text = widgets.Text(value=text, description="text", continuous_update=False,
                                 layout=widgets.Layout(width="560px"))
        self.layer = widgets.IntSlider(value=layer, min=0, max=config.n_layer - 1, description="layer")
        self.head = widgets.IntText(value=head, description="head", layout=widgets.Layout(width="150px"),
                                    tooltip=f"head index, 0 to {config.n_head - 1}")
        self.query = widgets.IntSlider(value=T - 1 if query is None else query, min=0, max=T - 1,
                                       description="query")
        self._check_head()
        self.heatmap = LiveFigure(self._heatmap_figure())
        self.grid = LiveFigure(self._grid_figure())
        self.distribution = LiveFigure(self._distribution_figure())
        self.lens = LiveFigure(self._lens_figure())
        self._connect_grid()

        self._on_change(self.text, self._text_changed)
        self._on_change(self.layer, self._head_changed)
        self._on_change(self.head, self._head_changed)
        self._on_change(self.query, self._query_changed)
        self._assemble(
            self.text, widgets.HBox([self.layer, self.head, self.query]),
            widgets.HBox([self._boxed("grid"), self._boxed("heatmap")]),
            widgets.HBox([self._boxed("distribution"), self._boxed("lens")]),
        )

    # Data, once per text -------------------------------------------------------------------

    def _trace_text(self, text: str) -> None:
        ids = encode_text(self.tokenizer, text, self.model.config.block_size, "AttentionExplorer")
        self.trace = run_trace(self.model, self.tokenizer, ids)
        self.lens_result = logit_lens(self.model, self.trace, tokenizer=self.tokenizer)

    def _check_head(self) -> None:
        n_head = self.model.config.n_head
        if not 0 <= self.head.value < n_head:
            raise ValueError(f"AttentionExplorer: head {self.head.value} does not exist; "
                             f"this model has heads 0 to {n_head - 1}")

    # Figures -------------------------------------------------------------------------------

    def _heatmap_figure(self) -> go.Figure:
        layer, head, query = self.layer.value, self.head.value, self.query.value
        figure = attention_heatmap(self.trace, layer, head, height=460)
        fit_width(figure, 540)
        T = len(self.trace)
        return highlight_cells(figure, row=query, n_rows=T, n_columns=T,
                               title=f"Layer {layer}, head {head}, query {query} outlined")

    def _grid_figure(self) -> go.Figure:
        return attention_grid(self.trace, title="Every head (click one)")

    def _distribution_figure(self) -> go.Figure:
        figure = next_token_bars(self.trace, self.query.value, tokenizer=self.tokenizer)
        fit_width(figure, 500, title_font_size=12)
        return figure

    def _lens_figure(self) -> go.Figure:
        T, query = len(self.trace), self.query.value
        # At this width the cells of a long text are too narrow for text, so only the hover shows it
        figure = logit_lens_heatmap(self.lens_result, width=560)
        return highlight_cells(figure, column=query, n_rows=self.model.config.n_layer + 1, n_columns=T,
                               title=f"Logit lens, position {query} outlined")

    # Updates -------------------------------------------------------------------------------

    def _text_changed(self) -> None:
        self._trace_text(self.text.value)
        T = len(self.trace)
        with self.query.hold_trait_notifications():
            self.query.max = T - 1
            self.query.value = min(self.query.value, T - 1)
        show_figure(self.grid, self._grid_figure())
        self._connect_grid()
        self._query_changed()

    def _head_changed(self) -> None:
        self._check_head()
        show_figure(self.heatmap, self._heatmap_figure())

    def _query_changed(self) -> None:
        self._check_head()
        show_figure(self.heatmap, self._heatmap_figure())
        show_figure(self.distribution, self._distribution_figure())
        show_figure(self.lens, self._lens_figure())

    def select_head(self, layer: int, head: int) -> None:
        """Select one head, as a click on its thumbnail does."""
        with self.head.hold_trait_notifications(), self.layer.hold_trait_notifications():
            self.layer.value, self.head.value = layer, head

    def _connect_grid(self) -> None:
        n_head = self.model.config.n_head
        for index, thumbnail in enumerate(self.grid.data):
            thumbnail.on_click(partial(self._thumbnail_clicked, divmod(index, n_head)), append=False)

    def _thumbnail_clicked(self, layer_head: tuple[int, int], trace: Any, points: Any, selector: Any) -> None:
        # plotly calls every trace's handler on a click; only the clicked one has points
        if points.point_inds:
            self.guarded(self.select_head, *layer_head)

    def static_figure(self) -> go.Figure:
        return self._heatmap_figure()

"""`ChainRuleExplorer`: the chain-rule ledger of a text, two texts compared, and answers ranked."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from gptviz.analysis.continuations import rank_continuations
from gptviz.model import GPT
from gptviz.tracing import Trace
from gptviz.tracing import trace as run_trace
from gptviz.viz.distribution import next_token_bars
from gptviz.viz.explorer_views import answer_ranking_view
from gptviz.viz.ledger import chain_rule_ledger, token_probability_text
from gptviz.widgets._base import Explorer, LiveFigure, encode_text, fit_width, show_figure

ANSWER_SEPARATOR = "|"


class ChainRuleExplorer(Explorer):
    """Score texts with the chain rule: log p(w_1..w_n) = sum over t of log p(w_t | w_<t).

    - Type a text and its ledger (one row per token) updates; a second text is scored
      beside it for comparison.
    - Click a token of the first text (or move the ``token`` slider) to see the
      distribution it was drawn from: p(. | the tokens before it).
    - Question answering: rank candidate answers by log p(answer | question).

    Every text is scored after ``<|endoftext|>``, so its first token gets a factor too.

    Args:
        model: a `gptviz.GPT`.
        tokenizer: a `gptviz.tokenizer.Tokenizer`.
        text: the first text.
        other_text: the second text, for comparison.
        question: the question of the answer ranking.
        answers: candidate answers.
        raise_errors: test mode, see `gptviz.widgets.Explorer`.
    """

    def __init__(self, model: GPT, tokenizer: Any, text: str, other_text: str = "", *,
                 question: str = "", answers: tuple[str, ...] = (), raise_errors: bool | None = None) -> None:
        super().__init__(raise_errors=raise_errors)
        self.model, self.tokenizer = model, tokenizer
        wide = widgets.Layout(width="560px")
        self.text = widgets.Text(value=text, description="text A", continuous_update=False, layout=wide)
        self.other_text = widgets.Text(value=other_text or text, description="text B", continuous_update=False,
                                       layout=wide)
        self.traces = [self._score(text), self._score(other_text or text)]
        self.token = widgets.IntSlider(value=1, min=1, max=len(self.traces[0]) - 1, description="token")
        self.question = widgets.Text(value=question, description="question", layout=wide)
        self.answers = widgets.Text(value=f" {ANSWER_SEPARATOR} ".join(answers), description="answers",
                                    placeholder=f"answers separated by {ANSWER_SEPARATOR}", layout=wide)
        self.rank = widgets.Button(description="rank answers")

        self.ledger = LiveFigure(self._ledger_figure(0))
        self.other_ledger = LiveFigure(self._ledger_figure(1))
        self.tokens = LiveFigure(self._tokens_figure())
        self.distribution = LiveFigure(self._distribution_figure())
        self.ranking = LiveFigure(self._ranking_figure() if question and answers else go.Figure())
        self.tokens.data[0].on_click(self._token_clicked)

        self._on_change(self.text, lambda: self._text_changed(0))
        self._on_change(self.other_text, lambda: self._text_changed(1))
        self._on_change(self.token, lambda: show_figure(self.distribution, self._distribution_figure()))
        self._on_click(self.rank, lambda: show_figure(self.ranking, self._ranking_figure()))
        self._assemble(
            self.text, self.other_text, widgets.HBox([self._boxed("ledger"), self._boxed("other_ledger")]),
            self.token, widgets.HBox([self._boxed("tokens"), self._boxed("distribution")]),
            widgets.HTML("<b>Question answering</b>: answers ranked by log p(answer | question)"),
            self.question, widgets.HBox([self.answers, self.rank]), self._boxed("ranking"),
        )

    def _score(self, text: str) -> Trace:
        # One token less than the context leaves room for <|endoftext|> in front
        ids = encode_text(self.tokenizer, text, self.model.config.block_size - 1, "ChainRuleExplorer")
        return run_trace(self.model, self.tokenizer, ids, names=[], prepend_bos=True)

    # Figures -------------------------------------------------------------------------------

    def _ledger_figure(self, index: int) -> go.Figure:
        trace = self.traces[index]
        name = "A" if index == 0 else "B"
        title = f"Text {name}: log p = {trace.sequence_logprob:.3f} nats over {len(trace) - 1} tokens"
        figure = chain_rule_ledger(trace, title=title)
        fit_width(figure, 500, title_font_size=13)
        return figure

    def _tokens_figure(self) -> go.Figure:
        # Five tiles per row keep tokens readable at the view's own width (about 600 px)
        figure = token_probability_text(self.traces[0], per_row=5, title="Text A, each token coloured by p(token | earlier)")
        figure.update_layout(title_font_size=13)
        return figure

    def _distribution_figure(self) -> go.Figure:
        # Token t was drawn from the distribution predicted at position t - 1
        token = self.token.value
        figure = next_token_bars(self.traces[0], token - 1, tokenizer=self.tokenizer)
        fit_width(figure, 500, title_font_size=12)
        return figure

    def _ranking_figure(self) -> go.Figure:
        question = self.question.value
        answers = [answer.strip() for answer in self.answers.value.split(ANSWER_SEPARATOR) if answer.strip()]
        if not question.strip():
            raise ValueError("ChainRuleExplorer: the question is empty; type a question")
        if not answers:
            raise ValueError(f"ChainRuleExplorer: no answers; type candidate answers separated by {ANSWER_SEPARATOR}")
        # Each answer follows the question after a space, as it would in running text
        scores = rank_continuations(self.model, self.tokenizer, question, [" " + answer for answer in answers])
        return answer_ranking_view([score.continuation.strip() for score in scores],
                                   [score.logprob for score in scores], question=question)

    # Updates -------------------------------------------------------------------------------

    def _text_changed(self, index: int) -> None:
        control = self.text if index == 0 else self.other_text
        self.traces[index] = self._score(control.value)
        show_figure(self.ledger if index == 0 else self.other_ledger, self._ledger_figure(index))
        if index == 0:
            show_figure(self.tokens, self._tokens_figure())
            with self.token.hold_trait_notifications():
                self.token.max = len(self.traces[0]) - 1
                self.token.value = min(self.token.value, self.token.max)
            show_figure(self.distribution, self._distribution_figure())

    def select_token(self, position: int) -> None:
        """Show the distribution that token ``position`` of text A was drawn from."""
        if not 1 <= position < len(self.traces[0]):
            raise ValueError(f"ChainRuleExplorer: token {position} has no factor; pick 1 to {len(self.traces[0]) - 1}")
        self.token.value = position

    def _token_clicked(self, trace: Any, points: Any, selector: Any) -> None:
        # Heatmap clicks report [row, column]; cells are filled row by row
        for point in points.point_inds:
            row, column = point if isinstance(point, (list, tuple)) else divmod(point, len(trace.z[0]))
            self.guarded(self.select_token, row * len(trace.z[0]) + column)

    def static_figure(self) -> go.Figure:
        return self._ledger_figure(0)

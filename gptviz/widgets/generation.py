"""`GenerationStepper`: generate one token at a time, step back, and fork continuations."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from gptviz.generation.tree import ContinuationTree, TreeNode
from gptviz.model import GPT
from gptviz.viz.explorer_views import newest_attention_view, placeholder_view
from gptviz.viz.generation import continuation_tree, sampling_distribution
from gptviz.widgets._base import Explorer, LiveFigure, fit_width, show_figure

_TEXT_STYLE = "font-family:monospace;white-space:pre-wrap;border:1px solid #ccc;padding:6px;min-height:2em"


class GenerationStepper(Explorer):
    """Step through generation: Step, Back, Play/Pause, Reset and Fork, with sampling controls.

    The explorer shows the distribution the newest token was sampled from (tokens that
    top-k or top-p removed are greyed), the text so far, where the newest token attends
    in every layer and head, and the tree of every continuation forked so far.

    Steps are kept in a `ContinuationTree`: Back moves to the parent node and Step moves
    forward again along the newest branch without recomputing, or samples a new token
    at a leaf. Fork starts a new branch at the current node with a fresh random stream.
    Changing the seed or pressing Reset starts a new tree.

    Args:
        model: a `gptviz.GPT`.
        tokenizer: a `gptviz.tokenizer.Tokenizer`.
        prompt: the text to continue; empty starts from ``<|endoftext|>``.
        temperature: >= 0; 0 is greedy decoding.
        top_k: keep the k most probable tokens; 0 keeps all.
        top_p: keep the smallest set of tokens whose probability reaches p; 1 keeps all.
        seed: seed of the sampling random stream.
        raise_errors: test mode, see `gptviz.widgets.Explorer`.
    """

    def __init__(self, model: GPT, tokenizer: Any, prompt: str = "", *, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, seed: int = 0, raise_errors: bool | None = None) -> None:
        super().__init__(raise_errors=raise_errors)
        self.model, self.tokenizer, self.prompt = model, tokenizer, prompt
        self.temperature = widgets.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05, description="temperature")
        self.top_k = widgets.IntText(value=top_k, description="top-k", tooltip="0 keeps every token",
                                     layout=widgets.Layout(width="160px"))
        self.top_p = widgets.FloatSlider(value=top_p, min=0.05, max=1.0, step=0.05, description="top-p")
        self.seed = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="160px"))
        self.step_button = widgets.Button(description="Step", icon="step-forward")
        self.back_button = widgets.Button(description="Back", icon="step-backward")
        self.reset_button = widgets.Button(description="Reset", icon="undo")
        self.fork_button = widgets.Button(description="Fork here", icon="code-fork")
        self.play = widgets.Play(value=0, min=0, max=10_000, interval=700, description="play")
        self.text_so_far = widgets.HTML()
        self._new_tree()

        self.distribution = LiveFigure(self._distribution_figure())
        self.attention = LiveFigure(self._attention_figure())
        self.tree_figure = LiveFigure(continuation_tree(self.tree))
        self._show_text()

        self._on_click(self.step_button, self.step)
        self._on_click(self.back_button, self.back)
        self._on_click(self.reset_button, self.reset)
        self._on_click(self.fork_button, self.fork)
        self._on_change(self.play, self.step)
        self._on_change(self.seed, self.reset)
        buttons = widgets.HBox([self.step_button, self.back_button, self.play, self.reset_button, self.fork_button])
        sampling = widgets.HBox([self.temperature, self.top_k, self.top_p, self.seed])
        self._assemble(buttons, sampling, self.text_so_far,
                       widgets.HBox([self._boxed("distribution"), self._boxed("attention")]),
                       self._boxed("tree_figure"))

    # State ---------------------------------------------------------------------------------

    @property
    def node(self) -> TreeNode:
        """The tree node the explorer shows: the newest token, or the prompt (node 0)."""
        return self.tree.nodes[self.node_id]

    def _sampling(self) -> dict[str, Any]:
        top_k = self.top_k.value
        if top_k < 0:
            raise ValueError(f"GenerationStepper: top-k must be >= 0 (0 keeps every token), got {top_k}")
        return {"temperature": self.temperature.value, "top_k": top_k or None,
                "top_p": None if self.top_p.value >= 1.0 else self.top_p.value}

    def _new_tree(self) -> None:
        self.tree = ContinuationTree(self.model, self.tokenizer, self.prompt, seed=self.seed.value,
                                     record="attention", **self._sampling())
        self.node_id = 0

    # Actions -------------------------------------------------------------------------------

    def step(self) -> None:
        """Move one token forward: along the newest existing branch, or sample a new token."""
        children = self.node.children
        if children:
            self.node_id = children[-1]
        else:
            self.node_id = self.tree.extend(self.node_id, 1, **self._sampling())[-1]
        self._refresh()

    def back(self) -> None:
        """Move one token back (the token stays in the tree, so Step returns to it)."""
        if self.node.parent is None:
            raise ValueError("GenerationStepper: already at the prompt; press Step to generate")
        self.node_id = self.node.parent
        self._refresh()

    def fork(self) -> None:
        """Start a new branch at the current token, sampled with a fresh random stream."""
        self.node_id = self.tree.fork(self.node_id, **self._sampling())[-1]
        self._refresh()

    def reset(self) -> None:
        """Start again from the prompt with the current seed and sampling settings."""
        self._new_tree()
        self._refresh()

    # Views ---------------------------------------------------------------------------------

    def _distribution_figure(self) -> go.Figure:
        step = self.node.step
        if step is None:
            return placeholder_view("Press Step to sample the first token").update_layout(width=520)
        figure = sampling_distribution(step, k=12, title=f"Step {step.index}: sampled {step.chosen_token!r}")
        fit_width(figure, 520).update_layout(legend={"orientation": "h", "y": -0.45})
        return figure

    def _attention_figure(self) -> go.Figure:
        step = self.node.step
        if step is None or step.attention is None:
            return placeholder_view("Attention of the newest token appears after a step").update_layout(width=540)
        tokens = self.tokenizer.token_strings(step.context_ids)
        figure = newest_attention_view(step.attention, tokens)
        fit_width(figure, 540)
        return figure

    def _show_text(self) -> None:
        generated = self.tree.text(self.node_id)
        self.text_so_far.value = (
            f'<div class="gptviz-text" style="{_TEXT_STYLE}">{html.escape(self.prompt)}'
            f'<b style="color:#1f77b4">{html.escape(generated)}</b></div>'
        )

    def _refresh(self) -> None:
        show_figure(self.distribution, self._distribution_figure())
        show_figure(self.attention, self._attention_figure())
        show_figure(self.tree_figure, continuation_tree(self.tree))
        self._show_text()

    def static_figure(self) -> go.Figure:
        return continuation_tree(self.tree)

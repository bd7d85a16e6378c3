"""`LiveLossCurve`: a training callback that draws the loss curves while the model trains."""

from __future__ import annotations

import math
from typing import Any

from gptviz.training.train import Callback, TrainState
from gptviz.viz.training import loss_curves
from gptviz.widgets._base import LiveFigure, show_figure


class LiveLossCurve(Callback):
    """A plotly FigureWidget of training and validation loss, updated from `gptviz.training.train`.

    Pass it in ``callbacks=`` and display it before training starts: the front end redraws
    the curves while the training cell is still running.

    Args:
        every: redraw after every this many steps (validation points redraw at once).
        title: figure title (shown as plain text).

    Attributes:
        figure: the `LiveFigure` (a plotly ``FigureWidget``) on screen; ``data[0]`` is the
            training curve and ``data[1]`` the validation curve once a validation loss arrived.
        history: one dict per step with ``"step"`` and ``"train_loss"``, plus
            ``"val_loss"`` on steps where the loop validated (nats per token).

    Example:
        >>> import torch, gptviz
        >>> from gptviz.training import TrainConfig, train
        >>> curve = LiveLossCurve(every=2)
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> _ = train(model, torch.arange(64) % 32, None, TrainConfig(steps=4, batch_size=2), callbacks=[curve])
        >>> list(curve.figure.data[0].x)
        [1, 2, 3, 4]
    """

    def __init__(self, every: int = 10, *, title: str | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"LiveLossCurve(): every must be a positive int (steps between redraws), got {every!r}")
        self.every = every
        self.title = title
        self.history: list[dict[str, float]] = []
        self.figure = LiveFigure(loss_curves([], title=title))

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        self.history.append({"step": state.step, "train_loss": float(metrics["loss"])})
        if state.step % self.every == 0:
            self.redraw()

    def on_eval(self, state: TrainState, metrics: dict[str, float]) -> None:
        # The loop validates right after a step, so the value belongs to that step's entry
        if self.history and self.history[-1]["step"] == state.step:
            self.history[-1]["val_loss"] = float(metrics["val_loss"])
        else:
            self.history.append({"step": state.step, "train_loss": math.nan, "val_loss": float(metrics["val_loss"])})
        self.redraw()

    def on_train_end(self, state: TrainState) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Copy the current history into the figure on screen, in one front-end update."""
        show_figure(self.figure, loss_curves(self.history, title=self.title))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.figure._repr_mimebundle_(**kwargs)

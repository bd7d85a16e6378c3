"""Training: loss curves of the training and validation sets."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from gptviz.viz import _style


def loss_curves(history: Sequence[Mapping[str, float]], *, log_y: bool = False, title: str | None = None) -> go.Figure:
    """Draw training and validation loss against the training step.

    Args:
        history: one dict per logged step with ``"step"`` and a training loss
            (``"train_loss"``, or ``"loss"`` as `gptviz.training` records it), a validation
            loss ``"val_loss"``, or both, in nats per token. ``TrainState.history`` from
            `gptviz.training` can be passed as it is.
        log_y: use a logarithmic loss axis.
        title: figure title (shown as plain text).

    Returns:
        Figure with the train curve (``data[0]``) and, when any entry has one, the
        validation curve (``data[1]``).

    Example:
        >>> import gptviz
        >>> history = [{"step": 0, "train_loss": 3.4, "val_loss": 3.5}, {"step": 10, "train_loss": 2.9}]
        >>> [list(curve.y) for curve in gptviz.viz.loss_curves(history).data]
        [[3.4, 2.9], [3.5]]
    """
    caller = "loss_curves()"
    if isinstance(history, Mapping) or not isinstance(history, Sequence):
        raise TypeError(
            f"{caller}: history must be a list of dicts with 'step' and 'train_loss', got {type(history).__name__}"
        )
    train = []
    for index, entry in enumerate(history):
        has_loss = isinstance(entry, Mapping) and any(key in entry for key in ("train_loss", "loss", "val_loss"))
        if not has_loss or "step" not in entry:
            raise ValueError(
                f"{caller}: entry {index} must be a dict with 'step' and 'train_loss' (or 'loss') "
                f"or 'val_loss', got {entry!r}"
            )
        train_loss = entry.get("train_loss", entry.get("loss"))
        if train_loss is not None:
            train.append((entry["step"], float(train_loss)))
    fig = go.Figure(go.Scatter(
        x=[step for step, _ in train], y=[loss for _, loss in train], mode="lines", name="train",
        hovertemplate="step %{x}<br>train loss %{y:.4f}<extra></extra>",
    ))
    validation = [(entry["step"], float(entry["val_loss"])) for entry in history
                  if entry.get("val_loss") is not None and not math.isnan(float(entry["val_loss"]))]
    if validation:
        fig.add_trace(go.Scatter(
            x=[step for step, _ in validation], y=[loss for _, loss in validation], mode="lines+markers",
            name="validation", hovertemplate="step %{x}<br>validation loss %{y:.4f}<extra></extra>",
        ))
    _style.base_layout(fig, _style.escape_text(title or "Loss (nats per token)"))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="loss (nats per token)", type="log" if log_y else "linear")
    return fig

"""LiveLossCurve: a training callback that keeps a FigureWidget of the loss curves current."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
import torch

from gptviz import GPT, GPTConfig
from gptviz.training import TrainConfig, train
from gptviz.widgets.loss_curve import LiveLossCurve


def _train(curve: LiveLossCurve, steps: int = 6, eval_every: int = 3) -> list[dict[str, float]]:
    torch.manual_seed(0)
    model = GPT(GPTConfig.tiny())
    stream = torch.randint(0, 32, (200,), generator=torch.Generator().manual_seed(0))
    config = TrainConfig(steps=steps, batch_size=2, warmup_steps=1, eval_every=eval_every, eval_batches=1)
    return train(model, stream[:150], stream[150:], config, callbacks=[curve]).history


def test_curve_matches_training_history():
    curve = LiveLossCurve(every=2)
    history = _train(curve)

    train_losses = [entry["loss"] for entry in history if "loss" in entry]
    val_points = [(entry["step"], entry["val_loss"]) for entry in history if "val_loss" in entry]
    assert isinstance(curve.figure, go.FigureWidget)
    assert list(curve.figure.data[0].x) == [1, 2, 3, 4, 5, 6]
    assert list(curve.figure.data[0].y) == pytest.approx(train_losses)
    assert list(curve.figure.data[1].x) == [step for step, _ in val_points]
    assert list(curve.figure.data[1].y) == pytest.approx([loss for _, loss in val_points])


def test_curve_redraws_during_training():
    class Snapshot(LiveLossCurve):
        def __init__(self) -> None:
            super().__init__(every=2)
            self.lengths: list[int] = []

        def redraw(self) -> None:
            super().redraw()
            self.lengths.append(len(self.figure.data[0].x))

    curve = Snapshot()
    _train(curve, steps=4, eval_every=0)

    # Redraws after steps 2 and 4, after the final validation, and at the end
    assert curve.lengths[:2] == [2, 4]
    assert curve.lengths[-1] == 4


def test_curve_rejects_invalid_every():
    with pytest.raises(ValueError, match="every must be a positive int"):
        LiveLossCurve(every=0)

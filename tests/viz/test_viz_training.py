"""Loss curves equal the history."""

from __future__ import annotations

import pytest

from gptviz import viz


def test_loss_curves_follow_history() -> None:
    history = [
        {"step": 0, "train_loss": 3.5, "val_loss": 3.6},
        {"step": 50, "train_loss": 2.8},
        {"step": 100, "train_loss": 2.1, "val_loss": 2.4},
    ]
    fig = viz.loss_curves(history)
    assert list(fig.data[0].x) == [0, 50, 100]
    assert list(fig.data[0].y) == [3.5, 2.8, 2.1]
    assert list(fig.data[1].x) == [0, 100]
    assert list(fig.data[1].y) == [3.6, 2.4]


def test_loss_curves_without_validation() -> None:
    fig = viz.loss_curves([{"step": 1, "train_loss": 1.0}], log_y=True)
    assert len(fig.data) == 1
    assert fig.layout.yaxis.type == "log"


def test_loss_curves_reject_bad_history() -> None:
    with pytest.raises(ValueError, match="entry 1 must be a dict"):
        viz.loss_curves([{"step": 0, "train_loss": 1.0}, {"loss": 2.0}])
    with pytest.raises(TypeError, match="list of dicts"):
        viz.loss_curves({"step": 0, "train_loss": 1.0})


def test_loss_curves_accept_training_history():
    from gptviz.viz import loss_curves

    history = [
        {"step": 1, "loss": 3.0, "lr": 1e-3},
        {"step": 2, "loss": 2.5, "lr": 1e-3},
        {"step": 2, "val_loss": 2.8},
    ]
    fig = loss_curves(history)
    assert list(fig.data[0].x) == [1, 2]
    assert list(fig.data[0].y) == [3.0, 2.5]
    assert list(fig.data[1].x) == [2]
    assert list(fig.data[1].y) == [2.8]

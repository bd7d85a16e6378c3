"""Maximum-likelihood training loop: AdamW, warm-up + cosine decay, clipping, validation, resume, DDP.

The loop never prints. It reports through :class:`Callback` objects and an
optional ``tqdm`` bar. Every batch is drawn from a generator seeded by (seed, step, rank), and
dropout is reseeded the same way, so a run resumed from a checkpoint follows the same loss curve
as an uninterrupted one. Under ``torchrun`` the model is wrapped in DistributedDataParallel
(gloo on CPU, nccl on GPU); each rank draws its own batches and gradients are averaged.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from gptviz.model import GPT
from gptviz.training import state as train_state

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Optimization settings (the model shape lives in ``GPTConfig``)."""

    steps: int = 1000  # optimizer steps in the whole run (a resumed run counts from 0)
    batch_size: int = 32  # B sequences per step and per rank
    lr: float = 3e-3  # peak learning rate, reached after warm-up
    min_lr_ratio: float = 0.1  # cosine decay ends at lr * min_lr_ratio
    warmup_steps: int = 100  # linear warm-up from 0 to lr
    weight_decay: float = 0.1  # AdamW decay, on matrices only (not biases, norms)
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    eval_every: int = 100  # validate every this many steps (0: only at the end)
    eval_batches: int = 8  # validation batches of B windows, evenly spaced over the split
    checkpoint_every: int = 0  # write a resumable checkpoint every this many steps (0: never)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup_steps", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig: {name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"TrainConfig: need lr > 0 and 0 <= min_lr_ratio <= 1, got {self.lr}, {self.min_lr_ratio}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainState:
    """Progress of a run (steps, history, wall time), passed to every callback."""

    step: int = 0  # optimizer steps completed
    history: list[dict[str, float]] = field(default_factory=list)  # one entry per step or eval
    wall_time: float = 0.0  # seconds spent training, summed over resumed segments
    rank: int = 0
    world_size: int = 1


class Callback:
    """Hooks the loop calls; subclass and override what you need. All do nothing by default."""

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None: ...

    def on_eval(self, state: TrainState, metrics: dict[str, float]) -> None: ...

    def on_checkpoint(self, state: TrainState, directory: Path) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


class LoggingCallback(Callback):
    """Log training and validation loss to this module's logger every ``every`` steps."""

    def __init__(self, every: int = 50) -> None:
        self.every = every

    def on_step_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        if state.step % self.every == 0:
            logger.info("step %d: loss %.4f, lr %.2e, %.0f tokens/s", state.step, metrics["loss"], metrics["lr"],
                        metrics["tokens_per_s"])

    def on_eval(self, state: TrainState, metrics: dict[str, float]) -> None:
        logger.info("step %d: val_loss %.4f", state.step, metrics["val_loss"])


def learning_rate(step: int, config: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warm-up, then cosine decay."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    decay_steps = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / decay_steps)
    floor = config.lr * config.min_lr_ratio
    return floor + 0.5 * (config.lr - floor) * (1.0 + math.cos(math.pi * progress))


def sample_batch(
    ids: torch.Tensor, batch_size: int, block_size: int, *, seed: int, step: int, rank: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw B random windows from a 1-D token stream.

    Returns:
        inputs (B, T) and targets (B, T), targets shifted one position to the right.
    """
    if ids.numel() < block_size + 1:
        raise ValueError(
            f"sample_batch(): the token stream has {ids.numel()} tokens, fewer than block_size + 1 = "
            f"{block_size + 1}; use a longer corpus or a smaller block_size"
        )
    generator = torch.Generator().manual_seed(_mix_seed(seed, step, rank))
    starts = torch.randint(0, ids.numel() - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size + 1)
    windows = ids[starts[:, None] + offsets].long()  # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]


def eval_windows(ids: torch.Tensor, n_windows: int, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Evenly spaced validation windows: the same ones at every evaluation. Returns (N, T) twice."""
    n_windows = max(1, min(n_windows, ids.numel() - block_size))
    starts = torch.linspace(0, ids.numel() - block_size - 1, n_windows).long()
    windows = ids[starts[:, None] + torch.arange(block_size + 1)].long()  # (N, T + 1)
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def estimate_loss(model: GPT, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int) -> float:
    """Mean cross-entropy in nats per token over (N, T) windows, in eval mode."""
    was_training = model.training
    model.eval()
    device = model.device
    total, count = 0.0, 0
    for first in range(0, inputs.shape[0], batch_size):
        x = inputs[first : first + batch_size].to(device)
        y = targets[first : first + batch_size].to(device)
        total += model(x, y).loss.item() * y.numel()
        count += y.numel()
    model.train(was_training)
    return total / count


def train(
    model: GPT,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor | None,
    config: TrainConfig,
    *,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume_from: str | os.PathLike[str] | None = None,
    save_extras: dict[str, Any] | None = None,
) -> TrainState:
    """Train ``model`` in place by maximum likelihood on random windows of ``train_ids``.

    Args:
        model: the GPT to train; under ``torchrun`` it is wrapped in DistributedDataParallel.
        train_ids: 1-D integer tensor, the training token stream.
        val_ids: 1-D integer tensor for periodic validation, or None.
        config: optimization settings.
        callbacks: objects notified after every step, evaluation and checkpoint.
        progress: show a ``tqdm`` progress bar (rank 0 only).
        checkpoint_dir: where resumable checkpoints go (every ``config.checkpoint_every``
            steps and at the end).
        resume_from: a checkpoint directory written by this function; its weights, optimizer
            state, step and history are restored and training continues from there.
        save_extras: passed to :func:`gptviz.checkpoints.save` (``tokenizer``, ``metadata``).

    Returns:
        The final :class:`TrainState` (step, history, wall time).
    """
    rank, world_size = train_state.distributed_rank()
    block_size = model.config.block_size
    optimizer = make_optimizer(model, config)
    state = TrainState(rank=rank, world_size=world_size)
    if resume_from is not None:
        state = train_state.load_resume(resume_from, model, optimizer, state)
        logger.info("resumed from %s at step %d", resume_from, state.step)
    wrapped = _maybe_ddp(model, world_size)
    val_windows = eval_windows(val_ids, config.eval_batches * config.batch_size, block_size) if val_ids is not None else None

    for callback in callbacks:
        callback.on_train_begin(state)
    bar = _progress_bar(progress and rank == 0, state.step, config.steps)
    model.train()
    segment_start = time.perf_counter()
    wall_before = state.wall_time
    while state.step < config.steps:
        metrics = _train_step(wrapped, model, optimizer, train_ids, config, state, rank)
        state.step += 1
        state.wall_time = wall_before + time.perf_counter() - segment_start
        state.history.append({"step": state.step, **metrics})
        _update_bar(bar, metrics)
        for callback in callbacks:
            callback.on_step_end(state, metrics)

        at_end = state.step == config.steps
        if val_windows is not None and (at_end or (config.eval_every and state.step % config.eval_every == 0)):
            val_loss = estimate_loss(model, *val_windows, config.batch_size)
            state.history.append({"step": state.step, "val_loss": val_loss})
            for callback in callbacks:
                callback.on_eval(state, {"val_loss": val_loss})
        if checkpoint_dir is not None and (at_end or (config.checkpoint_every and state.step % config.checkpoint_every == 0)):
            _checkpoint(model, optimizer, state, config, checkpoint_dir, callbacks, save_extras)

    if bar is not None:
        bar.close()
    for callback in callbacks:
        callback.on_train_end(state)
    return state


def make_optimizer(model: GPT, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (2-D and up) only; parameters in a fixed order."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), foreach=False)


def _train_step(
    wrapped: torch.nn.Module,
    model: GPT,
    optimizer: torch.optim.Optimizer,
    train_ids: torch.Tensor,
    config: TrainConfig,
    state: TrainState,
    rank: int,
) -> dict[str, float]:
    """One optimizer step on a fresh batch; returns loss, lr, gradient norm and throughput."""
    started = time.perf_counter()
    lr = learning_rate(state.step, config)
    for group in optimizer.param_groups:
        group["lr"] = lr

    # The batch and dropout depend only on (seed, step, rank), which makes resume exact.
    inputs, targets = sample_batch(
        train_ids, config.batch_size, model.config.block_size, seed=config.seed, step=state.step, rank=rank
    )
    torch.manual_seed(_mix_seed(config.seed, state.step, rank) + 1)
    device = model.device
    loss = wrapped(inputs.to(device), targets.to(device)).loss

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(
        model.parameters(), config.grad_clip if config.grad_clip > 0 else float("inf")
    )
    optimizer.step()
    elapsed = time.perf_counter() - started
    tokens = inputs.numel() * state.world_size
    return {"loss": loss.item(), "lr": lr, "grad_norm": float(grad_norm), "tokens_per_s": tokens / elapsed}


def _checkpoint(
    model: GPT,
    optimizer: torch.optim.Optimizer,
    state: TrainState,
    config: TrainConfig,
    directory: str | os.PathLike[str],
    callbacks: Sequence[Callback],
    save_extras: dict[str, Any] | None,
) -> None:
    if state.rank == 0:
        path = train_state.save_resume(directory, model, optimizer, state, config, **(save_extras or {}))
        for callback in callbacks:
            callback.on_checkpoint(state, path)
    if state.world_size > 1:
        dist.barrier()


def _maybe_ddp(model: GPT, world_size: int) -> torch.nn.Module:
    if world_size <= 1:
        return model
    device_ids = [model.device.index] if model.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def _mix_seed(seed: int, step: int, rank: int) -> int:
    """Combine (seed, step, rank) into one 63-bit seed, distinct for the triples a run uses."""
    return ((seed * 1_000_003 + step) * 1_009 + rank) & 0x7FFF_FFFF_FFFF_FFFF


def _progress_bar(enabled: bool, initial: int, total: int) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="training", unit="step")


def _update_bar(bar: Any, metrics: dict[str, float]) -> None:
    if bar is not None:
        bar.update(1)
        bar.set_postfix(loss=f"{metrics['loss']:.3f}", lr=f"{metrics['lr']:.1e}", refresh=False)

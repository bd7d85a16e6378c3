"""Resumable training checkpoints and the distributed process group.

A resumable checkpoint is an ordinary gptviz checkpoint (``model.safetensors`` +
``config.json``) plus ``optimizer.safetensors`` (AdamW moments and step counts, one tensor per
entry) and ``trainer_state.json`` (step, history, wall time, the TrainConfig). Nothing is
pickled, so loading a checkpoint never runs code from the file.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from gptviz import checkpoints
from gptviz.model import GPT

if TYPE_CHECKING:
    from gptviz.training.train import TrainConfig, TrainState

logger = logging.getLogger(__name__)

OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "trainer_state.json"


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) unless a process group is initialized."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed() -> tuple[int, int, torch.device]:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    Uses nccl when CUDA is available and gloo otherwise.

    Returns:
        (rank, world size, device for this process). Without ``torchrun`` (no
        ``WORLD_SIZE`` in the environment) this is (0, 1, cuda or cpu) and no group is made.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = torch.cuda.is_available()
    if world_size <= 1:
        return 0, 1, torch.device("cuda" if use_cuda else "cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    logger.info("rank %d of %d on %s", dist.get_rank(), world_size, device)
    return dist.get_rank(), world_size, device


def close_distributed() -> None:
    """Leave the process group if this process is in one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def save_resume(
    directory: str | os.PathLike[str],
    model: GPT,
    optimizer: torch.optim.Optimizer,
    state: TrainState,
    config: TrainConfig,
    **save_kwargs: Any,
) -> Path:
    """Write a checkpoint that :func:`load_resume` can continue from."""
    directory = Path(directory)
    checkpoints.save(model, directory, **save_kwargs)
    tensors: dict[str, torch.Tensor] = {}
    for index, entries in optimizer.state_dict()["state"].items():
        for key, value in entries.items():
            tensor = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"{index}.{key}"] = tensor.detach().cpu().contiguous()
    save_file(tensors, str(directory / OPTIMIZER_FILE))
    payload = {
        "step": state.step,
        "wall_time": state.wall_time,
        "history": state.history,
        "train_config": config.to_dict(),
    }
    (directory / STATE_FILE).write_text(json.dumps(payload) + "\n", encoding="utf-8")
    return directory


def load_resume(
    directory: str | os.PathLike[str], model: GPT, optimizer: torch.optim.Optimizer, state: TrainState
) -> TrainState:
    """Restore weights, optimizer moments, step, history and wall time from ``directory``.

    Raises:
        FileNotFoundError: the directory lacks the optimizer or trainer state files.
        ValueError: the weights do not fit ``model``.
    """
    directory = Path(directory)
    for name in (OPTIMIZER_FILE, STATE_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(
                f"train(): cannot resume from {directory}: {name} is missing; only checkpoints "
                "written during training (checkpoint_dir) can be resumed"
            )
    saved = checkpoints.load(directory, device=model.device)
    if saved.config != model.config:
        raise ValueError(
            f"train(): the checkpoint in {directory} has config {saved.config}, but the model has "
            f"{model.config}; build the model from checkpoints.load_config(directory)"
        )
    model.load_state_dict(saved.state_dict())

    tensors = load_file(str(directory / OPTIMIZER_FILE))
    moments: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        index, name = key.split(".", 1)
        moments.setdefault(int(index), {})[name] = tensor.to(model.device) if name != "step" else tensor
    optimizer.load_state_dict({"state": moments, "param_groups": optimizer.state_dict()["param_groups"]})

    payload = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    state.step = int(payload["step"])
    state.wall_time = float(payload["wall_time"])
    state.history = list(payload["history"])
    return state

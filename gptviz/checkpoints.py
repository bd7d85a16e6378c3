"""Save and load models as safetensors weights plus a JSON config; find bundled models.

A checkpoint is a directory with ``model.safetensors`` and ``config.json``, and optionally
the tokenizer files and a ``provenance.json``. Nothing here unpickles data.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gptviz.config import GPTConfig
from gptviz.model import GPT

if TYPE_CHECKING:
    from gptviz.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
ASSETS = Path(__file__).parent / "assets"
BUNDLED = ("shakespeare",)
ONLINE = ("gpt2",)


def save(
    model: GPT,
    directory: str | Path,
    *,
    tokenizer: Tokenizer | None = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``directory`` as safetensors weights plus a JSON config.

    Args:
        model: the model to save.
        directory: created if missing; existing checkpoint files are overwritten.
        tokenizer: if given, its vocabulary files are written beside the weights.
        metadata: extra JSON-serializable entries stored under ``"metadata"`` in config.json.

    Returns:
        The directory path.
    """
    if not isinstance(model, GPT):
        raise TypeError(f"save(): expected a gptviz.GPT, got {type(model).__name__}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    # A tied head shares storage with the token embedding, which safetensors rejects
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    if model.config.tie_weights:
        state.pop("lm_head.weight", None)
    save_file(state, str(directory / WEIGHTS_FILE))
    # safetensors creates the file readable by its owner only; a checkpoint is meant to be shared
    (directory / WEIGHTS_FILE).chmod(0o644)

    payload = {"config": model.config.to_dict(), "format": "gptviz-1"}
    if metadata:
        payload["metadata"] = metadata
    (directory / CONFIG_FILE).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    if tokenizer is not None:
        tokenizer.save(directory)
    logger.info("saved %s (%d parameters) to %s", type(model).__name__, model.num_parameters(), directory)
    return directory


def load_config(directory: str | Path) -> GPTConfig:
    """Read the GPTConfig stored in a checkpoint directory."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"load(): no {CONFIG_FILE} in {Path(directory)}; is this a gptviz checkpoint?")
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"load(): {path} is not valid JSON ({error}); the file may be truncated") from error
    if not isinstance(payload, dict) or "config" not in payload:
        raise ValueError(f"load(): {path} has no 'config' entry; it was not written by gptviz.save()")
    return GPTConfig.from_dict(payload["config"])


def load(directory: str | Path, device: str | torch.device | None = None) -> GPT:
    """Build a GPT from a checkpoint directory written by `save`.

    Raises:
        FileNotFoundError: config.json or model.safetensors is missing.
        ValueError: a file is truncated or corrupt, or the weights do not match the config;
            the message names the file and the missing, unexpected or mis-shaped keys.
    """
    directory = Path(directory)
    config = load_config(directory)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise FileNotFoundError(f"load(): no {WEIGHTS_FILE} in {directory}")
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"load(): cannot read {weights_path}: {error}; the file may be truncated") from error

    model = GPT(config)
    check_state_dict(model, state, weights_path)
    model.load_state_dict(state, strict=False)
    model.eval()
    return model.to(device) if device is not None else model


def check_state_dict(model: GPT, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Raise ValueError naming every missing, unexpected or mis-shaped key."""
    expected = {name: tensor.shape for name, tensor in model.state_dict().items()}
    if model.config.tie_weights:
        expected.pop("lm_head.weight", None)
        state = {name: tensor for name, tensor in state.items() if name != "lm_head.weight"}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [
        f"{name}: file {tuple(state[name].shape)} vs config {tuple(shape)}"
        for name, shape in expected.items()
        if name in state and state[name].shape != shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if mismatched:
            parts.append(f"shape mismatches [{'; '.join(mismatched)}]")
        raise ValueError(
            f"load(): weights in {source} do not match the config: {', '.join(parts)}. "
            "Check that config.json and model.safetensors come from the same save()"
        )


def available_models() -> list[str]:
    """Names accepted by `load_pretrained`."""
    return [*BUNDLED, *ONLINE]


def load_pretrained(
    name: str = "shakespeare", device: str | torch.device | None = None
) -> tuple[GPT, Tokenizer]:
    """Load a named model and its tokenizer.

    ``"shakespeare"`` ships inside the package and needs no network. ``"gpt2"`` reads the
    Hugging Face cache, or downloads where the network allows.

    Raises:
        ValueError: unknown name; the message lists the available models.
    """
    from gptviz.tokenizer import Tokenizer

    if name in BUNDLED:
        directory = ASSETS / name
        return load(directory, device=device), Tokenizer.from_directory(directory)
    if name == "gpt2":
        from gptviz.gpt2 import load_gpt2

        return load_gpt2(device=device)
    raise ValueError(f"load_pretrained(): unknown model {name!r}; available models: {available_models()}")

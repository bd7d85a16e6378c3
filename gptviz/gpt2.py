"""Load Hugging Face GPT-2 checkpoints into a gptviz ``GPT``.

GPT-2 is a pre-norm transformer with learned positions, tied embeddings and the tanh
approximation of GELU, all of which ``GPT`` supports, so its logits are reproduced up to float
rounding. Hugging Face stores GPT-2's linear layers as ``Conv1D`` modules with (in, out) weights.
``nn.Linear`` stores (out, in), so those matrices are transposed on the way in.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gptviz.config import GPTConfig
from gptviz.model import GPT

if TYPE_CHECKING:
    from gptviz.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

# Hugging Face name (after the optional "transformer." prefix) -> gptviz name, per block.
_BLOCK_NAMES = {
    "ln_1.weight": "norm1.weight",
    "ln_1.bias": "norm1.bias",
    "attn.c_attn.weight": "attn.qkv.weight",
    "attn.c_attn.bias": "attn.qkv.bias",
    "attn.c_proj.weight": "attn.proj.weight",
    "attn.c_proj.bias": "attn.proj.bias",
    "ln_2.weight": "norm2.weight",
    "ln_2.bias": "norm2.bias",
    "mlp.c_fc.weight": "mlp.fc_in.weight",
    "mlp.c_fc.bias": "mlp.fc_in.bias",
    "mlp.c_proj.weight": "mlp.fc_out.weight",
    "mlp.c_proj.bias": "mlp.fc_out.bias",
}
_CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_TOP_NAMES = {
    "wte.weight": "embed.token.weight",
    "wpe.weight": "embed.position.weight",
    "ln_f.weight": "norm_f.weight",
    "ln_f.bias": "norm_f.bias",
    "lm_head.weight": "lm_head.weight",
}
# Buffers some GPT-2 checkpoints carry (the causal mask); gptviz builds its own.
_IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")


def config_from_hf(hf_config: dict[str, Any]) -> GPTConfig:
    """Translate a Hugging Face GPT-2 ``config.json`` dict into a ``GPTConfig``.

    Raises:
        ValueError: the config uses an option gptviz does not implement (another activation,
            attention scaling variants); the message names it.
    """
    model_type = hf_config.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise ValueError(f"from_hf(): expected a GPT-2 checkpoint (model_type 'gpt2'), got model_type {model_type!r}")
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(
            f"from_hf(): activation_function {activation!r} is not supported; gptviz uses the tanh "
            "approximation of GELU ('gelu_new'), as GPT-2 does"
        )
    unsupported = {
        "scale_attn_weights": (hf_config.get("scale_attn_weights", True), True),
        "scale_attn_by_inverse_layer_idx": (hf_config.get("scale_attn_by_inverse_layer_idx", False), False),
    }
    for key, (value, supported) in unsupported.items():
        if value != supported:
            raise ValueError(f"from_hf(): {key}={value} is not supported; gptviz needs {key}={supported}")
    return GPTConfig(
        vocab_size=hf_config["vocab_size"],
        block_size=hf_config.get("n_positions", hf_config.get("n_ctx", 1024)),
        n_layer=hf_config["n_layer"],
        n_head=hf_config["n_head"],
        n_embd=hf_config["n_embd"],
        mlp_width=hf_config.get("n_inner"),
        dropout=0.0,
        positional="learned",
        norm="pre",
        tie_weights=hf_config.get("tie_word_embeddings", True),
        bias=True,
        layer_norm_eps=hf_config.get("layer_norm_epsilon", 1e-5),
    )


def convert_state_dict(hf_state: dict[str, torch.Tensor], config: GPTConfig) -> dict[str, torch.Tensor]:
    """Rename Hugging Face GPT-2 tensors to gptviz names, transposing Conv1D weights.

    Raises:
        ValueError: a tensor name is not part of GPT-2, or a required one is missing.
    """
    state: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for hf_name, tensor in hf_state.items():
        name = hf_name.removeprefix("transformer.")
        if name.endswith(_IGNORED_SUFFIXES):
            continue
        if name in _TOP_NAMES:
            state[_TOP_NAMES[name]] = tensor
            continue
        parts = name.split(".", 2)
        if len(parts) == 3 and parts[0] == "h" and parts[1].isdigit() and parts[2] in _BLOCK_NAMES:
            if parts[2] in _CONV1D_WEIGHTS:
                tensor = tensor.t()
            state[f"blocks.{parts[1]}.{_BLOCK_NAMES[parts[2]]}"] = tensor.contiguous()
            continue
        unknown.append(hf_name)
    if unknown:
        raise ValueError(f"from_hf(): tensors that are not part of GPT-2: {unknown[:10]}")
    if config.tie_weights:
        state.pop("lm_head.weight", None)
    return state


def from_hf(folder: str | os.PathLike[str], device: str | torch.device | None = None) -> GPT:
    """Load a Hugging Face GPT-2 checkpoint folder into a ``GPT``.

    Args:
        folder: contains ``config.json`` and the weights as ``model.safetensors`` (also
            sharded, with ``model.safetensors.index.json``) or ``pytorch_model.bin``
            (read with ``torch.load(weights_only=True)``, which refuses pickled code).
        device: where to put the model (default: CPU).

    Returns:
        The model in eval mode.

    Raises:
        FileNotFoundError: ``config.json`` or the weights are missing.
        ValueError: the checkpoint is not a GPT-2 that gptviz can represent.
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"from_hf(): no config.json in {folder}; expected a Hugging Face GPT-2 folder")
    config = config_from_hf(json.loads(config_path.read_text(encoding="utf-8")))
    state = convert_state_dict(_read_weights(folder), config)

    model = GPT(config)
    expected = set(model.state_dict()) - ({"lm_head.weight"} if config.tie_weights else set())
    missing = sorted(expected - set(state))
    if missing:
        raise ValueError(f"from_hf(): the checkpoint in {folder} lacks tensors for {missing[:10]}")
    model.load_state_dict(state, strict=False)
    model.eval()
    return model.to(device) if device is not None else model


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Read every weight tensor of a Hugging Face folder, preferring safetensors."""
    from safetensors.torch import load_file

    single = folder / "model.safetensors"
    if single.is_file():
        return load_file(str(single))
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(load_file(str(folder / shard)))
        return state
    pickled = folder / "pytorch_model.bin"
    if pickled.is_file():
        return torch.load(pickled, map_location="cpu", weights_only=True)
    raise FileNotFoundError(
        f"from_hf(): no model.safetensors, model.safetensors.index.json or pytorch_model.bin in {folder}"
    )


def load_gpt2(
    name: str = "gpt2",
    device: str | torch.device | None = None,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[GPT, Tokenizer]:
    """Load GPT-2 from the Hugging Face cache, downloading it where the network allows.

    Args:
        name: a Hub repository id with a GPT-2 checkpoint (``gpt2``, ``openai-community/gpt2-medium``, ...).
        device: where to put the model.
        revision: a Hub branch, tag or commit (default: the main branch).
        cache_dir: Hugging Face cache directory (default: huggingface_hub's, set by HF_HOME).

    Returns:
        (model, tokenizer); the tokenizer is tiktoken's ``gpt2`` encoding.

    Raises:
        ImportError: ``huggingface_hub`` is not installed.
        OSError: the checkpoint is neither cached nor downloadable; the message explains how to
            provide it.
    """
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ImportError(
            "load_gpt2(): huggingface_hub is needed to find GPT-2 on the Hub; install it with "
            "`pip install huggingface_hub`, or download a GPT-2 folder and call gptviz.from_hf(folder)"
        ) from exc
    from gptviz.tokenizer import Tokenizer

    options = {"revision": revision, "allow_patterns": ["config.json", "model.safetensors"], "cache_dir": cache_dir}
    try:
        folder = snapshot_download(name, local_files_only=True, **options)
    except Exception:  # noqa: BLE001 - huggingface_hub raises several types for "not cached"
        logger.info("%s is not in the Hugging Face cache; downloading it", name)
        try:
            folder = snapshot_download(name, **options)
        except Exception as exc:  # noqa: BLE001 - network, authentication and missing-repo errors alike
            raise OSError(
                f"load_gpt2(): could not load {name!r}: it is not in the Hugging Face cache and "
                f"downloading it failed ({type(exc).__name__}: {exc}). On a machine with network "
                f"access run `huggingface-cli download {name} config.json model.safetensors` (the "
                "cache location is set by HF_HOME), or save the files into a folder and call "
                "gptviz.from_hf(folder)."
            ) from exc
    return from_hf(folder, device=device), Tokenizer.from_tiktoken("gpt2")

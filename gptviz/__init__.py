"""gptviz: a small GPT in PyTorch with named hook points, plotly views and ipywidgets explorers.

Example:
    >>> import gptviz
    >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
    >>> gptviz.trace(model, [1, 2, 3]).logits.shape
    torch.Size([3, 32])
"""

from __future__ import annotations

from gptviz.checkpoints import available_models, load, load_pretrained, save
from gptviz.config import GPTConfig
from gptviz.hooks import Recording, hook_names, intervene, record
from gptviz.model import GPT, GPTOutput, KVCache
from gptviz.tracing import Trace, trace

__version__ = "0.1.0"

__all__ = [
    "GPT",
    "GPTConfig",
    "GPTOutput",
    "KVCache",
    "Recording",
    "Trace",
    "available_models",
    "hook_names",
    "intervene",
    "load",
    "load_pretrained",
    "record",
    "save",
    "trace",
]


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attributes
    # Submodules with heavier imports load on first use
    if name in {"analysis", "viz", "widgets", "generation", "tokenizer", "training"}:
        import importlib

        return importlib.import_module(f"gptviz.{name}")
    if name == "Tokenizer":
        from gptviz.tokenizer import Tokenizer

        return Tokenizer
    if name == "from_hf":
        from gptviz.gpt2 import from_hf

        return from_hf
    raise AttributeError(f"module 'gptviz' has no attribute {name!r}")

"""The models compared in the benchmarks, all built from one set of random weights.

A Hugging Face ``GPT2LMHeadModel`` is built from a config with a fixed seed; gptviz's
``GPT``, a minimal fused-attention reference model and a TransformerLens
``HookedTransformer`` receive the same weights, so every row computes the same logits
(`max_logit_difference` checks it) and only the implementation differs.

TransformerLens is optional: ``benchmarks/setup.sh`` installs release 3.9.0 into
``benchmarks/.peers/tl39``, which `load_transformer_lens` appends to ``sys.path``.
"""

from __future__ import annotations

import copy
import logging
import sys
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gptviz import GPT, GPTConfig
from gptviz.gpt2 import convert_state_dict

try:
    from common import BENCH_DIR
except ImportError:  # imported as benchmarks.peers
    from benchmarks.common import BENCH_DIR

logger = logging.getLogger(__name__)
TL_FOLDER = BENCH_DIR / ".peers" / "tl39"


@dataclass(frozen=True)
class Shape:
    """A model shape and the batch one forward pass runs on."""

    name: str
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    vocab_size: int
    batch: int
    tokens: int

    def gptviz_config(self) -> GPTConfig:
        return GPTConfig(
            vocab_size=self.vocab_size,
            block_size=self.block_size,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_embd=self.n_embd,
        )


TINY = Shape("tiny", n_layer=4, n_head=4, n_embd=128, block_size=256, vocab_size=4096, batch=8, tokens=256)
GPT2_SMALL = Shape("gpt2-small", n_layer=12, n_head=12, n_embd=768, block_size=1024, vocab_size=50257, batch=1, tokens=512)
SHAPES = {shape.name: shape for shape in (TINY, GPT2_SMALL)}


# The reference model ---------------------------------------------------------------


class ReferenceBlock(nn.Module):
    """Pre-norm block with fused causal attention and nothing else."""

    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.norm1 = nn.LayerNorm(n_embd)
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.norm2 = nn.LayerNorm(n_embd)
        self.fc_in = nn.Linear(n_embd, 4 * n_embd)
        self.fc_out = nn.Linear(4 * n_embd, n_embd)

    def forward(self, resid: torch.Tensor) -> torch.Tensor:
        B, T, C = resid.shape
        q, k, v = self.qkv(self.norm1(resid)).view(B, T, 3, self.n_head, C // self.n_head).unbind(2)
        heads = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
        )  # (B, H, T, D)
        resid = resid + self.proj(heads.transpose(1, 2).reshape(B, T, C))
        return resid + self.fc_out(F.gelu(self.fc_in(self.norm2(resid)), approximate="tanh"))


class ReferenceGPT(nn.Module):
    """A minimal GPT-2-style model: the floor that every implementation is compared with."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.token = nn.Embedding(config.vocab_size, config.n_embd)
        self.position = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList(ReferenceBlock(config.n_embd, config.n_head) for _ in range(config.n_layer))
        self.norm_f = nn.LayerNorm(config.n_embd)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        resid = self.token(ids) + self.position(torch.arange(ids.shape[1]))
        for block in self.blocks:
            resid = block(resid)
        return self.norm_f(resid) @ self.token.weight.T  # (B, T, V), head tied to the embedding

    @classmethod
    def sharing_weights(cls, model: GPT) -> ReferenceGPT:
        """Build a reference model whose parameters are the tensors of a gptviz ``GPT``."""
        state = {}
        for name, tensor in model.state_dict().items():
            name = name.replace("embed.token.", "token.").replace("embed.position.", "position.")
            name = name.replace("attn.qkv.", "qkv.").replace("attn.proj.", "proj.")
            name = name.replace("mlp.fc_in.", "fc_in.").replace("mlp.fc_out.", "fc_out.")
            if name != "lm_head.weight":
                state[name] = tensor
        reference = cls(model.config)
        reference.load_state_dict(state, assign=True)
        return reference.eval()


# Hugging Face and gptviz -------------------------------------------------------------


def hf_config(shape: Shape, attn_implementation: str) -> Any:
    """A Hugging Face ``GPT2Config`` of this shape, without dropout."""
    from transformers import GPT2Config

    config = GPT2Config(
        vocab_size=shape.vocab_size,
        n_positions=shape.block_size,
        n_embd=shape.n_embd,
        n_layer=shape.n_layer,
        n_head=shape.n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    config._attn_implementation = attn_implementation
    return config


def build_hf(shape: Shape, attn_implementation: str = "sdpa", seed: int = 0) -> nn.Module:
    """A randomly initialized ``GPT2LMHeadModel`` in eval mode."""
    from transformers import GPT2LMHeadModel

    torch.manual_seed(seed)
    return GPT2LMHeadModel(hf_config(shape, attn_implementation)).eval()


def hf_sharing_weights(hf_model: nn.Module, attn_implementation: str) -> nn.Module:
    """A second Hugging Face model whose parameters are those of ``hf_model``."""
    from transformers import GPT2LMHeadModel

    config = copy.deepcopy(hf_model.config)
    config._attn_implementation = attn_implementation
    with torch.device("meta"):
        twin = GPT2LMHeadModel(config)
    twin.load_state_dict(hf_model.state_dict(), assign=True)
    twin.tie_weights()
    return twin.eval()


def gptviz_from_hf(hf_model: nn.Module, shape: Shape) -> GPT:
    """A gptviz ``GPT`` with the weights of a Hugging Face GPT-2 (converted, so not shared)."""
    config = shape.gptviz_config()
    model = GPT(config)
    model.load_state_dict(convert_state_dict(hf_model.state_dict(), config), strict=False)
    return model.eval()


# TransformerLens ---------------------------------------------------------------------


def load_transformer_lens() -> ModuleType | None:
    """Import TransformerLens 3.9 from ``benchmarks/.peers/tl39``; None where it is not installed."""
    if TL_FOLDER.is_dir() and str(TL_FOLDER) not in sys.path:
        sys.path.append(str(TL_FOLDER))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import transformer_lens
    except ImportError as exc:
        logger.warning("TransformerLens is not importable (%s); run `bash benchmarks/setup.sh PYTHON`", exc)
        return None
    return transformer_lens


def tl_from_hf(hf_model: nn.Module, shape: Shape) -> nn.Module | None:
    """A TransformerLens ``HookedTransformer`` with the weights of a Hugging Face GPT-2.

    The weights are loaded without TransformerLens's optional processing (no layer-norm
    folding or centering), so its logits equal the other models'.
    """
    transformer_lens = load_transformer_lens()
    if transformer_lens is None:
        return None
    from transformer_lens.pretrained.weight_conversions.gpt2 import convert_gpt2_weights

    config = transformer_lens.HookedTransformerConfig(
        n_layers=shape.n_layer,
        d_model=shape.n_embd,
        n_ctx=shape.block_size,
        d_head=shape.n_embd // shape.n_head,
        n_heads=shape.n_head,
        d_mlp=4 * shape.n_embd,
        d_vocab=shape.vocab_size,
        act_fn="gelu_new",
        normalization_type="LN",
        positional_embedding_type="standard",
        default_prepend_bos=False,
        seed=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = transformer_lens.HookedTransformer(config)
        state = {name: tensor.detach().clone() for name, tensor in convert_gpt2_weights(hf_model, config).items()}
        model.load_and_process_state_dict(
            state, fold_ln=False, center_writing_weights=False, center_unembed=False, fold_value_biases=False
        )
    return model.eval()


def tl_version() -> str | None:
    transformer_lens = load_transformer_lens()
    if transformer_lens is None:
        return None
    from importlib import metadata

    try:
        return metadata.version("transformer-lens")
    except metadata.PackageNotFoundError:
        return getattr(transformer_lens, "__version__", None)


def forward_flops(shape: Shape) -> float:
    """Matrix-multiply FLOPs of one plain forward pass (2 per multiply-add).

    Counts the four projections and the MLP of every block, the head, and both attention
    products over the full T x T square (the causal half is not subtracted), so achieved
    rates are comparable across implementations but not a hardware utilization.
    """
    tokens = shape.batch * shape.tokens
    C, T = shape.n_embd, shape.tokens
    per_token_layer = 2 * (3 * C * C + C * C + 2 * 4 * C * C) + 2 * 2 * T * C
    return float(tokens * (shape.n_layer * per_token_layer + 2 * C * shape.vocab_size))


def max_logit_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute difference between two logit tensors of the same shape."""
    return float((a.float() - b.float()).abs().max())


def ids_for(shape: Shape, seed: int = 1) -> torch.Tensor:
    """Random token ids (B, T) for this shape."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, shape.vocab_size, (shape.batch, shape.tokens), generator=generator)


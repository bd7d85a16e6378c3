"""A GPT language model, read top-down: embeddings, attention, MLP, block, the whole model.

Shapes use B batch, T positions, C width, H heads, D head width (C // H), F MLP width,
V vocabulary. In every attention matrix, rows are queries and columns are keys.

Every intermediate tensor passes through a named `HookPoint` (see `gptviz.hooks`), so
`record` and `intervene` can read or replace it. The names are module paths such as
``blocks.0.attn.pattern``. Every config has the same names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from gptviz.config import GPTConfig
from gptviz.hooks import HookPoint, name_hook_points
from gptviz.positional import LearnedPositions, SinusoidalPositions


class GPTOutput(NamedTuple):
    """Result of `GPT.forward`: logits (B, T, V) and, with targets, the mean cross-entropy."""

    logits: torch.Tensor
    loss: torch.Tensor | None


@dataclass
class KVCache:
    """Keys and values of earlier positions, one (k, v) pair of (B, H, T, D) per layer.

    Pass the same cache to successive forward calls to decode incrementally: each call
    appends its keys and values and positions continue from `length`.
    """

    layers: list[tuple[torch.Tensor, torch.Tensor] | None] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Number of positions already cached."""
        if not self.layers or self.layers[0] is None:
            return 0
        return self.layers[0][0].shape[2]


class Embeddings(nn.Module):
    """Token embedding plus positional encoding, summed (not concatenated)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.token = nn.Embedding(config.vocab_size, config.n_embd)
        if config.positional == "sinusoidal":
            self.position: nn.Module = SinusoidalPositions(config.block_size, config.n_embd)
        else:
            self.position = LearnedPositions(config.block_size, config.n_embd)
        self.tok = HookPoint()  # (B, T, C)
        self.pos = HookPoint()  # (T, C)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        tok_emb = self.tok(self.token(ids))  # (B, T, C)
        pos_emb = self.pos(self.position(positions))  # (T, C)
        return self.dropout(tok_emb + pos_emb)


def causal_mask(n_queries: int, n_keys: int, device: torch.device | None = None) -> torch.Tensor:
    """Boolean (T_q, T_k) mask, True where a query may attend to a key.

    The queries are the last ``n_queries`` positions of the ``n_keys`` keys, so query i
    sees keys 0 .. (n_keys - n_queries + i).
    """
    offset = n_keys - n_queries
    query_pos = torch.arange(n_queries, device=device).unsqueeze(1) + offset
    key_pos = torch.arange(n_keys, device=device).unsqueeze(0)
    return key_pos <= query_pos


def masked_softmax(scores: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis where a row of all -inf gives zeros instead of NaN."""
    row_max = scores.amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    weights = torch.exp(scores - row_max)
    total = weights.sum(dim=-1, keepdim=True)
    return weights / torch.where(total > 0, total, torch.ones_like(total))


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which each position sees only itself and earlier ones."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_size = config.head_size
        self.dropout_p = config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.q = HookPoint()  # (B, H, T, D)
        self.k = HookPoint()  # (B, H, T, D) keys of all positions so far when a cache is used
        self.v = HookPoint()  # (B, H, T, D)
        self.scores = HookPoint()  # (B, H, T, T) scaled scores, -inf where masked
        self.pattern = HookPoint()  # (B, H, T, T) softmax weights, rows sum to 1
        self.head_out = HookPoint()  # (B, H, T, D) pattern-weighted values
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.out = HookPoint()  # (B, T, C)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        resid: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        B, T, C = resid.shape

        # Project to queries, keys and values and split the width into H heads
        q, k, v = self.qkv(resid).split(C, dim=2)
        q = self.q(q.view(B, T, self.n_head, self.head_size).transpose(1, 2))  # (B, H, T, D)
        k = k.view(B, T, self.n_head, self.head_size).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, self.n_head, self.head_size).transpose(1, 2)  # (B, H, T, D)

        # With a cache, prepend the keys and values of earlier positions
        if cache is not None:
            past = cache.layers[layer] if layer < len(cache.layers) else None
            if past is not None:
                k = torch.cat([past[0], k], dim=2)  # (B, H, T_past + T, D)
                v = torch.cat([past[1], v], dim=2)
            while len(cache.layers) <= layer:
                cache.layers.append(None)
            cache.layers[layer] = (k, v)
        k, v = self.k(k), self.v(v)

        # Weighted sum of values: the fused kernel unless someone needs the (T, T) weights
        if self.scores.is_active or self.pattern.is_active or attn_mask is not None:
            head_out = self._explicit_attention(q, k, v, attn_mask)
        else:
            head_out = self._fused_attention(q, k, v)
        head_out = self.head_out(head_out)  # (B, H, T, D)

        # Merge the heads back into the residual width and project
        merged = head_out.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.out(self.resid_dropout(self.proj(merged)))

    def _fused_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        dropout_p = self.dropout_p if self.training else 0.0
        n_queries, n_keys = q.shape[2], k.shape[2]
        if n_queries == n_keys:
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        if n_queries == 1:
            # One new position after cached ones (a decoding step) may see every key
            return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
        # NOTE: is_causal aligns the mask to the top-left corner, which is wrong when cached
        # keys precede the queries, so pass the bottom-right aligned mask explicitly.
        mask = causal_mask(n_queries, n_keys, q.device)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)

    def _explicit_attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: torch.Tensor | None
    ) -> torch.Tensor:
        # Scaled dot products: rows are queries, columns are keys. Masked cells get -inf, so
        # exp() makes their weight exactly 0.
        scale = 1.0 / math.sqrt(self.head_size)
        if attn_mask is None:
            # The causal mask becomes a (T_q, T_k) bias of 0 and -inf that the batched product adds
            # itself. The (B, H, T, T) matrix is the largest tensor of the forward pass, so it is
            # written once instead of written and then masked.
            B, H, n_queries, D = q.shape
            n_keys = k.shape[2]
            allowed = causal_mask(n_queries, n_keys, q.device)
            bias = torch.zeros(n_queries, n_keys, dtype=q.dtype, device=q.device).masked_fill_(~allowed, float("-inf"))
            scores = torch.baddbmm(
                bias, q.reshape(B * H, n_queries, D), k.reshape(B * H, n_keys, D).transpose(1, 2), alpha=scale
            ).view(B, H, n_queries, n_keys)  # (B, H, T, T)
        else:
            # The scale goes on the T / D times smaller queries, and the mask is applied in place
            scores = torch.matmul(q * scale, k.transpose(-2, -1))  # (B, H, T, T)
            scores = scores.masked_fill_(~attn_mask, float("-inf"))
        version = scores._version
        hooked = self.scores(scores)
        # A hook that returned another tensor or edited this one in place may have masked a row
        edited = hooked is not scores or hooked._version != version

        # Normalize each row; a row with no allowed key becomes zeros rather than NaN. Under
        # the causal mask alone every query sees at least itself, so the one-pass softmax
        # kernel is safe there.
        if attn_mask is not None or edited:
            pattern = masked_softmax(hooked)
        else:
            pattern = torch.softmax(hooked, dim=-1)
        pattern = self.pattern(pattern)  # (B, H, T, T)

        # NOTE: v is a strided view of the qkv output. One explicit copy measured faster on the
        # CPU than the copy that matmul makes for a batched operand of that layout.
        return self.attn_dropout(pattern) @ v.contiguous()  # (B, H, T, D)


class MLP(nn.Module):
    """Token-wise feed-forward network: each position is transformed on its own."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.fc_in = nn.Linear(config.n_embd, config.hidden_width, bias=config.bias)
        self.hidden = HookPoint()  # (B, T, F)
        self.fc_out = nn.Linear(config.hidden_width, config.n_embd, bias=config.bias)
        self.out = HookPoint()  # (B, T, C)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, resid: torch.Tensor) -> torch.Tensor:
        # GELU with the tanh approximation, as GPT-2 uses
        hidden = self.hidden(F.gelu(self.fc_in(resid), approximate="tanh"))  # (B, T, F)
        return self.out(self.dropout(self.fc_out(hidden)))  # (B, T, C)


class Block(nn.Module):
    """Attention then MLP, each added to the residual stream, with layer norm before
    (``norm="pre"``, GPT-2) or after (``norm="post"``, the original transformer) each one.

    ``ln1``/``ln2`` record the outputs of the two layer norms: the sublayer inputs for
    pre-norm, the normalized stream after each residual add for post-norm.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.pre_norm = config.norm == "pre"
        self.resid_pre = HookPoint()  # (B, T, C)
        self.norm1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.ln1 = HookPoint()  # (B, T, C)
        self.attn = CausalSelfAttention(config)
        self.resid_mid = HookPoint()  # (B, T, C)
        self.norm2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.ln2 = HookPoint()  # (B, T, C)
        self.mlp = MLP(config)
        self.resid_post = HookPoint()  # (B, T, C)

    def forward(
        self,
        resid: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        resid = self.resid_pre(resid)
        if self.pre_norm:
            # x + Attn(LN(x)), then x + MLP(LN(x))
            resid = self.resid_mid(resid + self.attn(self.ln1(self.norm1(resid)), attn_mask, cache, layer))
            resid = resid + self.mlp(self.ln2(self.norm2(resid)))
        else:
            # LN(x + Attn(x)), then LN(x + MLP(x))
            resid = self.ln1(self.norm1(resid + self.attn(resid, attn_mask, cache, layer)))
            resid = self.resid_mid(resid)
            resid = self.ln2(self.norm2(resid + self.mlp(resid)))
        return self.resid_post(resid)


class GPT(nn.Module):
    """Decoder-only transformer language model.

    One forward pass returns next-token logits for every position; the causal mask makes
    position t depend only on tokens 0..t, so these equal T separate prefix evaluations.

    Example:
        >>> import torch, gptviz
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> model(torch.tensor([[1, 2, 3]])).logits.shape
        torch.Size([1, 3, 32])
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT(): expected a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.embed = Embeddings(config)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        # Post-norm blocks already end in a layer norm, so only pre-norm needs a final one
        self.norm_f: nn.Module = (
            nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps) if config.norm == "pre" else nn.Identity()
        )
        self.ln_f = HookPoint()  # (B, T, C)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.logits = HookPoint()  # (B, T, V)
        if config.tie_weights:
            self.lm_head.weight = self.embed.token.weight
        self.apply(self._init_weights)
        self._init_residual_projections()
        self.hook_names = name_hook_points(self)

    def _init_weights(self, module: nn.Module) -> None:
        # GPT-2 initialization: N(0, 0.02) weights, zero biases, unit layer norms
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, LearnedPositions):
            nn.init.normal_(module.weight, mean=0.0, std=0.01)

    def _init_residual_projections(self) -> None:
        # Projections that write into the residual stream are scaled by 1/sqrt(2L), so the
        # stream's variance does not grow with depth (GPT-2 paper, section 2.3)
        std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for block in self.blocks:
            nn.init.normal_(block.attn.proj.weight, mean=0.0, std=std)
            nn.init.normal_(block.mlp.fc_out.weight, mean=0.0, std=std)

    @property
    def device(self) -> torch.device:
        return self.embed.token.weight.device

    def num_parameters(self) -> int:
        """Count trainable parameters once (a tied head is not counted twice)."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        ids: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        attn_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> GPTOutput:
        """Compute next-token logits for every position.

        Args:
            ids: token ids, integer tensor (B, T) or (T,), each in [0, V).
            targets: optional ids (B, T) to predict; positions with -100 are ignored.
            attn_mask: optional boolean mask, True where a query may attend to a key,
                (T, T) or broadcastable to (B, H, T, T). Replaces the causal mask; rows with
                no allowed key give zero attention. Forces the explicit attention path.
            cache: optional `KVCache` for incremental decoding; positions start at its length.

        Returns:
            `GPTOutput` with logits (B, T, V) and the mean cross-entropy in nats per token
            when ``targets`` is given, else ``None``.

        Raises:
            TypeError: ids are not an integer tensor.
            ValueError: ids are empty, out of the vocabulary, or longer than ``block_size``.
        """
        ids = self._check_ids(ids, cache)
        start = cache.length if cache is not None else 0
        if attn_mask is not None:
            attn_mask = self._check_mask(attn_mask, ids.shape[1])

        # Token embeddings plus positional encodings
        resid = self.embed(ids, start)  # (B, T, C)

        # The residual stream passes through every block
        for layer, block in enumerate(self.blocks):
            resid = block(resid, attn_mask, cache, layer)

        # Final norm and the linear head to vocabulary logits
        logits = self.logits(self.lm_head(self.ln_f(self.norm_f(resid))))  # (B, T, V)

        # Mean negative log-likelihood of the targets
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
        return GPTOutput(logits, loss)

    def _check_ids(self, ids: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor):
            raise TypeError(
                f"GPT.forward(): ids must be a torch.Tensor of token ids, got {type(ids).__name__}; "
                "use torch.tensor([ids]) or tokenizer.encode(text)"
            )
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise TypeError(
                f"GPT.forward(): ids must be an integer tensor, got dtype {ids.dtype}; "
                "token ids are indices, convert with ids.long()"
            )
        if ids.dim() == 1:
            ids = ids.unsqueeze(0)
        if ids.dim() != 2:
            raise ValueError(f"GPT.forward(): ids must have shape (B, T) or (T,), got {tuple(ids.shape)}")
        T = ids.shape[1]
        if T == 0 or ids.shape[0] == 0:
            raise ValueError(
                f"GPT.forward(): ids are empty (shape {tuple(ids.shape)}); "
                "pass at least one token, for example the <|endoftext|> id"
            )
        start = cache.length if cache is not None else 0
        if start + T > self.config.block_size:
            cached = f" after {start} cached positions" if start else ""
            raise ValueError(
                f"GPT.forward(): sequence length {start + T}{cached} exceeds the context length "
                f"block_size={self.config.block_size}; keep only the last {self.config.block_size} tokens"
            )
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= self.config.vocab_size:
            bad = low if low < 0 else high
            raise ValueError(
                f"GPT.forward(): token id {bad} is outside the vocabulary [0, {self.config.vocab_size}); "
                "check that the tokenizer matches the model"
            )
        return ids.to(self.device)

    def _check_mask(self, attn_mask: torch.Tensor, T: int) -> torch.Tensor:
        if not isinstance(attn_mask, torch.Tensor) or attn_mask.dtype != torch.bool:
            raise TypeError(
                "GPT.forward(): attn_mask must be a boolean tensor (True = may attend), "
                f"got {getattr(attn_mask, 'dtype', type(attn_mask).__name__)}"
            )
        if attn_mask.dim() < 2 or tuple(attn_mask.shape[-2:]) != (T, T):
            raise ValueError(
                f"GPT.forward(): attn_mask must end in ({T}, {T}) for {T} tokens, got {tuple(attn_mask.shape)}"
            )
        return attn_mask.to(self.device)

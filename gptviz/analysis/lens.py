"""Logit lens: decode the residual stream before every block as if it were the last one."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gptviz.analysis._checks import require_recorded, require_trace, token_strings
from gptviz.model import GPT
from gptviz.tracing import Trace


@dataclass(frozen=True)
class LogitLens:
    """Early decodings of the residual stream, one row per stream S = L + 1.

    Row i < L decodes ``blocks.{i}.resid_pre`` (row 0 is the embeddings); row L decodes
    ``blocks.{L-1}.resid_post``, the final stream, so its predictions are the model's own.

    Attributes:
        stream_names: the S hook names that were decoded, in order.
        top_ids: (S, T, k) most likely next-token ids at each stream and position.
        top_probs: (S, T, k) their probabilities, in [0, 1], descending.
        top_tokens: S lists of T display strings of the top-1 prediction.
        target_probs: (S, T - 1) probability of the actual next token ids[t + 1] when
            decoding at position t, in [0, 1] (the token_logprobs convention: position t
            predicts token t + 1).
        target_ranks: (S, T - 1) rank of the actual next token, 1 for the top prediction.
        tokens: display strings of the traced tokens (T,).
    """

    stream_names: list[str]
    top_ids: torch.Tensor
    top_probs: torch.Tensor
    top_tokens: list[list[str]]
    target_probs: torch.Tensor
    target_ranks: torch.Tensor
    tokens: list[str]


def decode_stream(model: GPT, resid: torch.Tensor) -> torch.Tensor:
    """Decode a residual stream to next-token probabilities with the model's own head.

    Args:
        model: the `GPT` that produced the stream.
        resid: (T, C) residual stream.

    Returns:
        (T, V) probabilities: softmax(lm_head(norm_f(resid))).
    """
    with torch.no_grad():
        logits = model.lm_head(model.norm_f(resid.to(model.device)))  # (T, V)
    return torch.softmax(logits.double(), dim=-1).cpu()


def logit_lens(model: GPT, trace: Trace, *, k: int = 5, tokenizer: object | None = None) -> LogitLens:
    """Decode the stream entering each block, and the final stream, through the final norm and head.

    Args:
        model: the `GPT` the trace came from.
        trace: a `Trace` with ``blocks.*.resid_pre`` and the last ``resid_post`` recorded.
        k: number of top predictions kept per stream and position (clipped to V).
        tokenizer: a `Tokenizer` for the prediction labels; without one they are the ids.

    Returns:
        `LogitLens`; its last row equals ``softmax(trace.logits)``.

    Example:
        >>> import gptviz
        >>> from gptviz.analysis import logit_lens
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny())
        >>> lens = logit_lens(model, gptviz.trace(model, [3, 1, 4, 1, 5]), k=3)
        >>> lens.top_ids.shape, lens.target_probs.shape
        (torch.Size([3, 5, 3]), torch.Size([3, 4]))
    """
    caller = "logit_lens()"
    if not isinstance(model, GPT):
        raise TypeError(f"{caller}: expected a gptviz.GPT as model, got {type(model).__name__}")
    require_trace(trace, caller)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{caller}: k must be a positive int, got {k!r}")
    L = trace.n_layer
    names = [f"blocks.{i}.resid_pre" for i in range(L)] + [f"blocks.{L - 1}.resid_post"]
    require_recorded(trace, names, caller)
    if trace[names[0]].shape[-1] != model.config.n_embd:
        raise ValueError(
            f"{caller}: the trace has width {trace[names[0]].shape[-1]} but the model has "
            f"n_embd={model.config.n_embd}; pass the model that made the trace"
        )

    targets = trace.ids[1:]  # (T - 1,)
    top_ids, top_probs, target_probs, target_ranks = [], [], [], []
    for name in names:
        probs = decode_stream(model, trace[name])  # (T, V)
        values, indices = probs.topk(min(k, probs.shape[-1]), dim=-1)  # (T, k)
        top_ids.append(indices)
        top_probs.append(values.float())
        target = probs[:-1].gather(1, targets.unsqueeze(1))  # (T - 1, 1)
        target_probs.append(target.squeeze(1).float())
        target_ranks.append((probs[:-1] > target).sum(dim=-1) + 1)
    top_tokens = [token_strings(ids[:, 0].tolist(), tokenizer) for ids in top_ids]
    return LogitLens(
        stream_names=names,
        top_ids=torch.stack(top_ids),
        top_probs=torch.stack(top_probs),
        top_tokens=top_tokens,
        target_probs=torch.stack(target_probs),
        target_ranks=torch.stack(target_ranks),
        tokens=list(trace.tokens),
    )

"""Tensor maths behind the views and widgets: logit lens, head metrics, attention arithmetic.

Every function takes a `Trace` or tensors and returns tensors (or small dataclasses of
tensors), so figures and widgets only draw.
"""

from __future__ import annotations

from gptviz.analysis.attention import AttentionSteps, attention_steps, attention_steps_qk
from gptviz.analysis.distribution import TopK, top_k
from gptviz.analysis.heads import (
    HeadMetrics,
    attention_entropy,
    first_token_attention,
    head_metrics,
    induction_score,
    induction_targets,
    previous_token_score,
)
from gptviz.analysis.lens import LogitLens, decode_stream, logit_lens
from gptviz.analysis.positional import positional_similarity
from gptviz.analysis.residual import BlockContributions, block_contributions, residual_norms, stream_names

__all__ = [
    "AttentionSteps",
    "BlockContributions",
    "HeadMetrics",
    "LogitLens",
    "TopK",
    "attention_entropy",
    "attention_steps",
    "attention_steps_qk",
    "block_contributions",
    "decode_stream",
    "first_token_attention",
    "head_metrics",
    "induction_score",
    "induction_targets",
    "logit_lens",
    "positional_similarity",
    "previous_token_score",
    "residual_norms",
    "stream_names",
    "top_k",
]

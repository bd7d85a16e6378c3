"""Plotly views of every recorded quantity: a Trace or tensors in, a Figure out.

Every function here is pure: it builds a `plotly.graph_objects.Figure` and neither
displays it nor touches the network. Token text is escaped wherever it is drawn, and in
every attention view rows are queries and columns are keys.
"""

from __future__ import annotations

from gptviz.viz._style import escape_text, token_labels, visible_whitespace
from gptviz.viz.arithmetic import attention_arithmetic
from gptviz.viz.attention import attention_grid, attention_heatmap, attention_lines
from gptviz.viz.distribution import next_token_bars
from gptviz.viz.export import to_html
from gptviz.viz.generation import continuation_tree, sampling_distribution
from gptviz.viz.heads import head_summary
from gptviz.viz.ledger import chain_rule_ledger, token_probability_text
from gptviz.viz.lens import logit_lens_heatmap
from gptviz.viz.masks import causal_mask_matrix
from gptviz.viz.positional import (
    positional_comparison,
    positional_curves,
    positional_heatmap,
    positional_similarity_matrix,
)
from gptviz.viz.residual import block_contribution_heatmap, residual_norm_heatmap
from gptviz.viz.training import loss_curves

__all__ = [
    "attention_arithmetic",
    "attention_grid",
    "attention_heatmap",
    "attention_lines",
    "block_contribution_heatmap",
    "causal_mask_matrix",
    "chain_rule_ledger",
    "continuation_tree",
    "escape_text",
    "head_summary",
    "logit_lens_heatmap",
    "loss_curves",
    "next_token_bars",
    "positional_comparison",
    "positional_curves",
    "positional_heatmap",
    "positional_similarity_matrix",
    "residual_norm_heatmap",
    "sampling_distribution",
    "to_html",
    "token_labels",
    "token_probability_text",
    "visible_whitespace",
]

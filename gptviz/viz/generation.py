"""Generation: the distribution one step sampled from, and the tree of continuations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gptviz.generation.records import StepRecord
from gptviz.generation.tree import ContinuationTree, TreeNode
from gptviz.viz import _style


def sampling_distribution(step: StepRecord, *, k: int | None = None, title: str | None = None) -> go.Figure:
    """Draw one generation step's candidates: raw and sampled probabilities, filtered ones greyed out.

    For each candidate (most probable first) two bars: the raw probability (temperature 1,
    no filters) and the probability in the distribution actually sampled from. Tokens that
    top-k or top-p (or greedy decoding) removed have a sampled probability of 0, and their
    raw bar is grey. The chosen token's bars have a red outline.

    Args:
        step: a `gptviz.generation.StepRecord`.
        k: draw only the first k candidates; None draws all of them.
        title: figure title (shown as plain text).

    Returns:
        Figure with two bar traces over the same candidates: ``data[0]`` raw, ``data[1]``
        sampled probabilities. Each ``customdata`` row is (token id, filter name or "kept").

    Example:
        >>> import gptviz
        >>> from gptviz.tokenizer import Tokenizer
        >>> tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
        ...                            special_tokens={"<|endoftext|>": 256})
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()
        >>> record = next(gptviz.generation.steps(model, tok, "Hi", 1, top_k=3, seed=0))
        >>> fig = gptviz.viz.sampling_distribution(record)
        >>> [int(p > 0) for p in fig.data[1].y][:4]
        [1, 1, 1, 0]
    """
    if not isinstance(step, StepRecord):
        raise TypeError(
            "sampling_distribution(): expected a StepRecord from gptviz.generation.steps(), "
            f"got {type(step).__name__}"
        )
    candidates = step.candidates if k is None else step.candidates[:k]
    labels = _style.token_labels([candidate.token for candidate in candidates])
    status = [candidate.filtered_by or "kept" for candidate in candidates]
    rows = [[candidate.id, reason] for candidate, reason in zip(candidates, status)]
    customdata = np.array(rows, dtype=object).reshape(-1, 2)
    chosen = [candidate.id == step.chosen_id for candidate in candidates]
    outline = {"color": [_style.HIGHLIGHT_COLOR if flag else "rgba(0,0,0,0)" for flag in chosen], "width": 2}
    raw_colors = ["#9ecae1" if reason == "kept" else _style.FILTERED_COLOR for reason in status]
    fig = go.Figure([
        go.Bar(x=labels, y=[candidate.raw_prob for candidate in candidates], name="raw (temperature 1, no filter)",
               customdata=customdata, marker={"color": raw_colors, "line": outline},
               hovertemplate="%{x} (id %{customdata[0]})<br>raw p = %{y:.6f}<br>%{customdata[1]}<extra></extra>"),
        go.Bar(x=labels, y=[candidate.sampled_prob for candidate in candidates], name="sampled from",
               customdata=customdata, marker={"color": _style.BAR_COLOR, "line": outline},
               hovertemplate="%{x} (id %{customdata[0]})<br>sampled p = %{y:.6f}<br>%{customdata[1]}<extra></extra>"),
    ])
    chosen_text = _style.escape_text(_style.visible_whitespace(step.chosen_token))
    default = (f"Step {step.index}: chose {chosen_text} (p = {step.sampled_prob:.4f}); "
               f"{step.nucleus_size} tokens kept, entropy {step.entropy:.3f} nats")
    _style.base_layout(fig, _style.escape_text(title) if title else default, barmode="group")
    fig.update_xaxes(title_text="candidate next token", type="category")
    fig.update_yaxes(title_text="probability", range=[0, 1])
    return fig


def _leaf_order(nodes: Sequence[TreeNode]) -> dict[int, float]:
    """Vertical position of each node: leaves 0, 1, 2... in depth-first order, parents centred."""
    children: dict[int, list[int]] = {node.node_id: [] for node in nodes}
    for node in nodes:
        if node.parent is not None:
            children[node.parent].append(node.node_id)
    order: dict[int, float] = {}
    next_leaf = 0.0
    stack: list[tuple[int, bool]] = [(nodes[0].node_id, False)]
    while stack:
        node_id, expanded = stack.pop()
        if not children[node_id]:
            order[node_id], next_leaf = next_leaf, next_leaf + 1
        elif expanded:
            order[node_id] = float(np.mean([order[child] for child in children[node_id]]))
        else:
            stack.append((node_id, True))
            stack.extend((child, False) for child in reversed(children[node_id]))
    return order


def continuation_tree(tree: ContinuationTree | Sequence[TreeNode], *, title: str | None = None) -> go.Figure:
    """Draw the tree of continuations: depth left to right, one node per token.

    Nodes are coloured by the cumulative log-probability of their path (sum of log p of
    the tokens from the prompt root to the node, in nats) and labelled with their token.

    Args:
        tree: a `gptviz.generation.ContinuationTree`, or its ``nodes`` (node 0 the root).
        title: figure title (shown as plain text).

    Returns:
        Figure: ``data[0]`` the edges, ``data[1]`` the nodes in node-id order, with x the
        depth, ``marker.color`` the cumulative log-probability and ``customdata``
        (node id, token log p, cumulative log p).

    Example:
        >>> import gptviz
        >>> from gptviz.tokenizer import Tokenizer
        >>> tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
        ...                            special_tokens={"<|endoftext|>": 256})
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()
        >>> tree = gptviz.generation.ContinuationTree(model, tok, "Hi", temperature=0)
        >>> path = tree.extend(0, 2)
        >>> list(gptviz.viz.continuation_tree(tree).data[1].x)
        [0, 1, 2]
    """
    nodes = list(tree.nodes if isinstance(tree, ContinuationTree) else tree)
    if not nodes or not all(isinstance(node, TreeNode) for node in nodes):
        raise TypeError("continuation_tree(): expected a ContinuationTree or a non-empty list of TreeNode")
    order = _leaf_order(nodes)
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for node in nodes:
        if node.parent is not None:
            parent = nodes[node.parent]
            edge_x += [parent.depth, node.depth, None]
            edge_y += [order[parent.node_id], order[node.node_id], None]
    texts = _style.token_texts([node.token for node in nodes])
    cumulative = [node.cumulative_logprob for node in nodes]
    fig = go.Figure([
        go.Scatter(x=edge_x, y=edge_y, mode="lines", line={"color": "#999999"}, hoverinfo="skip",
                   showlegend=False, name="edges"),
        go.Scatter(
            x=[node.depth for node in nodes], y=[order[node.node_id] for node in nodes], text=texts,
            mode="markers+text", textposition="top center", showlegend=False, name="tokens",
            customdata=[[node.node_id, node.logprob, node.cumulative_logprob] for node in nodes],
            marker={"size": 14, "color": cumulative, "colorscale": _style.MAGNITUDE_SCALE, "cmax": 0.0,
                    "colorbar": {"title": {"text": "cumulative log p"}}, "line": {"color": "#333333", "width": 1}},
            hovertemplate="node %{customdata[0]}: %{text}<br>log p = %{customdata[1]:.4f}"
                          "<br>cumulative log p = %{customdata[2]:.4f}<extra></extra>",
        ),
    ])
    _style.base_layout(fig, _style.escape_text(title or "Continuations and their cumulative log-probabilities"),
                       height=max(300, 80 + 50 * (max(order.values()) + 1)))
    fig.update_xaxes(title_text="generated tokens (depth)", dtick=1)
    # Reversed range with room above the top node for its label
    fig.update_yaxes(visible=False, range=[max(order.values()) + 0.5, -0.8])
    return fig

"""The next-token distribution at one position: top-k bars, with the actual next token marked."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from gptviz.analysis._checks import token_strings
from gptviz.analysis.distribution import top_k
from gptviz.tracing import Trace
from gptviz.viz import _style
from gptviz.viz._data import as_array, check_index


def next_token_bars(
    data: Trace | torch.Tensor | np.ndarray,
    position: int | None = None,
    *,
    k: int = 10,
    target: int | None = None,
    tokenizer: object | None = None,
    title: str | None = None,
) -> go.Figure:
    """Draw the k most likely next tokens at one position as bars, marking the actual next token.

    With a Trace, position t shows p(. | ids[0..t]) and the actual next token is ids[t + 1]
    (none at the last position). When that token is outside the top k it is added as an
    extra bar after them. Its rank (1 = most likely) is in the title.

    Args:
        data: a `Trace`, or probabilities (V,) of one distribution.
        position: the position whose prediction to show (with a Trace).
        k: number of most likely tokens to draw.
        target: the token id to mark; defaults to ids[position + 1] for a Trace.
        tokenizer: a `Tokenizer` to label the bars; without one the labels are the ids.
        title: figure title (shown as plain text).

    Returns:
        Figure with one bar trace: ``x`` the token labels, ``y`` the probabilities,
        ``customdata`` the token ids; the marked bar is red.

    Example:
        >>> import gptviz
        >>> tr = gptviz.trace(gptviz.GPT(gptviz.GPTConfig.tiny()), [3, 1, 4, 1, 5])
        >>> fig = gptviz.viz.next_token_bars(tr, 1, k=3)
        >>> len(fig.data[0].y) in (3, 4)
        True
    """
    caller = "next_token_bars()"
    context = ""
    if isinstance(data, Trace):
        position = check_index(position, len(data), caller, "position")
        probs = torch.softmax(data.logits[position].double(), dim=-1)  # (V,)
        if target is None and position + 1 < len(data):
            target = int(data.ids[position + 1])
        shown = _style.token_texts([data.tokens[position]])[0]
        context = f"after position {position} ({shown}): "
    else:
        values = as_array(data, caller, "data")
        if values.ndim != 1:
            raise ValueError(f"{caller}: expected a Trace or probabilities of shape (V,), got {values.shape}")
        probs = torch.from_numpy(values)
    result = top_k(probs, k, target)

    ids = result.ids.tolist()
    shown_probs = result.probs.double().tolist()
    if result.target_id is not None and result.target_id not in ids:
        ids.append(result.target_id)
        shown_probs.append(result.target_prob)
    labels = _style.token_labels(token_strings(ids, tokenizer))
    colors = [_style.HIGHLIGHT_COLOR if token_id == result.target_id else _style.BAR_COLOR for token_id in ids]
    fig = go.Figure(go.Bar(
        x=labels, y=shown_probs, customdata=ids, marker={"color": colors},
        hovertemplate="token %{x} (id %{customdata})<br>p = %{y:.6f}<extra></extra>",
    ))
    if result.target_id is not None:
        target_label = labels[ids.index(result.target_id)]
        summary = f"actual next token {target_label} has rank {result.target_rank}, p = {result.target_prob:.4f}"
    else:
        summary = f"top {len(result.ids)} next tokens"
    _style.base_layout(fig, _style.escape_text(title) if title else context + summary)
    fig.update_xaxes(title_text="next token", type="category")
    fig.update_yaxes(title_text="probability", range=[0, 1])
    return fig

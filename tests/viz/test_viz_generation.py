"""Generation views: the sampled distribution of a step and the continuation tree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gptviz
from gptviz import viz
from gptviz.generation import ContinuationTree, steps
from gptviz.tokenizer import Tokenizer


@pytest.fixture
def byte_tokenizer() -> Tokenizer:
    ranks = {bytes([i]): i for i in range(256)}
    return Tokenizer.from_ranks(ranks, name="bytes", special_tokens={"<|endoftext|>": 256})


@pytest.fixture
def byte_model() -> gptviz.GPT:
    torch.manual_seed(0)
    return gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()


def test_sampling_bars_equal_candidates(byte_model, byte_tokenizer) -> None:
    record = list(steps(byte_model, byte_tokenizer, "ab", 2, top_k=4, seed=1))[-1]
    fig = viz.sampling_distribution(record)
    raw, sampled = fig.data
    assert list(raw.y) == pytest.approx([c.raw_prob for c in record.candidates])
    assert list(sampled.y) == pytest.approx([c.sampled_prob for c in record.candidates])
    assert [int(row[0]) for row in raw.customdata] == [c.id for c in record.candidates]
    assert list(sampled.y) == pytest.approx([float(record.sampled_probs[c.id]) for c in record.candidates])


def test_filtered_tokens_are_greyed(byte_model, byte_tokenizer) -> None:
    record = next(steps(byte_model, byte_tokenizer, "ab", 1, top_k=3, seed=0))
    fig = viz.sampling_distribution(record)
    reasons = [row[1] for row in fig.data[0].customdata]
    assert reasons[:3] == ["kept"] * 3
    assert set(reasons[3:]) == {"top_k"}
    colors = list(fig.data[0].marker.color)
    assert all(color == viz._style.FILTERED_COLOR for color in colors[3:])
    assert all(color != viz._style.FILTERED_COLOR for color in colors[:3])
    assert list(fig.data[1].y)[3:] == [0.0] * (len(colors) - 3)


def test_top_p_filter_is_named(byte_model, byte_tokenizer) -> None:
    record = next(steps(byte_model, byte_tokenizer, "ab", 1, top_p=0.01, seed=0))
    reasons = [row[1] for row in viz.sampling_distribution(record).data[0].customdata]
    assert "top_p" in reasons


def test_chosen_token_outlined(byte_model, byte_tokenizer) -> None:
    record = next(steps(byte_model, byte_tokenizer, "ab", 1, temperature=0))
    fig = viz.sampling_distribution(record)
    outline = list(fig.data[1].marker.line.color)
    chosen = [c.id for c in record.candidates].index(record.chosen_id)
    assert outline[chosen] == viz._style.HIGHLIGHT_COLOR
    assert outline.count(viz._style.HIGHLIGHT_COLOR) == 1


def test_tree_nodes_equal_tree(byte_model, byte_tokenizer) -> None:
    tree = ContinuationTree(byte_model, byte_tokenizer, "Hi", temperature=0)
    greedy = tree.extend(0, 3)
    tree.fork(greedy[0], token_id=ord("!"), n_tokens=2)
    fig = viz.continuation_tree(tree)
    nodes = fig.data[1]
    assert list(nodes.x) == [node.depth for node in tree.nodes]
    assert list(nodes.marker.color) == pytest.approx([node.cumulative_logprob for node in tree.nodes])
    customdata = np.asarray(nodes.customdata, dtype=float)
    np.testing.assert_allclose(customdata[:, 1], [node.logprob for node in tree.nodes])
    edges = [(x, y) for x, y in zip(fig.data[0].x, fig.data[0].y) if x is not None]
    assert len(edges) == 2 * (len(tree.nodes) - 1)


def test_tree_leaves_do_not_overlap(byte_model, byte_tokenizer) -> None:
    tree = ContinuationTree(byte_model, byte_tokenizer, "Hi", temperature=0)
    first = tree.extend(0, 2)
    tree.fork(0, token_id=ord("a"), n_tokens=2)
    tree.fork(first[0], token_id=ord("b"), n_tokens=1)
    nodes = viz.continuation_tree(tree).data[1]
    leaf_ids = [leaf.node_id for leaf in tree.leaves()]
    leaf_y = [nodes.y[i] for i in leaf_ids]
    assert len(set(leaf_y)) == len(leaf_ids)

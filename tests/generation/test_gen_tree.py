"""Continuation trees: extend, fork by token or seed, paths and cumulative log-probabilities."""

from __future__ import annotations

import pytest
import torch

from gptviz.generation import ContinuationTree, steps


def test_root_is_prompt(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "Hi")
    root = tree.nodes[0]
    assert (root.node_id, root.parent, root.token_id, root.depth, root.step) == (0, None, None, 0, None)
    assert root.token == "Hi"
    assert tree.text(0) == ""
    assert tree.leaves() == [root]


def test_extend_matches_steps(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "Hi", temperature=1.2, seed=7)
    path_ids = tree.extend(0, 6)
    expected = [rec.chosen_id for rec in steps(model, tokenizer, "Hi", 6, temperature=1.2, seed=7)]
    assert [tree.nodes[i].token_id for i in path_ids] == expected
    assert tree.ids(path_ids[-1]) == tokenizer.encode("Hi") + expected


def test_extend_in_parts_equals_one_call(model, tokenizer):
    whole = ContinuationTree(model, tokenizer, "ab", seed=3)
    parts = ContinuationTree(model, tokenizer, "ab", seed=3)
    single_call = whole.extend(0, 6)
    first = parts.extend(0, 2)
    rest = parts.extend(first[-1], 4)
    assert [whole.nodes[i].token_id for i in single_call] == [parts.nodes[i].token_id for i in first + rest]


def test_cumulative_logprob_sums_path(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "ab", seed=0)
    leaf = tree.extend(0, 5)[-1]
    path = tree.path(leaf)
    assert [node.depth for node in path] == list(range(6))
    assert tree.nodes[leaf].cumulative_logprob == pytest.approx(sum(n.logprob for n in path))
    # The sum equals the chain-rule log-probability from one forward pass
    ids = tree.ids(leaf)
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([ids])).logits[0], -1)
    chain = sum(float(logprobs[t - 1, ids[t]]) for t in range(2, len(ids)))
    assert tree.nodes[leaf].cumulative_logprob == pytest.approx(chain, abs=1e-4)


def test_fork_with_token_branches(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "ab", temperature=0)
    main = tree.extend(0, 4)
    branch = tree.fork(main[1], token_id=ord("Z"), n_tokens=3)
    first = tree.nodes[branch[0]]
    assert first.parent == main[1]
    assert first.token == "Z"
    assert first.step.chosen_by == "forced"
    assert tree.children(main[1]) == [tree.nodes[main[2]], first]
    assert {leaf.node_id for leaf in tree.leaves()} == {main[-1], branch[-1]}
    assert tree.text(branch[-1]).startswith(tree.text(main[1]) + "Z")
    # The branch after the forced token is the greedy continuation of its own context
    ids = tree.ids(branch[0])
    with torch.no_grad():
        expected = int(model(torch.tensor([ids])).logits[0, -1].argmax())
    assert tree.nodes[branch[1]].token_id == expected


def test_fork_with_seed_differs_and_reproduces(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "ab", temperature=2.0, seed=0)
    tree.extend(0, 5)
    branches = [tree.fork(0, seed=s, n_tokens=5) for s in (1, 2)]
    tokens = [[tree.nodes[i].token_id for i in b] for b in branches]
    assert tokens[0] != tokens[1]
    fresh = ContinuationTree(model, tokenizer, "ab", temperature=2.0, seed=0)
    again = fresh.fork(0, seed=1, n_tokens=5)
    assert [fresh.nodes[i].token_id for i in again] == tokens[0]


def test_same_token_reuses_child(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "ab", temperature=0)
    first = tree.extend(0, 3)
    second = tree.extend(0, 3)
    assert first == second
    assert len(tree.nodes) == 4


def test_fork_overrides_sampling(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "ab", temperature=1.0, seed=0)
    greedy = tree.fork(0, n_tokens=3, temperature=0)
    assert all(tree.nodes[i].step.chosen_by == "greedy" for i in greedy)
    with pytest.raises(ValueError, match="top_p"):
        tree.fork(0, top_p=2.0)


def test_invalid_node_raises(model, tokenizer):
    tree = ContinuationTree(model, tokenizer, "ab")
    with pytest.raises(ValueError, match="node_id"):
        tree.extend(5, 1)
    with pytest.raises(ValueError, match="n_tokens"):
        tree.fork(0, n_tokens=0)

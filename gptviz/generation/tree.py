"""`ContinuationTree`: branch a generation at any step and compare the paths.

Node 0 is the prompt. Every other node is one token appended to its parent's sequence and
keeps the `StepRecord` of the step that produced it, so a widget can draw the tree with the
distributions at every branch point. Each node stores the log-probability of its token
under the raw model distribution (temperature 1, no filters) and the sum along its path.
Paths are therefore compared by how probable the model finds them, whatever sampling
settings produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from gptviz.generation.records import StepRecord
from gptviz.generation.sampling import SamplingConfig
from gptviz.generation.inputs import Prompt, RecordSelector, check_count
from gptviz.generation.stepper import UNCHANGED, Stepper, updated_sampling
from gptviz.model import GPT

@dataclass
class TreeNode:
    """One token of a continuation (or the prompt, for node 0).

    Attributes:
        node_id: index in `ContinuationTree.nodes`.
        parent: id of the parent node; None for the root.
        token_id: the appended token; None for the root.
        token: display string of the token; for the root, the prompt's display text.
        logprob: natural log-probability of the token under the raw model distribution,
            given the path before it; 0 for the root.
        cumulative_logprob: sum of ``logprob`` from the root to this node.
        depth: number of generated tokens on the path (0 for the root).
        step: the record of the step that chose this token; None for the root.
        children: ids of the child nodes, in creation order.
    """

    node_id: int
    parent: int | None
    token_id: int | None
    token: str
    logprob: float
    cumulative_logprob: float
    depth: int
    step: StepRecord | None
    children: list[int] = field(default_factory=list)
    rng_state: torch.Tensor | None = field(default=None, repr=False)  # generator state after the step


class ContinuationTree:
    """A tree of continuations of one prompt, grown by `extend` and `fork`.

    Args:
        model, tokenizer, prompt, temperature, top_k, top_p, seed, record, use_cache,
        n_candidates: as for `gptviz.generation.steps`; the sampling settings are the
            defaults for every `extend` and `fork`, which can override them per call.

    Growing a path never duplicates a token: when a step chooses a token that its node
    already has as a child, the path continues through that existing child.

    Example:
        >>> import gptviz
        >>> from gptviz.tokenizer import Tokenizer
        >>> tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
        ...                            special_tokens={"<|endoftext|>": 256})
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()
        >>> tree = ContinuationTree(model, tok, "Hi", temperature=0)
        >>> greedy = tree.extend(0, 3)
        >>> other = tree.fork(greedy[0], token_id=ord("!"), n_tokens=2)
        >>> len(tree.leaves()), tree.nodes[other[0]].token
        (2, '!')
    """

    def __init__(
        self,
        model: GPT,
        tokenizer: Any,
        prompt: Prompt = "",
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        record: RecordSelector = None,
        use_cache: bool = True,
        n_candidates: int = 10,
    ) -> None:
        self._settings = dict(record=record, use_cache=use_cache, n_candidates=n_candidates)
        root_stepper = Stepper(
            model, tokenizer, prompt, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
            **self._settings,
        )
        self.model = model
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.prompt_ids = root_stepper.prompt_ids
        self.sampling = root_stepper.sampling
        self.seed = root_stepper.seed
        prompt_text = "".join(tokenizer.token_strings(self.prompt_ids))
        root = TreeNode(0, None, None, prompt_text, 0.0, 0.0, 0, None, rng_state=root_stepper.rng_state())
        self.nodes: list[TreeNode] = [root]

    # Growing -------------------------------------------------------------------------------

    def extend(
        self,
        node_id: int,
        n_tokens: int,
        *,
        seed: int | None = None,
        temperature: float = UNCHANGED,
        top_k: int | None = UNCHANGED,
        top_p: float | None = UNCHANGED,
    ) -> list[int]:
        """Continue the path ending at ``node_id`` by ``n_tokens`` tokens.

        Args:
            node_id: node to continue from (0 for the prompt).
            n_tokens: number of tokens to add (>= 0).
            seed: None continues the node's random stream, so extending a path in two calls
                gives the same tokens as one call. An int starts a fresh stream.
            temperature, top_k, top_p: override the tree's sampling settings for this call.

        Returns:
            Ids of the nodes along the new part of the path, in order.
        """
        n_tokens = check_count(n_tokens, "n_tokens", minimum=0)
        sampling = updated_sampling(self.sampling, temperature, top_k, top_p, caller="ContinuationTree.extend()")
        return self._grow(node_id, n_tokens, None, seed, sampling)

    def fork(
        self,
        node_id: int,
        token_id: int | None = None,
        seed: int | None = None,
        n_tokens: int = 1,
        *,
        temperature: float = UNCHANGED,
        top_k: int | None = UNCHANGED,
        top_p: float | None = UNCHANGED,
    ) -> list[int]:
        """Start a branch at ``node_id``: a chosen first token, or another random seed.

        Args:
            node_id: node whose sequence the branch continues.
            token_id: first token of the branch (its record shows ``chosen_by="forced"``);
                None samples it.
            seed: seed of the branch's random stream; None with no ``token_id`` draws a new
                random seed, None with a ``token_id`` continues the node's stream.
            n_tokens: tokens in the branch including the first (>= 1).
            temperature, top_k, top_p: override the tree's sampling settings for this branch.

        Returns:
            Ids of the nodes along the branch, in order. A sampled first token that the node
            already has as a child continues through that child.
        """
        n_tokens = check_count(n_tokens, "n_tokens", minimum=1)
        if token_id is None and seed is None:
            seed = int(torch.Generator().seed())
        sampling = updated_sampling(self.sampling, temperature, top_k, top_p, caller="ContinuationTree.fork()")
        return self._grow(node_id, n_tokens, token_id, seed, sampling)

    # Reading -------------------------------------------------------------------------------

    def path(self, node_id: int) -> list[TreeNode]:
        """Return the nodes from the root to ``node_id``, root first."""
        node = self._node(node_id)
        nodes = [node]
        while node.parent is not None:
            node = self.nodes[node.parent]
            nodes.append(node)
        return nodes[::-1]

    def ids(self, node_id: int) -> list[int]:
        """Return the full token sequence at ``node_id``: prompt ids then generated ids."""
        return self.prompt_ids + [node.token_id for node in self.path(node_id)[1:]]

    def text(self, node_id: int) -> str:
        """Return the generated text up to ``node_id``, complete characters only.

        Trailing bytes of an unfinished character are in ``nodes[node_id].step.pending_bytes``.
        """
        step = self._node(node_id).step
        return step.text if step is not None else ""

    def children(self, node_id: int) -> list[TreeNode]:
        return [self.nodes[child] for child in self._node(node_id).children]

    def leaves(self) -> list[TreeNode]:
        """Return the nodes without children, in creation order."""
        return [node for node in self.nodes if not node.children]

    # Internals -----------------------------------------------------------------------------

    def _grow(
        self, node_id: int, n_tokens: int, first_token: int | None, seed: int | None, sampling: SamplingConfig
    ) -> list[int]:
        stepper = self._stepper_at(node_id, seed, sampling)
        current = self._node(node_id)
        visited: list[int] = []
        for position in range(n_tokens):
            rec = stepper.step(first_token if position == 0 else None)
            current = self._child_for(current, rec, stepper.rng_state())
            visited.append(current.node_id)
        return visited

    def _stepper_at(self, node_id: int, seed: int | None, sampling: SamplingConfig) -> Stepper:
        """Build a Stepper positioned at ``node_id`` by replaying the path's records."""
        stepper = Stepper(
            self.model, self.tokenizer, self.prompt_ids, temperature=sampling.temperature,
            top_k=sampling.top_k, top_p=sampling.top_p, seed=self.seed if seed is None else seed,
            **self._settings,
        )
        path = self.path(node_id)
        for node in path[1:]:
            assert node.step is not None
            stepper.replay(node.step)
        if seed is None:
            rng_state = path[-1].rng_state
            assert rng_state is not None
            stepper.set_rng_state(rng_state)
        return stepper

    def _child_for(self, parent: TreeNode, rec: StepRecord, rng_state: torch.Tensor) -> TreeNode:
        """Return the child of ``parent`` with the record's token, creating it if needed."""
        for child_id in parent.children:
            child = self.nodes[child_id]
            if child.token_id == rec.chosen_id:
                return child
        child = TreeNode(
            node_id=len(self.nodes),
            parent=parent.node_id,
            token_id=rec.chosen_id,
            token=rec.chosen_token,
            logprob=rec.logprob_raw,
            cumulative_logprob=parent.cumulative_logprob + rec.logprob_raw,
            depth=parent.depth + 1,
            step=rec,
            rng_state=rng_state,
        )
        self.nodes.append(child)
        parent.children.append(child.node_id)
        return child


    def _node(self, node_id: int) -> TreeNode:
        if isinstance(node_id, bool) or not isinstance(node_id, int) or not 0 <= node_id < len(self.nodes):
            raise ValueError(
                f"ContinuationTree: node_id must be an int in [0, {len(self.nodes)}), got {node_id!r}"
            )
        return self.nodes[node_id]

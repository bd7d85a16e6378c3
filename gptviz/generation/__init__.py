"""Step-by-step generation: sampling controls, KV cache, step records, continuation trees.

- `steps` yields one `StepRecord` per new token; `generate` is the plain form.
- `Stepper` is the same loop as an object that steps forward, back, and with forced tokens.
- `ContinuationTree` branches a generation at any step and keeps each path's log-probability.

Context overflow: past ``block_size`` tokens, each step runs on the most recent ``block_size``
tokens (a sliding window, flagged by ``StepRecord.window_moved``). An empty prompt starts
from the ``<|endoftext|>`` token.
"""

from gptviz.generation.api import Generation, generate, steps
from gptviz.generation.records import Candidate, StepRecord
from gptviz.generation.sampling import SamplingConfig, apply_sampling, check_sampling_args
from gptviz.generation.inputs import prompt_to_ids, start_token_id
from gptviz.generation.stepper import Stepper
from gptviz.generation.textstream import TextStream
from gptviz.generation.tree import ContinuationTree, TreeNode

__all__ = [
    "Candidate",
    "ContinuationTree",
    "Generation",
    "SamplingConfig",
    "StepRecord",
    "Stepper",
    "TextStream",
    "TreeNode",
    "apply_sampling",
    "check_sampling_args",
    "generate",
    "prompt_to_ids",
    "start_token_id",
    "steps",
]

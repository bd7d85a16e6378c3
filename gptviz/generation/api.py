"""`steps` and `generate`: the next-token loop as a stream of step records, and its plain form.

Both run on a `Stepper`, so they share its behaviour on context overflow (a sliding window
of the last ``block_size`` tokens, flagged by ``StepRecord.window_moved``) and on an empty
prompt (generation starts from the ``<|endoftext|>`` token).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gptviz.generation.records import StepRecord
from gptviz.generation.inputs import Prompt, RecordSelector, check_count
from gptviz.generation.stepper import Stepper
from gptviz.model import GPT


def steps(
    model: GPT,
    tokenizer: Any,
    prompt: Prompt = "",
    max_new_tokens: int = 32,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    record: RecordSelector = None,
    *,
    use_cache: bool = True,
    n_candidates: int = 10,
) -> Iterator[StepRecord]:
    """Generate tokens one at a time, yielding a `StepRecord` for each new token.

    When the sequence outgrows ``model.config.block_size``, each step runs on only the most
    recent ``block_size`` tokens (a sliding window); ``StepRecord.window_start`` and
    ``window_moved`` give the window's position and whether it moved. An empty prompt starts from
    ``tokenizer.eot_id`` (the ``<|endoftext|>`` token), or ``tokenizer.bos_id`` without one.

    Args:
        model: a `gptviz.GPT`, in eval mode.
        tokenizer: a `gptviz.tokenizer.Tokenizer`, or any object with ``encode``,
            ``token_bytes``, ``token_strings`` and ``eot_id``.
        prompt: text, or a sequence of token ids.
        max_new_tokens: number of tokens to generate (>= 0).
        temperature: >= 0; 0 is greedy decoding (argmax, ties to the lowest id).
        top_k: None (no limit) or >= 1; values above V keep the whole vocabulary.
        top_p: None (no limit) or in (0, 1]; keeps the smallest set of most probable tokens
            whose mass reaches p, including the token that crosses p.
        seed: seed for sampling; the same seed and settings give the same tokens.
        record: None, ``"attention"`` (fills ``StepRecord.attention`` with (L, H, T_ctx)
            weights of the new position), or hook names/globs for ``StepRecord.recorded``.
        use_cache: decode incrementally with a `KVCache` (same logits, less work).
        n_candidates: top candidates kept per record.

    Yields:
        One `StepRecord` per new token, in order.

    Raises:
        ValueError: a sampling parameter is out of range (the message names it and its
            range), or the model returns NaN or infinite logits.

    Example:
        >>> import gptviz
        >>> from gptviz.tokenizer import Tokenizer
        >>> tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
        ...                            special_tokens={"<|endoftext|>": 256})
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()
        >>> records = list(steps(model, tok, "Hi", 3, temperature=0, record="attention"))
        >>> [rec.index for rec in records], tuple(records[0].attention.shape)
        ([0, 1, 2], (2, 2, 2))
    """
    # Arguments are checked here, when steps() is called, not at the first next()
    max_new_tokens = check_count(max_new_tokens, "max_new_tokens", minimum=0)
    stepper = Stepper(
        model,
        tokenizer,
        prompt,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        record=record,
        use_cache=use_cache,
        n_candidates=n_candidates,
    )
    return (stepper.step() for _ in range(max_new_tokens))


@dataclass
class Generation:
    """Result of `generate`.

    Attributes:
        prompt_ids: ids of the prompt (``[eot_id]`` for an empty prompt).
        new_ids: generated ids.
        text: generated text (prompt excluded); an incomplete UTF-8 character at the very
            end is decoded as U+FFFD.
        logprob_raw: sum of the chosen tokens' log-probabilities under the raw model
            distribution, in nats.
        seed: seed used for sampling.
        records: the step records, when ``keep_records=True``.
    """

    prompt_ids: list[int]
    new_ids: list[int]
    text: str
    logprob_raw: float
    seed: int
    records: list[StepRecord] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


def generate(
    model: GPT,
    tokenizer: Any,
    prompt: Prompt = "",
    max_new_tokens: int = 32,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    *,
    use_cache: bool = True,
    keep_records: bool = False,
    progress: bool = False,
) -> Generation:
    """Generate ``max_new_tokens`` tokens after ``prompt`` and return the text and ids.

    Same arguments and behaviour as `steps` (sliding window past ``block_size``, empty
    prompt starts from ``<|endoftext|>``).

    Args:
        keep_records: keep every `StepRecord` in the result (two (V,) tensors per step).
        progress: show a tqdm progress bar.

    Example:
        >>> import gptviz
        >>> from gptviz.tokenizer import Tokenizer
        >>> tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
        ...                            special_tokens={"<|endoftext|>": 256})
        >>> model = gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()
        >>> len(generate(model, tok, "", 20, temperature=0.8, seed=0).new_ids)
        20
    """
    max_new_tokens = check_count(max_new_tokens, "max_new_tokens", minimum=0)
    stepper = Stepper(
        model, tokenizer, prompt, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
        use_cache=use_cache, n_candidates=1,
    )
    counter: Any = range(max_new_tokens)
    if progress:
        from tqdm.auto import tqdm

        counter = tqdm(counter, desc="generate", unit="token")
    records: list[StepRecord] = []
    logprob_raw = 0.0
    for _ in counter:
        rec = stepper.step()
        logprob_raw += rec.logprob_raw
        if keep_records:
            records.append(rec)

    return Generation(
        prompt_ids=list(stepper.prompt_ids),
        new_ids=stepper.new_ids,
        text=stepper.text + stepper.pending_bytes.decode("utf-8", errors="replace"),
        logprob_raw=logprob_raw,
        seed=stepper.seed,
        records=records,
    )

"""A synthetic corpus on which a small model forms an induction head in about 1000 training steps.

Each line is one random letter sequence written several times, ``"qbxe|qbxe|qbxe|qbxe\\n"``.
The first copy cannot be predicted. Every later letter can be, by finding the earlier
occurrence of the current letter and copying the letter that followed it, which is what an
induction head does.

Two choices rule out shortcuts. The sequence length varies from line to line, so the
distance back to the earlier copy varies too, and a head that attends to a fixed offset does
not help. A training window can start anywhere in the stream, so absolute positions carry no
information either. Repeating a sequence more than twice makes most letters predictable,
which gives the induction mechanism a strong training signal. With a byte-level vocabulary
every letter is one token.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Sequence
from pathlib import Path

import torch

from gptviz import checkpoints
from gptviz.config import GPTConfig
from gptviz.model import GPT
from gptviz.tokenizer import Tokenizer
from gptviz.training.corpus import Corpus
from gptviz.training.train import Callback, TrainConfig, TrainState, train

# A 2-layer model with a narrow MLP, because the task needs attention only. With seed 0 on the
# default corpus (torch 2.13, CPU) the validation loss stays on a plateau for about 1000 steps,
# then drops as an induction head forms in layer 1. The 1800 steps took 30 to 90 s on one
# core of a shared 2-core machine.
INDUCTION_MODEL = GPTConfig(vocab_size=257, block_size=32, n_layer=2, n_head=2, n_embd=64, mlp_width=64)
INDUCTION_TRAINING = TrainConfig(steps=1800, batch_size=32, lr=3e-3, warmup_steps=20, weight_decay=0.0,
                                 eval_every=100, eval_batches=2)

# Weights of train_induction_model(seed=0), shipped so that a notebook can inspect the heads
# without training first; write_induction_model() rebuilds them.
INDUCTION_ASSET = checkpoints.ASSETS / "induction"


def repeated_sequences_corpus(
    n_train: int = 20_000,
    n_val: int = 200,
    *,
    min_length: int = 4,
    max_length: int = 10,
    copies: int = 4,
    alphabet: str = string.ascii_lowercase,
    seed: int = 0,
) -> Corpus:
    """Build lines of a random letter sequence repeated ``copies`` times, separated by ``|``.

    Args:
        n_train: training lines.
        n_val: validation lines (drawn after the training lines from the same generator).
        min_length: shortest sequence, in letters (>= 1).
        max_length: longest sequence, in letters (>= min_length).
        copies: how many times each sequence is written (>= 2).
        alphabet: the letters to draw from, uniformly and independently; ``|`` and the
            newline are reserved as separators.
        seed: seed of the random generator; the same arguments give the same corpus.

    Returns:
        A `Corpus` named ``"repeats"`` with one training and one validation document.

    Raises:
        ValueError: a count or length is out of range, or the alphabet is empty or
            contains a separator.

    Example:
        >>> corpus = repeated_sequences_corpus(2, 1, min_length=3, max_length=3, copies=3, seed=0)
        >>> corpus.train[0].splitlines()[0]
        'ynb|ynb|ynb'
    """
    caller = "repeated_sequences_corpus()"
    for name, value, minimum in (("n_train", n_train, 1), ("n_val", n_val, 1), ("min_length", min_length, 1),
                                 ("copies", copies, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{caller}: {name} must be an int >= {minimum}, got {value!r}")
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < min_length:
        raise ValueError(f"{caller}: max_length must be an int >= min_length={min_length}, got {max_length!r}")
    if not alphabet or "|" in alphabet or "\n" in alphabet:
        raise ValueError(f"{caller}: alphabet must be non-empty and contain neither '|' nor a newline, got {alphabet!r}")

    rng = random.Random(seed)

    def line() -> str:
        sequence = "".join(rng.choice(alphabet) for _ in range(rng.randint(min_length, max_length)))
        return "|".join([sequence] * copies) + "\n"

    train = "".join(line() for _ in range(n_train))
    val = "".join(line() for _ in range(n_val))
    source = {"generator": "repeated_sequences_corpus", "min_length": min_length, "max_length": max_length,
              "copies": copies, "alphabet": alphabet, "seed": seed}
    return Corpus("repeats", [train], [val], source)


def byte_tokenizer() -> Tokenizer:
    """Build a byte-level tokenizer: ids 0..255 are the bytes, 256 is ``<|endoftext|>`` (V = 257)."""
    return Tokenizer.from_ranks({bytes([b]): b for b in range(256)}, name="bytes",
                                special_tokens={"<|endoftext|>": 256})


def train_induction_model(
    *,
    seed: int = 0,
    corpus: Corpus | None = None,
    config: GPTConfig = INDUCTION_MODEL,
    training: TrainConfig = INDUCTION_TRAINING,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
) -> tuple[GPT, Tokenizer, TrainState]:
    """Train a small model on `repeated_sequences_corpus` until it has an induction head.

    Args:
        seed: seeds the weights (``torch.manual_seed``) and the training batches.
        corpus: the corpus to train on; None builds ``repeated_sequences_corpus(seed=seed)``.
        config: the model shape (``vocab_size`` must be 257 for the byte tokenizer).
        training: optimization settings; its ``seed`` is replaced by ``seed``.
        callbacks: passed to `gptviz.training.train`.
        progress: show a progress bar.

    Returns:
        (model in eval mode, the byte tokenizer, the final `TrainState`).

    Limitations:
        The step at which the head forms depends on the seed and on floating-point details
        of the machine. The default step count was checked with seed 0 only, where the head
        forms about 800 steps before the end. Other seeds may need more steps.
    """
    tokenizer = byte_tokenizer()
    if config.vocab_size != tokenizer.vocab_size:
        raise ValueError(
            f"train_induction_model(): config.vocab_size must be {tokenizer.vocab_size} for the byte "
            f"tokenizer, got {config.vocab_size}"
        )
    corpus = corpus if corpus is not None else repeated_sequences_corpus(seed=seed)
    train_ids = torch.tensor(tokenizer.encode(corpus.train[0]), dtype=torch.long)
    val_ids = torch.tensor(tokenizer.encode(corpus.val[0]), dtype=torch.long)
    torch.manual_seed(seed)
    model = GPT(config)
    settings = TrainConfig(**{**training.to_dict(), "seed": seed})
    state = train(model, train_ids, val_ids, settings, callbacks=callbacks, progress=progress)
    return model.eval(), tokenizer, state


def write_induction_model(directory: str | os.PathLike[str] = INDUCTION_ASSET, *, seed: int = 0) -> Path:
    """Train with `train_induction_model` and save the model with the settings in its metadata.

    Returns:
        The checkpoint directory (``model.safetensors`` and ``config.json``).
    """
    model, _, state = train_induction_model(seed=seed)
    val_losses = [entry["val_loss"] for entry in state.history if "val_loss" in entry]
    metadata = {
        "made_by": f"gptviz.training.repeats.write_induction_model(seed={seed})",
        "corpus": f"repeated_sequences_corpus(seed={seed})",
        "training": INDUCTION_TRAINING.to_dict() | {"seed": seed},
        "final_val_loss": val_losses[-1],
        "torch": torch.__version__,
    }
    return checkpoints.save(model, directory, metadata=metadata)


def load_induction_model(directory: str | os.PathLike[str] = INDUCTION_ASSET) -> tuple[GPT, Tokenizer]:
    """Load the shipped model from `write_induction_model` and the byte tokenizer it uses.

    Example:
        >>> model, tokenizer = load_induction_model()
        >>> model.config.n_layer, tokenizer.vocab_size
        (2, 257)
    """
    return checkpoints.load(directory), byte_tokenizer()

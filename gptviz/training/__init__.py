"""Training: corpora, the BPE vocabulary trainer, the maximum-likelihood loop and its command line.

Example:
    >>> from gptviz.training import TrainConfig
    >>> TrainConfig(steps=10).warmup_steps
    100
"""

from gptviz.training.bpe import train_bpe
from gptviz.training.cli import build_parser, main
from gptviz.training.corpus import Corpus, induction_corpus, load_corpus, qa_corpus, shakespeare_corpus
from gptviz.training.train import Callback, LoggingCallback, TrainConfig, TrainState, train

__all__ = [
    "Callback",
    "Corpus",
    "LoggingCallback",
    "TrainConfig",
    "TrainState",
    "build_parser",
    "induction_corpus",
    "load_corpus",
    "main",
    "qa_corpus",
    "shakespeare_corpus",
    "train",
    "train_bpe",
]

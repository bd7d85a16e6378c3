"""The repeated-sequences corpus and the small model trained on it to form an induction head."""

from __future__ import annotations

import pytest
import torch

import gptviz
from gptviz.analysis import head_metrics
from gptviz.analysis.ablation import head_ablation_effects
from gptviz.training import TrainConfig
from gptviz.training.repeats import (
    INDUCTION_MODEL,
    byte_tokenizer,
    load_induction_model,
    repeated_sequences_corpus,
    train_induction_model,
    write_induction_model,
)


def test_lines_repeat_one_sequence():
    corpus = repeated_sequences_corpus(50, 5, min_length=3, max_length=7, copies=4, alphabet="abc", seed=1)

    lines = corpus.train[0].splitlines()
    assert len(lines) == 50
    assert len(corpus.val[0].splitlines()) == 5
    for line in lines:
        parts = line.split("|")
        assert len(parts) == 4
        assert len(set(parts)) == 1
        assert 3 <= len(parts[0]) <= 7
        assert set(parts[0]) <= set("abc")


def test_lengths_vary_between_lines():
    corpus = repeated_sequences_corpus(200, 1, min_length=4, max_length=10, seed=0)

    lengths = {len(line.split("|")[0]) for line in corpus.train[0].splitlines()}
    assert lengths == set(range(4, 11))


def test_corpus_is_seeded():
    assert repeated_sequences_corpus(20, 2, seed=3).train == repeated_sequences_corpus(20, 2, seed=3).train
    assert repeated_sequences_corpus(20, 2, seed=3).train != repeated_sequences_corpus(20, 2, seed=4).train


def test_validation_lines_differ_from_training():
    corpus = repeated_sequences_corpus(100, 20, min_length=8, max_length=8, seed=0)

    assert corpus.val[0] != corpus.train[0][: len(corpus.val[0])]
    assert corpus.name == "repeats"
    assert corpus.source["copies"] == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_train": 0}, "n_train must be an int >= 1"),
        ({"copies": 1}, "copies must be an int >= 2"),
        ({"min_length": 0}, "min_length must be an int >= 1"),
        ({"min_length": 5, "max_length": 4}, "max_length must be an int >= min_length=5"),
        ({"alphabet": ""}, "alphabet must be non-empty"),
        ({"alphabet": "ab|"}, "neither '|' nor a newline"),
    ],
)
def test_invalid_arguments_rejected(arguments, message):
    with pytest.raises(ValueError, match=message):
        repeated_sequences_corpus(**arguments)


def test_byte_tokenizer_one_token_per_letter():
    tokenizer = byte_tokenizer()

    assert tokenizer.vocab_size == 257
    assert tokenizer.eot_id == 256
    assert tokenizer.encode("ab|ab\n") == [97, 98, 124, 97, 98, 10]


def test_train_rejects_mismatched_vocabulary():
    with pytest.raises(ValueError, match="vocab_size must be 257"):
        train_induction_model(config=INDUCTION_MODEL.replace(vocab_size=300))


def test_short_training_runs_and_restores_eval_mode():
    corpus = repeated_sequences_corpus(50, 5, seed=0)
    model, tokenizer, state = train_induction_model(corpus=corpus, training=TrainConfig(steps=3, batch_size=2))

    assert state.step == 3
    assert not model.training
    assert tokenizer.vocab_size == model.config.vocab_size


def _later_copy_scores(model, tokenizer, text: str):
    metrics = head_metrics(gptviz.trace(model, tokenizer, text))
    effects = head_ablation_effects(model, gptviz.trace(model, tokenizer, text), positions=slice(8, None))
    return metrics.induction, effects


def test_shipped_model_has_induction_head():
    model, tokenizer = load_induction_model()
    induction, effects = _later_copy_scores(model, tokenizer, "lbxeqmvo|lbxeqmvo|lbxeqmvo\n")

    assert induction[1].max() > 0.35
    assert induction[0].max() < 0.2
    assert effects[1].min() < -2


@pytest.mark.slow
def test_write_reproduces_shipped_model(tmp_path):
    torch.set_num_threads(1)
    write_induction_model(tmp_path)
    rebuilt, tokenizer = load_induction_model(tmp_path)
    shipped, _ = load_induction_model()
    text = "lbxeqmvo|lbxeqmvo|lbxeqmvo\n"

    rebuilt_induction, _ = _later_copy_scores(rebuilt, tokenizer, text)
    shipped_induction, _ = _later_copy_scores(shipped, tokenizer, text)
    assert torch.allclose(rebuilt_induction, shipped_induction, atol=0.05)

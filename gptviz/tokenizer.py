"""Byte-level BPE tokenizer over a ``tiktoken.Encoding``, with honest per-token display strings.

A vocabulary on disk is a pair of files:

- ``NAME.tiktoken``: tiktoken's ranks format, one ``base64(token bytes) rank`` line per token;
- ``NAME.json``: a sidecar with the vocabulary name, the pre-tokenization regex and the
  special tokens (``{"name": ..., "pattern": ..., "special_tokens": {"<|endoftext|>": 4095}}``).

Both are read with plain file access, so loading a vocabulary from a file never touches the
network. tiktoken's own encodings (``gpt2``) are fetched and cached by tiktoken itself.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import tiktoken

logger = logging.getLogger(__name__)

ENDOFTEXT = "<|endoftext|>"

# The pre-tokenization regex of GPT-2: contractions, optional-space + letters, optional-space +
# digits, optional-space + other symbols, then whitespace runs (a trailing run keeps its last
# space for the next word).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
SIDECAR_FORMAT = "gptviz-tokenizer-1"
VOCAB_FILE = "tokenizer.tiktoken"


class TokenizerUnavailableError(RuntimeError):
    """A tiktoken encoding could not be loaded (usually: no network and no cached files)."""


class Tokenizer:
    """Encode text to token ids and back, and show each token's bytes honestly.

    Build one with :meth:`from_file`, :meth:`from_tiktoken`, :meth:`bundled` or
    :meth:`from_ranks`; the constructor wraps an existing ``tiktoken.Encoding``.

    Attributes:
        name: name of the vocabulary (``"shakespeare"``, ``"gpt2"``, ...).
        encoding: the underlying ``tiktoken.Encoding``.

    Example:
        >>> tok = Tokenizer.bundled("shakespeare")
        >>> ids = tok.encode("To be, or not to be")
        >>> tok.decode(ids)
        'To be, or not to be'
    """

    def __init__(self, encoding: tiktoken.Encoding, *, name: str | None = None) -> None:
        if not isinstance(encoding, tiktoken.Encoding):
            raise TypeError(
                f"Tokenizer(): expected a tiktoken.Encoding, got {type(encoding).__name__}; "
                "use Tokenizer.from_file(path) or Tokenizer.from_tiktoken(name) to build one"
            )
        self.encoding = encoding
        self.name = name if name is not None else encoding.name
        # Ids with no token (tiktoken allows gaps between ranks and special tokens).
        self._valid_ids = frozenset(encoding._mergeable_ranks.values()) | frozenset(
            encoding._special_tokens.values()
        )

    # Construction ------------------------------------------------------------------------

    @classmethod
    def from_ranks(
        cls,
        ranks: Mapping[bytes, int],
        *,
        name: str,
        pattern: str = GPT2_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
    ) -> Tokenizer:
        """Build a tokenizer from mergeable ranks held in memory.

        Args:
            ranks: token bytes -> rank (id); must contain all 256 single bytes.
            name: vocabulary name.
            pattern: pre-tokenization regex (``regex`` module syntax).
            special_tokens: special token string -> id, for example ``{"<|endoftext|>": 4095}``.
        """
        missing = [b for b in range(256) if bytes([b]) not in ranks]
        if missing:
            raise ValueError(
                f"Tokenizer.from_ranks(): a byte-level vocabulary needs all 256 single bytes, "
                f"{len(missing)} are missing (first: {missing[:5]})"
            )
        encoding = tiktoken.Encoding(
            name=name,
            pat_str=pattern,
            mergeable_ranks=dict(ranks),
            special_tokens=dict(special_tokens or {}),
        )
        return cls(encoding, name=name)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Load a vocabulary from a ``.tiktoken`` ranks file and its ``.json`` sidecar.

        Args:
            path: the ``.tiktoken`` file; the sidecar has the same name with ``.json``.
                A missing sidecar means the GPT-2 pattern and no special tokens.

        Raises:
            FileNotFoundError: the ranks file does not exist.
            ValueError: a line of the ranks file or the sidecar is malformed.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"Tokenizer.from_file(): no vocabulary file at {str(path)!r}; "
                "expected a .tiktoken ranks file (Tokenizer.save writes one)"
            )
        ranks = read_ranks(path)
        sidecar = path.with_suffix(".json")
        meta: dict[str, Any] = {}
        if sidecar.is_file():
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        else:
            logger.info("no sidecar %s; using the GPT-2 pattern and no special tokens", sidecar)
        return cls.from_ranks(
            ranks,
            name=meta.get("name", path.stem),
            pattern=meta.get("pattern", GPT2_PATTERN),
            special_tokens=meta.get("special_tokens", {}),
        )

    @classmethod
    def from_tiktoken(cls, name: str = "gpt2") -> Tokenizer:
        """Load one of tiktoken's own encodings (``gpt2``, ``r50k_base``, ...).

        tiktoken downloads the vocabulary on first use and caches it in the directory named
        by the ``TIKTOKEN_CACHE_DIR`` environment variable (default: ``data-gym-cache`` in
        the system temporary directory).

        Raises:
            TokenizerUnavailableError: the files are neither cached nor downloadable; the
                message explains how to pre-fetch them.
            ValueError: tiktoken has no encoding of that name.

        Limitations:
            tiktoken 0.14 downloads with ``requests.get`` and no timeout, so on a network that
            silently drops packets this call waits for the operating system's TCP timeout
            before it fails.
        """
        if name not in tiktoken.list_encoding_names():
            raise ValueError(
                f"Tokenizer.from_tiktoken(): unknown encoding {name!r}; "
                f"tiktoken provides {tiktoken.list_encoding_names()}"
            )
        try:
            encoding = tiktoken.get_encoding(name)
        except (OSError, ValueError) as exc:  # requests' errors are OSError subclasses
            cache = os.environ.get("TIKTOKEN_CACHE_DIR", "<system temp dir>/data-gym-cache")
            raise TokenizerUnavailableError(
                f"Tokenizer.from_tiktoken(): could not load tiktoken encoding {name!r}: the "
                f"vocabulary files are not in tiktoken's cache ({cache}) and downloading them "
                f"failed ({type(exc).__name__}: {exc}). To use it offline, run "
                f"`python -c \"import tiktoken; tiktoken.get_encoding('{name}')\"` once on a "
                "machine with network access, with the environment variable TIKTOKEN_CACHE_DIR "
                "set to a directory, and copy that directory to this machine with the same "
                "TIKTOKEN_CACHE_DIR set. The bundled vocabulary (Tokenizer.bundled()) needs no network."
            ) from exc
        return cls(encoding, name=name)

    @classmethod
    def bundled(cls, name: str = "shakespeare") -> Tokenizer:
        """Load a vocabulary shipped in ``gptviz/assets/NAME/tokenizer.tiktoken`` (no network)."""
        path = ASSETS_DIR / name / VOCAB_FILE
        if not path.is_file():
            available = sorted(p.parent.name for p in ASSETS_DIR.glob(f"*/{VOCAB_FILE}"))
            raise ValueError(f"Tokenizer.bundled(): no bundled vocabulary {name!r}; available: {available}")
        return cls.from_file(path)

    @classmethod
    def from_directory(cls, directory: str | os.PathLike[str]) -> Tokenizer:
        """Load ``tokenizer.tiktoken`` (and its sidecar) from a checkpoint directory."""
        return cls.from_file(Path(directory) / VOCAB_FILE)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the ranks file and its ``.json`` sidecar.

        Args:
            path: a ``.tiktoken`` file path, or a directory, which gets ``tokenizer.tiktoken``
                and ``tokenizer.json``.

        Returns:
            The path of the ranks file.
        """
        path = Path(path)
        if path.suffix != ".tiktoken":
            path = path / VOCAB_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_ranks(self.encoding._mergeable_ranks, path)
        meta = {
            "format": SIDECAR_FORMAT,
            "name": self.name,
            "pattern": self.encoding._pat_str,
            "special_tokens": dict(self.special_tokens),
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return path

    # Properties ----------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """V: one more than the largest id (ordinary and special tokens)."""
        return self.encoding.n_vocab

    @property
    def special_tokens(self) -> dict[str, int]:
        """Special token string -> id."""
        return dict(self.encoding._special_tokens)

    @property
    def eot_id(self) -> int:
        """Id of ``<|endoftext|>``.

        Raises:
            ValueError: this vocabulary has no ``<|endoftext|>`` token.
        """
        special = self.encoding._special_tokens
        if ENDOFTEXT not in special:
            raise ValueError(f"Tokenizer {self.name!r} has no {ENDOFTEXT} token; special tokens: {special}")
        return special[ENDOFTEXT]

    def __repr__(self) -> str:
        return f"Tokenizer(name={self.name!r}, vocab_size={self.vocab_size})"

    # Encoding and decoding -----------------------------------------------------------------

    def encode(self, text: str, *, allow_special: bool = False) -> list[int]:
        """Encode text to token ids.

        Args:
            text: any string.
            allow_special: if False (default), special token strings such as
                ``<|endoftext|>`` inside ``text`` are encoded as plain text, so any text
                round-trips. If True, they become their special token ids.

        Returns:
            Token ids, one list of length T.
        """
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer.encode(): text must be a str, got {type(text).__name__}")
        if allow_special:
            return self.encoding.encode(text, allowed_special="all")
        return self.encoding.encode(text, allowed_special=set(), disallowed_special=())

    def decode(self, ids: Iterable[int]) -> str:
        """Decode token ids to text; bytes that are not valid UTF-8 become U+FFFD.

        Raises:
            ValueError: an id is outside the vocabulary.
        """
        return self.encoding.decode(self._check_ids(ids, "decode"))

    def token_bytes(self, ids: Iterable[int]) -> list[bytes]:
        """Return the bytes of each token; ``b"".join(...)`` gives back the encoded text's bytes."""
        return [self.encoding.decode_single_token_bytes(i) for i in self._check_ids(ids, "token_bytes")]

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """Return one display string per token, honest about bytes.

        Valid UTF-8 in a token is shown as text (whitespace kept as is). Bytes that do not
        form a complete character inside the token, such as half of an emoji, are shown as
        ``\\xNN`` escapes, so a split character never turns into U+FFFD.

        Example:
            >>> tok = Tokenizer.bundled("shakespeare")
            >>> "".join(tok.token_strings(tok.encode("hello")))
            'hello'
        """
        return [display_bytes(b) for b in self.token_bytes(ids)]

    def _check_ids(self, ids: Iterable[int], caller: str) -> list[int]:
        """Convert ids (ints, a 1-D tensor or array) to a list of ints, all inside the vocabulary."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        if isinstance(ids, int):
            raise TypeError(f"Tokenizer.{caller}(): expected a sequence of ids, got the single int {ids}; wrap it in a list")
        checked: list[int] = []
        for position, token_id in enumerate(ids):
            if isinstance(token_id, bool) or not isinstance(token_id, int):
                raise TypeError(
                    f"Tokenizer.{caller}(): ids must be ints, got {type(token_id).__name__} "
                    f"at position {position}; pass a flat list of token ids"
                )
            if token_id not in self._valid_ids:
                raise ValueError(
                    f"Tokenizer.{caller}(): id {token_id} at position {position} is not in the "
                    f"vocabulary {self.name!r} (valid ids are 0..{self.vocab_size - 1}); were "
                    "these ids produced by a different tokenizer?"
                )
            checked.append(token_id)
        return checked


def display_bytes(data: bytes) -> str:
    """Show bytes as text where they are valid UTF-8 and as ``\\xNN`` escapes where not."""
    return data.decode("utf-8", errors="backslashreplace")


def read_ranks(path: str | os.PathLike[str]) -> dict[bytes, int]:
    """Read a tiktoken ranks file (``base64 rank`` per line) with plain file access."""
    ranks: dict[bytes, int] = {}
    with open(path, encoding="ascii") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                token_b64, rank = line.split()
                ranks[base64.b64decode(token_b64, validate=True)] = int(rank)
            except ValueError as exc:
                raise ValueError(
                    f"read_ranks(): line {line_number} of {str(path)!r} is not 'base64 rank': {line.strip()[:60]!r}"
                ) from exc
    return ranks


def write_ranks(ranks: Mapping[bytes, int], path: str | os.PathLike[str]) -> None:
    """Write ranks in tiktoken's format, sorted by rank."""
    with open(path, "w", encoding="ascii", newline="\n") as handle:
        for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
            handle.write(f"{base64.b64encode(token).decode('ascii')} {rank}\n")

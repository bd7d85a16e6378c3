"""Incremental UTF-8 text for token-by-token display.

Byte-level BPE tokens can end in the middle of a multi-byte character (an emoji is often
split over two or three tokens). Decoding each token on its own would show U+FFFD for
every fragment. `TextStream` keeps the incomplete trailing bytes back until the character
completes, so the text shown during generation only ever contains complete characters.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True)
class TextStream:
    """Decoded text plus the trailing bytes that do not form a complete character yet.

    The stream is immutable: `push` returns a new stream, so a step record can keep the
    stream of its step and stepping back needs no decoding.

    Bytes that can never become valid UTF-8 (for example a lone continuation byte) are
    decoded as U+FFFD right away, as ``bytes.decode(errors="replace")`` does, so
    ``text`` plus the decoded pending bytes equals decoding all pushed bytes at once.

    Attributes:
        text: complete characters decoded so far.
        pending: bytes held back because they start a character that is not complete.

    Example:
        >>> rocket = "🚀".encode()
        >>> stream = TextStream().push(b"I like " + rocket[:2])
        >>> stream.text, stream.pending
        ('I like ', b'\\xf0\\x9f')
        >>> stream.push(rocket[2:]).text
        'I like 🚀'
    """

    text: str = ""
    pending: bytes = b""

    def push(self, data: bytes) -> TextStream:
        """Return the stream after appending ``data``."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"TextStream.push(): expected bytes, got {type(data).__name__}")
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        decoded = decoder.decode(self.pending + bytes(data), final=False)
        held_back, _ = decoder.getstate()
        return TextStream(self.text + decoded, held_back)

    def flush(self) -> str:
        """Return the text with any pending bytes decoded (as U+FFFD if still incomplete)."""
        return self.text + self.pending.decode("utf-8", errors="replace")

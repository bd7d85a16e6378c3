"""Token labels: visible whitespace, unique duplicates, HTML escaped."""

from __future__ import annotations

from gptviz.viz._style import escape_text, token_labels, token_texts, visible_whitespace


def test_whitespace_gets_visible_marks() -> None:
    assert visible_whitespace(" ") == "␣"
    assert visible_whitespace("\n") == "↵"
    assert visible_whitespace("\t") == "⇥"
    assert visible_whitespace(" a\r\n") == "␣a␍↵"
    assert visible_whitespace("") == "∅"


def test_other_control_characters_are_escaped() -> None:
    assert visible_whitespace("\x0b") == "\\x0b"
    assert visible_whitespace("\u00a0") == "\\xa0"


def test_duplicate_tokens_get_positions() -> None:
    labels = token_labels([" the", "cat", " the", "sat"])
    assert labels == ["␣the [0]", "cat", "␣the [2]", "sat"]


def test_labels_unique_even_when_text_looks_suffixed() -> None:
    # Visible labels never contain a plain space, so the " [n]" suffix cannot collide
    labels = token_labels(["a", "a", "a [1]"])
    assert labels == ["a [0]", "a [1]", "a␣[1]"]


def test_markup_is_escaped_in_labels() -> None:
    labels = token_labels(["<b>x</b>", "<a href=x>", "a&amp;b"])
    assert labels == ["&lt;b&gt;x&lt;/b&gt;", "&lt;a␣href=x&gt;", "a&amp;amp;b"]
    assert token_texts(["<i>"]) == ["&lt;i&gt;"]
    assert escape_text("1 < 2 & 3 > 2") == "1 &lt; 2 &amp; 3 &gt; 2"

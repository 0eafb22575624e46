"""ui.plain: untrusted text as markdown that shows exactly that text.

What each escape does in a real browser (Streamlit's markdown: images, links, :red[...], icons,
emoji, math, autolinks) is checked by tests/e2e/test_hostile_strings_browser.py; these tests pin the
rules it relies on, and that nothing a reader sees is lost or added.
"""

from __future__ import annotations

import re
import string

import pytest

import ui

HOSTILE = [
    "![x](http://evil.invalid/p.png) :red[X]",
    "[a](javascript:alert(1)) <img src=x onerror=alert(1)> <b>bold</b>",
    ":smile: :+1: :material/home: $x^2$ $$y$$ **bold** _it_ ~~gone~~ `code`",
    "# heading\n> quote\n| a | b |\n|---|---|\n| 1 | 2 |\n- item\n1. one\n---",
    "see http://evil.invalid/x, HTTPS://evil.invalid, www.evil.invalid and WWW.EVIL.INVALID, mail me@evil.invalid",
    "    indented code\n  and two spaces\n\n    after a blank line",
    "windows\r\nline\rends \\ backslash &amp; entity",
]


def shown(markdown: str) -> str:
    """What a reader sees of plain's output: escapes undone, invisible marks dropped, hard breaks as new lines."""
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown.replace("  \n", "\n"))
    return text.replace(ui.WORD_JOINER, "").replace("\u00a0", " ")


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_shows_exactly_the_text(text):
    assert shown(ui.plain(text)) == text.replace("\r\n", "\n").replace("\r", "\n")


def test_every_ascii_punctuation_character_is_escaped():
    for character in string.punctuation:
        assert ui.plain(character).startswith("\\" + character), character
    assert ui.plain("plain words 123") == "plain words 123"


def test_no_autolink_survives():
    # GFM finds these in the text after parsing, where escapes are gone: a word joiner breaks them.
    escaped = ui.plain(HOSTILE[4])
    visible = escaped.replace("\\", "")
    assert not re.search(r"(?i)https?:|www\.|@\w", visible)
    assert "http\u2060\\:" in escaped and "HTTPS\u2060\\:" in escaped
    assert "www\u2060\\." in escaped and "WWW\u2060\\." in escaped and "me\\@\u2060evil" in escaped


def test_indentation_never_starts_a_code_block():
    lines = ui.plain(HOSTILE[5]).split("\n")
    assert not any(line.startswith((" ", "\t")) for line in lines if line.strip(" "))  # a blank line stays blank
    assert lines[0].startswith("\u00a0" * 4)
    assert ui.plain("\tx") == "\u00a0x"  # a tab too


def test_line_breaks_stay_line_breaks():
    assert ui.plain("a\nb") == "a  \nb"
    assert ui.plain("a\r\nb\rc") == "a  \nb  \nc"

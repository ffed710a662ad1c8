"""Header values from outside input (domain/headers.py): one line, bounded, else unchanged."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.headers import HEADER_MAX_CHARS, header_text


def test_an_injected_bcc_stays_part_of_the_subject_text() -> None:
    assert header_text("Hello\r\nBcc: someone@example.com") == "Hello Bcc: someone@example.com"
    assert header_text("Jana\u2028Nováková\x00\x1b[31m") == "Jana Nováková [31m"


def test_a_long_subject_is_cut_with_an_ellipsis() -> None:
    cut = header_text("x" * 1000)
    assert len(cut) == HEADER_MAX_CHARS
    assert cut.endswith("…")


@given(st.text())
def test_any_input_becomes_one_bounded_line(value: str) -> None:
    safe = header_text(value)
    assert len(safe) <= HEADER_MAX_CHARS
    assert not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in safe)
    assert "\r" not in safe
    assert "\n" not in safe
    assert header_text(safe) == safe  # already safe: left alone


@given(st.text(st.characters(categories=["L", "N", "P", "S"]), max_size=HEADER_MAX_CHARS))
def test_ordinary_text_passes_unchanged(value: str) -> None:
    assert header_text(value) == value

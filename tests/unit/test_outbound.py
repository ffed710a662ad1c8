"""Long answers split for SMS/WhatsApp, and media links turned into attachments."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.domain.outbound import SMS_LIMIT, extract_media_urls, split_message


def words(text: str) -> str:
    """The text with every run of whitespace read as one space."""
    return " ".join(text.split())


# --- split_message: examples ------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Hi", "  Hi,\n\n  two lines  ", "x" * SMS_LIMIT, "Ahoj 👋🏽 " * 100]
)
def test_a_text_that_fits_goes_unchanged(text: str) -> None:
    assert split_message(text) == [text]


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n", " " * (SMS_LIMIT + 5)])
def test_a_blank_text_gives_no_parts(text: str) -> None:
    assert split_message(text) == []


def test_the_default_limit_is_twilios() -> None:
    text = "word " * 400  # 2000 characters
    parts = split_message(text)
    assert len(parts) == 2
    assert all(len(part) <= 1600 for part in parts)
    assert words(" ".join(parts)) == words(text)


def test_a_break_after_the_last_sentence_that_fits() -> None:
    text = "One two. Three four! Five six? Seven eight."
    assert split_message(text, 30) == ["One two. Three four! Five six?", "Seven eight."]


def test_a_break_at_a_paragraph() -> None:
    text = "First paragraph here\n\nSecond paragraph here"
    assert split_message(text, 30) == ["First paragraph here", "Second paragraph here"]


def test_line_breaks_inside_a_part_stay() -> None:
    text = "Your order:\n- red shoes\n- blue hat\n\nThanks for waiting, it ships on Monday."
    assert split_message(text, 40) == [
        "Your order:\n- red shoes\n- blue hat",
        "Thanks for waiting, it ships on Monday.",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = 'She said "it works." Then it broke.'
    assert split_message(text, 25) == ['She said "it works."', "Then it broke."]


def test_a_sentence_end_too_early_loses_to_the_last_space() -> None:
    # Breaking after "Hi." would leave a 3-character message; fill the part instead.
    text = "Hi. aaaa bbbb cccc dddd eeee ffff"
    assert split_message(text, 20) == ["Hi. aaaa bbbb cccc", "dddd eeee ffff"]


def test_a_dot_inside_a_word_is_not_a_sentence_end() -> None:
    text = "see example.com/help for more words here"
    assert split_message(text, 20) == ["see example.com/help", "for more words here"]


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("第一句话。 第二句话！ 第三句话？ 第四句话。", "第一句话。 第二句话！"),
        ("هل وصل الطلب؟ نعم وصل اليوم. شكرا لك", "هل وصل الطلب؟"),
        ("Wait… what? Yes! Really", "Wait… what?"),
    ],
)
def test_sentence_ends_of_other_scripts(text: str, first: str) -> None:
    parts = split_message(text, len(first) + 2)
    assert parts[0] == first
    assert words(" ".join(parts)) == words(text)


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert split_message("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert split_message("go https://example.com/very/long", 10) == [
        "go",
        "https://ex",
        "ample.com/",
        "very/long",
    ]


def test_a_hard_cut_keeps_accents_and_emoji_together() -> None:
    # "e" + combining acute: the accent stays with its letter.
    assert split_message("abce\u0301fgh", 4) == ["abc", "e\u0301fg", "h"]
    # A waving hand with a skin tone; a family joined with ZWJ.
    assert split_message("ab👋🏽cd", 3) == ["ab", "👋🏽c", "d"]
    assert split_message("a👩\u200d👧xy", 3) == ["a", "👩\u200d👧", "xy"]


def test_a_limit_below_one_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_message("text", 0)


# --- split_message: properties ----------------------------------------------------------

_ALPHABET = st.sampled_from(
    (
        *"abcxyz",
        *"     ",
        *("\n", "\n\n", "\t", "\u00a0", "\u2028"),
        *'.!?…。؟")',
        *("é", "e\u0301", "👋🏽", "👩\u200d👧", "中", "ع"),
    )
)
_TEXTS = st.lists(_ALPHABET, max_size=300).map("".join)
_WORD = st.lists(
    st.sampled_from((*"abcxyz", *'.!?…。؟")', "é", "e\u0301", "👋🏽", "中", "ع")),
    min_size=1,
    max_size=6,
).map("".join)
_SPACE = st.sampled_from((" ", "  ", "\n", "\n\n", "\t", " \n \n", "\u00a0", "\u2028"))


@st.composite
def too_long(draw: st.DrawFn) -> tuple[str, int]:
    """A text and a limit it does not fit in: the splitting path, every time."""
    text = draw(st.lists(_ALPHABET, min_size=2, max_size=300).map("".join))
    return text, draw(st.integers(min_value=1, max_value=len(text) - 1))


@st.composite
def no_overlong_words(draw: st.DrawFn) -> tuple[str, int]:
    """Words and whitespace, and a limit no word is longer than."""
    pieces = draw(st.lists(st.tuples(_WORD, _SPACE), min_size=1, max_size=60))
    text = "".join(word + space for word, space in pieces)
    longest = max(len(word) for word, _ in pieces)
    return text, draw(st.integers(min_value=longest, max_value=max(longest, len(text) - 1)))


@given(_TEXTS, st.integers(min_value=0, max_value=20))
def test_a_text_within_the_limit_is_one_part_as_it_is(text: str, room: int) -> None:
    assert split_message(text, len(text) + room or 1) == ([text] if text.strip() else [])


@given(too_long())
@example(("a\u0301\u0301\u0301b", 2))
@example((". . . .", 1))
def test_parts_fit_and_lose_or_reorder_nothing(case: tuple[str, int]) -> None:
    text, limit = case
    parts = split_message(text, limit)
    assert all(0 < len(part) <= limit for part in parts)
    assert all(part == part.strip() for part in parts)
    # Every character other than whitespace is kept, in order.
    assert "".join("".join(part.split()) for part in parts) == "".join(text.split())


@given(no_overlong_words())
def test_without_overlong_words_joining_the_parts_gives_the_text_back(
    case: tuple[str, int],
) -> None:
    """The spec's property: parts joined by single spaces are the text, whitespace collapsed.

    It holds whenever no word is longer than the limit (a longer word must be cut, and its
    pieces cannot be joined by a space). Inside a part line breaks are kept, so both sides
    are compared with every whitespace run read as one space.
    """
    text, limit = case
    parts = split_message(text, limit)
    assert all(0 < len(part) <= limit for part in parts)
    assert words(" ".join(parts)) == words(text)
    # No part boundary falls inside a word.
    assert [w for part in parts for w in part.split()] == text.split()


@given(st.text(max_size=3000), st.integers(min_value=1, max_value=SMS_LIMIT))
def test_any_text_splits_within_the_limit(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    assert all(len(part) <= limit for part in parts)
    assert "".join("".join(part.split()) for part in parts) == "".join(text.split())


# --- extract_media_urls ----------------------------------------------------------------


def test_media_lines_become_attachments() -> None:
    text = (
        "Here is the label:\n"
        "https://cdn.example.com/labels/123.PDF\n"
        "  https://cdn.example.com/p/shoe.jpg?w=800&sig=abc  \n"
        "\n"
        "Thanks!\n"
    )
    assert extract_media_urls(text) == (
        "Here is the label:\n\nThanks!",
        (
            "https://cdn.example.com/labels/123.PDF",
            "https://cdn.example.com/p/shoe.jpg?w=800&sig=abc",
        ),
    )


@pytest.mark.parametrize(
    "extension", [".jpg", ".jpeg", ".png", ".gif", ".webp", ".pdf", ".mp4", ".mp3", ".ogg", ".amr"]
)
def test_every_media_extension(extension: str) -> None:
    url = f"https://example.com/file{extension.upper()}"
    assert extract_media_urls(f"a\n{url}") == ("a", (url,))


@pytest.mark.parametrize(
    "line",
    [
        "See https://example.com/a.jpg",  # not alone on its line
        "https://example.com/a.jpg please",
        "<https://example.com/a.jpg>",
        "http://example.com/a.jpg",  # not https
        "https://example.com/a.jpg.html",
        "https://example.com/page?file=a.jpg",  # the query is not the path
        "https://example.com/",
        "https://example.com",
        "https:///a.jpg",  # no host
        "https://[::1/a.jpg",  # malformed
        "ftp://example.com/a.jpg",
    ],
)
def test_other_lines_stay_in_the_text(line: str) -> None:
    assert extract_media_urls(f"Hi\n{line}\nBye") == (f"Hi\n{line}\nBye", ())


def test_media_beyond_the_maximum_stay_as_links() -> None:
    urls = [f"https://example.com/{n}.png" for n in range(12)]
    text, media = extract_media_urls("\n".join(["Photos:", *urls]))
    assert media == tuple(urls[:10])
    assert text == "\n".join(["Photos:", *urls[10:]])
    assert extract_media_urls("\n".join(urls), max_count=1) == ("\n".join(urls[1:]), (urls[0],))
    assert extract_media_urls(urls[0], max_count=0) == (urls[0], ())


def test_a_text_of_media_only_leaves_no_text() -> None:
    assert extract_media_urls("\r\nhttps://example.com/a.gif\r\n") == (
        "",
        ("https://example.com/a.gif",),
    )


def test_nothing_to_extract() -> None:
    assert extract_media_urls("  just words \n") == ("just words", ())
    assert extract_media_urls("") == ("", ())

"""The satisfaction survey: which replies are ratings, and a question that fits one SMS."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.survey import parse_rating, survey_text

LANGUAGES = ("en", "cs", "pl", "de", "fr", "es", "ar", "fa")
# GSM 03.38 basic character set (no escape table): one of these per character keeps an
# SMS segment at 160 characters.
GSM_7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
LONG_NAME = "The Very Long Name Of A Store Somewhere"  # 39 characters


@pytest.mark.parametrize(
    ("reply", "rating"),
    [
        ("5", 5),
        ("1", 1),
        (" 4 ", 4),
        ("\n3\n", 3),
        ("5!", 5),
        ("5!!!", 5),
        ("4.", 4),
        ("4/5", 4),
        ("4 / 5", 4),
        ("2/5.", 2),
        ("5 stars", 5),
        ("3 star", 3),
        ("1 STAR", 1),
        ("5stars!", 5),
        ("⭐⭐⭐⭐", 4),
        ("⭐", 1),
        ("⭐⭐⭐⭐⭐", 5),
        ("⭐\ufe0f⭐\ufe0f⭐\ufe0f", 3),  # phones often send the emoji-style variant
        ("★★", 2),
        ("★ ★ ★", 3),
        ("⭐⭐⭐⭐⭐!", 5),
        ("١", 1),
        ("٥", 5),
        ("۱", 1),
        ("۴", 4),
        ("۵!", 5),
        ("\u200f٤\u200f", 4),  # with right-to-left marks
        ("٣/٥", 3),
        ("4 hvězdičky", 4),
        ("5 hvezdicek", 5),
        ("3 gwiazdki", 3),
        ("5 Sterne", 5),
        ("4 étoiles", 4),
        ("5 estrellas", 5),
        ("٥ نجوم", 5),
        ("۵ ستاره", 5),
    ],
)
def test_ratings(reply: str, rating: int) -> None:
    assert parse_rating(reply) == rating


@pytest.mark.parametrize(
    "reply",
    [
        "",
        " ",
        "0",
        "6",
        "10",
        "05",
        "4.5",
        "5.0",
        "-5",
        "5 items missing",
        "my order 4",
        "4 5",
        "5/10",
        "3/4",
        "4/5 but the box was damaged",
        "five",
        "5 stars?",
        "⭐⭐⭐⭐⭐⭐",
        "⭐ great",
        "☆☆☆",
        "٦",
        "۰",
        "٥ items",
        "5 st",
        "no",
        "STOP",
    ],
)
def test_anything_else_is_not_a_rating(reply: str) -> None:
    assert parse_rating(reply) is None


@given(st.text(max_size=30))
def test_a_rating_is_one_to_five_or_none(reply: str) -> None:
    assert parse_rating(reply) in {None, 1, 2, 3, 4, 5}


@given(st.integers(min_value=1, max_value=5), st.text(alphabet="abcdefghij", min_size=3))
def test_a_number_with_words_after_it_is_a_message(rating: int, word: str) -> None:
    assert parse_rating(f"{rating} {word}") is None
    assert parse_rating(f"{word} {rating}") is None


# --- the question -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_question_names_the_store_and_fits_one_sms(language: str) -> None:
    text = survey_text(store_name=LONG_NAME, language=language)
    assert LONG_NAME in text
    assert len(text) < 160
    assert "{" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_its_own_wording(language: str) -> None:
    text = survey_text(store_name="Demo Store", language=language)
    others = {survey_text(store_name="Demo Store", language=o) for o in LANGUAGES} - {text}
    assert len(others) == len(LANGUAGES) - 1
    if language != "en":
        assert text != survey_text(store_name="Demo Store", language="en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_numbers_the_question_names_are_ratings_we_read(language: str) -> None:
    text = survey_text(store_name="Demo Store", language=language)
    numbers = re.findall(r"\d", text)
    assert [parse_rating(number) for number in numbers] == [1, 5]


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_languages_that_can_be_written_in_gsm_7_are(language: str) -> None:
    text = survey_text(store_name="Demo Store", language=language)
    assert set(text) <= GSM_7, set(text) - GSM_7


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_right_to_left_questions_start_with_their_own_script(language: str) -> None:
    text = survey_text(store_name="Demo Store", language=language)
    assert "\u0600" <= text[0] <= "\u06ff"
    # The Latin name sits between words of the language, not at an edge of a sentence.
    before, _, after = text.partition("Demo Store")
    assert before.rstrip()[-1].isalpha()
    assert after.lstrip()[0].isalpha()


@pytest.mark.parametrize(
    ("tag", "language"),
    [("de-AT", "de"), ("de_CH", "de"), ("DE", "de"), ("pt-BR", "en"), ("", "en"), ("xx", "en")],
)
def test_language_tags_are_read_by_their_primary_subtag(tag: str, language: str) -> None:
    assert survey_text(store_name="S", language=tag) == survey_text(
        store_name="S", language=language
    )


def test_english_wording() -> None:
    assert survey_text(store_name="Demo Store", language="en") == (
        "How was your experience with Demo Store? "
        "Reply with a number from 1 (poor) to 5 (excellent)."
    )


def test_a_store_name_with_braces_is_written_as_it_is() -> None:
    assert "{x} & Co" in survey_text(store_name="{x} & Co", language="fr")

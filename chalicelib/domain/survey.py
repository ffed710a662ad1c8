"""The satisfaction survey after a closed thread: the question, and reading the answer.

The question asks for a bare number so that the answer can be read without guessing; a
reply is a rating only when the whole of it is one ("5", "4/5", "⭐⭐⭐⭐", "٥"). Anything
more ("5 items missing", "my order 4") is a message, not a rating, and must reach a person.

The texts fit one SMS: under 160 characters with a store name of up to 40, and, for the
languages whose letters allow it, in the GSM 03.38 alphabet (a single character outside it
makes a segment 70 characters long). The labels of 1 and 5 are always written out:
Czech and German school grades run the other way round (1 is the best mark).
"""

from __future__ import annotations

import re

FALLBACK_LANGUAGE = "en"

_QUESTIONS = {
    "en": "How was your experience with {store}? Reply with a number from 1 (poor) "
    "to 5 (excellent).",
    "cs": "Jak byste ohodnotili {store}? Odpovězte číslem od 1 (špatně) do 5 (výborně).",
    "pl": "Jak oceniasz {store}? Odpowiedz cyfrą od 1 (słabo) do 5 (doskonale).",
    "de": "Wie zufrieden waren Sie mit {store}? Antworten Sie mit einer Zahl von "
    "1 (schlecht) bis 5 (ausgezeichnet).",
    "fr": "Comment s'est passée votre expérience avec {store} ? Répondez par un chiffre "
    "de 1 (mauvais) à 5 (excellent).",
    "es": "¿Qué tal su experiencia con {store}? Responda con una cifra del 1 (mala) "
    "al 5 (excelente).",
    # Right to left: the text starts with an Arabic letter, and the store's name sits
    # between Arabic words (see ack.py). Persian writes its own digits.
    "ar": "فريق {store} يسألك: كيف كانت تجربتك؟ أرسل رقمًا من 1 (سيئ) إلى 5 (ممتاز).",
    "fa": "تجربه شما با {store} چطور بود؟ با یک عدد از ۱ (ضعیف) تا ۵ (عالی) پاسخ دهید.",
}

# Digits of the scripts our customers type: Arabic-Indic and Persian (Extended).
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Direction marks and joiners that phones add around digits and emoji; they say nothing.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u2066-\u2069\ufe0f]")
# "Star" in the survey's languages, in the forms a count takes, with and without accents.
_STAR_WORDS = (
    "stars?",
    "hv[eě]zd(?:a|y|i[cč]k[ay]|i[cč]ek)?",
    "gwiazd(?:a|y|ka|ki|ek)?",
    "sterne?",
    "[ée]toiles?",
    "estrellas?",
    "نجمة|نجمات|نجوم",
    "ستاره",
)
_RATING = re.compile(
    rf"(?P<digit>[1-5])\s*(?:/\s*5|(?:{'|'.join(_STAR_WORDS)}))?\s*[.!]*",
    re.IGNORECASE,
)
_STARS = re.compile(r"(?:[⭐★]\s*){1,5}[.!]*")


def parse_rating(text: str) -> int | None:
    """The rating 1-5 when the whole reply is one, else None."""
    reply = _INVISIBLE.sub("", text).translate(_DIGITS).strip()
    if match := _RATING.fullmatch(reply):
        return int(match["digit"])
    if _STARS.fullmatch(reply):
        return sum(reply.count(star) for star in "⭐★")
    return None


def survey_text(*, store_name: str, language: str) -> str:
    """The question in the customer's language ('de-AT' reads as 'de'), else English."""
    primary = language.replace("_", "-").partition("-")[0].strip().lower()
    template = _QUESTIONS.get(primary, _QUESTIONS[FALLBACK_LANGUAGE])
    return template.format(store=store_name)

"""Dates and times as the customer's language writes them in the store's country.

Weekday and month names, date order, 12- or 24-hour clock and digits come from Babel's
locale data; the grammar around them (chalicelib/domain/ack.py) does not. Babel is imported
inside these functions, never at module load: the webhook imports the wording on every
cold start, and locale data is only needed when an acknowledgement is actually written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

FALLBACK_LANGUAGE = "en"
# Babel pieces never carry direction marks into our text (RTL wording stays as written),
# and no-break spaces become plain ones (U+202F alone would force UCS-2 on an SMS).
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile("[\u00a0\u202f]")
# Digits of the numbering systems our locales default to (CLDR numberingSystems).
_ZERO_DIGIT = {"arab": "\u0660", "arabext": "\u06f0"}


@dataclass(frozen=True)
class LocalPieces:
    """One local time's pieces as the locale writes them."""

    time: str
    """Hours and minutes on the locale's clock: '09:00', '9:00 AM', '9 h 00'."""
    weekday: str
    date: str
    """Day and month name: '4 January', '4. Januar'."""
    weekday_time: str
    """A weekday and a time as the locale joins them: 'Monday 12:30', 'Montag, 12:30'."""


def local_pieces(local: datetime, language: str, timezone: str) -> LocalPieces:
    """`local` (already in the store's zone) written for `language` in `timezone`'s country."""
    locale = _locale(language, timezone)
    return LocalPieces(
        time=_babel(local, _time_pattern(locale), locale),
        weekday=_babel(local, "EEEE", locale),
        date=_babel(local, _date_pattern(locale), locale),
        weekday_time=_babel(local, _weekday_time_pattern(locale), locale),
    )


def _babel(local: datetime, pattern: str, locale: Locale) -> str:
    from babel.dates import format_datetime

    text = str(format_datetime(local, pattern, tzinfo=local.tzinfo, locale=locale))
    text = _SPACES.sub(" ", _BIDI_CONTROLS.sub("", text))
    zero = _ZERO_DIGIT.get(_numbering_system(locale))
    if zero is None:
        return text
    return text.translate({ord("0") + i: ord(zero) + i for i in range(10)})


@lru_cache(maxsize=64)
def _locale(language: str, timezone: str) -> Locale:
    """The customer's language as written in the store's country, when Babel knows it.

    The times we state are the store's local times, so its country's clock applies:
    English for a Prague store is 'en_CZ' (24-hour), for a New York store 'en_US'.
    A tag that names its own territory ('en_GB') keeps it.
    """
    from babel import Locale, UnknownLocaleError, localedata
    from babel.core import get_global

    tag = language.replace("-", "_")
    try:
        locale = Locale.parse(tag)
    except (UnknownLocaleError, ValueError, TypeError):
        locale = Locale.parse(FALLBACK_LANGUAGE)
    if locale.territory is None:
        territory = get_global("zone_territories").get(timezone)
        regional = f"{locale.language}_{territory}"
        if territory and localedata.exists(regional):
            locale = Locale.parse(regional)
    return locale


@lru_cache(maxsize=64)
def _time_pattern(locale: Locale) -> str:
    """Hours and minutes on the locale's own clock (12- or 24-hour, from its short
    time format), via its skeleton: '09:00', '9:00 AM', '9 h 00'."""
    return _skeleton_pattern(locale, "hm" if _twelve_hour(locale) else "Hm")


@lru_cache(maxsize=64)
def _date_pattern(locale: Locale) -> str:
    return _skeleton_pattern(locale, "MMMMd", widths={"M": 4, "L": 4})


@lru_cache(maxsize=64)
def _weekday_time_pattern(locale: Locale) -> str:
    """'Monday 12:30' as the locale joins a weekday and a time ('Montag, 12:30')."""
    skeleton = "Ehm" if _twelve_hour(locale) else "EHm"
    return _skeleton_pattern(locale, skeleton, widths={"E": 4, "c": 4})


def _twelve_hour(locale: Locale) -> bool:
    from babel.dates import tokenize_pattern

    pattern = locale.time_formats["short"].pattern
    return any(kind == "field" and value[0] in "hK" for kind, value in tokenize_pattern(pattern))


def _skeleton_pattern(
    locale: Locale, skeleton: str, widths: Mapping[str, int] | None = None
) -> str:
    """The locale's pattern for a skeleton, with field widths widened as asked.

    Babel matches skeletons but, unlike ICU, does not widen the fields it finds
    ('E' stays 'Mon' when 'EEEE' was asked for); this does that step.
    """
    from babel.dates import match_skeleton, tokenize_pattern, untokenize_pattern

    key = match_skeleton(skeleton, locale.datetime_skeletons) or skeleton
    found = locale.datetime_skeletons.get(key)
    pattern = found.pattern if found is not None else key
    tokens: list[tuple[str, str | tuple[str, int]]] = []
    for kind, value in tokenize_pattern(pattern):
        if isinstance(value, tuple) and widths and value[0] in widths:
            tokens.append((kind, (value[0], max(value[1], widths[value[0]]))))
        else:
            tokens.append((kind, value))
    return str(untokenize_pattern(tokens))


def _numbering_system(locale: Locale) -> str:
    return str(locale.default_numbering_system)

"""Acknowledgements in the customer's language, and how that language is chosen.

Every built-in language is pinned with exact strings: the wording, Babel's pieces
(weekday and month names, 12/24-hour clock, digits) and right-to-left text are all
visible in them. Fixed instants only; nothing here reads the clock.
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.ack import (
    BUILTIN_LANGUAGES,
    acknowledgement,
    next_opening,
)
from chalicelib.domain.language import DETECTABLE, choose_language, detect_language
from chalicelib.domain.sla import Target, deadline
from chalicelib.settings import DEFAULT_STORES_FILE
from chalicelib.stores import StoreConfig, load_stores
from tests.conftest import ROOT

PRAGUE = "Europe/Prague"

# When the demo store's customer writes (Mon-Fri 09:00-17:00 Prague, 240 business
# minutes), and what it promises.
RECEIVED = {
    # Tuesday 10:00: due 14:00 the same day.
    "open_same_day": datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    # Friday 16:30: 30 minutes on Friday, 3.5 hours on Monday -> Monday 12:30.
    "friday": datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
    # Saturday 11:00: closed, back Monday 09:00, due Monday 13:00.
    "out_of_hours": datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
    # Tuesday 07:00: closed, back at 09:00 the same day, due 13:00.
    "before_opening": datetime(2026, 11, 24, 6, 0, tzinfo=UTC),
    # Tuesday 15:00: 2 hours on Tuesday, 2 on Wednesday -> 11:00 tomorrow.
    "tomorrow": datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
}
# A store closed over the holidays: written on Wednesday 23 December, answered on
# Monday 4 January, 12 days later, so the date is named.
FAR_NOW_OPEN = datetime(2026, 12, 23, 12, 0, tzinfo=UTC)  # 13:00 Prague, open
FAR_NOW_CLOSED = datetime(2026, 12, 23, 16, 30, tzinfo=UTC)  # 17:30 Prague, closed
FAR_OPENS = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # Monday 09:00 Prague
FAR_DUE_OPEN = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
FAR_DUE_CLOSED = datetime(2027, 1, 4, 11, 30, tzinfo=UTC)

EXPECTED: dict[str, dict[str, str]] = {
    "en": {
        "open_same_day": (
            "Thanks, we got your message. Someone from Demo Store will reply by 14:00 today."
        ),
        "friday": (
            "Thanks, we got your message. Someone from Demo Store will reply by Monday 12:30."
        ),
        "out_of_hours": (
            "Thanks, we got your message. Demo Store is closed now and back on "
            "Monday at 09:00; someone will reply by Monday 13:00."
        ),
        "before_opening": (
            "Thanks, we got your message. Demo Store is closed now and back "
            "today at 09:00; someone will reply by 13:00 today."
        ),
        "tomorrow": (
            "Thanks, we got your message. Someone from Demo Store will reply by 11:00 tomorrow."
        ),
        "far_open": (
            "Thanks, we got your message. Someone from Demo Store will reply by "
            "Monday 4 January 09:00."
        ),
        "far_closed": (
            "Thanks, we got your message. Demo Store is closed now and back on "
            "Monday 4 January at 09:00; someone will reply by Monday 4 January "
            "12:30."
        ),
    },
    "cs": {
        "open_same_day": (
            "Děkujeme, vaši zprávu jsme přijali. Tým Demo Store vám odpoví dnes do 14:00."
        ),
        "friday": (
            "Děkujeme, vaši zprávu jsme přijali. Tým Demo Store vám odpoví v pondělí do 12:30."
        ),
        "out_of_hours": (
            "Děkujeme, vaši zprávu jsme přijali. Teď máme zavřeno, otevíráme v "
            "pondělí od 9:00. Tým Demo Store vám odpoví v pondělí do 13:00."
        ),
        "before_opening": (
            "Děkujeme, vaši zprávu jsme přijali. Teď máme zavřeno, otevíráme "
            "dnes od 9:00. Tým Demo Store vám odpoví dnes do 13:00."
        ),
        "tomorrow": (
            "Děkujeme, vaši zprávu jsme přijali. Tým Demo Store vám odpoví zítra do 11:00."
        ),
        "far_open": (
            "Děkujeme, vaši zprávu jsme přijali. Tým Demo Store vám odpoví v "
            "pondělí 4. ledna do 9:00."
        ),
        "far_closed": (
            "Děkujeme, vaši zprávu jsme přijali. Teď máme zavřeno, otevíráme v "
            "pondělí 4. ledna od 9:00. Tým Demo Store vám odpoví v pondělí 4. "
            "ledna do 12:30."
        ),
    },
    "pl": {
        "open_same_day": "Dziękujemy za wiadomość! Zespół Demo Store odpowie dziś do 14:00.",
        "friday": ("Dziękujemy za wiadomość! Zespół Demo Store odpowie w poniedziałek do 12:30."),
        "out_of_hours": (
            "Dziękujemy za wiadomość! Obecnie jesteśmy zamknięci, wracamy w "
            "poniedziałek o 09:00, a zespół Demo Store odpowie w poniedziałek "
            "do 13:00."
        ),
        "before_opening": (
            "Dziękujemy za wiadomość! Obecnie jesteśmy zamknięci, wracamy dziś "
            "o 09:00, a zespół Demo Store odpowie dziś do 13:00."
        ),
        "tomorrow": "Dziękujemy za wiadomość! Zespół Demo Store odpowie jutro do 11:00.",
        "far_open": (
            "Dziękujemy za wiadomość! Zespół Demo Store odpowie w poniedziałek 4 stycznia do 09:00."
        ),
        "far_closed": (
            "Dziękujemy za wiadomość! Obecnie jesteśmy zamknięci, wracamy w "
            "poniedziałek 4 stycznia o 09:00, a zespół Demo Store odpowie w "
            "poniedziałek 4 stycznia do 12:30."
        ),
    },
    "de": {
        "open_same_day": (
            "Danke, Ihre Nachricht ist angekommen. Das Team von Demo Store "
            "antwortet Ihnen heute bis 14:00."
        ),
        "friday": (
            "Danke, Ihre Nachricht ist angekommen. Das Team von Demo Store "
            "antwortet Ihnen am Montag bis 12:30."
        ),
        "out_of_hours": (
            "Danke, Ihre Nachricht ist angekommen. Demo Store hat geschlossen, "
            "ist am Montag ab 09:00 wieder da und antwortet am Montag bis "
            "13:00."
        ),
        "before_opening": (
            "Danke, Ihre Nachricht ist angekommen. Demo Store hat geschlossen, "
            "ist heute ab 09:00 wieder da und antwortet heute bis 13:00."
        ),
        "tomorrow": (
            "Danke, Ihre Nachricht ist angekommen. Das Team von Demo Store "
            "antwortet Ihnen morgen bis 11:00."
        ),
        "far_open": (
            "Danke, Ihre Nachricht ist angekommen. Das Team von Demo Store "
            "antwortet Ihnen am Montag, 4. Januar, bis 09:00."
        ),
        "far_closed": (
            "Danke, Ihre Nachricht ist angekommen. Demo Store hat geschlossen, "
            "ist am Montag, 4. Januar, ab 09:00 wieder da und antwortet am "
            "Montag, 4. Januar, bis 12:30."
        ),
    },
    "fr": {
        "open_same_day": (
            "Merci, nous avons bien reçu votre message. L'équipe Demo Store "
            "vous répondra aujourd'hui avant 14:00."
        ),
        "friday": (
            "Merci, nous avons bien reçu votre message. L'équipe Demo Store "
            "vous répondra lundi avant 12:30."
        ),
        "out_of_hours": (
            "Merci, nous avons bien reçu votre message. Nous sommes fermés et "
            "rouvrons lundi à 09:00. Demo Store vous répondra lundi avant "
            "13:00."
        ),
        "before_opening": (
            "Merci, nous avons bien reçu votre message. Nous sommes fermés et "
            "rouvrons aujourd'hui à 09:00. Demo Store vous répondra aujourd'hui "
            "avant 13:00."
        ),
        "tomorrow": (
            "Merci, nous avons bien reçu votre message. L'équipe Demo Store "
            "vous répondra demain avant 11:00."
        ),
        "far_open": (
            "Merci, nous avons bien reçu votre message. L'équipe Demo Store "
            "vous répondra lundi 4 janvier avant 09:00."
        ),
        "far_closed": (
            "Merci, nous avons bien reçu votre message. Nous sommes fermés et "
            "rouvrons lundi 4 janvier à 09:00. Demo Store vous répondra lundi 4 "
            "janvier avant 12:30."
        ),
    },
    "es": {
        "open_same_day": (
            "Gracias, recibimos su mensaje. El equipo de Demo Store le "
            "responderá hoy antes de las 14:00."
        ),
        "friday": (
            "Gracias, recibimos su mensaje. El equipo de Demo Store le "
            "responderá el lunes antes de las 12:30."
        ),
        "out_of_hours": (
            "Gracias, recibimos su mensaje. Estamos cerrados; volvemos el lunes "
            "a las 9:00 y Demo Store le responderá el lunes antes de las 13:00."
        ),
        "before_opening": (
            "Gracias, recibimos su mensaje. Estamos cerrados; volvemos hoy a "
            "las 9:00 y Demo Store le responderá hoy antes de las 13:00."
        ),
        "tomorrow": (
            "Gracias, recibimos su mensaje. El equipo de Demo Store le "
            "responderá mañana antes de las 11:00."
        ),
        "far_open": (
            "Gracias, recibimos su mensaje. El equipo de Demo Store le "
            "responderá el lunes 4 de enero antes de las 9:00."
        ),
        "far_closed": (
            "Gracias, recibimos su mensaje. Estamos cerrados; volvemos el lunes "
            "4 de enero a las 9:00 y Demo Store le responderá el lunes 4 de "
            "enero antes de las 12:30."
        ),
    },
    "ar": {
        "open_same_day": (
            "شكرًا، وصلتنا رسالتك. سيرد عليك فريق Demo Store اليوم قبل الساعة 2:00 م."
        ),
        "friday": (
            "شكرًا، وصلتنا رسالتك. سيرد عليك فريق Demo Store يوم الاثنين قبل الساعة 12:30 م."
        ),
        "out_of_hours": (
            "شكرًا، وصلتنا رسالتك. نحن مغلقون الآن ونعود يوم الاثنين الساعة "
            "9:00 ص، وسيرد عليك فريق Demo Store يوم الاثنين قبل الساعة 1:00 م."
        ),
        "before_opening": (
            "شكرًا، وصلتنا رسالتك. نحن مغلقون الآن ونعود اليوم الساعة 9:00 ص، "
            "وسيرد عليك فريق Demo Store اليوم قبل الساعة 1:00 م."
        ),
        "tomorrow": ("شكرًا، وصلتنا رسالتك. سيرد عليك فريق Demo Store غدًا قبل الساعة 11:00 ص."),
        "far_open": (
            "شكرًا، وصلتنا رسالتك. سيرد عليك فريق Demo Store يوم الاثنين 4 يناير قبل الساعة 9:00 ص."
        ),
        "far_closed": (
            "شكرًا، وصلتنا رسالتك. نحن مغلقون الآن ونعود يوم الاثنين 4 يناير "
            "الساعة 9:00 ص، وسيرد عليك فريق Demo Store يوم الاثنين 4 يناير قبل "
            "الساعة 12:30 م."
        ),
    },
    "fa": {
        "open_same_day": (
            "سپاس، پیام شما را دریافت کردیم. تیم Demo Store امروز تا ساعت ۱۴:۰۰ "
            "به شما پاسخ می\u200cدهد."
        ),
        "friday": (
            "سپاس، پیام شما را دریافت کردیم. تیم Demo Store دوشنبه تا ساعت "
            "۱۲:۳۰ به شما پاسخ می\u200cدهد."
        ),
        "out_of_hours": (
            "سپاس، پیام شما را دریافت کردیم. الان تعطیل هستیم و دوشنبه ساعت "
            "۹:۰۰ برمی\u200cگردیم. تیم Demo Store دوشنبه تا ساعت ۱۳:۰۰ به شما پاسخ "
            "می\u200cدهد."
        ),
        "before_opening": (
            "سپاس، پیام شما را دریافت کردیم. الان تعطیل هستیم و امروز ساعت ۹:۰۰ "
            "برمی\u200cگردیم. تیم Demo Store امروز تا ساعت ۱۳:۰۰ به شما پاسخ می\u200cدهد."
        ),
        "tomorrow": (
            "سپاس، پیام شما را دریافت کردیم. تیم Demo Store فردا تا ساعت ۱۱:۰۰ "
            "به شما پاسخ می\u200cدهد."
        ),
        "far_open": (
            "سپاس، پیام شما را دریافت کردیم. تیم Demo Store دوشنبه ۴ ژانویه تا "
            "ساعت ۹:۰۰ به شما پاسخ می\u200cدهد."
        ),
        "far_closed": (
            "سپاس، پیام شما را دریافت کردیم. الان تعطیل هستیم و دوشنبه ۴ ژانویه "
            "ساعت ۹:۰۰ برمی\u200cگردیم. تیم Demo Store دوشنبه ۴ ژانویه تا ساعت ۱۲:۳۰ "
            "به شما پاسخ می\u200cدهد."
        ),
    },
}


BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.fixture(scope="module")
def demo() -> StoreConfig:
    store = load_stores(DEFAULT_STORES_FILE).by_id("demo")
    assert store is not None
    return store


def ack(
    language: str,
    *,
    deadline: datetime,
    now: datetime,
    opens: datetime | None = None,
    timezone: str = PRAGUE,
    overrides: dict[str, str] | None = None,
    store_name: str = "Demo Store",
) -> str:
    return acknowledgement(
        store_name=store_name,
        deadline=deadline,
        opens=opens,
        timezone=timezone,
        language=language,
        now=now,
        overrides=overrides or {},
    )


def test_the_built_in_languages() -> None:
    assert frozenset({"en", "cs", "pl", "de", "fr", "es", "ar", "fa"}) <= BUILTIN_LANGUAGES
    assert set(EXPECTED) == BUILTIN_LANGUAGES


@pytest.mark.parametrize(
    ("language", "case"), [(language, case) for language in EXPECTED for case in RECEIVED]
)
def test_the_demo_store_in_every_language(demo: StoreConfig, language: str, case: str) -> None:
    now = RECEIVED[case]
    due = deadline(demo.calendar, now, demo.sla.targets.first_response)
    text = ack(
        language,
        deadline=due,
        now=now,
        opens=next_opening(demo.calendar, now),
        timezone=demo.calendar.timezone,
        store_name=demo.name,
    )
    assert text == EXPECTED[language][case]


@pytest.mark.parametrize("language", list(EXPECTED))
def test_six_or_more_days_away_names_the_date(language: str) -> None:
    assert ack(language, deadline=FAR_DUE_OPEN, now=FAR_NOW_OPEN) == EXPECTED[language]["far_open"]
    closed = ack(language, deadline=FAR_DUE_CLOSED, now=FAR_NOW_CLOSED, opens=FAR_OPENS)
    assert closed == EXPECTED[language]["far_closed"]


def test_the_demo_promise_and_reopening_come_from_the_calendar(demo: StoreConfig) -> None:
    friday = RECEIVED["friday"]
    assert next_opening(demo.calendar, friday) is None
    saturday = RECEIVED["out_of_hours"]
    assert next_opening(demo.calendar, saturday) == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert deadline(demo.calendar, friday, Target(240)) == datetime(
        2026, 11, 23, 11, 30, tzinfo=UTC
    )


def produced(demo: StoreConfig) -> dict[str, dict[str, str]]:
    """What `acknowledgement` writes for every language and case of EXPECTED: the tests
    below check the function's output, not the literals above (which only the exact
    comparisons pin)."""
    texts: dict[str, dict[str, str]] = {}
    for language in sorted(BUILTIN_LANGUAGES):
        cases = {}
        for case, now in RECEIVED.items():
            cases[case] = ack(
                language,
                deadline=deadline(demo.calendar, now, demo.sla.targets.first_response),
                now=now,
                opens=next_opening(demo.calendar, now),
                timezone=demo.calendar.timezone,
                store_name=demo.name,
            )
        cases["far_open"] = ack(language, deadline=FAR_DUE_OPEN, now=FAR_NOW_OPEN)
        cases["far_closed"] = ack(
            language, deadline=FAR_DUE_CLOSED, now=FAR_NOW_CLOSED, opens=FAR_OPENS
        )
        texts[language] = cases
    assert len(texts) == len(BUILTIN_LANGUAGES) >= 8
    assert all(len(cases) == len(RECEIVED) + 2 for cases in texts.values())
    return texts


def test_every_built_in_acknowledgement_fits_an_sms(demo: StoreConfig) -> None:
    for language, texts in produced(demo).items():
        for case, text in texts.items():
            assert len(text) <= 160, (language, case, len(text))


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_right_to_left_text_is_left_as_written(demo: StoreConfig, language: str) -> None:
    texts = produced(demo)[language]
    assert len(texts) == len(RECEIVED) + 2
    for text in texts.values():
        # No direction marks of ours or Babel's: the text is RTL from its first letter
        # (apps that pick the direction from the first strong letter get it right) and
        # the Latin store name sits between Arabic-script words.
        assert not set(text) & set(BIDI_CONTROLS)
        first_strong = next(ch for ch in text if unicodedata.bidirectional(ch) in ("L", "R", "AL"))
        assert unicodedata.bidirectional(first_strong) == "AL"
        assert " Demo Store " in text


def test_times_in_arabic_and_persian_are_readable(demo: StoreConfig) -> None:
    texts = produced(demo)
    # Arabic (as Babel writes it with no country): Western digits, 12-hour with ص/م.
    assert "قبل الساعة 12:30 م." in texts["ar"]["friday"]
    # Persian: Persian digits (Babel's default numbering for fa), 24-hour clock.
    assert "تا ساعت ۱۲:۳۰ " in texts["fa"]["friday"]
    # Each keeps its own letters: no Arabic yeh/kaf in Persian, and the reverse.
    assert not any(ch in text for text in texts["fa"].values() for ch in "يك")
    assert not any(ch in text for text in texts["ar"].values() for ch in "یک")


def test_arabic_in_egypt_writes_arabic_indic_digits() -> None:
    text = ack(
        "ar",
        deadline=datetime(2026, 11, 23, 11, 30, tzinfo=UTC),
        now=RECEIVED["friday"],
        timezone="Africa/Cairo",
        store_name="X",
    )
    assert text == "شكرًا، وصلتنا رسالتك. سيرد عليك فريق X يوم الاثنين قبل الساعة ١:٣٠ م."


def test_the_clock_is_the_one_of_the_store_country() -> None:
    friday, monday = RECEIVED["friday"], datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    # English for a New York store is en_US: 12-hour, with a plain space (a U+202F
    # no-break space would force the whole SMS into UCS-2).
    new_york = ack("en", deadline=monday, now=friday, timezone="America/New_York")
    assert new_york == (
        "Thanks, we got your message. Someone from Demo Store will reply by Monday 6:30 AM."
    )
    # A tag that names its country keeps it.
    us_in_prague = ack("en_US", deadline=monday, now=friday)
    assert us_in_prague.endswith("will reply by Monday 12:30 PM.")
    assert ack("en-GB", deadline=monday, now=friday).endswith("will reply by Monday 12:30.")


def test_spanish_says_la_una_and_does_not_double_the_full_stop() -> None:
    friday = RECEIVED["friday"]
    madrid = ack(
        "es", deadline=datetime(2026, 11, 21, 0, 30, tzinfo=UTC), now=friday, store_name="X"
    )
    assert (
        madrid
        == "Gracias, recibimos su mensaje. El equipo de X le responderá mañana antes de la 1:30."
    )
    new_york = ack(
        "es",
        deadline=datetime(2026, 11, 20, 18, 30, tzinfo=UTC),
        now=friday,
        timezone="America/New_York",
        store_name="X",
    )
    assert new_york == (
        "Gracias, recibimos su mensaje. El equipo de X le responderá hoy antes de la 1:30 p.m."
    )


def test_the_legacy_template_is_the_override_for_the_default_language(demo: StoreConfig) -> None:
    overrides = {
        demo.locale: "Thanks, we got your message. Someone from {store} will reply by {deadline}."
    }
    now = RECEIVED["friday"]
    due = deadline(demo.calendar, now, demo.sla.targets.first_response)
    assert ack("en", deadline=due, now=now, overrides=overrides) == EXPECTED["en"]["friday"]
    # It has no {opens}: out of hours it is used as it is, without the reopening.
    saturday = RECEIVED["out_of_hours"]
    closed = ack(
        "en",
        deadline=deadline(demo.calendar, saturday, demo.sla.targets.first_response),
        now=saturday,
        opens=next_opening(demo.calendar, saturday),
        overrides=overrides,
    )
    assert (
        closed == "Thanks, we got your message. Someone from Demo Store will reply by Monday 13:00."
    )
    # Other languages keep the built-in wording.
    assert ack("cs", deadline=due, now=now, overrides=overrides) == EXPECTED["cs"]["friday"]


def test_an_override_for_a_language_is_worded_with_its_locale() -> None:
    friday, monday = RECEIVED["friday"], datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    overrides = {
        "it": "Grazie! {store} risponderà entro {deadline}.",
        "cs": "Díky! Ozveme se {by_deadline}.",
        "en": "We are on it: {by_deadline}, {store}.",
    }
    italian = ack("it", deadline=monday, now=friday, timezone="Europe/Rome", overrides=overrides)
    assert italian == "Grazie! Demo Store risponderà entro lunedì 12:30."
    assert ack("cs", deadline=monday, now=friday, overrides=overrides) == (
        "Díky! Ozveme se v pondělí do 12:30."
    )
    # Looked up by the exact tag first, then by its language.
    assert ack("en_GB", deadline=monday, now=friday, overrides=overrides) == (
        "We are on it: by Monday 12:30, Demo Store."
    )


def test_an_override_with_opens_speaks_only_out_of_hours() -> None:
    overrides = {"en": "Closed until {opens}. {store} replies {by_deadline}."}
    saturday, monday = RECEIVED["out_of_hours"], datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    opens = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    closed = ack("en", deadline=monday, now=saturday, opens=opens, overrides=overrides)
    assert closed == "Closed until on Monday at 09:00. Demo Store replies by Monday 13:00."
    is_open = ack("en", deadline=monday, now=saturday, overrides=overrides)
    assert (
        is_open
        == "Thanks, we got your message. Someone from Demo Store will reply by Monday 13:00."
    )


@pytest.mark.parametrize(
    "template",
    [
        "Hello {customer}, by {deadline}.",
        "{store.__class__} by {deadline}",
        "{deadline!r}",
        "{deadline:>40}",
        "{0} {deadline}",
        "unbalanced {deadline",
        "}",
        "",
        "Thanks, {store}!",
    ],
)
def test_a_broken_override_falls_back_to_the_built_in_wording(template: str) -> None:
    now = RECEIVED["friday"]
    monday = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    assert (
        ack("en", deadline=monday, now=now, overrides={"en": template})
        == (EXPECTED["en"]["friday"])
    )


def test_a_language_with_no_wording_is_answered_in_english() -> None:
    now, monday = RECEIVED["friday"], datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    assert ack("it", deadline=monday, now=now) == EXPECTED["en"]["friday"]
    assert ack("xx", deadline=monday, now=now) == EXPECTED["en"]["friday"]


def test_the_bare_deadline_for_existing_templates() -> None:
    tuesday, friday = RECEIVED["open_same_day"], RECEIVED["friday"]
    same_day = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    next_day = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)

    def bare(deadline: datetime, now: datetime, locale: str, template: str = "{deadline}") -> str:
        return acknowledgement(
            store_name="X",
            deadline=deadline,
            opens=None,
            timezone=PRAGUE,
            language=locale,
            now=now,
            overrides={locale: template},
        )

    assert bare(same_day, tuesday, "en") == "14:00 today"
    assert bare(next_day, tuesday, "en") == "11:00 tomorrow"
    assert bare(monday, friday, "en") == "Monday 12:30"
    assert bare(FAR_DUE_OPEN, FAR_NOW_OPEN, "en") == "Monday 4 January 09:00"
    assert bare(same_day, tuesday, "cs") == "dnes 14:00"
    # The weekday and time as the locale joins them (Babel's skeleton).
    assert bare(monday, friday, "de") == "Montag, 12:30"
    assert bare(monday, friday, "fa") == "دوشنبه ۱۲:۳۰"
    assert bare(monday, friday, "pl", "{store}: {by_deadline}") == "X: w poniedziałek do 12:30"


@pytest.mark.parametrize(
    "module",
    ["chalicelib.domain.ack", "chalicelib.domain.locale_format", "chalicelib.domain.language"],
)
def test_importing_the_wording_loads_no_babel(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        "print(any(m == 'babel' or m.startswith('babel.') for m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- choosing the language -----------------------------------------------------------

SUPPORTED = ("en", "cs", "pl", "de", "fr", "es", "ar", "fa")

SENTENCES = [
    ("en", "Hello, my order has not arrived yet. Can you tell me where it is?"),
    ("en", "I want to return the item, wrong size"),
    ("cs", "Dobrý den, moje objednávka ještě nedorazila. Můžete mi prosím říct, kde je?"),
    ("cs", "dobry den, kdy mi prijde objednavka?"),
    ("pl", "Dzień dobry, moje zamówienie jeszcze nie dotarło. Czy możecie sprawdzić, gdzie jest?"),
    ("pl", "czy moge zmienic adres dostawy"),
    ("de", "Hallo, meine Bestellung ist noch nicht angekommen. Können Sie mir sagen, wo sie ist?"),
    ("de", "Wo ist mein Paket?"),
    ("fr", "Bonjour, ma commande n'est toujours pas arrivée. Pouvez-vous me dire où elle est ?"),
    ("fr", "je voudrais retourner l'article, ce n'est pas la bonne taille"),
    ("es", "Hola, mi pedido todavía no ha llegado. ¿Me pueden decir dónde está?"),
    ("es", "¿Dónde está mi paquete?"),
    ("ar", "مرحبا، لم يصل طلبي بعد. هل يمكنكم إخباري أين هو؟"),
    ("ar", "أين طردي؟"),
    ("fa", "سلام، سفارش من هنوز نرسیده است. می\u200cتوانید بگویید کجاست؟"),
    ("fa", "بسته من کجاست؟"),
]


@pytest.mark.parametrize(("language", "text"), SENTENCES)
def test_a_sentence_is_answered_in_its_language(language: str, text: str) -> None:
    assert detect_language(text) == language
    assert choose_language(previous=None, text=text, default="en", supported=SUPPORTED) == language


def test_the_language_used_before_wins() -> None:
    czech = "Dobrý den, moje objednávka ještě nedorazila."
    assert choose_language(previous="de", text=czech, default="en", supported=SUPPORTED) == "de"
    # Compared by language, answered as the store spells it.
    assert choose_language(previous="CS-cz", text="Hi", default="en", supported=SUPPORTED) == "cs"
    assert (
        choose_language(previous="en", text=czech, default="cs", supported=("cs", "en_GB"))
        == "en_GB"
    )


def test_a_previous_language_the_store_no_longer_writes_is_ignored() -> None:
    czech = "Dobrý den, moje objednávka ještě nedorazila."
    assert choose_language(previous="it", text=czech, default="en", supported=SUPPORTED) == "cs"
    assert choose_language(previous="it", text="ok", default="en", supported=SUPPORTED) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Hi",
        "ok",
        "OK thx",
        "Yes please",
        "#12345",
        "Order 4711",
        "+420 777 123 456",
        "https://example.com/order/123",
        "👍",
        "??",
        "STOP",
        "Díky",
        "Danke",
        "merci",
        "Hola amigo",
        "شكرا",
        "ممنون",
    ],
)
def test_a_short_text_keeps_the_previous_or_default_language(text: str) -> None:
    assert detect_language(text) is None
    assert choose_language(previous=None, text=text, default="cs", supported=SUPPORTED) == "cs"
    assert choose_language(previous="fa", text=text, default="cs", supported=SUPPORTED) == "fa"


@pytest.mark.parametrize(
    "text",
    [
        "Buongiorno, quando verrà spedito il mio ordine?",
        "Olá, quando vão enviar a minha encomenda?",
        "Dobrý deň, kedy mi príde balík? Ďakujem",
        "Hallo, wanneer wordt mijn bestelling verzonden?",
        "Здравствуйте, когда отправят мой заказ?",
        "Hej, när skickas min beställning?",
        "Merhaba, siparişim ne zaman kargoya verilecek?",
    ],
)
def test_a_language_the_store_does_not_write_falls_back_to_the_default(text: str) -> None:
    detected = detect_language(text)
    assert detected is None or detected in DETECTABLE - set(SUPPORTED)
    assert choose_language(previous=None, text=text, default="de", supported=SUPPORTED) == "de"


def test_a_detected_language_outside_the_store_languages_is_not_used() -> None:
    french = "Bonjour, ma commande n'est toujours pas arrivée. Pouvez-vous me dire où elle est ?"
    assert choose_language(previous=None, text=french, default="en", supported=("en", "cs")) == "en"


def test_the_store_default_stands_when_nothing_else_is_known() -> None:
    assert choose_language(previous=None, text="", default="pl", supported=()) == "pl"


@given(st.text(max_size=300), st.sampled_from([None, "cs", "it", "EN-us", ""]))
def test_any_text_gets_a_supported_language_or_the_default(text: str, previous: str | None) -> None:
    detected = detect_language(text)
    assert detected is None or detected in DETECTABLE
    chosen = choose_language(previous=previous, text=text, default="pl", supported=SUPPORTED)
    assert chosen in SUPPORTED


@given(
    st.sampled_from(["en", "cs", "pl", "de", "fr", "es", "ar", "fa", "it", "xx", "en-US", ""]),
    st.text(max_size=40),
)
def test_any_language_and_any_override_still_acknowledge(language: str, template: str) -> None:
    monday = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    text = ack(language, deadline=monday, now=RECEIVED["friday"], overrides={language: template})
    assert text

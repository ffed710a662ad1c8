"""When and what we answer automatically to a customer's message.

The wording comes in the customer's language: built-in templates for
`BUILTIN_LANGUAGES`, or a store's own template per language. The pieces of a time
(weekday and month names, date order, 12- or 24-hour clock, digits) come from Babel
for the customer's language written in the store's country; the grammar around them
(prepositions, "today", "tomorrow", the case a weekday takes) is in the wording here,
because no locale data has it.

The Babel side lives in chalicelib/domain/locale_format.py, which imports Babel only
when it formats: the webhook imports this module on every cold start.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.locale_format import FALLBACK_LANGUAGE, local_pieces

# A deadline this many local days ahead (or more) names its date: "Monday" alone could
# then mean two different days.
DATE_AFTER_DAYS = 6
PLACEHOLDERS = frozenset({"store", "deadline", "by_deadline", "opens"})
"""What a store's template may use: its name, the bare deadline ("Monday 12:30"), the
deadline with the language's word for "by" ("by Monday 12:30", "v pondělí do 12:30"),
and when a closed store opens again ("on Monday at 09:00")."""

_DEADLINES = frozenset({"deadline", "by_deadline"})
_Form = Literal["today", "tomorrow", "weekday", "date"]


@dataclass(frozen=True)
class _Wording:
    """One language's acknowledgement: two templates and the phrases they use.

    Phrase tuples are (today, tomorrow, weekday, date). Their fields: {time},
    {weekday}, {date} and {weekday_time} ("Monday 12:30", "Montag, 12:30") as Babel
    writes them, {on_weekday} (the weekday in the case a preposition asks for) and
    {article} (Spanish "la"/"las" before an hour).
    """

    open: str
    closed: str
    by: tuple[str, str, str, str]
    """The deadline with the language's "by"."""
    at: tuple[str, str, str, str]
    """When the store opens again."""
    bare: tuple[str, str, str, str]
    """The deadline without "by", for a store's own template."""
    on_weekday: tuple[str, ...] = ()
    """Monday first; empty when Babel's weekday name fits after a preposition."""


_WORDING: Mapping[str, _Wording] = {
    "en": _Wording(
        open="Thanks, we got your message. Someone from {store} will reply {by_deadline}.",
        closed=(
            "Thanks, we got your message. {store} is closed now and back {opens}; "
            "someone will reply {by_deadline}."
        ),
        by=(
            "by {time} today",
            "by {time} tomorrow",
            "by {weekday} {time}",
            "by {weekday} {date} {time}",
        ),
        at=(
            "today at {time}",
            "tomorrow at {time}",
            "on {weekday} at {time}",
            "on {weekday} {date} at {time}",
        ),
        bare=("{time} today", "{time} tomorrow", "{weekday_time}", "{weekday} {date} {time}"),
    ),
    "cs": _Wording(
        open="Děkujeme, vaši zprávu jsme přijali. Tým {store} vám odpoví {by_deadline}.",
        closed=(
            "Děkujeme, vaši zprávu jsme přijali. Teď máme zavřeno, otevíráme {opens}. "
            "Tým {store} vám odpoví {by_deadline}."
        ),
        by=(
            "dnes do {time}",
            "zítra do {time}",
            "{on_weekday} do {time}",
            "{on_weekday} {date} do {time}",
        ),
        at=(
            "dnes od {time}",
            "zítra od {time}",
            "{on_weekday} od {time}",
            "{on_weekday} {date} od {time}",
        ),
        bare=("dnes {time}", "zítra {time}", "{weekday_time}", "{weekday} {date} {time}"),
        on_weekday=(
            "v pondělí",
            "v úterý",
            "ve středu",
            "ve čtvrtek",
            "v pátek",
            "v sobotu",
            "v neděli",
        ),
    ),
    "pl": _Wording(
        open="Dziękujemy za wiadomość! Zespół {store} odpowie {by_deadline}.",
        closed=(
            "Dziękujemy za wiadomość! Obecnie jesteśmy zamknięci, wracamy {opens}, "
            "a zespół {store} odpowie {by_deadline}."
        ),
        by=(
            "dziś do {time}",
            "jutro do {time}",
            "{on_weekday} do {time}",
            "{on_weekday} {date} do {time}",
        ),
        at=(
            "dziś o {time}",
            "jutro o {time}",
            "{on_weekday} o {time}",
            "{on_weekday} {date} o {time}",
        ),
        bare=("dziś {time}", "jutro {time}", "{weekday_time}", "{weekday}, {date}, {time}"),
        on_weekday=(
            "w poniedziałek",
            "we wtorek",
            "w środę",
            "w czwartek",
            "w piątek",
            "w sobotę",
            "w niedzielę",
        ),
    ),
    "de": _Wording(
        open=(
            "Danke, Ihre Nachricht ist angekommen. Das Team von {store} "
            "antwortet Ihnen {by_deadline}."
        ),
        closed=(
            "Danke, Ihre Nachricht ist angekommen. {store} hat geschlossen, "
            "ist {opens} wieder da und antwortet {by_deadline}."
        ),
        by=(
            "heute bis {time}",
            "morgen bis {time}",
            "am {weekday} bis {time}",
            "am {weekday}, {date}, bis {time}",
        ),
        at=(
            "heute ab {time}",
            "morgen ab {time}",
            "am {weekday} ab {time}",
            "am {weekday}, {date}, ab {time}",
        ),
        bare=("heute, {time}", "morgen, {time}", "{weekday_time}", "{weekday}, {date}, {time}"),
    ),
    "fr": _Wording(
        open=(
            "Merci, nous avons bien reçu votre message. L'équipe {store} "
            "vous répondra {by_deadline}."
        ),
        closed=(
            "Merci, nous avons bien reçu votre message. Nous sommes fermés et rouvrons "
            "{opens}. {store} vous répondra {by_deadline}."
        ),
        by=(
            "aujourd'hui avant {time}",
            "demain avant {time}",
            "{weekday} avant {time}",
            "{weekday} {date} avant {time}",
        ),
        at=(
            "aujourd'hui à {time}",
            "demain à {time}",
            "{weekday} à {time}",
            "{weekday} {date} à {time}",
        ),
        bare=("aujourd'hui {time}", "demain {time}", "{weekday_time}", "{weekday} {date} {time}"),
    ),
    "es": _Wording(
        open="Gracias, recibimos su mensaje. El equipo de {store} le responderá {by_deadline}.",
        closed=(
            "Gracias, recibimos su mensaje. Estamos cerrados; volvemos {opens} "
            "y {store} le responderá {by_deadline}."
        ),
        by=(
            "hoy antes de {article} {time}",
            "mañana antes de {article} {time}",
            "el {weekday} antes de {article} {time}",
            "el {weekday} {date} antes de {article} {time}",
        ),
        at=(
            "hoy a {article} {time}",
            "mañana a {article} {time}",
            "el {weekday} a {article} {time}",
            "el {weekday} {date} a {article} {time}",
        ),
        bare=("hoy, {time}", "mañana, {time}", "{weekday_time}", "{weekday}, {date}, {time}"),
    ),
    # Right-to-left: every sentence starts with an Arabic letter (apps that take the
    # direction from the first strong letter then lay it out right to left), a Latin
    # store name always sits between Arabic words, and no direction marks are added.
    "ar": _Wording(
        open="شكرًا، وصلتنا رسالتك. سيرد عليك فريق {store} {by_deadline}.",
        closed=(
            "شكرًا، وصلتنا رسالتك. نحن مغلقون الآن ونعود {opens}، "
            "وسيرد عليك فريق {store} {by_deadline}."
        ),
        by=(
            "اليوم قبل الساعة {time}",
            "غدًا قبل الساعة {time}",
            "يوم {weekday} قبل الساعة {time}",
            "يوم {weekday} {date} قبل الساعة {time}",
        ),
        at=(
            "اليوم الساعة {time}",
            "غدًا الساعة {time}",
            "يوم {weekday} الساعة {time}",
            "يوم {weekday} {date} الساعة {time}",
        ),
        bare=("اليوم {time}", "غدًا {time}", "{weekday_time}", "{weekday} {date} {time}"),
    ),
    "fa": _Wording(
        open="سپاس، پیام شما را دریافت کردیم. تیم {store} {by_deadline} به شما پاسخ می‌دهد.",
        closed=(
            "سپاس، پیام شما را دریافت کردیم. الان تعطیل هستیم و {opens} برمی‌گردیم. "
            "تیم {store} {by_deadline} به شما پاسخ می‌دهد."
        ),
        by=(
            "امروز تا ساعت {time}",
            "فردا تا ساعت {time}",
            "{weekday} تا ساعت {time}",
            "{weekday} {date} تا ساعت {time}",
        ),
        at=(
            "امروز ساعت {time}",
            "فردا ساعت {time}",
            "{weekday} ساعت {time}",
            "{weekday} {date} ساعت {time}",
        ),
        bare=("امروز {time}", "فردا {time}", "{weekday_time}", "{weekday} {date} {time}"),
    ),
}

BUILTIN_LANGUAGES: frozenset[str] = frozenset(_WORDING)
"""Languages we have our own acknowledgement wording for."""


def should_acknowledge(
    *,
    new_thread: bool,
    opted_out: bool,
    last_ack_at: datetime | None,
    now: datetime,
    cooldown_minutes: int,
) -> bool:
    if opted_out:
        return False
    if new_thread or last_ack_at is None:
        return True
    return now - last_ack_at >= timedelta(minutes=cooldown_minutes)


def next_opening(calendar: BusinessCalendar, at: datetime) -> datetime | None:
    """When a closed store opens again (for the out-of-hours wording); None while open."""
    return None if calendar.is_open(at) else calendar.next_open(at)


def acknowledgement(
    *,
    store_name: str,
    deadline: datetime,
    opens: datetime | None,
    timezone: str,
    language: str,
    now: datetime,
    overrides: Mapping[str, str],
) -> str:
    """The acknowledgement in `language`: the store's template for it, else ours.

    `opens` is when the store opens again if it is closed at `now` (see
    `next_opening`), None while it is open. An override is looked up by the exact tag,
    then by its language ('en_GB', then 'en'). One that does not state the deadline,
    uses a placeholder we do not fill, or is malformed, is ignored rather than failing
    the webhook; one that mentions {opens} only speaks for out-of-hours messages. A
    language with neither override nor built-in wording is answered in English.
    """
    template = _override(overrides, language, closed=opens is not None)
    if template is None:
        if _base(language) not in _WORDING:
            language = FALLBACK_LANGUAGE
        wording = _WORDING[_base(language)]
        template = wording.open if opens is None else wording.closed
    fields = _fields(deadline, opens, timezone=timezone, language=language, now=now)
    return _fill(template, store=store_name, **fields)


def _fill(template: str, **values: str) -> str:
    """Format, without doubling a full stop ("by 1:30 p.m." ends the sentence too)."""
    for name, value in values.items():
        if value.endswith("."):
            template = template.replace(f"{{{name}}}.", f"{{{name}}}")
    return template.format(**values)


def _base(tag: str) -> str:
    return tag.replace("-", "_").partition("_")[0].strip().lower()


def _override(overrides: Mapping[str, str], language: str, *, closed: bool) -> str | None:
    candidates = [language, _base(language)]
    for key in overrides:
        if _base(key) == _base(language) and key not in candidates:
            candidates.append(key)
    for key in candidates:
        template = overrides.get(key)
        if template is None:
            continue
        fields = _template_fields(template)
        # An acknowledgement states the promise: a template without it is not one.
        if fields is None or not fields <= PLACEHOLDERS or not fields & _DEADLINES:
            return None
        if "opens" in fields and not closed:
            return None
        return template
    return None


def _template_fields(template: str) -> frozenset[str] | None:
    """The placeholders a template uses; None when it is malformed or does more than
    name them (attribute access, indexing, conversions and format specs are refused)."""
    names: set[str] = set()
    try:
        for _, name, spec, conversion in string.Formatter().parse(template):
            if name is None:
                continue
            if spec or conversion or not name.isidentifier():
                return None
            names.add(name)
    except ValueError:
        return None
    return frozenset(names)


def _form(at: date, today: date) -> _Form:
    days = (at - today).days
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return "weekday" if days < DATE_AFTER_DAYS else "date"


_FORMS: tuple[_Form, ...] = ("today", "tomorrow", "weekday", "date")
# For a language we have no wording for (a store's own template in it): Babel's
# pieces only, no "today"/"tomorrow" and no word for "by".
_GENERIC = ("{weekday_time}", "{weekday_time}", "{weekday_time}", "{weekday} {date} {time}")


def _fields(
    deadline: datetime, opens: datetime | None, *, timezone: str, language: str, now: datetime
) -> dict[str, str]:
    """The placeholders' values: the deadline bare and with "by", and the reopening."""
    zone = ZoneInfo(timezone)
    wording = _WORDING.get(_base(language))
    today = now.astimezone(zone).date()

    def phrase(at: datetime, choose: Callable[[_Wording], tuple[str, str, str, str]]) -> str:
        local = at.astimezone(zone)
        phrases = _GENERIC if wording is None else choose(wording)
        form = _FORMS.index(_form(local.date(), today))
        return phrases[form].format(**_pieces(local, language, timezone, wording))

    fields = {
        "deadline": phrase(deadline, lambda w: w.bare),
        "by_deadline": phrase(deadline, lambda w: w.by),
    }
    if opens is not None:
        fields["opens"] = phrase(opens, lambda w: w.at)
    return fields


def _pieces(
    local: datetime, language: str, timezone: str, wording: _Wording | None
) -> dict[str, str]:
    """Weekday, date and time as the locale writes them, and what grammar needs."""
    pieces = local_pieces(local, language, timezone)
    return {
        "time": pieces.time,
        "weekday": pieces.weekday,
        "date": pieces.date,
        "weekday_time": pieces.weekday_time,
        "on_weekday": (
            wording.on_weekday[local.weekday()]
            if wording and wording.on_weekday
            else pieces.weekday
        ),
        # Spanish says "a la 1:00" but "a las 2:00" / "a las 13:00".
        "article": "la" if re.match(r"0?1\D", pieces.time) else "las",
    }

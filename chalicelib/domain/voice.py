"""A call nobody can take: what the store's number does with it, decided from plain values.

A call rings the store's `forward_to` phone first while the store is open; otherwise, or
when nobody answers, the caller hears when the store will answer (the promise comes from
the same `deadline` and the same wording machinery as every acknowledgement, so the time
said aloud is the time the SLA timers keep) and may leave a message after the tone. The
voicemail, or a missed call, becomes a message on the caller's thread, and the caller gets
one text back they can reply to. Nothing here does I/O: the adapter renders the TwiML
(channels/twilio_voice.py), the flow stores (flows/receive_voice.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.ack import acknowledgement, next_opening
from chalicelib.domain.calendar import BusinessCalendar
from chalicelib.domain.locale_format import FALLBACK_LANGUAGE
from chalicelib.domain.messages import CallFacts
from chalicelib.domain.voice_config import E164, VoiceSettings, _base

MIN_VOICEMAIL_SECONDS = 2
"""A recording shorter than this is a caller who hung up at the tone: a missed call."""

# Amazon Transcribe's batch language codes (its API's LanguageCode), one per language we
# detect or a store may speak. A language not here gets no transcript, and the agents are
# told why (`no_transcribe_reason`).
TRANSCRIBE_LANGUAGES: Mapping[str, str] = {
    "en": "en-US",
    "cs": "cs-CZ",
    "sk": "sk-SK",
    "pl": "pl-PL",
    "de": "de-DE",
    "nl": "nl-NL",
    "fr": "fr-FR",
    "es": "es-ES",
    "it": "it-IT",
    "pt": "pt-PT",
    "sv": "sv-SE",
    "fa": "fa-IR",
}
NOT_TRANSCRIBED: Mapping[str, str] = {
    "ar": (
        "Amazon Transcribe's Arabic (ar-SA, ar-AE) needs audio sampled at 16 kHz or more, "
        "and Twilio records calls at 8 kHz"
    ),
}
"""Languages Transcribe lists but cannot transcribe from a phone call, and why."""
TRANSCRIBE_POLL_DELAYS: tuple[int, ...] = (10, 20, 40, 80, 160, 320, 600, 900)
"""Seconds before each look at a Transcribe job: about 35 minutes in all, then "no
transcript" (a voicemail of at most 10 minutes takes Transcribe a few)."""


@dataclass(frozen=True)
class Voice:
    """A text-to-speech voice Twilio's `<Say>` accepts, and the language tag it speaks."""

    name: str
    language: str


# Amazon Polly voices as Twilio names them (`Polly.<Voice>`, `-Neural` for a neural-only
# voice), one per language we have wording for. Persian has no Polly voice: a store that
# serves Persian callers records its greeting (`voice.greeting_urls.fa`), else English.
POLLY_VOICES: Mapping[str, Voice] = {
    "en": Voice("Polly.Joanna", "en-US"),
    "cs": Voice("Polly.Jitka-Neural", "cs-CZ"),
    "pl": Voice("Polly.Ewa", "pl-PL"),
    "de": Voice("Polly.Marlene", "de-DE"),
    "fr": Voice("Polly.Celine", "fr-FR"),
    "es": Voice("Polly.Conchita", "es-ES"),
    "ar": Voice("Polly.Zeina", "arb"),
}


# What the caller hears, per language: the promise in the acknowledgement's own words for
# a time ({by_deadline}, {opens}), filled by `acknowledgement` as a store's template is.
_GREETING_OPEN: Mapping[str, str] = {
    "en": (
        "Hello, you have reached {store}. Nobody can take your call right now. Please leave "
        "a message after the tone, and we will answer {by_deadline}."
    ),
    "cs": (
        "Dobrý den, dovolali jste se do {store}. Teď vám nikdo nemůže hovor vzít. Zanechte "
        "prosím vzkaz po zaznění tónu, odpovíme vám {by_deadline}."
    ),
    "pl": (
        "Dzień dobry, tu {store}. Nikt nie może teraz odebrać. Prosimy zostawić wiadomość "
        "po sygnale, odpowiemy {by_deadline}."
    ),
    "de": (
        "Guten Tag, Sie haben {store} erreicht. Gerade kann niemand Ihren Anruf annehmen. "
        "Bitte hinterlassen Sie nach dem Ton eine Nachricht, wir antworten {by_deadline}."
    ),
    "fr": (
        "Bonjour, vous êtes bien chez {store}. Personne ne peut prendre votre appel pour le "
        "moment. Laissez un message après le bip, nous vous répondrons {by_deadline}."
    ),
    "es": (
        "Hola, ha llamado a {store}. Ahora nadie puede atender su llamada. Deje un mensaje "
        "después del tono y le responderemos {by_deadline}."
    ),
    "ar": (
        "مرحبًا، لقد اتصلت بـ {store}. لا يمكن لأحد الرد الآن. يرجى ترك رسالة بعد الصفارة، "
        "وسنرد عليك {by_deadline}."
    ),
}
_GREETING_CLOSED: Mapping[str, str] = {
    "en": (
        "Hello, you have reached {store}. We are closed now and back {opens}. Please leave "
        "a message after the tone, and we will answer {by_deadline}."
    ),
    "cs": (
        "Dobrý den, dovolali jste se do {store}. Teď máme zavřeno, otevíráme {opens}. "
        "Zanechte prosím vzkaz po zaznění tónu, odpovíme vám {by_deadline}."
    ),
    "pl": (
        "Dzień dobry, tu {store}. Teraz jest zamknięte, wracamy {opens}. Prosimy zostawić "
        "wiadomość po sygnale, odpowiemy {by_deadline}."
    ),
    "de": (
        "Guten Tag, Sie haben {store} erreicht. Wir haben geschlossen und sind {opens} "
        "wieder da. Bitte hinterlassen Sie nach dem Ton eine Nachricht, wir antworten "
        "{by_deadline}."
    ),
    "fr": (
        "Bonjour, vous êtes bien chez {store}. Nous sommes fermés et de retour {opens}. "
        "Laissez un message après le bip, nous vous répondrons {by_deadline}."
    ),
    "es": (
        "Hola, ha llamado a {store}. Ahora estamos cerrados y volvemos {opens}. Deje un "
        "mensaje después del tono y le responderemos {by_deadline}."
    ),
    "ar": (
        "مرحبًا، لقد اتصلت بـ {store}. نحن مغلقون الآن ونعود {opens}. يرجى ترك رسالة بعد "
        "الصفارة، وسنرد عليك {by_deadline}."
    ),
}
# The text back after a voicemail or a missed call, in every language we acknowledge in.
_TEXT_BACK: Mapping[str, str] = {
    "en": (
        "Sorry we missed your call to {store}. "
        "Reply to this message and we will answer {by_deadline}."
    ),
    "cs": (
        "Omlouváme se, že jsme váš hovor do {store} nezvedli. "
        "Odpovězte na tuto zprávu a ozveme se {by_deadline}."
    ),
    "pl": (
        "Przepraszamy, że nie odebraliśmy połączenia do {store}. "
        "Odpowiedz na tę wiadomość, a odpowiemy {by_deadline}."
    ),
    "de": (
        "Leider haben wir Ihren Anruf bei {store} verpasst. "
        "Antworten Sie auf diese Nachricht, wir melden uns {by_deadline}."
    ),
    "fr": (
        "Désolés d'avoir manqué votre appel à {store}. "
        "Répondez à ce message et nous vous répondrons {by_deadline}."
    ),
    "es": (
        "Sentimos no haber atendido su llamada a {store}. "
        "Responda a este mensaje y le contestaremos {by_deadline}."
    ),
    "ar": ("عذرًا، فاتنا اتصالك بـ {store}. رد على هذه الرسالة وسنجيبك {by_deadline}."),
    "fa": (
        "متأسفیم که تماس شما با {store} را از دست دادیم. "
        "به این پیام پاسخ دهید و {by_deadline} جواب می‌دهیم."
    ),
}
_THANKS: Mapping[str, str] = {
    "en": "Thank you, we got your message. Goodbye.",
    "cs": "Děkujeme, váš vzkaz máme. Na shledanou.",
    "pl": "Dziękujemy, mamy Twoją wiadomość. Do widzenia.",
    "de": "Danke, wir haben Ihre Nachricht. Auf Wiederhören.",
    "fr": "Merci, nous avons bien reçu votre message. Au revoir.",
    "es": "Gracias, hemos recibido su mensaje. Adiós.",
    "ar": "شكرًا، وصلتنا رسالتك. مع السلامة.",
}
SPOKEN_LANGUAGES: frozenset[str] = frozenset(POLLY_VOICES)
"""Languages a greeting can be spoken in (a voice and wording for each)."""


@dataclass(frozen=True)
class Speech:
    """One thing said on the call: text in a voice, or a recorded file played."""

    text: str
    voice: Voice | None
    """None: play `play_url` instead."""
    play_url: str | None = None


def speech_for(
    text_by_language: Mapping[str, str], language: str, recorded: Mapping[str, str]
) -> tuple[str, Speech | None]:
    """The language that will be spoken, and a recorded greeting for `language` if the
    store has one; else the voice table's voice for it, else English (None: use the text)."""
    base = _base(language)
    if base in recorded:
        return base, Speech(text="", voice=None, play_url=recorded[base])
    if base in POLLY_VOICES and base in text_by_language:
        return base, None
    return FALLBACK_LANGUAGE, None


@dataclass(frozen=True)
class Forward:
    """Ring the store's phone first; the dial result decides what follows."""

    number: str
    timeout_seconds: int


@dataclass(frozen=True)
class Voicemail:
    """Say when the store will answer and record a message."""

    greeting: Speech
    language: str
    """The language the caller is spoken to in (and their voicemail transcribed in)."""
    max_length: int
    silence_timeout: int
    finish_key: str


def greeting(
    *,
    store_name: str,
    calendar: BusinessCalendar,
    deadline: datetime,
    now: datetime,
    language: str,
    settings: VoiceSettings,
) -> Voicemail:
    """The voicemail greeting: when the store answers, in the caller's language where a
    voice or a recording speaks it, else English; and how the message is recorded."""
    opens = next_opening(calendar, now)
    texts = _GREETING_OPEN if opens is None else _GREETING_CLOSED
    spoken, recorded = speech_for(texts, language, settings.greeting_urls)
    common = {
        "language": spoken,
        "max_length": settings.max_message_seconds,
        "silence_timeout": settings.silence_seconds,
        "finish_key": settings.finish_key,
    }
    if recorded is not None:
        return Voicemail(greeting=recorded, **common)  # type: ignore[arg-type]
    text = acknowledgement(
        store_name=store_name,
        deadline=deadline,
        opens=opens,
        timezone=calendar.timezone,
        language=spoken,
        now=now,
        overrides={spoken: texts[spoken]},
    )
    return Voicemail(greeting=Speech(text, POLLY_VOICES[spoken]), **common)  # type: ignore[arg-type]


def plan_call(
    *,
    store_name: str,
    calendar: BusinessCalendar,
    deadline: datetime,
    now: datetime,
    language: str,
    settings: VoiceSettings,
) -> Forward | Voicemail:
    """A new call: ring `forward_to` while the store is open, else the voicemail."""
    if settings.forward_to and calendar.is_open(now):
        return Forward(settings.forward_to, settings.ring_seconds)
    return greeting(
        store_name=store_name,
        calendar=calendar,
        deadline=deadline,
        now=now,
        language=language,
        settings=settings,
    )


def thanks(language: str) -> Speech:
    """Said after the message is recorded, before hanging up."""
    base = _base(language)
    base = base if base in _THANKS else FALLBACK_LANGUAGE
    return Speech(_THANKS[base], POLLY_VOICES[base])


CALL_ENDED_DELAY_SECONDS = 120
"""How long the StatusCallback's job waits for the call's recording callback, which Twilio
normally sends first but does not promise to (nor its retries) before the end of the call."""


DIAL_ANSWERED = "completed"
"""Twilio's `DialCallStatus` for a forwarded call someone took (the others: busy,
no-answer, failed, canceled)."""


def text_back_text(
    *,
    store_name: str,
    calendar: BusinessCalendar,
    deadline: datetime,
    now: datetime,
    language: str,
) -> str:
    """'Sorry we missed your call …': the SMS after a voicemail or missed call."""
    base = _base(language)
    base = base if base in _TEXT_BACK else FALLBACK_LANGUAGE
    return acknowledgement(
        store_name=store_name,
        deadline=deadline,
        opens=None,
        timezone=calendar.timezone,
        language=base,
        now=now,
        overrides={base: _TEXT_BACK[base]},
    )


def text_back_refusal(
    settings: VoiceSettings, *, caller: str, caller_country: str, store_country: str
) -> str | None:
    """Why the caller gets no text back (SMS pumping is the attack on this feature), or
    None: the store's switch, a number that is not a phone's, the country allow-list."""
    if not settings.text_back:
        return "text back is switched off for this store"
    if not E164.match(caller):
        return "the caller's number is withheld or not a phone number"
    allowed = settings.sms_countries or frozenset({store_country.upper()})
    if caller_country.upper() not in allowed:
        return f"the caller's country ({caller_country or 'unknown'}) is not in sms_countries"
    return None


# Twilio Lookup v2 Line Type Intelligence's `type` values
# (https://www.twilio.com/docs/lookup/v2-api/line-type-intelligence): no text back to a
# line that cannot take an SMS or that a number-pumping scheme bills (premium, shared cost,
# personal numbers). Texted: mobile and VoIP lines, and `unknown` (Twilio could not tell:
# as for a lookup that fails, the other guards hold, and the text is the caller's way back).
NOT_TEXTED_LINE_TYPES: Mapping[str, str] = {
    "landline": "a landline",
    "tollFree": "a toll-free number",
    "premium": "a premium-rate number",
    "sharedCost": "a shared-cost number",
    "uan": "a universal access number",
    "voicemail": "a voicemail-only number",
    "pager": "a pager",
    "personal": "a personal (forwarding) number",
}
TEXTED_LINE_TYPES = frozenset({"mobile", "fixedVoip", "nonFixedVoip", "unknown"})


def line_type_refusal(line_type: str | None) -> str | None:
    """Why a caller on `line_type` gets no text back, or None: texted. None for a lookup
    that failed or a type Twilio adds later: the voicemail is stored regardless, and the
    country list, the caps and the one-a-day rule still hold."""
    said = NOT_TEXTED_LINE_TYPES.get(line_type or "")
    return f"Twilio Lookup says the caller's number is {said}" if said else None


def transcribe_language(language: str) -> str | None:
    """Amazon Transcribe's code for `language` ('cs' -> 'cs-CZ'); None: it has none."""
    return TRANSCRIBE_LANGUAGES.get(_base(language))


def no_transcribe_reason(settings: VoiceSettings, language: str) -> str | None:
    """Why a voicemail in `language` gets no transcript, or None: Transcribe is asked."""
    if not settings.transcribe:
        return "transcription is off for this store"
    base = _base(language)
    if base in NOT_TRANSCRIBED:
        return NOT_TRANSCRIBED[base]
    if transcribe_language(language) is None:
        return f"Amazon Transcribe has no {base or 'unknown'} language"
    return None


def recording_key(store_id: str, recording_sid: str) -> str:
    """Where our copy of a voicemail lives in the private bucket."""
    return f"recordings/{store_id}/{recording_sid}.wav"


def transcript_key(store_id: str, recording_sid: str) -> str:
    """Where Amazon Transcribe writes the voicemail's transcript (its JSON)."""
    return f"transcripts/{store_id}/{recording_sid}.json"


def transcription_job_name(store_id: str, recording_sid: str) -> str:
    """One Transcribe job per voicemail: a retried start finds it (ConflictException)."""
    return f"relaydesk-{store_id}-{recording_sid}"[:200]


def call_body(facts: CallFacts) -> str:
    """The message's text: what happened, as agents read it in the thread (the recording's
    link is added when the notification is written: it is presigned and expires)."""
    if facts.recording_url is None:
        return "Missed call (no voicemail)."
    return f"Voicemail ({facts.duration_seconds} s)."


@dataclass(frozen=True)
class RecordingView:
    """Where a voicemail's recording stands, as the notification tells it."""

    link: str | None = None
    """A presigned, time-limited link to our copy; None: not kept (yet)."""
    link_days: int = 7
    note: str | None = None
    """Why there is no copy (Twilio had lost it)."""
    transcript_note: str | None = None
    """Why there is no transcript (Transcribe lacks the language, failed, timed out)."""


def call_lines(
    facts: Mapping[str, object],
    transcript: str | None,
    texted: bool,
    refused: str | None = None,
    recording: RecordingView | None = None,
) -> tuple[str, ...]:
    """The lines under a voicemail in the agents' notification: the recording's link, its
    transcript (or why none), and whether the caller got the text back (`refused`: why
    not, decided by the job that would have sent it)."""
    recording = recording or RecordingView()
    lines = []
    if facts.get("recording_url"):
        if recording.link:
            lines.append(f"recording (link valid {recording.link_days} days): {recording.link}")
        elif recording.note:
            lines.append(f"no recording: {recording.note}")
        else:
            lines.append("recording: being copied to the store's bucket (a link follows)")
        if transcript:
            lines.append(f"transcript: {transcript}")
        elif transcript is not None:
            lines.append(
                f"no transcript: {recording.transcript_note or 'Amazon Transcribe made none'}"
            )
        elif facts.get("transcription") == "pending":
            lines.append("transcript: not yet (it follows when Amazon Transcribe has it)")
        else:
            lines.append(f"no transcript: {facts.get('transcription') or 'none was made'}")
    if texted:
        lines.append("the caller was texted back and can reply by SMS")
    else:
        reason = refused or facts.get("text_back") or "a cap, the opt-out or an earlier text today"
        lines.append(f"no text back: {reason}")
    return tuple(lines)

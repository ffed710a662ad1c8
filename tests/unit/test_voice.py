"""The call plan (hours, forwarding, language, the voice table) and its TwiML."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from chalicelib.channels.twilio_voice import (
    CallbackUrls,
    fallback_twiml,
    goodbye,
    to_call,
    to_call_ended,
    to_recording,
    to_transcription,
    twiml,
)
from chalicelib.domain.ack import BUILTIN_LANGUAGES, acknowledgement, next_opening
from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.messages import CallFacts
from chalicelib.domain.sla import deadline
from chalicelib.domain.voice import (
    _GREETING_CLOSED,
    _GREETING_OPEN,
    _TEXT_BACK,
    _THANKS,
    NOT_TEXTED_LINE_TYPES,
    POLLY_VOICES,
    SPOKEN_LANGUAGES,
    TEXTED_LINE_TYPES,
    Forward,
    RecordingView,
    Voicemail,
    call_body,
    call_lines,
    line_type_refusal,
    no_transcribe_reason,
    plan_call,
    text_back_refusal,
    text_back_text,
    transcribe_language,
)
from chalicelib.domain.voice_config import VoiceConfigError, VoiceSettings, parse_voice
from chalicelib.settings import DEFAULT_STORES_FILE
from chalicelib.stores import StoreConfig, load_stores

FRIDAY_EVENING = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)  # 18:30 in Prague: closed
TUESDAY_MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Prague: open
URLS = CallbackUrls("https://h/dial", "https://h/recording")


@pytest.fixture
def demo() -> StoreConfig:
    store = load_stores(DEFAULT_STORES_FILE).by_id("demo")
    assert store is not None
    return store


def plan(
    store: StoreConfig, now: datetime, language: str = "en", **settings: object
) -> Forward | Voicemail:
    return plan_call(
        store_name=store.name,
        calendar=store.calendar,
        deadline=deadline(store.calendar, now, store.sla.targets.first_response),
        now=now,
        language=language,
        settings=VoiceSettings(**settings),  # type: ignore[arg-type]
    )


def test_every_language_we_acknowledge_in_has_a_voice_or_falls_back_to_english() -> None:
    # The voice table: one Polly voice per spoken language, each with all its wording.
    assert set(POLLY_VOICES) == SPOKEN_LANGUAGES
    for language, voice in POLLY_VOICES.items():
        assert voice.name.startswith("Polly."), language
        assert voice.language.split("-")[0] in (language, "arb"), language
        for table in (_GREETING_OPEN, _GREETING_CLOSED, _THANKS):
            assert language in table, (language, table)
    # Every acknowledgement language has a text back; those without a voice are the
    # ones a recorded greeting (or English) speaks for.
    assert set(_TEXT_BACK) == BUILTIN_LANGUAGES
    assert {"fa"} == BUILTIN_LANGUAGES - SPOKEN_LANGUAGES


# The voices in POLLY_VOICES as Amazon Polly lists them ("Available voices",
# https://docs.aws.amazon.com/polly/latest/dg/available-voices.html): the language code,
# and whether the voice has a standard and a neural engine. Twilio names a Polly voice
# `Polly.<Name>` (standard) and `Polly.<Name>-Neural` (neural)
# (https://www.twilio.com/docs/voice/twiml/say/text-speech, "Amazon Polly"). Jitka, the
# only Czech voice, is neural only: `Polly.Jitka` does not exist, `Polly.Jitka-Neural` does.
POLLY_AVAILABLE: dict[str, tuple[str, bool, bool]] = {
    "Joanna": ("en-US", True, True),
    "Jitka": ("cs-CZ", False, True),
    "Ewa": ("pl-PL", True, False),
    "Marlene": ("de-DE", True, False),
    "Celine": ("fr-FR", True, False),
    "Conchita": ("es-ES", True, False),
    "Zeina": ("arb", True, False),
}


def test_every_voice_in_the_table_exists_at_twilio_with_its_engine_and_language() -> None:
    for language, voice in POLLY_VOICES.items():
        name = voice.name.removeprefix("Polly.")
        neural = name.endswith("-Neural")
        base = name.removesuffix("-Neural")
        assert base in POLLY_AVAILABLE, (language, voice.name, "not in Polly's list")
        code, standard, has_neural = POLLY_AVAILABLE[base]
        assert voice.language == code, (language, voice)
        assert has_neural if neural else standard, (language, voice.name, "no such engine")


def test_out_of_hours_the_greeting_states_the_acknowledgements_own_promise(
    demo: StoreConfig,
) -> None:
    voicemail = plan(demo, FRIDAY_EVENING)
    assert isinstance(voicemail, Voicemail)
    due = deadline(demo.calendar, FRIDAY_EVENING, demo.sla.targets.first_response)
    acknowledged = acknowledgement(
        store_name=demo.name,
        deadline=due,
        opens=next_opening(demo.calendar, FRIDAY_EVENING),
        timezone=demo.calendar.timezone,
        language="en",
        now=FRIDAY_EVENING,
        overrides={},
    )
    # The same time, in the same words, as the SMS acknowledgement says it.
    assert "by Monday 13:00" in acknowledged
    assert "by Monday 13:00" in voicemail.greeting.text
    assert "back on Monday at 09:00" in voicemail.greeting.text
    assert voicemail.greeting.voice == POLLY_VOICES["en"]


def test_forward_only_while_open_and_only_when_configured(demo: StoreConfig) -> None:
    assert plan(demo, TUESDAY_MORNING, forward_to="+420777000111") == Forward("+420777000111", 20)
    assert isinstance(plan(demo, FRIDAY_EVENING, forward_to="+420777000111"), Voicemail)
    open_voicemail = plan(demo, TUESDAY_MORNING)
    assert isinstance(open_voicemail, Voicemail)
    assert "Nobody can take your call right now" in open_voicemail.greeting.text
    assert "answer by 14:00 today" in open_voicemail.greeting.text


@pytest.mark.parametrize(
    ("language", "voice", "words"),
    [
        ("cs", "Polly.Jitka-Neural", "otevíráme v pondělí od 9:00"),
        ("de", "Polly.Marlene", "Guten Tag"),
        ("pl", "Polly.Ewa", "Dzień dobry"),
        ("fr", "Polly.Celine", "Bonjour"),
        ("es", "Polly.Conchita", "Hola"),
        ("ar", "Polly.Zeina", "مرحبًا"),
        ("fa", "Polly.Joanna", "Hello"),  # no Polly voice, no recording: English
        ("ja", "Polly.Joanna", "Hello"),  # a language we have no wording for: English
    ],
)
def test_the_caller_is_spoken_to_in_their_language_where_a_voice_speaks_it(
    demo: StoreConfig, language: str, voice: str, words: str
) -> None:
    voicemail = plan(demo, FRIDAY_EVENING, language)
    assert isinstance(voicemail, Voicemail)
    assert voicemail.greeting.voice is not None
    assert voicemail.greeting.voice.name == voice
    assert words in voicemail.greeting.text
    # Twilio's transcription (English only) is never asked for: Amazon Transcribe's is.
    record = ElementTree.fromstring(twiml(voicemail, URLS)).find("Record")  # noqa: S314
    assert record is not None
    assert "transcribe" not in record.attrib
    assert "transcribeCallback" not in record.attrib


def test_a_recorded_greeting_speaks_for_a_language_without_a_voice(demo: StoreConfig) -> None:
    recorded = {"fa": "https://cdn.example/fa.mp3"}
    voicemail = plan(demo, FRIDAY_EVENING, "fa_IR", greeting_urls=recorded)
    assert isinstance(voicemail, Voicemail)
    assert voicemail.greeting.play_url == "https://cdn.example/fa.mp3"
    assert voicemail.greeting.voice is None
    root = ElementTree.fromstring(twiml(voicemail, URLS))  # noqa: S314
    assert [child.tag for child in root] == ["Play", "Record", "Redirect"]
    assert root[0].text == "https://cdn.example/fa.mp3"


def test_twiml_records_with_the_stores_limits_and_falls_through_to_a_missed_call(
    demo: StoreConfig,
) -> None:
    voicemail = plan(
        demo, FRIDAY_EVENING, max_message_seconds=60, silence_seconds=3, finish_key="*"
    )
    assert isinstance(voicemail, Voicemail)
    root = ElementTree.fromstring(twiml(voicemail, URLS))  # noqa: S314
    assert [child.tag for child in root] == ["Say", "Record", "Redirect"]
    assert root[1].attrib == {
        "action": "https://h/recording",
        "method": "POST",
        "maxLength": "60",
        "timeout": "3",
        "finishOnKey": "*",
        "playBeep": "true",
    }
    assert root[2].text == "https://h/recording"  # nothing recorded: a missed call
    forwarded = ElementTree.fromstring(twiml(Forward("+420777000111", 15), URLS))  # noqa: S314
    dial = forwarded.find("Dial")
    assert dial is not None
    assert dial.attrib == {"action": "https://h/dial", "method": "POST", "timeout": "15"}
    assert ElementTree.fromstring(goodbye(None)).find("Hangup") is not None  # noqa: S314


def test_the_text_back_states_the_promise_in_the_callers_language(demo: StoreConfig) -> None:
    due = deadline(demo.calendar, FRIDAY_EVENING, demo.sla.targets.first_response)
    english = text_back_text(
        store_name="Demo Store",
        calendar=demo.calendar,
        deadline=due,
        now=FRIDAY_EVENING,
        language="en",
    )
    assert english == (
        "Sorry we missed your call to Demo Store. Reply to this message and we will answer "
        "by Monday 13:00."
    )
    czech = text_back_text(
        store_name="Demo Store",
        calendar=demo.calendar,
        deadline=due,
        now=FRIDAY_EVENING,
        language="cs",
    )
    assert czech.startswith("Omlouváme se")
    assert "v pondělí do 13:00" in czech


def test_text_back_refusals_stop_sms_pumping() -> None:
    on = VoiceSettings()
    assert (
        text_back_refusal(on, caller="+420777000111", caller_country="CZ", store_country="CZ")
        is None
    )
    assert "switched off" in (
        text_back_refusal(
            VoiceSettings(text_back=False),
            caller="+420777000111",
            caller_country="CZ",
            store_country="CZ",
        )
        or ""
    )
    assert "withheld" in (
        text_back_refusal(on, caller="anonymous", caller_country="", store_country="CZ") or ""
    )
    # Default: only the store number's own country.
    assert "(LT)" in (
        text_back_refusal(on, caller="+37060012345", caller_country="LT", store_country="CZ") or ""
    )
    listed = VoiceSettings(sms_countries=frozenset({"CZ", "LT"}))
    assert (
        text_back_refusal(listed, caller="+37060012345", caller_country="LT", store_country="US")
        is None
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("yes", "expected an object"),
        ({"forward_to": "777 000 111"}, "forward_to"),
        ({"ring_seconds": 2}, "ring_seconds"),
        ({"max_message_seconds": True}, "max_message_seconds"),
        ({"finish_key": "##"}, "finish_key"),
        ({"greeting_urls": {"fa": "http://insecure"}}, "greeting_urls['fa']"),
        ({"sms_countries": ["Czechia"]}, "sms_countries"),
        ({"text_back": "no"}, "text_back"),
        ({"forward": "+420777000111"}, "unknown field"),
    ],
)
def test_voice_settings_errors_name_the_field(raw: object, field: str) -> None:
    with pytest.raises(VoiceConfigError, match="store 'demo': voice") as raised:
        parse_voice(raw, store_id="demo")
    assert field in str(raised.value)


def test_no_voice_settings_is_a_plain_voicemail() -> None:
    assert parse_voice(None, store_id="demo") == VoiceSettings()
    # ... and not configured: `providers sync` leaves the number's Voice URL alone.
    assert parse_voice(None, store_id="demo").configured is False
    assert parse_voice({}, store_id="demo").configured is True
    assert parse_voice({}, store_id="demo").lookup_line_type is False
    assert parse_voice({"lookup_line_type": True}, store_id="demo").lookup_line_type is True
    with pytest.raises(VoiceConfigError, match="lookup_line_type: true or false"):
        parse_voice({"lookup_line_type": "yes"}, store_id="demo")


def test_only_lines_that_cannot_take_an_sms_or_bill_for_it_are_not_texted() -> None:
    assert line_type_refusal("landline") == "Twilio Lookup says the caller's number is a landline"
    for kind in ("tollFree", "premium", "sharedCost", "uan", "voicemail", "pager", "personal"):
        assert line_type_refusal(kind) is not None, kind
    # Texted: mobiles and VoIP lines; Twilio's `unknown` and a failed lookup (None) too.
    assert line_type_refusal(None) is None
    for texted in (*TEXTED_LINE_TYPES, "a-type-twilio-adds-later"):
        assert line_type_refusal(texted) is None, texted
    assert TEXTED_LINE_TYPES.isdisjoint(NOT_TEXTED_LINE_TYPES)


def test_the_fallback_twiml_greets_and_records_to_the_parking_path_without_a_transcript(
    demo: StoreConfig,
) -> None:
    from chalicelib.flows.voice_fallback import fallback_deadline

    due = fallback_deadline(demo, FRIDAY_EVENING)
    # Out of hours both targets run from Monday 09:00; the later one is said.
    targets = demo.sla.targets_for("voice", None)
    assert due == max(
        deadline(demo.calendar, FRIDAY_EVENING, targets.first_response),
        deadline(demo.calendar, FRIDAY_EVENING, targets.next_response),
    )
    voicemail = plan(demo, FRIDAY_EVENING)
    assert isinstance(voicemail, Voicemail)
    root = ElementTree.fromstring(  # noqa: S314
        fallback_twiml(voicemail, "https://h/fallback/recording")
    )
    assert [child.tag for child in root] == ["Say", "Record", "Redirect"]
    assert root[0].text == voicemail.greeting.text
    assert root[1].attrib == {  # no transcription asked of Twilio, as on the primary
        "action": "https://h/fallback/recording",
        "method": "POST",
        "maxLength": "120",
        "timeout": "5",
        "finishOnKey": "#",
        "playBeep": "true",
    }
    assert root[2].text == "https://h/fallback/recording"


def at(params: dict[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in params.items()}


CALL = {"CallSid": "CA" + "a" * 32, "From": "+420777000111", "To": "+15005550006"}


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({**CALL, "CallSid": ""}, "CallSid"),
        ({**CALL, "CallSid": "SM" + "a" * 32}, "CallSid"),
        ({**CALL, "RecordingDuration": "-3"}, "RecordingDuration"),
        ({**CALL, "RecordingDuration": "99999"}, "longer than any Twilio call"),
        ({**CALL, "RecordingSid": "RE" + "b" * 32}, "come together"),
        ({**CALL, "RecordingSid": "RE" + "b" * 32, "RecordingUrl": "ftp://x"}, "http"),
    ],
)
def test_malformed_recordings_are_refused_with_the_reason(
    params: dict[str, str], reason: str
) -> None:
    with pytest.raises(MalformedRequest, match=reason):
        to_recording(at(params), FRIDAY_EVENING)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (CALL, "CallStatus"),
        ({**CALL, "CallStatus": "in-progress"}, "not the status of an ended call"),
        ({**CALL, "CallStatus": "completed", "CallDuration": "1.5"}, "CallDuration"),
        ({**CALL, "CallStatus": "completed", "CallDuration": "99999"}, "longer than any"),
    ],
)
def test_malformed_call_ends_are_refused_with_the_reason(
    params: dict[str, str], reason: str
) -> None:
    with pytest.raises(MalformedRequest, match=reason):
        to_call_ended(at(params), FRIDAY_EVENING)


def test_a_call_end_parses_what_twilio_sends() -> None:
    ended = to_call_ended(at({**CALL, "CallStatus": "No-Answer"}), FRIDAY_EVENING)
    assert (ended.call.call_sid, ended.status, ended.duration_seconds) == (
        CALL["CallSid"],
        "no-answer",
        0,
    )
    ended = to_call_ended(
        at({**CALL, "CallStatus": "completed", "CallDuration": "4"}), FRIDAY_EVENING
    )
    assert (ended.status, ended.duration_seconds) == ("completed", 4)


def test_callbacks_parse_what_twilio_sends() -> None:
    call = to_call(at({**CALL, "FromCountry": "cz", "ToCountry": "US"}), FRIDAY_EVENING)
    assert (call.caller_country, call.number_country) == ("CZ", "US")
    done = to_recording(
        at(
            {
                **CALL,
                "RecordingSid": "RE" + "b" * 32,
                "RecordingUrl": "https://r",
                "RecordingDuration": "14",
            }
        ),
        FRIDAY_EVENING,
    )
    assert (done.recording_sid, done.duration_seconds) == ("RE" + "b" * 32, 14)
    failed = to_transcription(
        at({**CALL, "RecordingSid": "RE" + "b" * 32, "TranscriptionStatus": "failed"}),
        FRIDAY_EVENING,
    )
    assert failed.text is None


def test_the_notification_says_what_became_of_the_call() -> None:
    facts = {"recording_url": "https://r", "transcription": "pending", "text_back": None}
    kept = RecordingView(link="https://bucket/signed", link_days=7)
    assert call_lines(facts, None, texted=True, recording=kept) == (
        "recording (link valid 7 days): https://bucket/signed",
        "transcript: not yet (it follows when Amazon Transcribe has it)",
        "the caller was texted back and can reply by SMS",
    )
    # Twilio's URL is never shown: until our copy is kept, the agents are told it follows.
    assert call_lines(facts, None, texted=True)[0] == (
        "recording: being copied to the store's bucket (a link follows)"
    )
    assert "https://r" not in "".join(call_lines(facts, None, texted=True))
    gone = RecordingView(note="Twilio no longer has it", transcript_note="there is none")
    assert call_lines(facts, "", texted=False, recording=gone)[:2] == (
        "no recording: Twilio no longer has it",
        "no transcript: there is none",
    )
    assert call_lines(facts, "", texted=False)[1] == "no transcript: Amazon Transcribe made none"
    assert call_lines(facts, "Hello", texted=False, recording=kept)[1] == "transcript: Hello"
    refused = {"recording_url": None, "transcription": "nothing", "text_back": "no reason"}
    assert call_lines(refused, None, texted=False) == ("no text back: no reason",)
    # Decided by the text-back job (a line-type lookup): its reason wins.
    assert call_lines(facts, None, texted=False, refused="a landline")[-1] == (
        "no text back: a landline"
    )


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("en", "en-US"),
        ("cs", "cs-CZ"),
        ("pl_PL", "pl-PL"),
        ("de-AT", "de-DE"),
        ("fr", "fr-FR"),
        ("es", "es-ES"),
        ("fa", "fa-IR"),
        ("sk", "sk-SK"),
    ],
)
def test_voicemails_are_transcribed_in_the_callers_language(language: str, code: str) -> None:
    assert transcribe_language(language) == code
    assert no_transcribe_reason(VoiceSettings(), language) is None


def test_every_language_we_detect_or_speak_has_a_transcript_or_a_reason() -> None:
    from chalicelib.domain.language import _ARABIC_SCRIPT_WORDS, _LATIN_WORDS
    from chalicelib.domain.voice import NOT_TRANSCRIBED, TRANSCRIBE_LANGUAGES

    detected = {*_LATIN_WORDS, *_ARABIC_SCRIPT_WORDS}
    assert {"cs", "pl", "de", "fr", "es", "ar", "fa", "en"} <= detected
    for language in {*SPOKEN_LANGUAGES, *BUILTIN_LANGUAGES, *detected}:
        assert (language in TRANSCRIBE_LANGUAGES) != (language in NOT_TRANSCRIBED), language
    reason = no_transcribe_reason(VoiceSettings(), "ar")
    assert reason is not None
    assert "16 kHz" in reason
    assert no_transcribe_reason(VoiceSettings(), "lb") == "Amazon Transcribe has no lb language"
    off = VoiceSettings(transcribe=False)
    assert no_transcribe_reason(off, "en") == "transcription is off for this store"


def test_a_voicemail_body_never_carries_twilios_url() -> None:
    facts = CallFacts("CA" + "a" * 32, 14, "https://api.twilio.com/rec", "pending", None)
    assert call_body(facts) == "Voicemail (14 s)."
    missed = CallFacts("CA" + "a" * 32, 0, None, "nothing was recorded", None)
    assert call_body(missed) == "Missed call (no voicemail)."

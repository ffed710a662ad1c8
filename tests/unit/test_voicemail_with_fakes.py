"""The voicemail jobs (flows/voicemail.py) against fakes that record: Twilio's Recordings
API, the bucket, Transcribe, the queue and the repository. What each test checks is the
order things happened in and what the message was left saying."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.channels.port import RecordingGone, RecordingsUnavailable
from chalicelib.composition import Container
from chalicelib.domain.voice import TRANSCRIBE_POLL_DELAYS
from chalicelib.flows.voicemail import GONE_NOTE, collect_transcript, keep_recording
from chalicelib.mail_files import MailFilesError
from chalicelib.queues import Job, JobKind
from chalicelib.settings import Settings
from chalicelib.store.markers import Transcribed
from chalicelib.store.models import MessageItem, thread_pk
from chalicelib.transcribe import JobStatus, TranscribeError
from tests.conftest import TEST_STORES

NOW = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
SID = "RE" + "a" * 32
CALLER = "+420777123456"
KEY = f"recordings/demo/{SID}.wav"
AUDIO = b"RIFF....WAVEfmt audio"


@dataclass
class Log:
    """One list for every fake, so that the order across them shows."""

    events: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class FakeRecordings:
    log: Log
    gone: bool = False
    fail: bool = False

    def fetch(self, recording_sid: str) -> bytes:
        if self.fail:
            raise RecordingsUnavailable("503")
        if self.gone:
            raise RecordingGone("404")
        self.log.events.append(("twilio.fetch", recording_sid))
        return AUDIO

    def delete(self, recording_sid: str) -> None:
        self.log.events.append(("twilio.delete", recording_sid))


@dataclass
class FakeFiles:
    log: Log
    fail: bool = False
    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if self.fail:
            raise MailFilesError("S3 is down")
        self.log.events.append(("s3.put", key))
        self.objects[key] = data

    def read(self, key: str) -> bytes | None:
        return self.objects.get(key)


@dataclass
class FakeTranscriber:
    log: Log
    states: list[JobStatus] = field(default_factory=list)
    fail: bool = False

    def start(self, name: str, media_key: str, language_code: str, output_key: str) -> None:
        if self.fail:
            raise TranscribeError("throttled")
        self.log.events.append(("transcribe.start", (media_key, language_code, output_key)))

    def status(self, name: str) -> JobStatus:
        return self.states.pop(0)


@dataclass
class FakeQueue:
    log: Log

    def send_all(self, jobs: Sequence[Job], *, now: Any = None, delay: int = 0) -> None:
        for job in jobs:
            self.log.events.append(("sqs", (job.kind.value, job.detail, delay)))


class FakeRepository:
    def __init__(self, log: Log, message: MessageItem, language: str | None) -> None:
        self.log = log
        self.item = message
        self.language = language

    def message(self, store_id: str, thread_id: str, message_sk: str) -> MessageItem | None:
        assert (store_id, thread_id, message_sk) == ("demo", "t1", self.item.sk)
        return self.item

    def customer(self, store_id: str, customer: str) -> Any:
        assert store_id == "demo"
        return type("Customer", (), {"language": self.language})()

    def record_recording(
        self, message: MessageItem, *, state: str, key: str | None = None, note: str | None = None
    ) -> None:
        self.log.events.append(("db.recording", state))
        message.recording_state = state
        message.recording_key = key or message.recording_key
        message.recording_note = note or message.recording_note

    def transcription_started(self, message: MessageItem, job_name: str) -> None:
        self.log.events.append(("db.transcription_job", job_name))
        message.transcription_job = job_name

    def add_transcript(
        self, store_id: str, provider_id: str, text: str | None, note: str | None = None
    ) -> Transcribed | None:
        assert (store_id, provider_id) == ("demo", SID)
        if self.item.transcript is not None:
            return Transcribed("t1", self.item.sk, False)
        self.item.transcript, self.item.transcript_note = text or "", note
        self.log.events.append(("db.transcript", (text, note)))
        return Transcribed("t1", self.item.sk, True)


@dataclass
class World:
    log: Log
    container: Container
    recordings: FakeRecordings
    files: FakeFiles
    transcriber: FakeTranscriber
    item: MessageItem

    def events(self, prefix: str = "") -> list[tuple[str, Any]]:
        return [e for e in self.log.events if e[0].startswith(prefix)]


def world(language: str | None = None, transcription: str = "pending") -> World:
    log = Log()
    container = Container(
        Settings({"STORES_FILE": str(TEST_STORES), "PUBLIC_BASE_URL": "https://h.test"}),
        clock=lambda: NOW,
    )
    item = MessageItem(
        thread_pk("demo", "t1"),
        "MSG#1",
        message_id="m1",
        direction="in",
        author=CALLER,
        provider_id=SID,
        created_at=NOW,
        call={
            "call_sid": "CA" + "b" * 32,
            "duration_seconds": 14,
            "recording_url": f"https://api.twilio.com/Recordings/{SID}",
            "transcription": transcription,
            "text_back": None,
        },
    )
    found = World(log, container, FakeRecordings(log), FakeFiles(log), FakeTranscriber(log), item)
    container.__dict__.update(
        recordings=found.recordings,
        mail_files=found.files,
        transcriber=found.transcriber,
        jobs=FakeQueue(log),
        repository=FakeRepository(log, item, language),
    )
    return found


JOB = Job(JobKind.KEEP_RECORDING, "demo", "t1", "MSG#1")


def test_the_copy_is_recorded_before_twilios_is_deleted_and_the_agents_told_after() -> None:
    w = world(language="cs")
    keep_recording(w.container, JOB)
    assert w.log.events == [
        ("twilio.fetch", SID),
        ("s3.put", KEY),
        ("db.recording", "kept"),
        ("twilio.delete", SID),
        ("db.recording", "deleted"),
        ("transcribe.start", (KEY, "cs-CZ", f"transcripts/demo/{SID}.json")),
        ("db.transcription_job", f"relaydesk-demo-{SID}"),
        ("sqs", ("notify_agents", "", 0)),
        ("sqs", ("collect_transcript", "1", TRANSCRIBE_POLL_DELAYS[0])),
    ]
    assert w.files.objects[KEY] == AUDIO
    # Redelivered: nothing fetched, stored or started twice; the agents' job is queued again.
    w.log.events.clear()
    keep_recording(w.container, JOB, receive_count=2)
    assert w.log.events == [
        ("sqs", ("notify_agents", "", 0)),
        ("sqs", ("collect_transcript", "1", TRANSCRIBE_POLL_DELAYS[0])),
    ]


def test_an_s3_failure_fails_the_job_before_anything_is_deleted_at_twilio() -> None:
    w = world()
    w.files.fail = True
    with pytest.raises(MailFilesError):
        keep_recording(w.container, JOB)
    assert w.events("twilio.delete") == []
    assert w.events("sqs") == []
    assert w.item.recording_state is None
    w.files.fail = False  # SQS redelivers; S3 is back
    keep_recording(w.container, JOB, receive_count=2)
    # Fetched again (nothing was kept), then kept, then deleted at Twilio.
    assert [e[0] for e in w.log.events] == [
        "twilio.fetch",
        "twilio.fetch",
        "s3.put",
        "db.recording",
        "twilio.delete",
        "db.recording",
        "transcribe.start",
        "db.transcription_job",
        "sqs",
        "sqs",
    ]


def test_twilio_down_is_retried_and_a_recording_twilio_lost_is_told_as_such() -> None:
    w = world()
    w.recordings.fail = True
    with pytest.raises(RecordingsUnavailable):
        keep_recording(w.container, JOB)
    assert w.log.events == []
    w.recordings.fail, w.recordings.gone = False, True
    keep_recording(w.container, JOB, receive_count=2)
    assert w.log.events == [
        ("db.recording", "gone"),
        ("db.transcript", (None, "there is no recording")),
        ("sqs", ("notify_agents", "", 0)),
    ]
    assert w.item.recording_note == GONE_NOTE


@pytest.mark.parametrize(
    ("language", "transcription", "note"),
    [
        ("ar", "pending", "needs audio sampled at 16 kHz"),
        ("lb", "pending", "Amazon Transcribe has no lb language"),
    ],
)
def test_a_language_transcribe_lacks_is_said_in_the_first_notification(
    language: str, transcription: str, note: str
) -> None:
    w = world(language=language, transcription=transcription)
    keep_recording(w.container, JOB)
    assert w.events("transcribe") == []
    ((_, (text, said)),) = w.events("db.transcript")
    assert text is None
    assert note in said
    assert w.events("sqs") == [("sqs", ("notify_agents", "", 0))]


def test_a_store_with_transcription_off_starts_none() -> None:
    w = world(transcription="transcription is off for this store")
    keep_recording(w.container, JOB)
    assert w.events("transcribe") == []
    assert w.events("db.transcript") == []
    assert w.events("sqs") == [("sqs", ("notify_agents", "", 0))]


def test_a_transcribe_outage_is_retried_then_given_up_without_losing_the_voicemail() -> None:
    w = world(language="en")
    w.transcriber.fail = True
    with pytest.raises(TranscribeError):
        keep_recording(w.container, JOB)
    assert w.item.recording_state == "deleted"  # the copy is kept whatever Transcribe does
    keep_recording(w.container, JOB, receive_count=3)
    assert w.events("db.transcript") == [
        ("db.transcript", (None, "Amazon Transcribe could not be reached"))
    ]
    assert w.events("sqs") == [("sqs", ("notify_agents", "", 0))]


def started(language: str = "en") -> World:
    w = world(language=language)
    keep_recording(w.container, JOB)
    w.log.events.clear()
    return w


LOOK = Job(JobKind.COLLECT_TRANSCRIPT, "demo", "t1", "MSG#1", "1")


def test_the_transcript_is_collected_with_backoff_then_appended_and_told() -> None:
    w = started()
    w.transcriber.states = [JobStatus("IN_PROGRESS"), JobStatus("COMPLETED")]
    collect_transcript(w.container, LOOK)
    assert w.log.events == [("sqs", ("collect_transcript", "2", TRANSCRIBE_POLL_DELAYS[1]))]
    w.log.events.clear()
    document = {"results": {"transcripts": [{"transcript": "Where is my parcel?"}]}}
    w.files.objects[f"transcripts/demo/{SID}.json"] = json.dumps(document).encode()
    collect_transcript(w.container, Job(JobKind.COLLECT_TRANSCRIPT, "demo", "t1", "MSG#1", "2"))
    assert w.log.events == [
        ("db.transcript", ("Where is my parcel?", None)),
        ("sqs", ("notify_agents", "", 0)),
    ]
    w.log.events.clear()
    collect_transcript(w.container, LOOK)  # a redelivered look: nothing more
    assert w.log.events == []


def test_a_failed_or_endless_transcription_says_no_transcript_and_why() -> None:
    w = started()
    w.transcriber.states = [JobStatus("FAILED", "Unsupported audio")]
    collect_transcript(w.container, LOOK)
    assert w.events("db.transcript") == [
        ("db.transcript", (None, "Amazon Transcribe failed: Unsupported audio"))
    ]
    slow = started()
    slow.transcriber.states = [JobStatus("IN_PROGRESS")]
    last = str(len(TRANSCRIBE_POLL_DELAYS))
    collect_transcript(slow.container, Job(JobKind.COLLECT_TRANSCRIPT, "demo", "t1", "MSG#1", last))
    minutes = sum(TRANSCRIBE_POLL_DELAYS) // 60
    assert slow.log.events == [
        ("db.transcript", (None, f"Amazon Transcribe did not finish within {minutes} minutes")),
        ("sqs", ("notify_agents", "", 0)),
    ]

"""Calls to the store's number through the real handler, emulated AWS over HTTP, the real
twilio SDK (RequestValidator, VoiceResponse) and the sandbox playing Twilio's part
(relaydesk/sandbox/twilio_voice.py): greeting -> voicemail -> thread, text back, agents."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import boto3
import pytest
import requests
from chalice.test import Client
from twilio.request_validator import RequestValidator

from chalicelib import routes
from chalicelib.composition import Container
from chalicelib.domain.voice import TRANSCRIBE_POLL_DELAYS
from chalicelib.stores import load_stores
from relaydesk import sandbox
from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN
from relaydesk.sandbox.twilio_lookup import LANDLINE
from relaydesk.sandbox.twilio_voice import CallStep, Post, play_call
from relaydesk.workers import QueueWorker
from tests.integration.conftest import (
    PUBLIC_URL,
    FakeClock,
    conversation,
    drain,
    queue_depth,
    table_items,
)
from tests.integration.test_spine import post_parse, post_twilio, reply_to_of
from tests.reliability.faults import DYNAMO_500, Outage, outage

CALLER = "+420777123456"
DEMO = "+15005550006"
CORNER = "+15005550020"
VOICE_URL = PUBLIC_URL + routes.TWILIO_VOICE
VOICE_FALLBACK_URL = PUBLIC_URL + routes.TWILIO_VOICE_FALLBACK


@pytest.fixture
def inbox(aws: dict[str, str], container: Container) -> QueueWorker:
    """The inbox's worker: `on_parked`, as the local stack and AWS run it."""
    from app import on_parked

    return QueueWorker(
        boto3.client("sqs"), aws["InboxQueueUrl"], on_parked, retry_backoff_seconds=0
    )


def _post(client: Client) -> Post:
    def post(url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
        response = client.http.post(
            url.removeprefix(PUBLIC_URL),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
            body=urlencode(params),
        )
        return response.status_code, response.body.decode()

    return post


def call(
    client: Client,
    sandbox_url: str,
    *,
    number: str = DEMO,
    caller: str = CALLER,
    voicemail: str | None = "Hi, my parcel 1042 did not come, please call me back.",
    **options: Any,
) -> list[CallStep]:
    return play_call(
        _post(client),
        auth_token=LOCAL_TWILIO_AUTH_TOKEN,
        voice_url=VOICE_URL,
        sandbox_url=sandbox_url,
        caller=caller,
        number=number,
        voicemail=voicemail,
        **options,
    )


def xml(step: CallStep) -> ElementTree.Element:
    assert step.status == 200, step.body
    return ElementTree.fromstring(step.body)  # noqa: S314 (our own app's TwiML)


def thread_of(container: Container, store: str = "demo", customer: str = CALLER) -> Any:
    pointer = container.repository.customer(store, customer)
    assert pointer is not None
    assert pointer.open_thread_id
    thread = container.repository.thread(store, pointer.open_thread_id)
    assert thread is not None
    return thread


def signed_post(client: Client, path: str, params: dict[str, str], token: str) -> Any:
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return client.http.post(
        path,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        body=urlencode(params),
    )


def call_params(**extra: str) -> dict[str, str]:
    return {
        "CallSid": f"CA{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": CALLER,
        "To": DEMO,
        "FromCountry": "CZ",
        "ToCountry": "US",
        **extra,
    }


def recording_of(voicemail: Any) -> str:
    return str(voicemail.provider_id)


def kept_object(container: Container, key: str) -> dict[str, Any]:
    got: dict[str, Any] = container.s3.get_object(Bucket=container.mail_files.bucket, Key=key)
    return got


def link_in(text: str) -> str:
    return next(
        line.split("): ", 1)[1].strip()
        for line in text.splitlines()
        if line.strip().startswith("recording (link valid")
    )


def test_a_call_out_of_hours_becomes_a_thread_a_text_back_and_a_notification(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    clock.advance(hours=1)  # Friday 17:30 in Prague: closed until Monday 09:00
    words = "Hi, my parcel 1042 did not come, please call me back."
    steps = call(client, sandbox_url, voicemail=words)
    assert [s.name for s in steps] == ["voice", "recording"]
    assert all(s.status == 200 for s in steps), steps

    greeting = xml(steps[0])
    say = greeting.find("Say")
    assert say is not None
    assert say.text is not None
    assert (say.get("voice"), say.get("language")) == ("Polly.Joanna", "en-US")
    # 240 business minutes from Monday 09:00: the acknowledgement's own promise.
    assert "back on Monday at 09:00" in say.text
    assert "answer by Monday 13:00" in say.text
    record = greeting.find("Record")
    assert record is not None
    # No Twilio transcription: Amazon Transcribe transcribes our copy.
    assert record.attrib == {
        "action": PUBLIC_URL + routes.TWILIO_VOICE_RECORDING,
        "method": "POST",
        "maxLength": "120",
        "timeout": "5",
        "finishOnKey": "#",
        "playBeep": "true",
    }
    assert xml(steps[1]).find("Hangup") is not None

    thread = thread_of(container)
    assert thread.channel == "voice"
    (voicemail,) = conversation(container, thread.thread_id)[:1]
    assert voicemail.body.startswith("Voicemail (")
    assert sandbox_url not in voicemail.body
    twilio_url = voicemail.call["recording_url"]
    assert twilio_url.startswith(f"{sandbox_url}/twilio/")
    assert voicemail.transcript is None
    assert thread.response_due_at.isoformat() == "2026-11-23T12:00:00+00:00"  # Mon 13:00 CET
    served = requests.get(twilio_url + ".wav", timeout=10).content  # what Twilio holds

    drain(worker)
    # Kept: the bytes Twilio served are in our bucket, then Twilio's copy was deleted.
    sid = recording_of(voicemail)
    key = f"recordings/demo/{sid}.wav"
    kept = kept_object(container, key)
    assert kept["Body"].read() == served
    assert served[:4] == b"RIFF"
    stored = container.repository.message("demo", thread.thread_id, voicemail.sk)
    assert stored is not None
    assert (stored.recording_state, stored.recording_key) == ("deleted", key)
    (deleted,) = outbox.entries(provider="twilio-voice")
    assert (deleted["action"], deleted["id"]) == ("delete_recording", sid)
    assert kept["LastModified"].replace(microsecond=0) <= datetime.fromisoformat(
        deleted["time"]
    ).replace(microsecond=0), "deleted at Twilio before our copy was written"
    assert requests.get(twilio_url + ".wav", timeout=10).status_code == 404
    (started,) = outbox.entries(provider="transcribe")
    assert (started["language"], started["media"]) == (
        "en-US",
        f"s3://{container.mail_files.bucket}/{key}",
    )

    texts = outbox.entries(provider="twilio")
    assert [(t["from"], t["to"]) for t in texts] == [(DEMO, CALLER)]
    assert texts[0]["body"] == (
        "Sorry we missed your call to Demo Store. Reply to this message and we will answer "
        "by Monday 13:00."
    )
    (first,) = outbox.entries(provider="sendgrid")
    assert twilio_url not in first["text"], "the agents are sent to our copy, not Twilio's"
    assert "transcript: not yet" in first["text"]
    assert "the caller was texted back" in first["text"]
    assert "answer the customer by SMS" in first["text"]
    # The agents' link plays (downloads) the recording from our bucket.
    link = link_in(first["text"])
    assert link.startswith(container.s3.meta.endpoint_url)
    assert "X-Amz-Expires=604800" in link
    audio = requests.get(link, timeout=10)
    assert audio.status_code == 200
    assert audio.content == served

    # Transcribe is looked at later, with backoff: still running at the first look.
    clock.advance(seconds=TRANSCRIBE_POLL_DELAYS[0])
    drain(worker)
    assert len(outbox.entries(provider="sendgrid")) == 1
    clock.advance(seconds=TRANSCRIBE_POLL_DELAYS[1])
    drain(worker)
    stored = container.repository.message("demo", thread.thread_id, voicemail.sk)
    assert stored is not None
    assert stored.transcript == words  # heard in the bytes our job copied
    mails = outbox.entries(provider="sendgrid")
    assert len(mails) == 2, "one notification for the voicemail, one for its transcript"
    assert f"transcript: {words}" in mails[1]["text"]
    assert kept_object(container, f"transcripts/demo/{sid}.json")["ContentLength"] > 0

    # The caller answers the text: the same thread; the agent's e-mail reply goes by SMS.
    clock.advance(minutes=5)
    reply = post_twilio(client, sender=CALLER, to=DEMO, body="Any news?")
    assert reply.status_code == 200
    assert thread_of(container).thread_id == thread.thread_id
    drain(worker)
    answer = post_parse(
        client, sender="alex@demo.relaydesk.test", to=reply_to_of(outbox), text="Sent again."
    )
    assert answer.status_code == 200, answer.body
    drain(worker)
    sent = outbox.entries(provider="twilio")
    assert (sent[-1]["from"], sent[-1]["to"], sent[-1]["body"]) == (DEMO, CALLER, "Sent again.")
    bodies = [m.body for m in conversation(container, thread.thread_id)]
    assert "Any news?" in bodies
    assert "Sent again." in bodies


def voicemail_posted(client: Client, sandbox_url: str, **extra: str) -> dict[str, str]:
    recording_sid = f"RE{uuid.uuid4().hex}"
    done = call_params(
        RecordingSid=recording_sid,
        RecordingUrl=f"{sandbox_url}/twilio/2010-04-01/Accounts/AC0/Recordings/{recording_sid}",
        RecordingDuration="14",
        **extra,
    )
    posted = signed_post(client, routes.TWILIO_VOICE_RECORDING, done, LOCAL_TWILIO_AUTH_TOKEN)
    assert posted.status_code == 200, posted.body
    return done


def test_a_failing_s3_retries_the_job_and_deletes_nothing_at_twilio(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    from chalicelib.mail_files import MailFiles

    clock.advance(hours=1)
    done = voicemail_posted(client, sandbox_url)
    # The real S3 client, at a bucket that is not there: every put fails (NoSuchBucket).
    container.__dict__["mail_files"] = MailFiles(lambda: container.s3, "relaydesk-no-bucket")
    worker.poll_once()
    worker.poll_once()
    assert outbox.entries(provider="twilio-voice") == []
    assert outbox.entries(provider="sendgrid") == []
    found = container.repository.message_for_provider_id("demo", done["RecordingSid"])
    assert found is not None
    assert found[1].recording_state is None
    assert queue_depth(worker) > 0, "the job is kept for its retry"
    del container.__dict__["mail_files"]  # S3 is back: the retry keeps it
    drain(worker)
    (deleted,) = outbox.entries(provider="twilio-voice")
    assert deleted["id"] == done["RecordingSid"]
    key = f"recordings/demo/{done['RecordingSid']}.wav"
    assert kept_object(container, key)["Body"].read()[:4] == b"RIFF"
    assert len(outbox.entries(provider="sendgrid")) == 1


def test_a_redelivered_recording_is_stored_kept_and_texted_once(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    clock.advance(hours=1)
    done = voicemail_posted(client, sandbox_url)
    drain(worker)
    again = signed_post(client, routes.TWILIO_VOICE_RECORDING, done, LOCAL_TWILIO_AUTH_TOKEN)
    assert again.status_code == 200
    drain(worker)
    assert len(outbox.entries(provider="twilio")) == 1
    assert len(outbox.entries(provider="twilio-voice")) == 1  # deleted at Twilio once
    assert len(outbox.entries(provider="transcribe")) == 1  # transcribed (and paid) once
    assert len(outbox.entries(provider="sendgrid")) == 1
    assert len(conversation(container, thread_of(container).thread_id)) == 2  # + the text


def test_a_recording_twilio_no_longer_has_is_told_and_the_agents_still_notified(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    clock.advance(hours=1)
    done = voicemail_posted(client, sandbox_url)
    outbox.set_fault("twilio-voice", 404, 1, code=20404, message="The requested resource")
    drain(worker)
    found = container.repository.message_for_provider_id("demo", done["RecordingSid"])
    assert found is not None
    assert found[1].recording_state == "gone"
    assert found[1].recording_key is None
    (mail,) = outbox.entries(provider="sendgrid")
    assert "no recording: Twilio no longer has the recording" in mail["text"]
    assert "no transcript: there is no recording" in mail["text"]
    assert outbox.entries(provider="transcribe") == []


def test_a_caller_whose_language_transcribe_cannot_hear_gets_no_transcript_and_why(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    """An Arabic caller (their SMS told it): Transcribe's Arabic needs 16 kHz audio, a
    phone call is 8 kHz; a Czech caller is transcribed in Czech."""
    arabic = "+420777111222"
    post_twilio(client, sender=arabic, to=DEMO, body="مرحبا، أين طلبي؟ شكرا لكم")
    czech = "+420777333444"
    post_twilio(client, sender=czech, to=DEMO, body="Dobrý den, kde je moje objednávka? Děkuji")
    drain(worker)
    clock.advance(hours=1)
    call(client, sandbox_url, caller=arabic, voicemail="أين طلبي")
    call(client, sandbox_url, caller=czech, voicemail="Kde je můj balík?")
    drain(worker)
    starts = outbox.entries(provider="transcribe")
    assert [s["language"] for s in starts] == ["cs-CZ"]
    told = [m["text"] for m in outbox.entries(provider="sendgrid") if "Voicemail" in m["text"]]
    assert any(
        "no transcript: Amazon Transcribe's Arabic (ar-SA, ar-AE) needs audio sampled at "
        "16 kHz" in t
        for t in told
    ), told
    for _ in range(3):
        clock.advance(seconds=60)
        drain(worker)
    czech_thread = thread_of(container, customer=czech)
    heard = [m.transcript for m in conversation(container, czech_thread.thread_id) if m.call]
    assert heard == ["Kde je můj balík?"]


def test_a_store_that_answers_automatically_texts_a_caller_back_not_an_answer(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    """The fixture store `answers` lets automation answer new messages; a voicemail's text
    is ours ("Voicemail (7 s): ..."), not the caller's question: the text back goes out."""
    clock.advance(hours=1)
    steps = call(client, sandbox_url, number="+15005550030", number_country="CZ")
    assert all(s.status == 200 for s in steps), steps
    drain(worker)
    (text,) = outbox.entries(provider="twilio")
    assert text["body"].startswith("Sorry we missed your call to ")
    assert text["to"] == CALLER


def test_a_caller_who_leaves_no_message_is_a_missed_call_and_still_texted_back(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    clock.advance(hours=1)
    steps = call(client, sandbox_url, voicemail=None)
    assert [s.name for s in steps] == ["voice", "recording"]
    thread = thread_of(container)
    (missed,) = [m for m in conversation(container, thread.thread_id) if m.direction == "in"]
    assert missed.body == "Missed call (no voicemail)."
    assert missed.call["recording_url"] is None
    assert missed.provider_id.startswith("CA")  # keyed on the CallSid: nothing recorded
    drain(worker)
    assert len(outbox.entries(provider="twilio")) == 1
    # A second call the same day: no second text (one per number per day).
    clock.advance(minutes=10)
    call(client, sandbox_url, voicemail="It's me again.")
    drain(worker)
    assert len(outbox.entries(provider="twilio")) == 1


def test_a_caller_outside_the_stores_countries_gets_no_text_and_the_agents_are_told(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    clock.advance(hours=1)
    caller = "+37060012345"
    call(client, sandbox_url, caller=caller, caller_country="LT")
    drain(worker)
    assert outbox.entries(provider="twilio") == []
    text = outbox.entries(provider="sendgrid")[-1]["text"]
    assert "no text back: the caller's country (LT) is not in sms_countries" in text


def test_in_hours_the_call_rings_the_store_first_then_the_voicemail(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
) -> None:
    steps = call(client, sandbox_url, number=CORNER, voicemail="Call me.")
    assert [s.name for s in steps] == ["voice", "dial", "recording"]
    dial = xml(steps[0]).find("Dial")
    assert dial is not None
    assert dial.attrib == {
        "action": PUBLIC_URL + routes.TWILIO_VOICE_DIAL,
        "method": "POST",
        "timeout": "15",
    }
    assert [n.text for n in dial.iter("Number")] == ["+420777000111"]
    record = xml(steps[1]).find("Record")
    assert record is not None
    # corner: 90 s, 4 s of silence, * to finish; open now (Friday 16:30): no "back on".
    assert (record.get("maxLength"), record.get("timeout"), record.get("finishOnKey")) == (
        "90",
        "4",
        "*",
    )
    say = xml(steps[1]).find("Say")
    assert say is not None
    assert say.text is not None
    assert "closed" not in say.text
    assert "Nobody can take your call right now" in say.text
    assert thread_of(container, "corner").channel == "voice"

    taken = call(client, sandbox_url, number=CORNER, caller="+420777999888", answer_forward=True)
    assert [s.name for s in taken] == ["voice", "dial"]
    assert xml(taken[1]).find("Hangup") is not None
    assert container.repository.customer("corner", "+420777999888") is None


def test_the_caller_is_greeted_in_the_language_their_messages_told(
    client: Client,
    container: Container,
    worker: QueueWorker,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    post_twilio(client, sender=CALLER, to=DEMO, body="Dobrý den, kde je moje objednávka? Děkuji")
    drain(worker)
    clock.advance(hours=1)
    steps = call(client, sandbox_url, voicemail=None)
    say = xml(steps[0]).find("Say")
    assert say is not None
    assert say.text is not None
    assert (say.get("voice"), say.get("language")) == ("Polly.Jitka-Neural", "cs-CZ")
    assert "Dobrý den" in say.text
    # Twilio's transcription (English only) is asked for no caller: Amazon Transcribe's is.
    record = xml(steps[0]).find("Record")
    assert record is not None
    assert "transcribe" not in record.attrib


@pytest.mark.parametrize(
    "path",
    [
        routes.TWILIO_VOICE,
        routes.TWILIO_VOICE_DIAL,
        routes.TWILIO_VOICE_RECORDING,
        routes.TWILIO_VOICE_TRANSCRIPTION,
        routes.TWILIO_VOICE_STATUS,
        routes.TWILIO_VOICE_FALLBACK,
        routes.TWILIO_VOICE_FALLBACK_RECORDING,
    ],
)
def test_every_voice_request_is_verified_and_refusals_store_nothing(
    client: Client, container: Container, worker: QueueWorker, inbox: QueueWorker, path: str
) -> None:
    params = call_params(
        CallStatus="completed",
        DialCallStatus="no-answer",
        RecordingSid=f"RE{uuid.uuid4().hex}",
        RecordingUrl="https://api.twilio.com/rec",
        RecordingDuration="9",
        TranscriptionStatus="completed",
        TranscriptionText="hello",
    )
    before = table_items()
    forged = signed_post(client, path, params, "not-the-auth-token")
    assert forged.status_code == 403
    unsigned = client.http.post(
        path,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(params),
    )
    assert unsigned.status_code == 403
    unknown = signed_post(client, path, {**params, "To": "+15550009999"}, LOCAL_TWILIO_AUTH_TOKEN)
    assert unknown.status_code == 404
    malformed = signed_post(
        client, path, {**params, "CallSid": "not-a-sid"}, LOCAL_TWILIO_AUTH_TOKEN
    )
    assert malformed.status_code == 400
    assert b"CallSid" in malformed.body
    assert table_items() == before
    assert queue_depth(worker) == 0
    assert queue_depth(inbox) == 0, "a refused request was parked"


def test_twilios_transcription_of_a_call_from_before_a_deploy_is_acknowledged_and_ignored(
    client: Client, container: Container, worker: QueueWorker
) -> None:
    """The TwiML of the release before asked Twilio for a transcription; it may arrive
    after the deploy: 200, nothing stored, nothing queued (Amazon Transcribe's comes)."""
    params = call_params(
        RecordingSid=f"RE{uuid.uuid4().hex}",
        TranscriptionStatus="completed",
        TranscriptionText="hello",
    )
    before = table_items()
    response = signed_post(
        client, routes.TWILIO_VOICE_TRANSCRIPTION, params, LOCAL_TWILIO_AUTH_TOKEN
    )
    assert response.status_code == 200
    assert response.json_body == {"status": "ignored"}
    assert table_items() == before
    assert queue_depth(worker) == 0


def test_each_voice_request_keeps_the_webhook_budget(
    client: Client, container: Container, clock: FakeClock, sandbox_url: str
) -> None:
    """The inbound path's 2 DynamoDB + 1 SQS at most, counted at botocore's `before-send`
    on every client the app uses (as bench/webhook.py counts them)."""
    from chalicelib.store.models import CustomerItem, MarkerItem, MessageItem, ThreadItem

    post_twilio(client, sender="+420700000001", to=DEMO, body="warm-up")  # builds the clients
    counts: list[str] = []

    def record(request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        counts.append("sqs" if "AmazonSQS" in target or "sqs" in request.url else "dynamodb")

    clients = [
        m._get_connection().connection.client
        for m in (ThreadItem, MessageItem, CustomerItem, MarkerItem)
    ]
    clients += [container.repository.connection.client, container.jobs._client]
    for botocore_client in {id(x): x for x in clients}.values():
        botocore_client.meta.events.register("before-send", record)

    def costs(**options: Any) -> list[tuple[str, int, int]]:
        seen: list[tuple[str, int, int]] = []
        post = _post(client)

        def counted(url: str, params: dict[str, str], signature: str) -> tuple[int, str]:
            counts.clear()
            answer: tuple[int, str] = post(url, params, signature)
            seen.append(("", counts.count("dynamodb"), counts.count("sqs")))
            return answer

        steps = play_call(
            counted,
            auth_token=LOCAL_TWILIO_AUTH_TOKEN,
            voice_url=VOICE_URL,
            sandbox_url=sandbox_url,
            **options,
        )
        assert all(s.status == 200 for s in steps), steps
        return [(s.name, d, q) for s, (_, d, q) in zip(steps, seen, strict=True)]

    clock.advance(hours=1)  # closed: greeting, voicemail (kept and transcribed by jobs)
    status = PUBLIC_URL + routes.TWILIO_VOICE_STATUS
    assert costs(
        caller=CALLER, number=DEMO, voicemail="Call me back please.", status_callback_url=status
    ) == [
        ("voice", 1, 0),
        ("recording", 2, 1),
        ("status", 0, 1),  # the delayed job only
    ]
    clock.advance(hours=-1)  # open: corner rings its phone first; taken, nothing is read
    assert costs(
        caller="+420777999888",
        number=CORNER,
        voicemail=None,
        answer_forward=True,
        status_callback_url=status,
    ) == [
        ("voice", 0, 0),
        ("dial", 1, 0),  # the CallSid claimed: the StatusCallback's job stores no missed call
        ("status", 0, 1),
    ]


def test_withheld_numbers_are_a_thread_each_and_never_texted(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    clock.advance(hours=1)
    for words in ("First caller.", "Someone else."):
        steps = call(client, sandbox_url, caller="anonymous", voicemail=words, caller_country="")
        assert all(s.status == 200 for s in steps), steps
    drain(worker)
    assert outbox.entries(provider="twilio") == []
    threads = {
        item["pk"]
        for item in table_items()
        if item["sk"].startswith("MSG#") and "Voicemail" in item.get("body", "")
    }
    assert len(threads) == 2
    text = outbox.entries(provider="sendgrid")[-1]["text"]
    assert "no text back: the caller's number is withheld" in text


def test_a_transcript_that_lands_while_the_notification_is_sent_is_told_after_it(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    """The notification read the voicemail without its transcript, the transcript came,
    then the notification marked what it read: the transcript is not lost (still to tell)."""
    clock.advance(hours=1)
    recording_sid = f"RE{uuid.uuid4().hex}"
    done = call_params(
        RecordingSid=recording_sid,
        RecordingUrl="https://api.twilio.com/2010-04-01/Recordings/" + recording_sid,
        RecordingDuration="9",
    )
    assert (
        signed_post(
            client, routes.TWILIO_VOICE_RECORDING, done, LOCAL_TWILIO_AUTH_TOKEN
        ).status_code
        == 200
    )
    thread = thread_of(container)
    (read,) = [
        m for m in container.repository.messages("demo", thread.thread_id) if m.direction == "in"
    ]
    assert read.transcript is None
    # What collect_transcript records when Transcribe is done (flows/voicemail.py).
    added = container.repository.add_transcript("demo", recording_sid, "Hello?")
    assert added is not None
    assert added.added
    container.repository.mark_notified([read], clock.now)  # what the notification read
    stored = container.repository.message("demo", thread.thread_id, read.sk)
    assert stored is not None
    assert stored.transcript == "Hello?"
    assert stored.notified_at is None, "the transcript would never be told"
    drain(worker)
    told = [m["text"] for m in outbox.entries(provider="sendgrid")]
    assert len(told) == 1
    assert "transcript: Hello?" in told[0]


# -- the Voice Fallback URL: DynamoDB down, the caller still leaves a message -------------


def test_a_call_while_dynamodb_is_down_is_taken_by_the_fallback_and_replayed_once(
    client: Client,
    container: Container,
    worker: QueueWorker,
    inbox: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    """Every DynamoDB call of the app fails (its own botocore clients); Twilio, as the
    sandbox plays it, posts the Voice Fallback URL after the Voice URL's 503 and follows its
    TwiML; the recording is parked. Twilio posting it twice is stored once, texted once."""
    clock.advance(hours=1)  # Friday 17:30 in Prague: closed until Monday 09:00
    call_sid, recording_sid = f"CA{uuid.uuid4().hex}", f"RE{uuid.uuid4().hex}"
    down = Outage("dynamodb", lambda: True, *DYNAMO_500)
    with outage(container, down):
        steps = call(
            client,
            sandbox_url,
            fallback_url=VOICE_FALLBACK_URL,
            call_sid=call_sid,
            recording_sid=recording_sid,
        )
        again = call(  # Twilio's own retry of the recording action, the same RecordingSid
            client,
            sandbox_url,
            fallback_url=VOICE_FALLBACK_URL,
            call_sid=call_sid,
            recording_sid=recording_sid,
        )
    assert [(s.name, s.status) for s in steps] == [
        ("voice", 503),
        ("voice fallback", 200),
        ("recording", 200),
    ]
    assert down.refused, "the primary path did not even try DynamoDB"
    greeting = xml(steps[1])
    say = greeting.find("Say")
    assert say is not None
    assert say.text is not None
    assert "back on Monday at 09:00" in say.text
    assert "answer by Monday" in say.text
    record = greeting.find("Record")
    assert record is not None
    assert record.get("action") == PUBLIC_URL + routes.TWILIO_VOICE_FALLBACK_RECORDING
    assert "transcribe" not in record.attrib
    assert steps[2].url == PUBLIC_URL + routes.TWILIO_VOICE_FALLBACK_RECORDING
    assert xml(steps[2]).find("Hangup") is not None
    assert all(s.status == 200 for s in again[1:])
    assert table_items() == [], "the fallback wrote to the table"
    assert queue_depth(inbox) == 2  # each recording post parked whole
    assert outbox.entries(provider="twilio") == []

    # Healthy again: the replays store the voicemail once; one text back, one notification.
    assert drain(inbox) == 2
    thread = thread_of(container)
    assert thread.channel == "voice"
    voicemails = [m for m in conversation(container, thread.thread_id) if m.direction == "in"]
    assert [m.provider_id for m in voicemails] == [recording_sid]
    assert voicemails[0].body.startswith("Voicemail (")
    assert voicemails[0].created_at == clock.now  # dated when Twilio posted it
    drain(worker)
    texts = outbox.entries(provider="twilio")
    assert [(t["from"], t["to"]) for t in texts] == [(DEMO, CALLER)]
    assert texts[0]["body"].startswith("Sorry we missed your call to Demo Store.")
    mails = outbox.entries(provider="sendgrid")
    assert len(mails) == 1
    assert "the caller was texted back" in mails[0]["text"]
    # Kept and transcribed like any voicemail: Amazon Transcribe works on our copy.
    assert "recording (link valid 7 days): " in mails[0]["text"]
    assert "transcript: not yet" in mails[0]["text"]
    assert [e["action"] for e in outbox.entries(provider="twilio-voice")] == ["delete_recording"]
    assert len(outbox.entries(provider="transcribe")) == 1
    assert queue_depth(inbox) == 0


def test_a_failed_recording_url_reaches_the_fallback_as_a_recording_not_a_new_greeting(
    client: Client,
    container: Container,
    worker: QueueWorker,
    inbox: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    """The greeting came from the Voice URL, then DynamoDB failed: Twilio posts the failed
    recording action to the Voice Fallback URL (ErrorUrl names it). It is parked and
    thanked for, never greeted again; nothing recorded is a missed call, on its CallSid."""
    clock.advance(hours=1)
    transactions = Outage(
        "dynamodb", lambda: True, *DYNAMO_500, hits=lambda op, _: op == "TransactWriteItems"
    )
    with outage(container, transactions):
        steps = call(client, sandbox_url, voicemail=None, fallback_url=VOICE_FALLBACK_URL)
    assert [(s.name, s.status) for s in steps] == [
        ("voice", 200),
        ("recording", 503),
        ("recording fallback", 200),
    ]
    answer = xml(steps[2])
    assert answer.find("Record") is None
    assert answer.find("Hangup") is not None
    assert queue_depth(inbox) == 1
    assert drain(inbox) == 1
    thread = thread_of(container)
    (missed,) = [m for m in conversation(container, thread.thread_id) if m.direction == "in"]
    assert missed.body == "Missed call (no voicemail)."
    assert missed.provider_id.startswith("CA")
    drain(worker)
    assert len(outbox.entries(provider="twilio")) == 1


def test_a_forged_parked_voice_request_is_refused_at_replay(
    client: Client, container: Container, inbox: QueueWorker, clock: FakeClock
) -> None:
    """Parked unverified (the auth token could not be read when it came) and forged: the
    replay verifies it before anything is stored, refuses it and drops it."""
    from chalicelib.queues import ParkedRequest

    params = call_params(
        RecordingSid=f"RE{uuid.uuid4().hex}",
        RecordingUrl="https://api.twilio.com/rec",
        RecordingDuration="9",
    )
    parked = ParkedRequest(
        routes.TWILIO_VOICE_FALLBACK_RECORDING,
        urlencode(params).encode(),
        "forged-signature",
        clock.now,
        False,
    )
    container.inbox.send_all([parked])
    assert drain(inbox) == 1  # handled: refused, not retried
    assert table_items() == []
    assert queue_depth(inbox) == 0


# -- the line-type lookup before the text back --------------------------------------------


@pytest.fixture
def lookup_store(container: Container, tmp_path: Path) -> None:
    """The fixture store `demo` opted in to Twilio Lookup (`voice.lookup_line_type`)."""
    from tests.conftest import TEST_STORES

    raw = json.loads(TEST_STORES.read_text())
    raw["stores"] = [store for store in raw["stores"] if store["id"] == "demo"]
    raw["stores"][0]["voice"] = {**raw["stores"][0].get("voice", {}), "lookup_line_type": True}
    path = tmp_path / "stores.json"
    path.write_text(json.dumps(raw))
    container.__dict__["stores"] = load_stores(path)


def test_a_landline_caller_is_not_texted_and_the_agents_are_told_why(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
    lookup_store: None,
) -> None:
    clock.advance(hours=1)
    steps = call(client, sandbox_url, caller=LANDLINE)
    assert all(s.status == 200 for s in steps), steps
    thread = thread_of(container, customer=LANDLINE)
    (voicemail,) = [m for m in conversation(container, thread.thread_id) if m.direction == "in"]
    assert voicemail.body.startswith("Voicemail (")  # stored regardless
    drain(worker)
    lookups = outbox.entries(provider="twilio-lookup")
    assert [(e["to"], e["fields"], e["type"]) for e in lookups] == [
        (LANDLINE, ["line_type_intelligence"], "landline")
    ]
    assert outbox.entries(provider="twilio") == []
    (mail,) = outbox.entries(provider="sendgrid")
    assert "no text back: Twilio Lookup says the caller's number is a landline" in mail["text"]


def test_a_mobile_caller_is_texted_after_one_lookup_and_a_failed_lookup_texts_anyway(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
    lookup_store: None,
) -> None:
    clock.advance(hours=1)
    call(client, sandbox_url)
    drain(worker)
    assert [e["type"] for e in outbox.entries(provider="twilio-lookup")] == ["mobile"]
    (text,) = outbox.entries(provider="twilio")
    assert text["to"] == CALLER
    (mail,) = outbox.entries(provider="sendgrid")
    assert "the caller was texted back" in mail["text"]

    # Lookup down: the caller is texted all the same (the other guards hold), told to agents.
    other = "+420777555666"
    outbox.set_fault("twilio-lookup", 503, 5)
    try:
        call(client, sandbox_url, caller=other)
        drain(worker)
    finally:
        outbox.clear_faults()
    assert [t["to"] for t in outbox.entries(provider="twilio")] == [CALLER, other]
    assert "the caller was texted back" in outbox.entries(provider="sendgrid")[-1]["text"]


def test_erasing_a_caller_deletes_their_recording_and_transcript_from_the_bucket(
    client: Client,
    container: Container,
    worker: QueueWorker,
    clock: FakeClock,
    sandbox_url: str,
) -> None:
    from chalicelib.store import privacy

    clock.advance(hours=1)
    call(client, sandbox_url, voicemail="Please erase me afterwards.")
    drain(worker)
    for wait in TRANSCRIBE_POLL_DELAYS[:2]:
        clock.advance(seconds=wait)
        drain(worker)
    bucket = container.mail_files.bucket

    def kept() -> list[str]:
        listed = container.s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(o["Key"] for o in listed)

    assert [k.split("/", 1)[0] for k in kept()] == ["recordings", "transcripts"]
    erasure = privacy.erase_customer(
        "demo", CALLER, key=b"local-reply-token-secret", delete_file=container.mail_files.delete
    )
    assert erasure.files == 2
    assert kept() == []
    (message,) = [i for i in table_items() if i.get("direction") == "in"]
    assert "recording_key" not in message
    assert "transcript" not in message


STATUS_URL = PUBLIC_URL + routes.TWILIO_VOICE_STATUS


@pytest.fixture
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The StatusCallback's job without its 2 minutes' wait (SQS's DelaySeconds is real time
    in the emulator): each test drains only once every callback of the call is in, which is
    what the delay buys in production."""
    from chalicelib.flows import receive_voice

    monkeypatch.setattr(receive_voice, "CALL_ENDED_DELAY_SECONDS", 0)


def inbound(container: Container, store: str = "demo", caller: str = CALLER) -> list[Any]:
    pointer = container.repository.customer(store, caller)
    if pointer is None or not pointer.open_thread_id:
        return []
    messages = conversation(container, pointer.open_thread_id)
    return [m for m in messages if m.direction == "in"]


def test_a_caller_who_hangs_up_during_the_greeting_is_a_missed_call_and_texted_back(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
    no_delay: None,
) -> None:
    clock.advance(hours=1)
    steps = call(client, sandbox_url, hang_up_early=True, status_callback_url=STATUS_URL)
    assert [s.name for s in steps] == ["voice", "status"]
    assert steps[1].status == 200
    assert json.loads(steps[1].body) == {"status": "queued"}
    assert inbound(container) == [], "stored on the webhook, before the delay"
    drain(worker)
    (missed,) = inbound(container)
    assert missed.body == "Missed call (no voicemail)."
    assert missed.provider_id.startswith(
        "CA"
    )  # the CallSid: one record with the recording callback's
    assert missed.call["recording_url"] is None
    texts = outbox.entries(provider="twilio")
    assert [t["to"] for t in texts] == [CALLER]
    assert "missed your call" in texts[0]["body"]


@pytest.mark.parametrize("status_first", [False, True])
def test_a_voicemail_and_its_calls_end_in_either_order_are_one_voicemail(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
    no_delay: None,
    status_first: bool,
) -> None:
    clock.advance(hours=1)
    steps = call(client, sandbox_url, status_callback_url=STATUS_URL, status_first=status_first)
    names = [s.name for s in steps]
    assert names == (
        ["voice", "status", "recording"] if status_first else ["voice", "recording", "status"]
    )
    drain(worker)
    (voicemail,) = inbound(container)
    assert voicemail.provider_id.startswith("RE")
    assert voicemail.call["recording_url"]
    assert len(outbox.entries(provider="twilio")) == 1


@pytest.mark.parametrize("status_first", [False, True])
def test_a_missed_call_from_both_callbacks_is_one_message(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    sandbox_url: str,
    no_delay: None,
    status_first: bool,
) -> None:
    """Silence after the tone: the recording callback's missed call and the StatusCallback's
    are one record under the CallSid, whichever is stored first (here even the job first)."""
    clock.advance(hours=1)
    sid = f"CA{uuid.uuid4().hex}"
    params = call_params(CallSid=sid, CallStatus="completed", CallDuration="7")
    first, second = (
        (routes.TWILIO_VOICE_STATUS, routes.TWILIO_VOICE_RECORDING)
        if status_first
        else (routes.TWILIO_VOICE_RECORDING, routes.TWILIO_VOICE_STATUS)
    )
    assert signed_post(client, first, params, LOCAL_TWILIO_AUTH_TOKEN).status_code == 200
    drain(worker)
    assert signed_post(client, second, params, LOCAL_TWILIO_AUTH_TOKEN).status_code == 200
    drain(worker)
    (missed,) = inbound(container)
    assert missed.provider_id == sid
    assert len(outbox.entries(provider="twilio")) == 1


def test_a_forwarded_call_someone_took_is_no_missed_call(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    sandbox_url: str,
    no_delay: None,
) -> None:
    caller = "+420777999888"
    taken = call(
        client,
        sandbox_url,
        number=CORNER,
        caller=caller,
        answer_forward=True,
        status_callback_url=STATUS_URL,
    )
    assert [s.name for s in taken] == ["voice", "dial", "status"]
    assert all(s.status == 200 for s in taken)
    assert drain(worker) == 1  # the StatusCallback's job ran, and found the call taken
    assert container.repository.customer("corner", caller) is None
    assert outbox.entries(provider="twilio") == []

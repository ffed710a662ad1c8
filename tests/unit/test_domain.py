"""Domain rules that need no calendar: opt-out words, automatic mail, notifications, jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.ack import should_acknowledge
from chalicelib.domain.automail import automatic_reason
from chalicelib.domain.messages import opt_keyword
from chalicelib.domain.notification import TranscriptLine, notification_subject, notification_text
from chalicelib.domain.reply import visible_reply
from chalicelib.queues import Job, JobKind

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", "out"),
        (" stop. ", "out"),
        ("Unsubscribe", "out"),
        ("START", "in"),
        ("stop sending me ads", None),
        ("", None),
    ],
)
def test_opt_keywords(body: str, expected: str | None) -> None:
    assert opt_keyword(body) == expected


def test_acknowledge_new_threads_and_after_the_cooldown_only() -> None:
    common = {"opted_out": False, "now": NOW, "cooldown_minutes": 60}
    assert should_acknowledge(new_thread=True, last_ack_at=None, **common)  # type: ignore[arg-type]
    recent = NOW - timedelta(minutes=59)
    assert not should_acknowledge(new_thread=False, last_ack_at=recent, **common)  # type: ignore[arg-type]
    old = NOW - timedelta(minutes=60)
    assert should_acknowledge(new_thread=False, last_ack_at=old, **common)  # type: ignore[arg-type]
    assert not should_acknowledge(
        new_thread=True, opted_out=True, last_ack_at=None, now=NOW, cooldown_minutes=60
    )


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "a@b.test", "Auto-Submitted"),
        ({"X-Autoreply": "yes"}, "a@b.test", "x-autoreply"),
        ({"Precedence": "bulk"}, "a@b.test", "Precedence"),
        ({"List-Id": "<x.list>"}, "a@b.test", "list-id"),
        ({"Content-Type": "multipart/report; report-type=delivery-status"}, "a@b.test", "report"),
        ({}, "MAILER-DAEMON@b.test", "mail system"),
        ({}, "", "mail system"),
        ({"X-Loop": "helpdesk@shop.example"}, "a@b.test", "x-loop"),
        *(
            ({}, f"{local}@shop.example", f"{local.lower()}@")
            for local in ("noreply", "No-Reply", "no.reply", "postmaster", "abuse", "root")
        ),
        ({}, "noreply+orders@shop.example", "noreply@"),
    ],
)
def test_machine_mail_is_recognised(headers: dict[str, str], sender: str, reason: str) -> None:
    found = automatic_reason(headers, sender)
    assert found is not None
    assert reason in found


def test_a_person_mail_is_not_automatic() -> None:
    assert automatic_reason({"Auto-Submitted": "no", "Precedence": "normal"}, "a@b.test") is None
    assert automatic_reason({}, "noreplyjana@b.test") is None  # a person's own name


def test_a_store_names_its_own_unattended_senders() -> None:
    assert automatic_reason({}, "alerts@carrier.example", ("alerts",)) is not None
    assert automatic_reason({}, "noreply@b.test", ("alerts",)) is None  # the list replaces


def test_reply_stripping_removes_quote_and_signature() -> None:
    text = (
        "It ships today.\n\n-- \nAlex, Demo Store\n\n"
        "On Mon, 23 Nov 2026 at 10:00, Demo Store <support@demo.relaydesk.test> wrote:\n"
        "> Where is my order?\n"
    )
    assert visible_reply(text) == "It ships today."
    assert visible_reply("> only a quote\n") == ""


def test_notification_shows_the_thread_and_deadline_in_store_time() -> None:
    text = notification_text(
        store_name="Demo Store",
        channel="whatsapp",
        customer="whatsapp:+420777123456",
        profile_name="Jana",
        due_at=datetime(2026, 11, 23, 11, 30, tzinfo=UTC),
        timezone="Europe/Prague",
        transcript=[
            TranscriptLine(at=NOW, author="whatsapp:+420777123456", inbound=True, body="Hi"),
            TranscriptLine(at=NOW, author="alex@demo.test", inbound=False, body="Hello"),
            TranscriptLine(
                at=NOW,
                author="whatsapp:+420777123456",
                inbound=True,
                body="photo",
                attachments=("a.png (image/png, 10 bytes)",),
                automatic="x-autoreply header",
                dropped="attachment contents",
            ),
        ],
        subject="Order 1042",
    )
    assert text.startswith("WhatsApp from +420777123456 (Jana) to Demo Store.")
    assert "Answer due by Mon 23 Nov 12:30 (Europe/Prague)." in text
    assert "[Mon 23 Nov 11:00] +420777123456: Hi" in text
    assert "[Mon 23 Nov 11:00] -> alex@demo.test: Hello" in text
    assert "Subject: Order 1042" in text
    assert "+420777123456 [automatic: x-autoreply header]: photo" in text
    assert (
        "    attachment: a.png (image/png, 10 bytes)\n    not stored: attachment contents" in text
    )
    subject = notification_subject(
        store_name="Demo Store",
        channel="sms",
        words="Where is my order #1042?",
        who="Jana Nováková",
        thread_id="abcdef123456",
    )
    assert subject == "[Demo Store] Where is my order #1042? (SMS, Jana Nováková, #abcdef)"


def test_jobs_round_trip_and_reject_garbage() -> None:
    job = Job(JobKind.DELIVER_REPLY, "demo", "t1", "MSG#1")
    assert Job.decode(job.encode()) == job
    for body in ["", "{}", '{"kind": "nope", "store_id": 1}', "[1]"]:
        with pytest.raises(ValueError, match="not a relaydesk job"):
            Job.decode(body)

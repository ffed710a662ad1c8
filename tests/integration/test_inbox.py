"""Agents work from their mailbox: commands, assignment, thread states, channel rules,
delivery status callbacks and the satisfaction survey, through the app, the emulated AWS
and the provider sandbox. The `corner` store (tests/fixtures/stores.json) has three agents
(Lee off duty on weekdays), saved replies, the survey and a WhatsApp template."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from twilio.request_validator import RequestValidator

from chalicelib.composition import Container
from relaydesk import sandbox
from relaydesk.local_env import LOCAL_TWILIO_AUTH_TOKEN
from relaydesk.workers import QueueWorker
from tests.integration.conftest import PUBLIC_URL, FakeClock, conversation, drain, queue_depth
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import ack_of, post_parse, post_twilio
from tests.integration.test_timers import tick

CORNER = "+15005550020"
CUSTOMER = "+420777123456"
KIM, LEE, MAX = "kim@corner.test", "lee@corner.test", "max@corner.test"
STATUS_PATH = "/webhooks/twilio/status"


def new_thread(
    client: Client,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    customer: str = CUSTOMER,
    **kw: Any,
) -> str:
    """A customer writes to the corner shop; the reply address of the notification."""
    to = f"whatsapp:{CORNER}" if customer.startswith("whatsapp:") else CORNER
    post_twilio(client, sender=customer, to=to, **kw)
    drain(worker)
    notice = [m for m in outbox.entries(provider="sendgrid") if m["reply_to"]][-1]
    return str(notice["reply_to"])


def thread_of(container: Container, customer: str = CUSTOMER) -> Any:
    pointer = container.repository.customer("corner", customer)
    assert pointer is not None
    assert pointer.open_thread_id
    thread = container.repository.thread("corner", pointer.open_thread_id)
    assert thread is not None
    return thread


def events(container: Container, thread_id: str) -> list[tuple[str, str, str]]:
    return [
        (m.direction, m.author, m.body)
        for m in container.repository.messages("corner", thread_id)
        if m.direction in ("note", "event")
    ]


def status_of(response: Any) -> str:
    assert response.status_code == 200, response.body
    return str(json.loads(response.body)["status"])


def post_status(
    client: Client, *, sid: str, status: str, error: str = "", token: str = LOCAL_TWILIO_AUTH_TOKEN
) -> Any:
    params = {"MessageSid": sid, "MessageStatus": status, "From": CORNER, "To": CUSTOMER}
    if error:
        params["ErrorCode"] = error
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + STATUS_PATH, params)
    return client.http.post(
        STATUS_PATH,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
        body=urlencode(params),
    )


# -- assignment ------------------------------------------------------------------------------


def test_new_threads_go_round_robin_to_the_agents_on_duty_and_only_they_are_told(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    # Friday afternoon: Kim and Max are on duty, Lee works Saturdays only.
    for n, customer in enumerate(["+420777000001", "+420777000002", "+420777000003"]):
        new_thread(client, worker, outbox, customer=customer, body=f"Question {n}")
    owners = [
        thread_of(container, c).assignee
        for c in ("+420777000001", "+420777000002", "+420777000003")
    ]
    assert owners == [KIM, MAX, KIM]
    assert [m["to"] for m in outbox.entries(provider="sendgrid")] == [KIM, MAX, KIM]
    assert outbox.entries(to=LEE) == []
    thread = thread_of(container, "+420777000002")
    assert events(container, thread.thread_id) == [
        ("event", "help@corner.test", "assigned to max <max@corner.test> (round-robin)")
    ]
    # A follow-up on an assigned thread notifies its assignee again, and only them.
    outbox.clear()
    post_twilio(client, sender="+420777000002", to=CORNER, body="Any news?")
    drain(worker)
    assert [m["to"] for m in outbox.entries()] == [MAX]


def test_assign_hands_the_thread_over_and_sends_the_new_assignee_the_history(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    reply_to = new_thread(client, worker, outbox, body="My parcel is damaged")
    clock.advance(minutes=1)
    outbox.clear()
    response = post_parse(client, sender=KIM, to=reply_to, text="#assign lee\n#tag damaged, parcel")
    assert status_of(response) == "assigned to Lee <lee@corner.test>, tagged damaged, parcel"
    drain(worker)
    [handover] = outbox.entries(to=LEE)
    assert handover["text"].startswith("Assigned to you.")
    assert "My parcel is damaged" in handover["text"]
    assert "* Kim Novak: assigned to Lee <lee@corner.test>" in handover["text"]
    assert outbox.entries(provider="twilio") == []  # commands alone send nothing to the customer
    thread = thread_of(container)
    assert (thread.assignee, thread.tags) == (LEE, {"damaged", "parcel"})
    # "#assign me" takes it back, without an e-mail to oneself.
    clock.advance(minutes=1)
    outbox.clear()
    assert status_of(post_parse(client, sender=KIM, to=reply_to, text="#ASSIGN me")) == (
        "assigned to Kim Novak <kim@corner.test>"
    )
    drain(worker)
    assert outbox.entries() == []
    assert thread_of(container).assignee == KIM
    said = [e[2] for e in events(container, thread.thread_id)]
    assert sorted(said[-3:-1]) == ["assigned to Lee <lee@corner.test>", "tagged damaged, parcel"]
    assert said[-1] == "assigned to Kim Novak <kim@corner.test>"


# -- commands --------------------------------------------------------------------------------


def test_a_note_stays_on_the_thread_and_reaches_nobody_else(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    reply_to = new_thread(client, worker, outbox)
    clock.advance(minutes=1)
    response = post_parse(
        client, sender=KIM, to=reply_to, text="#note Customer called, refund approved.\nCheck VAT."
    )
    assert status_of(response) == "note"
    drain(worker)
    thread = thread_of(container)
    assert events(container, thread.thread_id)[-1] == (
        "note",
        KIM,
        "Customer called, refund approved.\nCheck VAT.",
    )
    assert outbox.entries(provider="twilio") == []
    assert thread.awaiting == "agent"  # a note is not an answer: the promise still runs
    # The next notification shows it, marked as internal.
    post_twilio(client, to=CORNER, body="Hello?")
    drain(worker)
    assert "(internal note) Kim Novak: Customer called" in outbox.entries(to=KIM)[-1]["text"]


def test_a_saved_reply_is_sent_with_the_agents_own_words(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="#template shipping\nYours left today.")
    drain(worker)
    [sms] = outbox.entries(provider="twilio")
    assert sms["body"] == "Orders ship within 2 business days.\n\nYours left today."
    assert thread_of(container).awaiting == "customer"


def test_wrong_commands_change_nothing_and_the_agent_is_told_what_and_how(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    before = thread_of(container)
    outbox.clear()
    for text, problem in [
        ("#clsoe\nThanks!", "#clsoe"),
        ("#assign nobody\nThanks!", "nobody"),
        ("#template nonesuch\nThanks!", "nonesuch"),
        ("#snooze 40d", "14 days"),
        ("#close\n#pending", "#pending"),
    ]:
        response = post_parse(client, sender=KIM, to=reply_to, text=text)
        assert status_of(response).startswith("rejected"), text
        told = outbox.entries(to=KIM)[-1]
        assert told["subject"] == f"Not sent: your reply to {CUSTOMER}"
        assert problem in told["text"], text
        assert "#assign" in told["text"]
        assert "#snooze" in told["text"]
    drain(worker)
    assert outbox.entries(provider="twilio") == []
    after = thread_of(container)
    assert (after.status, after.assignee, after.sla_epoch) == ("open", KIM, before.sla_epoch)
    assert [m.direction for m in conversation(container, after.thread_id, "corner")] == ["in"]


def test_the_same_command_reply_posted_twice_applies_once(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    for _ in range(2):
        post_parse(client, sender=KIM, to=reply_to, text="#tag vip", message_id="<once@corner>")
    thread = thread_of(container)
    assert [e[2] for e in events(container, thread.thread_id)].count("tagged vip") == 1


# -- states ----------------------------------------------------------------------------------


def test_snooze_sleeps_until_its_time_then_wakes_and_tells_the_assignee(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    reply_to = new_thread(client, worker, outbox)
    tick(timer_worker)
    response = post_parse(client, sender=KIM, to=reply_to, text="#snooze 2h\nChecking the stock.")
    assert status_of(response) == "queued, snoozed until 2026-11-20T17:30+00:00"
    drain(worker)
    thread = thread_of(container)
    assert (thread.status, thread.snoozed_until.isoformat()) == (
        "snoozed",
        "2026-11-20T17:30:00+00:00",
    )
    outbox.clear()
    clock.advance(hours=1)
    tick(timer_worker)
    assert outbox.entries() == []  # not yet
    clock.advance(hours=1)
    tick(timer_worker)
    [woke] = outbox.entries()
    assert woke["to"] == KIM
    assert woke["text"].startswith("Snooze over: this conversation is open again.")
    assert thread_of(container).status == "open"


def test_a_customer_message_wakes_a_snoozed_thread_and_the_old_wake_up_stays_silent(
    client: Client,
    container: Container,
    worker: QueueWorker,
    timer_worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="#snooze tomorrow")  # Saturday: closed
    thread = thread_of(container)
    assert thread.snoozed_until.isoformat() == "2026-11-23T08:00:00+00:00"  # Monday 09:00
    clock.advance(hours=1)
    post_twilio(client, to=CORNER, body="Actually, one more thing")
    drain(worker)
    assert thread_of(container).status == "open"
    outbox.clear()
    clock.advance(days=3)
    tick(timer_worker)
    assert not [m for m in outbox.entries() if "Snooze over" in m["text"]]


def test_pending_pauses_and_reopen_brings_a_closed_thread_back(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    reply_to = new_thread(client, worker, outbox)
    clock.advance(minutes=1)
    post_parse(client, sender=KIM, to=reply_to, text="#pending\nCould you send a photo?")
    drain(worker)
    thread = thread_of(container)
    assert (thread.status, thread.awaiting, thread.paused_at is not None) == (
        "pending",
        "customer",
        True,
    )
    clock.advance(minutes=1)
    post_parse(client, sender=KIM, to=reply_to, text="#close")
    drain(worker)
    assert thread_of(container).status == "closed"
    clock.advance(minutes=1)
    assert status_of(post_parse(client, sender=MAX, to=reply_to, text="#reopen")) == "reopened"
    reopened = thread_of(container)
    assert (reopened.status, reopened.closed_at) == ("open", None)
    assert [e[2] for e in events(container, reopened.thread_id) if e[1] != "help@corner.test"] == [
        "pending: waiting on the customer",
        "closed",
        "reopened",
    ]


# -- the satisfaction survey -----------------------------------------------------------------


def test_close_asks_for_a_rating_and_the_customers_answer_is_recorded_not_a_new_thread(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="#close\nAll sorted, have a nice day!")
    drain(worker)
    # The answer first, then the survey (it follows the delivered answer).
    answer, survey = outbox.entries(provider="twilio")
    assert answer["body"] == "All sorted, have a nice day!"
    assert "1" in survey["body"]
    assert "5" in survey["body"]
    assert "Corner Shop" in survey["body"]
    thread = thread_of(container)
    assert thread.status == "closed"
    assert thread.survey_sent_at is not None
    clock.advance(minutes=10)
    outbox.clear()
    assert ack_of(post_twilio(client, to=CORNER, body="5!")) is None
    drain(worker)
    rated = container.repository.thread("corner", thread.thread_id)
    assert rated is not None
    assert (rated.status, rated.rating) == ("closed", 5)
    assert outbox.entries() == []  # no acknowledgement, no notification
    # Only one answer counts: the next message is a message, and reopens the thread.
    assert ack_of(post_twilio(client, to=CORNER, body="4")) is not None
    again = thread_of(container)
    assert (again.thread_id, again.status, again.rating) == (thread.thread_id, "open", 5)


def test_a_reply_that_is_not_a_rating_reopens_the_thread_and_no_rating_is_recorded(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="#close")
    drain(worker)
    [survey] = outbox.entries(provider="twilio")
    assert "5" in survey["body"]
    post_twilio(client, to=CORNER, body="5 items are still missing")
    thread = thread_of(container)
    assert (thread.status, thread.rating) == ("open", None)


def test_an_agent_cannot_record_a_rating(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="#close")
    drain(worker)
    post_parse(client, sender=KIM, to=reply_to, text="5")
    drain(worker)
    assert thread_of(container).rating is None


# -- channel rules ---------------------------------------------------------------------------


def test_whatsapp_inside_the_window_is_free_text_outside_it_the_template(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    customer = f"whatsapp:{CUSTOMER}"
    reply_to = new_thread(client, worker, outbox, customer=customer, extra={"ProfileName": "Jana"})
    post_parse(client, sender=KIM, to=reply_to, text="Inside the window.")
    drain(worker)
    clock.advance(hours=25)
    post_parse(client, sender=KIM, to=reply_to, text="Your refund\nwas sent.")
    drain(worker)
    inside, outside = outbox.entries(provider="twilio")
    assert (inside["body"], inside["content_sid"]) == ("Inside the window.", None)
    assert outside["content_sid"] == "HX" + "0123456789abcdef" * 2
    assert outside["content_variables"] == {"1": "Jana", "2": "Your refund was sent."}
    assert outside["to"] == customer


def test_whatsapp_outside_the_window_without_a_template_is_not_sent_and_the_agent_knows_why(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    post_twilio(client, sender=f"whatsapp:{CUSTOMER}", to="whatsapp:+15005550006")
    drain(worker)
    reply_to = outbox.entries(provider="sendgrid")[-1]["reply_to"]
    clock.advance(hours=24, minutes=1)
    post_parse(client, sender="alex@demo.relaydesk.test", to=reply_to, text="Late answer")
    drain(worker)
    assert outbox.entries(provider="twilio") == []
    told = outbox.entries(to="alex@demo.relaydesk.test")[-1]
    assert told["subject"].startswith("Not delivered")
    assert "24 hours" in told["text"]
    assert "whatsapp_template" in told["text"]
    [out] = [
        m
        for m in container.repository.messages("demo", _demo_thread(container))
        if m.direction == "out" and not m.automatic
    ]
    assert out.delivery_status == "failed"


def _demo_thread(container: Container) -> str:
    pointer = container.repository.customer("demo", f"whatsapp:{CUSTOMER}")
    assert pointer is not None
    assert pointer.open_thread_id
    return pointer.open_thread_id


def test_long_sms_answers_go_out_in_parts_at_sentence_ends_and_media_links_as_media(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    sentence = "Your order has been packed and will leave our warehouse tomorrow morning. "
    long_answer = sentence * 30  # about 2,200 characters
    photo = "https://cdn.corner.test/parcel.jpg"
    post_parse(client, sender=KIM, to=reply_to, text=f"{long_answer}\n{photo}")
    drain(worker)
    parts = outbox.entries(provider="twilio")
    assert len(parts) == 2
    assert all(len(p["body"]) <= 1600 for p in parts)
    assert all(p["body"].endswith("morning.") for p in parts)
    assert " ".join(p["body"] for p in parts) == long_answer.strip()
    assert [p["media_urls"] for p in parts] == [[], [photo]]  # MMS: a +1 number
    [out] = [
        m
        for m in conversation(container, thread_of(container).thread_id, "corner")
        if m.direction == "out"
    ]
    assert (out.parts_sent, out.delivery_status) == (2, "sent")


def test_a_part_already_sent_is_not_sent_again_when_the_job_is_retried(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reply_to = new_thread(client, worker, outbox)
    sentence = "Your order has been packed and will leave our warehouse tomorrow morning. "
    post_parse(client, sender=KIM, to=reply_to, text=sentence * 30)
    # The first part goes out, then Twilio fails once: SQS redelivers the job.
    original = container.messenger.send
    calls = {"n": 0}

    def flaky(**kw: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            outbox.set_fault("twilio", 500, 1)
        return str(original(**kw))

    monkeypatch.setattr(container.messenger, "send", flaky)
    drain(worker)
    parts = outbox.entries(provider="twilio")
    assert len(parts) == 2
    assert parts[0]["body"] != parts[1]["body"]


def test_stop_blocks_answers_and_start_allows_them_again(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    assert ack_of(post_twilio(client, to=CORNER, body="STOP")) is None
    post_parse(client, sender=KIM, to=reply_to, text="Sorry to see you go")
    drain(worker)
    assert outbox.entries(provider="twilio") == []
    assert "opted out" in outbox.entries(to=KIM)[-1]["text"]
    assert ack_of(post_twilio(client, to=CORNER, body="START")) is None
    post_parse(client, sender=KIM, to=reply_to, text="Welcome back")
    drain(worker)
    assert [m["body"] for m in outbox.entries(provider="twilio")] == ["Welcome back"]


# -- delivery status callbacks ---------------------------------------------------------------


def test_status_callbacks_record_delivery_and_a_failure_is_told_to_the_agent_once(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="On its way")
    drain(worker)
    [sms] = outbox.entries(provider="twilio")
    assert sms["status_callback"] == PUBLIC_URL + STATUS_PATH
    thread_id = thread_of(container).thread_id

    def answer() -> Any:
        return next(m for m in conversation(container, thread_id, "corner") if m.direction == "out")

    assert status_of(post_status(client, sid=sms["id"], status="sent")) == "sent"
    assert status_of(post_status(client, sid=sms["id"], status="delivered")) == "delivered"
    assert answer().provider_status == "delivered"
    # Out of order: a late "sent" does not undo "delivered".
    post_status(client, sid=sms["id"], status="sent")
    assert answer().provider_status == "delivered"

    post_parse(client, sender=KIM, to=reply_to, text="Second answer")
    drain(worker)
    second = outbox.entries(provider="twilio")[-1]
    outbox.clear()
    for _ in range(2):
        post_status(client, sid=second["id"], status="undelivered", error="30003")
    drain(worker)
    [told] = outbox.entries(to=KIM)
    assert told["subject"].startswith("Not delivered")
    assert "out of reach" in told["text"]
    assert "Second answer" in told["text"]


def test_status_callbacks_are_verified_and_checked(client: Client, container: Container) -> None:
    assert post_status(client, sid="SMx", status="delivered", token="forged").status_code == 403
    response = post_status(client, sid="SMx", status="exploded")
    assert response.status_code == 400
    assert "MessageStatus" in json.loads(response.body)["error"]
    assert status_of(post_status(client, sid="SMnot-ours", status="delivered")) == (
        "kept until the send is recorded"
    )


def test_a_failure_reported_before_the_send_is_recorded_still_reaches_the_agent(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
    monkeypatch: Any,
) -> None:
    """Twilio's callback can overtake the job that sent the message: Twilio answered the
    send (with the SID) and called back "undelivered" before the job recorded that SID
    (issue #12). The status waits on the jobs queue and is applied once the send is
    recorded; the agent is told once."""
    reply_to = new_thread(client, worker, outbox)
    real_part_sent = container.repository.part_sent
    early: list[str] = []

    def callback_first(thread: Any, message: Any, part: int, sid: str) -> None:
        early.append(status_of(post_status(client, sid=sid, status="undelivered", error="30003")))
        real_part_sent(thread, message, part, sid)

    monkeypatch.setattr(container.repository, "part_sent", callback_first)
    post_parse(client, sender=KIM, to=reply_to, text="On its way")
    drain(worker)  # the answer is sent; the status was kept
    monkeypatch.undo()
    assert early == ["kept until the send is recorded"]
    outbox.clear()
    clock.advance(minutes=1)  # the kept status's delay
    drain(worker)
    answer = next(
        m
        for m in conversation(container, thread_of(container).thread_id, "corner")
        if m.direction == "out"
    )
    assert answer.provider_status == "undelivered"
    [told] = outbox.entries(to=KIM)
    assert told["subject"].startswith("Not delivered")
    assert "out of reach" in told["text"]


def test_a_status_for_a_send_never_recorded_is_given_up_after_five_minutes(
    client: Client, container: Container, worker: QueueWorker, clock: FakeClock
) -> None:
    response = post_status(client, sid="SMlost", status="undelivered", error="30003")
    assert status_of(response) == "kept until the send is recorded"
    looked = 0
    while queue_depth(worker) and looked < 20:
        clock.advance(seconds=31)
        looked += drain(worker)
    assert (looked, queue_depth(worker)) == (10, 0)  # ten looks, then nothing left


def test_a_closed_thread_expires_after_the_retention_and_a_reopened_one_is_kept(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    clock: FakeClock,
) -> None:
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="#close\nDone!")
    drain(worker)  # the answer, then the survey
    thread = thread_of(container)
    retention = container.stores.by_id("corner").retention_days  # type: ignore[union-attr]
    expected = int((thread.closed_at + timedelta(days=retention)).timestamp())
    items = container.repository.messages("corner", thread.thread_id)
    assert thread.expires_at == expected
    assert {m.expires_at for m in items} == {expected}
    assert any(m.automatic == "survey" for m in items)  # queued after the close, expires too
    clock.advance(minutes=5)
    post_twilio(client, to=CORNER, body="3")  # the rating
    drain(worker)  # retention is applied by a job, not in the webhook
    assert {m.expires_at for m in container.repository.messages("corner", thread.thread_id)} == {
        expected
    }
    clock.advance(minutes=5)
    post_twilio(client, to=CORNER, body="Wait, one more question")  # reopens: kept again
    drain(worker)
    reopened = thread_of(container)
    assert reopened.status == "open"
    assert reopened.expires_at is None
    assert {m.expires_at for m in container.repository.messages("corner", thread.thread_id)} == {
        None
    }


# -- abuse -----------------------------------------------------------------------------------


def test_a_store_wide_hourly_cap_stops_acknowledgements_but_every_message_is_stored(
    client: Client, container: Container, worker: QueueWorker, clock: FakeClock
) -> None:
    """Many senders (SMS pumping) cannot make the store send more than its hourly cap
    (`auto_replies_per_hour`: 5 for the corner shop); their messages are all kept."""
    senders = [f"+4207770001{n:02d}" for n in range(7)]
    acks = [ack_of(post_twilio(client, sender=s, to=CORNER, body="hi")) for s in senders]
    assert [a is not None for a in acks] == [True] * 5 + [False] * 2
    for sender in senders:
        thread = thread_of(container, sender)
        assert [m.body for m in conversation(container, thread.thread_id, "corner")] == ["hi"]
    drain(worker)  # the agents hear of every one of them
    clock.advance(hours=1)
    assert ack_of(post_twilio(client, sender="+420777000200", to=CORNER, body="hi")) is not None


def test_an_email_customer_rates_by_replying_to_the_survey_mail(
    client: Client, container: Container, worker: QueueWorker, outbox: sandbox.Sandbox
) -> None:
    customer = "jana@customer.test"
    post_parsed(
        client,
        sender=customer,
        to="help@corner.test",
        subject="Order 77",
        text="Where is it?",
        message_id="<o77@customer.test>",
    )
    drain(worker)
    reply_to = [m for m in outbox.entries(provider="sendgrid") if m["reply_to"]][-1]["reply_to"]
    post_parse(client, sender=KIM, to=reply_to, text="#close")
    drain(worker)
    [survey] = [m for m in outbox.entries(to=customer) if "5" in m["text"]]
    assert survey["subject"] == "Re: Order 77"
    assert survey["headers"]["Auto-Submitted"] == "auto-replied"
    answer = post_parsed(
        client,
        sender=customer,
        to="help@corner.test",
        subject="Re: Order 77",
        text="4\n\nOn Fri, Corner Shop wrote:\n> How did we do?",
        message_id="<rating@customer.test>",
        headers=f"In-Reply-To: {survey['headers']['Message-ID']}\n",
    )
    assert status_of(answer) == "rated 4"
    pointer = container.repository.customer("corner", customer)
    assert pointer is not None
    assert pointer.open_thread_id
    thread = container.repository.thread("corner", pointer.open_thread_id)
    assert thread is not None
    assert (thread.status, thread.rating) == ("closed", 4)


def test_the_failure_report_names_the_reason_even_if_it_runs_before_the_status_is_written(
    client: Client,
    container: Container,
    worker: QueueWorker,
    outbox: sandbox.Sandbox,
    monkeypatch: Any,
) -> None:
    """The report job is queued before the status is written (so that it is never lost);
    a fast worker may run it first, and must still say why (seen once in e2e)."""
    reply_to = new_thread(client, worker, outbox)
    post_parse(client, sender=KIM, to=reply_to, text="On its way")
    drain(worker)
    [sms] = outbox.entries(provider="twilio")
    outbox.clear()
    real_record = container.repository.record_provider_status

    def job_first(*args: Any, **kwargs: Any) -> bool:
        assert worker.poll_once() == 1  # the report runs before the status is written
        return real_record(*args, **kwargs)

    monkeypatch.setattr(container.repository, "record_provider_status", job_first)
    post_status(client, sid=sms["id"], status="undelivered", error="30003")
    [told] = outbox.entries(to=KIM)
    assert "error 30003: the phone is switched off or out of reach" in told["text"]

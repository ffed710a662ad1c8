"""Tenant isolation: one store never sees or changes another store's data, and no token,
route or command lets one store's agent act on another store's thread.

(a) Keys and storage code. Every key built in chalicelib/store/models.py starts with the
    store id; every Repository method and every storage function of store/privacy.py
    takes the store id or an item of that store. Each is then called against a table
    where store `acme` is an exact mirror of store `demo` (the same thread ids, message
    keys, customers and provider ids; only the store prefix and the text differ), plus
    some items only acme has: nothing of acme's comes back, and nothing of acme's changes.
(b) Reply tokens: another store's agent, another store's token, a forged token, and a
    genuinely signed token naming a thread that exists only in the other store: 403,
    nothing stored, queued or sent.
(c) `#assign` naming another store's agent is refused.
(d) A Twilio status callback from one store's number naming another store's message
    changes nothing.
(e) A customer writing to both stores gets a separate thread in each.
(f) The same on Messenger: each page's messages land in its own store, and an agent's
    answer goes out with their own store's page token.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import report, tokens
from chalicelib.domain.inbound import plan_inbound
from chalicelib.domain.messages import Channel, InboundMessage
from chalicelib.store import customers, models, privacy
from chalicelib.store.inbound import RateCap
from chalicelib.store.repository import AlreadyRecorded, Repository
from chalicelib.stores import STORE_ID
from relaydesk.cli import twiml_messages
from tests.integration.conftest import PUBLIC_URL, queue_depth
from tests.integration.email_posts import post_parsed
from tests.integration.test_spine import post_parse, post_twilio, reply_to_of
from tests.reliability import faults
from tests.reliability.faults import Env
from tests.reliability.helpers import (
    ACME_AGENT,
    ACME_NUMBER,
    ACME_SUPPORT,
    DEMO_AGENTS,
    DEMO_NUMBER,
    DEMO_SUPPORT,
    REPLY_DOMAIN,
    scan_table,
    twilio_signature,
)

env = faults.env

A, B = "demo", "acme"
ALEX = DEMO_AGENTS[0]
CUSTOMER = "+420777000999"
JANA = "jana@customer.test"
ONLY_B_CUSTOMER = "+420777000777"
ONLY_B_MAIL = "<only-acme@customer.test>"
ONLY_B_SID = "SMonlyacme000000000000000000000000"
ONLY_B_KEYS = ("only-acme-outbound", "only-acme-claim", "SMonlyacmepart", "only-acme-mark")
"""Provider ids and once-only keys only acme has used (its markers are seeded)."""


# == (a) keys ================================================================================

KEY_BUILDERS = [
    f for name, f in vars(models).items() if name.endswith("_pk") and inspect.isfunction(f)
]


def test_every_key_builder_is_found() -> None:
    names = sorted(f.__name__ for f in KEY_BUILDERS)
    assert names == [
        "customer_pk",
        "marker_pk",
        "order_pk",
        "report_pk",
        "store_pk",
        "thread_pk",
    ], (
        "a new key builder in store/models.py: it is checked below automatically; "
        "update this list once you have looked at it"
    )


@given(
    store=st.from_regex(STORE_ID, fullmatch=True),
    other=st.text(max_size=40),
)
def test_every_key_starts_with_the_store_id_and_cannot_reach_another_store(
    store: str, other: str
) -> None:
    """A store id never holds '#', so '<store>#' is a prefix no other store's keys share."""
    assert "#" not in store
    for build in KEY_BUILDERS:
        params = list(inspect.signature(build).parameters)
        assert params[0] == "store_id", build.__name__
        key = build(store, *([other] * (len(params) - 1)))
        assert key.split("#", 1)[0] == store, (build.__name__, key)


# -- the mirror world -------------------------------------------------------------------


def _mirror_demo_into_acme() -> None:
    """Copy every demo item into acme: same keys after the store prefix, same attributes
    except the store id and a marked text, so that a leak is seen in what comes back."""
    table = boto3.resource("dynamodb").Table("relaydesk")
    for item in scan_table():
        pk = str(item["pk"])
        if not pk.startswith(f"{A}#"):
            continue
        copy = {**item, "pk": f"{B}#" + pk.removeprefix(f"{A}#")}
        if copy.get("store_id") == A:
            copy["store_id"] = B
        if isinstance(copy.get("body"), str):
            copy["body"] = "ACME:" + copy["body"]
        table.put_item(Item=copy)


def _seed(e: Env) -> dict[str, Any]:
    """demo: an SMS thread answered by an agent (delivered: a Twilio SID marker), an
    e-mail thread; acme: the mirror, plus a thread, customer and markers only it has."""
    assert post_twilio(e.client, sender=CUSTOMER, body="Where is my order?").status_code == 200
    e.drain()
    reply_to = reply_to_of(e.outbox)
    answer = post_parse(e.client, sender=ALEX, to=reply_to, text="Today.", message_id="<a@d>")
    assert answer.status_code == 200
    assert (
        post_parsed(
            e.client,
            sender=JANA,
            to=DEMO_SUPPORT,
            subject="Order",
            text="Hi",
            message_id="<m1@customer.test>",
        ).status_code
        == 200
    )
    e.drain()
    _mirror_demo_into_acme()
    post_twilio(e.client, sender=ONLY_B_CUSTOMER, to=ACME_NUMBER, sid=ONLY_B_SID, body="Acme?")
    assert (
        post_parsed(
            e.client,
            sender="kai@customer.test",
            to=ACME_SUPPORT,
            subject="Only acme",
            text="Hello acme",
            message_id=ONLY_B_MAIL,
        ).status_code
        == 200
    )
    e.drain()
    sms_thread = e.container.repository.customer(A, CUSTOMER)
    assert sms_thread is not None
    assert sms_thread.open_thread_id
    only_b = e.container.repository.customer(B, ONLY_B_CUSTOMER)
    assert only_b is not None
    assert only_b.open_thread_id
    for key in ONLY_B_KEYS:
        assert e.container.repository.claim(B, key, only_b.open_thread_id, e.clock.now)
    assert e.container.repository.claim_report(B, "2026-W47", e.clock.now)  # acme's only
    assert e.container.repository.thread(A, only_b.open_thread_id) is None
    return {
        "thread_id": sms_thread.open_thread_id,
        "only_b_thread": only_b.open_thread_id,
        "sid": e.outbox.entries(provider="twilio")[0]["id"],
    }


def acme_items() -> list[dict[str, Any]]:
    return [i for i in scan_table() if str(i["pk"]).startswith(f"{B}#")]


def ours(value: Any) -> None:
    """Everything that came back belongs to demo."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item is None or isinstance(item, int | bool):
            continue
        if isinstance(item, str):
            assert not item.startswith(f"{B}#")
            continue
        assert item.pk.startswith(f"{A}#"), item.pk
        assert "ACME:" not in (getattr(item, "body", "") or "")
        assert getattr(item, "store_id", A) == A


# One check per Repository method: the call, made for demo (with demo's items where it
# takes an item), against the mirror world. `w` holds the world's ids and demo's items.
# Readers come first: the writers below give demo keys that only acme had before.
Call = Callable[[Repository, dict[str, Any]], Any]


def _inbound(w: dict[str, Any], provider_id: str, body: str = "More") -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        provider_id=provider_id,
        sender=CUSTOMER,
        recipient=DEMO_NUMBER,
        body=body,
        received_at=w["now"],
    )


def _record_inbound(r: Repository, w: dict[str, Any]) -> Any:
    message = _inbound(w, ONLY_B_SID)  # a provider id acme has: new to demo
    customer = r.customer(A, CUSTOMER)
    plan = plan_inbound(
        w["store"],
        customers.snapshot(customer),
        message,
        thread_id=w["thread_id"],
        pending_due=None,
    )
    # With a cap (web chat's): its counter is demo's own, acme's (mirrored) is not touched.
    return r.record_inbound(A, message, plan, customer, caps=(RateCap("webchat-store", 1),))


def _record_rating(r: Repository, w: dict[str, Any]) -> Any:
    try:
        return r.record_rating(A, _inbound(w, ONLY_B_MAIL, "5"), w["thread_id"], 5)
    except AlreadyRecorded as exc:  # would mean acme's marker was taken for demo's
        raise AssertionError("acme's marker answered for demo") from exc


def _marked_in_demo_only(acmes: bool, demos: bool) -> None:
    """acme's message id is not marked in demo; demo's own is (the read works at all)."""
    assert not acmes, "acme's marker read as demo's"
    assert demos, "demo's own marker not found"


def _claimed(first_time: bool) -> None:
    assert first_time, "acme's claim on a key counted as demo's"


def _nothing_told(told: tuple[frozenset[str], Any]) -> None:
    assert told == (frozenset(), None), "another store's order news read as demo's"


def _not_seen(seen: bool) -> None:
    assert not seen, "another store's marker read as demo's"


def _report_counts(prefix: str) -> dict[str, int]:
    """A store's report counters summed over all its days, read from a scan."""
    total: dict[str, int] = {}
    for item in scan_table():
        if str(item["pk"]) == f"{prefix}#REPORT" and str(item["sk"]).startswith("DAY#"):
            for name, value in item.items():
                if name not in ("pk", "sk", "expires_at", "low"):
                    total[name] = total.get(name, 0) + int(value)
    return total


def _report_days(r: Repository, w: dict[str, Any]) -> None:
    """demo's counters and only demo's: acme, mirrored from demo, has two conversations
    more of its own, so a read that crossed stores would show them."""
    found = r.report_days(A, w["now"].date() - timedelta(days=400), w["now"].date())
    total: dict[str, int] = {}
    for _, values in found:
        for name, value in values.items():
            if isinstance(value, int):
                total[name] = total.get(name, 0) + value
    assert total == _report_counts(A)
    assert total != _report_counts(B), "the seed gives acme counters of its own"


def _counts(w: dict[str, Any]) -> report.Counts | None:
    """Counts for demo's thread: they must land in demo's counters only."""
    return report.counts_at(w["now"], "Europe/Prague", w["thread_id"], {"isolation": 1})


def _transcribed_in_demo_only(r: Repository, w: dict[str, Any]) -> list[str]:
    """The marker is read under demo's key: acme's message is not found, and demo's SMS
    (no voicemail) is left unchanged by the conditional update."""
    assert r.add_transcript(A, ONLY_B_SID, "x") is None, "acme's message found as demo's"
    found = r.add_transcript(A, w["sid"], "x")
    assert found is not None
    assert found.added is False, "a transcript was added to a message that is no voicemail"
    return [found.thread_id]


REPOSITORY_CALLS: dict[str, Call] = {
    "add_transcript": _transcribed_in_demo_only,
    "customer": lambda r, w: [r.customer(A, CUSTOMER), r.customer(A, ONLY_B_CUSTOMER)],
    "thread": lambda r, w: [r.thread(A, w["thread_id"]), r.thread(A, w["only_b_thread"])],
    "thread_for_message_ids": lambda r, w: [
        r.thread_for_message_ids(A, [ONLY_B_MAIL]),
        r.thread_for_message_ids(A, ["<m1@customer.test>"]),
    ],
    "messages": lambda r, w: r.messages(A, w["thread_id"]) + r.messages(A, w["only_b_thread"]),
    "message": lambda r, w: r.message(A, w["thread_id"], w["message"].sk),
    "message_for_provider_id": lambda r, w: [
        r.message_for_provider_id(A, ONLY_B_SID),
        (r.message_for_provider_id(A, w["sid"]) or (None, None))[1],
    ],
    "order_news": lambda r, w: _nothing_told(r.order_news(A, "1050")),
    "shop_event_seen": lambda r, w: _not_seen(r.shop_event_seen(A, ONLY_B_KEYS[1])),
    "customers_by_address": lambda r, w: list(
        r.customers_by_address(A, [CUSTOMER, ONLY_B_CUSTOMER]).values()
    ),
    "record_inbound": _record_inbound,
    "record_rating": _record_rating,
    "record_outbound": lambda r, w: r.record_outbound(
        w["thread"], provider_id=ONLY_B_KEYS[0], author=ALEX, body="x", at=w["now"]
    ),
    "next_assignment": lambda r, w: r.next_assignment(A),
    "marked": lambda r, w: _marked_in_demo_only(r.marked(A, ONLY_B_KEYS[3]), r.marked(A, w["sid"])),
    "claim": lambda r, w: _claimed(r.claim(A, ONLY_B_KEYS[1], w["thread_id"], w["now"])),
    "mark_notified": lambda r, w: r.mark_notified([w["message"]], w["now"]),
    "mark_delivered": lambda r, w: r.mark_delivered(
        w["thread"], w["message"], provider_id="SMx", at=w["now"], counts=_counts(w)
    ),
    "report_days": _report_days,
    "claim_report": lambda r, w: _claimed(r.claim_report(A, "2026-W47", w["now"])),
    "report_sent": lambda r, w: r.report_sent(A, "2026-W47", sent=False),
    "mark_failed": lambda r, w: r.mark_failed(w["message"], "no"),
    # The message item's own key (store and thread), read from demo's thread: as mark_failed.
    "refuse_text_back": lambda r, w: r.refuse_text_back(w["message"], "a landline"),
    # A message item is its store's: its key starts with the store (as mark_failed's).
    "record_recording": lambda r, w: r.record_recording(
        w["message"], state="kept", key="recordings/demo/REx.wav"
    ),
    "transcription_started": lambda r, w: r.transcription_started(
        w["message"], "relaydesk-demo-REx"
    ),
    "failure_reported": lambda r, w: r.failure_reported(w["message"], w["now"]),
    "claim_sending": lambda r, w: r.claim_sending(w["message"], take_over=True),
    "release_sending": lambda r, w: r.release_sending(w["message"]),
    "part_sent": lambda r, w: r.part_sent(w["thread"], w["message"], 1, ONLY_B_KEYS[2]),
    "record_provider_status": lambda r, w: r.record_provider_status(
        w["message"], "delivered", None, failed=False
    ),
    "record_event": lambda r, w: r.record_event(
        w["thread"], kind="note", author=ALEX, body="n", at=w["now"]
    ),
    "assign": lambda r, w: r.assign(w["thread"], ALEX),
    "add_tags": lambda r, w: r.add_tags(w["thread"], ["t"]),
    "attach_order": lambda r, w: r.attach_order(w["thread"], "1042"),
    "set_profile_name": lambda r, w: r.set_profile_name(w["thread"], "Jana Nováková"),
    "customers": lambda r, w: list(r.customers(A, [CUSTOMER, ONLY_B_CUSTOMER]).values()),
    "threads": lambda r, w: list(r.threads(A, [w["thread_id"], w["only_b_thread"]]).values()),
    "first_messages": lambda r, w: (
        r.first_messages(A, w["thread_id"]) + r.first_messages(A, w["only_b_thread"])
    ),
    "set_priority": lambda r, w: r.set_priority(w["thread"], "urgent", w["now"]),
    "timers_scheduled": lambda r, w: r.timers_scheduled(w["thread"], "response:9"),
    "timer_fired": lambda r, w: r.timer_fired(
        w["thread"], "response:9:breach:0", breached=True, counts=_counts(w)
    ),
    "timer_unfired": lambda r, w: r.timer_unfired(w["thread"], "response:9:reminder:0"),
    "pause_thread": lambda r, w: r.pause_thread(w["thread"], w["now"]),
    "resume_resolution": lambda r, w: r.resume_resolution(w["thread"], w["now"]),
    "snooze_thread": lambda r, w: r.snooze_thread(w["thread"], w["now"], w["now"]),
    "wake_thread": lambda r, w: r.wake_thread(w["thread"], 1, w["now"]),
    "close_thread": lambda r, w: r.close_thread(w["thread"], w["now"], _counts(w)),
    "answered_automatically": lambda r, w: r.answered_automatically(
        w["thread"], w["message"].created_at, w["now"]
    ),
    "resolve_automatically": lambda r, w: r.resolve_automatically(
        w["thread"], int(w["thread"].sla_epoch), w["now"]
    ),
    "reopen_thread": lambda r, w: r.reopen_thread(w["thread"], w["now"]),
    "survey_sent": lambda r, w: r.survey_sent(w["thread"], w["now"]),
    "expire_closed_thread": lambda r, w: r.expire_closed_thread(A, w["thread_id"], w["now"], 30),
    "keep_thread": lambda r, w: r.keep_thread(A, w["thread_id"]),
    "follow_ups_pending": lambda r, w: r.follow_ups_pending(
        A, stored_before=w["now"] + timedelta(days=1), limit=100
    ),
    "follow_ups_done": lambda r, w: r.follow_ups_done(A, w["message"].sk),
    "follow_ups_requeued": lambda r, w: r.follow_ups_requeued(A, w["message"].sk),
    "claim_news": lambda r, w: _claimed(r.claim_news(A, "1050", "delayed", w["now"], "k")),
    "count_proactive": lambda r, w: _claimed(
        r.count_proactive(A, ONLY_B_CUSTOMER, "2026-11-20", 1)
    ),
    "start_proactive_thread": lambda r, w: r.start_proactive_thread(
        A,
        channel="sms",
        customer=ONLY_B_CUSTOMER,
        store_address="+15005550006",
        subject=None,
        proactive="order #1050: delayed",
        order_number="1050",
        at=w["now"],
    ),
}

STORE_SCOPED_ITEMS = {"ThreadItem", "MessageItem", "list[MessageItem]"}


def _public(cls: type) -> dict[str, Callable[..., Any]]:
    return {
        name: f
        for name, f in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_repository_method_takes_the_store_or_a_store_item() -> None:
    for name, method in _public(Repository).items():
        first = list(inspect.signature(method).parameters.values())[1]
        assert first.name == "store_id" or first.annotation in STORE_SCOPED_ITEMS, (
            f"Repository.{name}({first.name}: {first.annotation}) is not scoped by store"
        )
    missing = set(_public(Repository)) - set(REPOSITORY_CALLS)
    assert not missing, f"add an isolation check to REPOSITORY_CALLS for: {sorted(missing)}"


def test_every_repository_method_stays_in_its_store(env: Env) -> None:
    world = _seed(env)
    repository = env.container.repository
    before = acme_items()
    assert len(before) > 10
    store = env.container.stores.by_id(A)
    for name, call in REPOSITORY_CALLS.items():
        thread = repository.thread(A, world["thread_id"])
        assert thread is not None
        inbound = [m for m in repository.messages(A, world["thread_id"]) if m.direction == "in"]
        w = {**world, "thread": thread, "message": inbound[0], "store": store}
        w["now"] = env.clock.now + timedelta(minutes=len(name))
        returned = call(repository, w)
        ours(returned)
        assert acme_items() == before, f"Repository.{name} changed acme's items"


PRIVACY_PURE = {"address_forms"}
"""Functions of store/privacy.py that touch no storage."""


def test_every_privacy_function_takes_the_store(env: Env) -> None:
    functions = {
        name: f
        for name, f in vars(privacy).items()
        if inspect.isfunction(f) and f.__module__ == privacy.__name__ and not name.startswith("_")
    }
    for name, function in functions.items():
        if name in PRIVACY_PURE:
            continue
        assert "store_id" in inspect.signature(function).parameters, name
    checked = {"pseudonym", "find_threads", "export_customer", "erase_customer"}
    assert set(functions) - PRIVACY_PURE == checked, "add an isolation check below"

    _seed(env)
    before = acme_items()
    key = env.container.reply_secret
    assert privacy.pseudonym(key, A, CUSTOMER) != privacy.pseudonym(key, B, CUSTOMER)
    ours(privacy.find_threads(A, CUSTOMER))
    assert privacy.find_threads(A, ONLY_B_CUSTOMER) == []
    exported = privacy.export_customer(A, CUSTOMER)
    assert exported["threads"]
    assert "ACME:" not in str(exported)
    assert privacy.export_customer(A, ONLY_B_CUSTOMER)["threads"] == []
    erased = privacy.erase_customer(A, CUSTOMER, key=key)
    assert erased.threads == 1
    assert acme_items() == before
    assert privacy.erase_customer(A, ONLY_B_CUSTOMER, key=key).threads == 0
    assert acme_items() == before


# == (b) reply tokens ===========================================================================


def _two_threads(e: Env) -> tuple[str, str]:
    """A demo SMS thread and an acme SMS thread; their agents' reply addresses."""
    assert post_twilio(e.client, sender=CUSTOMER, to=DEMO_NUMBER).status_code == 200
    e.drain()
    demo_reply = reply_to_of(e.outbox)
    assert post_twilio(e.client, sender=ONLY_B_CUSTOMER, to=ACME_NUMBER).status_code == 200
    e.drain()
    acme_reply = [m for m in e.outbox.entries(to=ACME_AGENT) if m.get("reply_to")][-1]["reply_to"]
    return demo_reply, acme_reply


def _thread_id(reply_to: str) -> str:
    token = tokens.token_from_address(reply_to, REPLY_DOMAIN)
    assert token is not None
    return token.split(".")[1]


def test_reply_tokens_never_cross_stores(env: Env) -> None:
    demo_reply, acme_reply = _two_threads(env)
    secret = env.container.reply_secret
    acme_thread = _thread_id(acme_reply)
    cases = {
        "demo's token, acme's agent": (ACME_AGENT, demo_reply),
        "acme's token, demo's agent": (ALEX, acme_reply),
        "forged mac": (ALEX, re.sub(r"\.[a-z2-7]{16}@", ".abcdefghijklmnop@", demo_reply)),
        "demo's token naming acme's thread": (
            ALEX,
            tokens.reply_address(secret, A, acme_thread, REPLY_DOMAIN),
        ),
        "acme's token naming acme's thread, demo's agent": (
            ALEX,
            tokens.reply_address(secret, B, acme_thread, REPLY_DOMAIN),
        ),
    }
    before = scan_table()
    sent = len(env.outbox.entries())
    for case, (sender, to) in cases.items():
        response = post_parse(
            env.client, sender=sender, to=to, text="Leak?", message_id=f"<{case}>"
        )
        assert response.status_code == 403, (case, response.status_code, response.body)
    assert scan_table() == before
    assert env.jobs_waiting() == 0
    assert len(env.outbox.entries()) == sent
    # The control: the right agent with the right token gets through.
    response = post_parse(
        env.client, sender=ACME_AGENT, to=acme_reply, text="Hi", message_id="<ok>"
    )
    assert response.status_code == 200, response.body


# == (c) commands ================================================================================


@pytest.mark.parametrize("who", [ACME_AGENT, "pat", "Pat"])
def test_assign_to_another_stores_agent_is_refused(env: Env, who: str) -> None:
    demo_reply, _ = _two_threads(env)
    thread_id = _thread_id(demo_reply)
    before = env.container.repository.thread(A, thread_id)
    assert before is not None
    acme_mail = len(env.outbox.entries(to=ACME_AGENT))
    response = post_parse(env.client, sender=ALEX, to=demo_reply, text=f"#assign {who}\nHi")
    assert response.status_code == 200, response.body
    assert str(response.json_body["status"]).startswith("rejected")
    env.drain()
    after = env.container.repository.thread(A, thread_id)
    assert after is not None
    assert after.assignee == before.assignee == ALEX
    assert len(env.outbox.entries(to=ACME_AGENT)) == acme_mail
    assert env.outbox.entries(provider="twilio") == []  # nothing reached the customer
    told = env.outbox.entries(to=ALEX)[-1]
    assert told["subject"].startswith("Not sent")
    assert f"#assign {who}" in told["text"]


# == (d) status callbacks ========================================================================

STATUS_PATH = "/webhooks/twilio/status"


def _status(e: Env, sender: str, sid: str) -> Any:
    params = {"MessageSid": [sid], "MessageStatus": ["undelivered"], "From": [sender]}
    params["To"], params["ErrorCode"] = [ONLY_B_CUSTOMER], ["30003"]
    return e.client.http.post(
        STATUS_PATH,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(params, url=PUBLIC_URL + STATUS_PATH),
        },
        body=urlencode([(k, v[0]) for k, v in params.items()]).encode(),
    )


def test_a_status_callback_cannot_reach_another_stores_message(env: Env) -> None:
    _, acme_reply = _two_threads(env)
    response = post_parse(env.client, sender=ACME_AGENT, to=acme_reply, text="Sent by acme")
    assert response.status_code == 200
    env.drain()
    [sms] = env.outbox.entries(provider="twilio")
    assert sms["from"] == ACME_NUMBER
    before = scan_table()
    mail = len(env.outbox.entries())

    response = _status(env, DEMO_NUMBER, sms["id"])  # demo's number, acme's message
    assert response.status_code == 200, response.body
    # Not found under demo: kept in case demo's send is about to be recorded, and looked
    # for again (under demo only) until it is given up.
    assert response.json_body == {"status": "kept until the send is recorded"}
    for _ in range(12):
        env.clock.advance(minutes=1)
        env.drain()
    assert queue_depth(env.worker) == 0
    assert scan_table() == before
    assert len(env.outbox.entries()) == mail

    # The control: from acme's own number the same callback is recorded and reported.
    assert _status(env, ACME_NUMBER, sms["id"]).json_body == {"status": "undelivered"}
    env.drain()
    assert scan_table() != before
    assert env.outbox.entries(to=ACME_AGENT)[-1]["subject"].startswith("Not delivered")


# == (e) one customer, two stores =================================================================


def test_a_customer_of_both_stores_gets_a_thread_in_each(env: Env) -> None:
    demo = post_twilio(env.client, sender=CUSTOMER, to=DEMO_NUMBER, body="demo question")
    acme = post_twilio(env.client, sender=CUSTOMER, to=ACME_NUMBER, body="acme question")
    assert "Demo Store" in twiml_messages(demo.body.decode())[0]
    assert "Acme Outlet" in twiml_messages(acme.body.decode())[0]
    # A follow-up to acme joins acme's thread only.
    post_twilio(env.client, sender=CUSTOMER, to=ACME_NUMBER, body="acme again")
    env.drain()
    repository = env.container.repository
    pointers = [repository.customer(store, CUSTOMER) for store in (A, B)]
    assert all(p is not None and p.open_thread_id for p in pointers)
    ids = [p.open_thread_id for p in pointers if p is not None]
    bodies = [
        [m.body for m in repository.messages(store, thread) if m.direction == "in"]
        for store, thread in zip((A, B), ids, strict=True)
    ]
    assert [sorted(b) for b in bodies] == [["demo question"], ["acme again", "acme question"]]
    assert repository.thread(A, ids[1]) is None
    assert repository.thread(B, ids[0]) is None
    [pat] = env.outbox.entries(to=ACME_AGENT)
    assert "acme question" in pat["text"]
    assert "demo question" not in pat["text"]
    assert all("acme" not in m["text"] for m in env.outbox.entries(to=ALEX))


def test_an_email_quoting_one_stores_thread_starts_a_new_thread_at_the_other(env: Env) -> None:
    assert (
        post_parsed(
            env.client,
            sender=JANA,
            to=DEMO_SUPPORT,
            subject="Order",
            text="Hi demo",
            message_id="<first@customer.test>",
        ).status_code
        == 200
    )
    env.drain()
    response = post_parsed(
        env.client,
        sender=JANA,
        to=ACME_SUPPORT,
        subject="Re: Order",
        text="Hi acme",
        message_id="<second@customer.test>",
        headers="In-Reply-To: <first@customer.test>\nReferences: <first@customer.test>\n",
    )
    assert response.status_code == 200, response.body
    env.drain()
    [demo_thread] = Env.threads(A)
    [acme_thread] = Env.threads(B)
    [first] = Env.stored("<first@customer.test>")
    [second] = Env.stored("<second@customer.test>")
    assert first["pk"] == demo_thread["pk"]
    assert second["pk"] == acme_thread["pk"]


# == (f) Messenger: one page, one store; one page token, one store ================================


def test_a_messenger_customer_of_both_pages_gets_a_thread_in_each_answered_as_that_page(
    env: Env,
) -> None:
    import hashlib

    from relaydesk.local_env import LOCAL_META_APP_SECRET, LOCAL_META_PAGE_TOKEN
    from relaydesk.sandbox.meta import messaging_event, signature, webhook_body

    demo_page, acme_page, psid = "100000000000001", "200000000000002", "24680135792468"
    body = webhook_body(
        "page",
        {
            demo_page: [messaging_event(sender=psid, recipient=demo_page, text="demo via page")],
            acme_page: [messaging_event(sender=psid, recipient=acme_page, text="acme via page")],
        },
    )
    response = env.client.http.post(
        "/webhooks/meta",
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(LOCAL_META_APP_SECRET, body),
        },
        body=body,
    )
    assert response.status_code == 200, response.body
    env.drain()
    customer = f"messenger:{psid}"
    repository = env.container.repository
    threads = {}
    for store in (A, B):
        pointer = repository.customer(store, customer)
        assert pointer is not None
        assert pointer.open_thread_id
        threads[store] = pointer.open_thread_id
        bodies = [m.body for m in repository.messages(store, threads[store]) if m.direction == "in"]
        assert bodies == [f"{store} via page"]
    assert repository.thread(A, threads[B]) is None
    assert repository.thread(B, threads[A]) is None
    [pat] = [m for m in env.outbox.entries(to=ACME_AGENT) if m.get("reply_to")]
    assert "acme via page" in pat["text"]
    assert "demo via page" not in pat["text"]
    env.outbox.clear()
    response = post_parse(env.client, sender=ACME_AGENT, to=pat["reply_to"], text="From acme")
    assert response.status_code == 200, response.body
    env.drain()
    [sent] = env.outbox.entries(provider="meta")
    fingerprint = hashlib.sha256(b"EAAlocal-acme-page-token").hexdigest()[:16]
    assert sent["token_sha256"] == fingerprint  # acme's own page token, not demo's
    assert sent["token_sha256"] != hashlib.sha256(LOCAL_META_PAGE_TOKEN.encode()).hexdigest()[:16]
    assert sent["to"] == psid

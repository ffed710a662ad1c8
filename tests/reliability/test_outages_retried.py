"""Nothing lost when relaydesk is down and the provider retries: SendGrid Inbound Parse,
Shopify and WooCommerce (issue #15; Twilio, which does not retry, is test_fallback.py).

Each provider is simulated as its documentation describes it (relaydesk/sandbox/
redelivery.py): SendGrid retries a 5xx for 3 days, Shopify 8 times over 4 hours,
WooCommerce never (and disables the webhook after too many failures in a row). An outage
is every call of the service on the app's own clients refused for 10 minutes of the
test's clock (`faults.outage`, botocore's `before-call`) while the mails or events come in;
the retries are played on that clock, in the order they fall due, so no test sleeps. Each
test writes its figures through summary.py (`figure`); tests/reliability/README.md shows
them.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from urllib3 import encode_multipart_formdata

from chalicelib import routes
from chalicelib.commerce.signing import sign
from chalicelib.composition import Container
from relaydesk.local_env import (
    DEMO_SHOPIFY_SHOP,
    LOCAL_SHOPIFY_WEBHOOK_SECRET,
    LOCAL_WOO_WEBHOOK_SECRET,
)
from relaydesk.sandbox.redelivery import (
    SENDGRID_PARSE_RETRIES,
    SHOPIFY_RETRIES,
    Delivery,
    WooWebhook,
    redeliver,
)
from relaydesk.sandbox.shop_data import clear_news, set_news, shopify_order_id
from tests.reliability import faults
from tests.reliability.faults import DYNAMO_500, SQS_500, Env, Inbox, Outage, outage
from tests.reliability.helpers import ParseSigner, basic_auth, depth_of, scan_table
from tests.reliability.summary import figure

env = faults.env

OUTAGE = timedelta(minutes=10)
MAILS = 20
"""Customer mails during the outage, one every 30 s."""
ORDERS = ("1042", "1043", "1050", "1060")
EVENTS_PER_ORDER = 3
"""Shop events during the outage: each order's cancellation told by three events (a
shop sends several webhooks about one change), 40 s apart."""
SUPPORT = "support@demo.relaydesk.test"
AGENTS = ("alex@demo.relaydesk.test", "sam@demo.relaydesk.test")


def down_for(e: Env, start: datetime) -> Callable[[], bool]:
    return lambda: e.clock.now - start < OUTAGE


def jobs_queue(operation: str, request: dict[str, Any]) -> bool:
    named = str(request.get("QueueUrl") or request.get("QueueName") or "")
    return named.rsplit("/", 1)[-1] == "relaydesk-jobs"


@contextlib.contextmanager
def service_down(e: Env, c: Container, service: str) -> Iterator[Outage]:
    """DynamoDB (every operation), or the jobs queue's sends, refused for OUTAGE."""
    if service == "dynamodb":
        fault = Outage("dynamodb", down_for(e, e.clock.now), *DYNAMO_500)
    else:
        c.jobs.url()  # a warm container: the queue's URL is known, its sends fail
        fault = Outage("sqs", down_for(e, e.clock.now), *SQS_500, hits=jobs_queue)
    with outage(c, fault) as armed:
        yield armed


def set_clock(e: Env) -> Callable[[datetime], None]:
    def move(at: datetime) -> None:
        e.clock.now = max(e.clock.now, at)

    return move


def answered(deliveries: list[Delivery]) -> Counter[int]:
    return Counter(status for d in deliveries for _, status in d.attempts)


def assert_nothing_left(e: Env) -> None:
    assert e.jobs_waiting() == 0
    assert e.dead_letters() == (0, 0)


# -- SendGrid Inbound Parse -------------------------------------------------------------


def customer(n: int) -> str:
    return f"customer{n:03d}@customer.test"


def message_id(n: int) -> str:
    return f"<outage{n:03d}@customer.test>"


def mail_form(n: int, mid: str | None = None) -> tuple[bytes, str]:
    """Customer `n`'s mail as Inbound Parse posts it: parsed mode, the real multipart form."""
    fields = {
        "headers": f"From: Customer {n} <{customer(n)}>\nTo: {SUPPORT}\n"
        f"Subject: Order {2000 + n}\nMessage-ID: {mid or message_id(n)}\n",
        "from": f"Customer {n} <{customer(n)}>",
        "to": SUPPORT,
        "subject": f"Order {2000 + n}",
        "text": f"Where is my order {2000 + n}?",
        "envelope": json.dumps({"to": [SUPPORT], "from": customer(n)}),
        "SPF": "pass",
        "dkim": "{@customer.test : pass}",
    }
    return encode_multipart_formdata(fields)


def mail_post(e: Env, signer: ParseSigner, form: tuple[bytes, str]) -> Callable[[], int]:
    """A mail posted to the webhook as SendGrid posts it (HTTP Basic and the security
    policy's signature), signed once, when SendGrid first sends it: its retries carry the
    same post."""
    body, content_type = form
    signed: dict[str, str] = {}

    def post() -> int:
        if not signed:
            signed.update(signer.headers(body, int(e.clock.now.timestamp())))
        headers = {"Content-Type": content_type, "Authorization": basic_auth(), **signed}
        response = e.client.http.post(routes.SENDGRID_INBOUND, headers=headers, body=body)
        return int(response.status_code)

    return post


def acknowledgements(e: Env, n: int) -> list[dict[str, Any]]:
    return [m for m in e.outbox.entries(to=customer(n)) if m["headers"].get("Auto-Submitted")]


def notifications(e: Env) -> list[dict[str, Any]]:
    return [m for m in e.outbox.entries(provider="sendgrid") if m["to"] in AGENTS]


def assert_every_mail_stored_and_acknowledged_once(e: Env) -> tuple[Counter[str], list[int]]:
    """After the jobs ran: each mail stored once, acknowledged once, the agents told once,
    nothing left on the jobs queue or dead-lettered. (Message-IDs stored, acks a mail.)"""
    e.drain(rounds=40)
    stored = Counter(
        str(i["provider_id"])
        for i in scan_table()
        if str(i["sk"]).startswith("MSG#") and i.get("direction") == "in"
    )
    assert stored == {message_id(n): 1 for n in range(MAILS)}
    acks = [len(acknowledgements(e, n)) for n in range(MAILS)]
    assert acks == [1] * MAILS
    assert len(notifications(e)) == MAILS
    assert_nothing_left(e)
    return stored, acks


@pytest.mark.parametrize("service", ["dynamodb", "jobs-queue"])
def test_inbound_parse_during_an_outage_is_retried_by_sendgrid_and_stored_once(
    env: Env, signed_parse: Container, parse_signer: ParseSigner, service: str
) -> None:
    start = env.clock.now
    mails = [
        (
            start + timedelta(seconds=30 * n),
            message_id(n),
            mail_post(env, parse_signer, mail_form(n)),
        )
        for n in range(MAILS)
    ]
    with service_down(env, signed_parse, service) as fault:
        deliveries = redeliver(mails, retries=SENDGRID_PARSE_RETRIES, set_clock=set_clock(env))
    assert not fault.down()
    statuses = answered(deliveries)
    assert all(d.delivered and not d.dropped for d in deliveries)
    assert all(d.attempts[0][1] == 503 for d in deliveries)  # each met the outage first
    assert set(statuses) == {200, 503}
    stored, acks = assert_every_mail_stored_and_acknowledged_once(env)
    figure(
        f"outage: Inbound Parse, {service} down",
        outage_minutes=int(OUTAGE.total_seconds() // 60),
        posted=MAILS,
        calls_refused=sum(fault.refused.values()),
        answered_5xx=statuses[503],
        retried=sum(len(d.attempts) - 1 for d in deliveries),
        most_attempts=max(len(d.attempts) for d in deliveries),
        stored=len(stored),
        stored_twice=sum(1 for v in stored.values() if v > 1),
        acknowledged=sum(acks),
        notifications=len(notifications(env)),
        dropped_by_sendgrid=sum(d.dropped for d in deliveries),
        dead_lettered=sum(env.dead_letters()),
        lost=MAILS - len(stored),
    )


@pytest.mark.parametrize("service", ["dynamodb", "jobs-queue"])
def test_support_mail_through_the_s3_route_during_an_outage_waits_on_the_inbox_queue(
    env: Env, signed_parse: Container, parse_signer: ParseSigner, service: str
) -> None:
    """The support hosts' Inbound Parse posts to the mail route (`relaydesk providers
    sync`): API Gateway stores the post in S3 without a Lambda, so SendGrid gets its 200
    whatever DynamoDB does; the S3 event waits on the inbox queue, failing while the
    outage lasts (SQS brings it back every visibility timeout, 180 s: 50 receives, 2.5
    hours, before its dead-letter queue), and is taken once it is over."""
    from app import sendgrid_parse_auth
    from relaydesk import apigateway

    inbox = Inbox(env.aws["InboxQueueUrl"])
    upload, bucket = apigateway.upload_client(), env.aws["MailBucketName"]
    answers: Counter[int] = Counter()
    failed = 0
    with service_down(env, signed_parse, service) as fault:
        for n in range(MAILS):
            body, content_type = mail_form(n)
            headers = {
                "Content-Type": content_type,
                "Authorization": basic_auth(),
                # Checked against the time S3 stored the post (the machine's clock).
                **parse_signer.headers(body, int(time.time())),
            }
            status, _ = apigateway.store_post(upload, bucket, sendgrid_parse_auth, headers, body)
            answers[status] += 1
            env.clock.now += timedelta(seconds=30)
            if n % 6 == 5:  # every 180 s: each event back after its visibility timeout
                before = inbox.runs
                succeeded = inbox.poll_once()
                failed += inbox.runs - before - succeeded
        env.clock.now += OUTAGE
    assert answers == {200: MAILS}
    assert failed > 0
    for _ in range(30):
        inbox.poll_once()
        if depth_of(env.aws, "InboxQueueUrl") == 0:
            break
    stored, acks = assert_every_mail_stored_and_acknowledged_once(env)
    for key in ("InboxQueueUrl", "InboxDeadLetterQueueUrl"):
        assert depth_of(env.aws, key) == 0, key
    figure(
        f"outage: Inbound Parse through the S3 mail route, {service} down",
        outage_minutes=int(OUTAGE.total_seconds() // 60),
        posted=MAILS,
        answered_5xx=sum(v for k, v in answers.items() if k >= 500),
        calls_refused=sum(fault.refused.values()),
        takes_failed_while_down=failed,
        takes=inbox.runs,
        stored=len(stored),
        acknowledged=sum(acks),
        notifications=len(notifications(env)),
        dead_lettered=sum(env.dead_letters()) + depth_of(env.aws, "InboxDeadLetterQueueUrl"),
        lost=MAILS - len(stored),
    )


def test_a_mail_that_always_fails_is_retried_for_three_days_then_dropped_not_looped(
    env: Env, signed_parse: Container, parse_signer: ParseSigner
) -> None:
    """A poison post (here DynamoDB refusing every write of this one mail: any failure of
    ours that a retry does not cure) is not looped by us: each attempt is one 503 (counted
    for the WebhookFailures alarm); SendGrid stops after its 3 days, and the mail is gone
    (what README.md says; parking it needs the mail route's S3 path)."""

    def this_mail(operation: str, request: dict[str, Any]) -> bool:
        return "poison" in json.dumps(request)

    fields_id = "<poison@customer.test>"
    poisoned = mail_post(env, parse_signer, mail_form(998, fields_id))
    post = mail_post(env, parse_signer, mail_form(999))
    fault = Outage("dynamodb", lambda: True, *DYNAMO_500, hits=this_mail)
    with outage(signed_parse, fault):
        [delivery] = redeliver(
            [(env.clock.now, fields_id, poisoned)],
            retries=SENDGRID_PARSE_RETRIES,
            set_clock=set_clock(env),
        )
        assert post() == 200  # meanwhile, other mail is taken
    assert delivery.dropped
    assert not delivery.delivered
    assert {status for _, status in delivery.attempts} == {503}
    assert len(delivery.attempts) == len(SENDGRID_PARSE_RETRIES) + 1
    assert delivery.attempts[-1][0] - delivery.attempts[0][0] <= timedelta(days=3)
    assert Env.stored(fields_id) == []
    assert env.dead_letters() == (0, 0)
    figure(
        "poison: Inbound Parse",
        attempts=len(delivery.attempts),
        hours=round((delivery.attempts[-1][0] - delivery.attempts[0][0]).total_seconds() / 3600),
        answered_5xx=len(delivery.attempts),
        stored=0,
        dead_lettered=0,
        dropped_by_sendgrid=1,
    )


# -- the shops ---------------------------------------------------------------------------


@pytest.fixture
def shop_news() -> Iterator[None]:
    clear_news()
    yield
    clear_news()


def proactive_messages(store: str) -> Counter[str]:
    """Our proactive messages recorded, by their key (`proactive.<order>.<news>`)."""
    return Counter(
        str(i["provider_id"])
        for i in scan_table()
        if str(i["sk"]).startswith("MSG#")
        and i.get("direction") == "out"
        and str(i.get("automatic", "")).startswith("proactive:")
        and str(i["pk"]).startswith(f"{store}#")
    )


def event_markers() -> set[str]:
    return {str(i["pk"]) for i in scan_table() if "#PROVIDER#shop-event:" in str(i["pk"])}


def sent_to_customers(e: Env) -> int:
    """What reached the orders' customers (texts and mails): the proactive messages."""
    sent = e.outbox.entries(provider="twilio") + e.outbox.entries(provider="sendgrid")
    return len([m for m in sent if m["to"] not in AGENTS])


def cancel_all(at: datetime) -> None:
    for order in ORDERS:
        set_news(order, "CANCELLED", at)


def shopify_post(e: Env, order: str, event_id: str) -> Callable[[], int]:
    """Shopify's orders/cancelled webhook, signed as Shopify signs it; its retries carry
    the same payload and X-Shopify-Event-Id."""
    body = json.dumps({"id": shopify_order_id(order), "name": f"#{order}"}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": sign(LOCAL_SHOPIFY_WEBHOOK_SECRET, body),
        "X-Shopify-Topic": "orders/cancelled",
        "X-Shopify-Shop-Domain": DEMO_SHOPIFY_SHOP,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": uuid.uuid4().hex,
        "X-Shopify-API-Version": "2025-07",
    }

    def post() -> int:
        return int(e.client.http.post(routes.SHOPIFY, headers=headers, body=body).status_code)

    return post


def shop_events(e: Env) -> list[tuple[datetime, str, str]]:
    """(when, order, event id): every order's events, interleaved, 40 s apart."""
    start = e.clock.now
    return [
        (start + timedelta(seconds=40 * (k * len(ORDERS) + n)), order, f"evt-{order}-{k}")
        for k in range(EVENTS_PER_ORDER)
        for n, order in enumerate(ORDERS)
    ]


@pytest.mark.parametrize("service", ["dynamodb", "jobs-queue"])
def test_shopify_events_during_an_outage_are_recorded_once_and_told_once(
    env: Env, container: Container, shop_news: None, service: str
) -> None:
    cancel_all(datetime.now(UTC))
    events = [(at, eid, shopify_post(env, order, eid)) for at, order, eid in shop_events(env)]
    kept = 0
    with service_down(env, container, service) as fault:
        deliveries = redeliver(events, retries=SHOPIFY_RETRIES, set_clock=set_clock(env))
        if service == "dynamodb":
            assert fault.down()
            assert env.worker.poll_once() == 0  # every job met the outage too...
            kept = env.jobs_waiting()  # ...and waits on the queue for its next delivery
    env.clock.now += OUTAGE
    statuses = answered(deliveries)
    assert all(d.delivered for d in deliveries)
    if service == "dynamodb":
        # Queued without the event's marker (flows/proactive.py, queue_event): 200 at once.
        assert set(statuses) == {200}
        assert kept == len(events)
    else:
        assert all(d.attempts[0][1] == 503 for d in deliveries)  # each met the outage
    assert max(len(d.attempts) for d in deliveries) <= len(SHOPIFY_RETRIES) + 1
    env.drain(rounds=40)
    told = proactive_messages("answers")
    assert told == {f"proactive.{order}.cancelled": 1 for order in ORDERS}
    assert sent_to_customers(env) == len(ORDERS)
    assert_nothing_left(env)
    markers = event_markers()
    figure(
        f"outage: Shopify, {service} down",
        outage_minutes=int(OUTAGE.total_seconds() // 60),
        posted=len(events),
        calls_refused=sum(fault.refused.values()),
        answered_5xx=statuses[503],
        retried=sum(len(d.attempts) - 1 for d in deliveries),
        jobs_kept_on_the_queue_while_down=kept,
        event_markers=len(markers),
        told=sum(told.values()),
        sent=sent_to_customers(env),
        subscription_deleted=any(d.dropped for d in deliveries),
        dead_lettered=sum(env.dead_letters()),
        lost=sum(d.dropped for d in deliveries),
    )


def woo_post(e: Env, order: str) -> Callable[[], int]:
    """WooCommerce's order.updated, signed as it signs it, a new delivery id each time."""
    body = json.dumps(
        {"id": int(order), "number": order, "status": "cancelled", "date_modified_gmt": None}
    ).encode()

    def post() -> int:
        headers = {
            "Content-Type": "application/json",
            "X-WC-Webhook-Signature": sign(LOCAL_WOO_WEBHOOK_SECRET, body),
            "X-WC-Webhook-Source": "https://shop.woo.relaydesk.test/",
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "updated",
            "X-WC-Webhook-ID": "1",
            "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        }
        return int(e.client.http.post(routes.WOOCOMMERCE, headers=headers, body=body).status_code)

    return post


@pytest.fixture
def woo_tells(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    store = container.stores.by_id("demo-woo")
    assert store is not None
    monkeypatch.setitem(
        container.stores._by_id,
        "demo-woo",
        replace(store, proactive=replace(store.proactive, enabled=True)),
    )


@pytest.mark.parametrize("service", ["dynamodb", "jobs-queue"])
def test_woocommerce_events_during_an_outage(
    env: Env, container: Container, shop_news: None, woo_tells: None, service: str
) -> None:
    """WooCommerce never retries. With DynamoDB down the events are queued all the same
    (200): none lost. With the jobs queue down each is a 503 that nobody retries: lost,
    and the 7th failure in a row disables the webhook (README.md says so)."""
    cancel_all(datetime.now(UTC))
    webhook = WooWebhook()
    deliveries = []
    with service_down(env, container, service) as fault:
        for at, order, eid in shop_events(env):
            set_clock(env)(at)
            deliveries.append(webhook.deliver(eid, woo_post(env, order), at))
    env.clock.now += OUTAGE
    statuses = answered(deliveries)
    env.drain(rounds=40)
    told = proactive_messages("demo-woo")
    if service == "dynamodb":
        assert set(statuses) == {200}
        assert webhook.status == "active"
        assert told == {f"proactive.{order}.cancelled": 1 for order in ORDERS}
        assert sent_to_customers(env) == len(ORDERS)
    else:
        assert set(statuses) == {503}
        assert told == {}
        assert sent_to_customers(env) == 0
        assert webhook.status == "disabled"
    assert_nothing_left(env)
    lost_orders = len(ORDERS) - sum(told.values())
    figure(
        f"outage: WooCommerce, {service} down",
        outage_minutes=int(OUTAGE.total_seconds() // 60),
        posted=sum(len(d.attempts) for d in deliveries),
        not_sent_webhook_disabled=webhook.not_sent,
        calls_refused=sum(fault.refused.values()),
        answered_5xx=statuses[503],
        retried=0,
        event_markers=len(event_markers()),
        told=sum(told.values()),
        sent=sent_to_customers(env),
        webhook=webhook.status,
        dead_lettered=sum(env.dead_letters()),
        lost_events=sum(d.dropped for d in deliveries),
        orders_not_told=lost_orders,
    )

"""Flow 6: a shop tells us about an order; we tell its customer of a problem, before they ask.

The webhook (web.py) verified the shop's signature and read the event (commerce adapter);
`queue_event` queues it once. The job re-reads the order's current state from the shop
(events arrive late and out of order: the shop, not the event, says what is true now),
decides in domain/proactive.py whether that is news worth a message, finds the customer's
channel (the one they last wrote on, else e-mail to the order's address), and records the
message as our automatic message on their open thread or on a new one marked proactive, so
that a reply continues that conversation and reaches the agents like any message.

Once: each order's kind of news is told at most once (OrderNewsItem, claimed before the
message is recorded), the message itself is recorded once per order and kind (its marker),
and a retried job finds that message and finishes sending it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chalicelib.commerce.port import ShopEvent, ShopRefused
from chalicelib.domain.messages import WHATSAPP_PREFIX
from chalicelib.domain.proactive import (
    Contacts,
    Known,
    News,
    Route,
    Told,
    decide,
    language_for,
    message_text,
    quiet_until,
    subject_line,
)
from chalicelib.domain.thread import ThreadStatus
from chalicelib.flows.deliver import deliver
from chalicelib.queues import Job, JobKind, Timer, TimerKind
from chalicelib.store.errors import AlreadyRecorded, StorageError
from chalicelib.store.models import MessageItem, ThreadItem
from chalicelib.store.proactive import shop_event_key
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.commerce.port import Order
    from chalicelib.composition import Container
    from chalicelib.domain.proactive import Channel

log = logging.getLogger(__name__)

FAMILY = "proactive"
RESOLVE_AFTER = timedelta(days=3)
"""A proactive thread that the customer never answers is resolved this long after its
last news (the shop's problem was told; nothing waits on the store). A reply later than
that reopens it, within the store's reopen window, like any resolved thread."""


def queue_event(c: Container, store: StoreConfig, event: ShopEvent) -> str:
    """The webhook's part: queue the event's job once (2 DynamoDB + 1 SQS at most).

    The marker is written after the job is queued: a failure between the two leaves no
    marker, so the shop's retry queues it again (the job is idempotent), never loses it.

    With DynamoDB failing, the job is queued all the same and the event answered 200: the
    marker only spares a duplicate job (the job tells each order's news once by its own
    claim), and a 503 would lose the event at WooCommerce, which never retries, and count
    towards Shopify deleting the subscription (tests/reliability/test_outages_retried.py).
    """
    try:
        seen = c.repository.shop_event_seen(store.store_id, event.event_id)
    except StorageError as exc:
        log.warning(
            "shop event's marker unreadable, queued anyway: store=%s %s", store.store_id, exc
        )
        seen = False
    if seen:
        log.info("shop event redelivered: store=%s event=%s", store.store_id, event.event_id)
        return "duplicate"
    job = Job(
        JobKind.PROACTIVE,
        store.store_id,
        "",
        f"EVENT#{event.event_id}",
        detail=json.dumps(event.encode(), sort_keys=True),
    )
    c.jobs.send_all([job])
    try:
        c.repository.claim(store.store_id, shop_event_key(event.event_id), "", c.clock())
    except StorageError as exc:  # queued: a redelivery queues a second job, told once
        log.warning("shop event's marker not written: store=%s %s", store.store_id, exc)
    log.info(
        "shop event queued: store=%s event=%s kind=%s",
        store.store_id,
        event.event_id,
        event.kind.value,
    )
    return "queued"


def news_of(order: Order, event: ShopEvent, now: datetime) -> News | None:
    """What the shop says now about the order, in the domain's words."""
    from chalicelib.commerce.port import OrderState

    at = event.happened_at or now
    if order.state is OrderState.CANCELLED:
        return News(order.number, "cancelled", at)
    if order.state is OrderState.REFUNDED:
        return News(order.number, "refunded", at)
    if not order.shipments:
        return None
    latest = max(order.shipments, key=lambda s: s.shipped_at or order.created_at)
    if latest.last_event is None:
        return None
    return News(
        order.number,
        latest.last_event.value,
        latest.last_event_at or at,
        carrier=latest.carrier,
        tracking_url=latest.tracking_url,
    )


def proactive_job(c: Container, job: Job, *, redelivered: bool = False) -> None:
    """Raises ShopUnavailable (and our own infrastructure's errors) so that SQS retries."""
    store = c.stores.by_id(job.store_id)
    if store is None or not store.proactive.enabled:
        log.info("proactive job for a store without proactive messages dropped")
        return
    try:
        event = ShopEvent.decode(json.loads(job.detail))
    except (ValueError, KeyError, TypeError) as exc:
        log.error("proactive job without a readable event dropped: %s", exc)
        return
    try:
        shop = c.shop_for(store)
        order = shop.order_by_id(event.order_id) if shop is not None else None
    except ShopRefused as exc:
        # Credentials or scopes: no retry will help; the store's owner must fix it.
        log.error("shop refused the proactive job's order read: store=%s %s", store.store_id, exc)
        return
    if order is None:
        log.warning("proactive: the shop has no such order: store=%s", store.store_id)
        return
    now = c.clock()
    news = news_of(order, event, now)
    key = f"proactive.{order.number}.{news.kind}" if news else ""
    if news is not None:
        earlier = c.repository.message_for_provider_id(store.store_id, key)
        # Recorded already: finish its send if the job that recorded it died (SQS hands this
        # one its work as a redelivery); a second job for the same news leaves a live send.
        if earlier is not None:
            thread = c.repository.thread(store.store_id, earlier[0])
            if thread is not None:
                _send(c, store, thread, earlier[1], redelivered=redelivered)
            return
    kinds, last_at = c.repository.order_news(store.store_id, order.number)
    verdict = decide(store.proactive, news, Told(kinds, last_at))
    if not verdict.speak or news is None:
        log.info("proactive: silent: store=%s %s", store.store_id, verdict.reason)
        return
    route = _route(c, store, order)
    if route is None:
        log.info("proactive: no channel to the order's customer: store=%s", store.store_id)
        return
    if not c.repository.claim_news(store.store_id, order.number, news.kind, news.at, key):
        log.info("proactive: told already or newer news told: store=%s", store.store_id)
        return
    day = now.astimezone(ZoneInfo(store.calendar.timezone)).date().isoformat()
    if not c.repository.count_proactive(
        store.store_id, route.address, day, store.proactive.daily_cap
    ):
        log.info("proactive: the customer's daily cap is reached: store=%s", store.store_id)
        return
    from chalicelib.commerce.identity import phone_country

    country = phone_country(min(order.customer.phones) if order.customer.phones else None)
    language = language_for(route.known.language if route.known else None, country, store.locale)
    recorded = _record(c, store, route, news, language, key)
    if recorded is None:
        return
    thread, message = recorded
    log.info(
        "proactive message recorded: store=%s thread=%s news=%s channel=%s",
        store.store_id,
        thread.thread_id,
        news.kind,
        thread.channel,
    )
    _send(c, store, thread, message, redelivered=redelivered)


def _route(c: Container, store: StoreConfig, order: Order) -> Route | None:
    """Where to write: the customer's items looked up by the order's phones and e-mails."""
    from chalicelib.domain.proactive import choose_route

    phones = sorted(order.customer.phones)
    emails = sorted(order.customer.emails)
    addresses = [*phones, *(WHATSAPP_PREFIX + p for p in phones), *emails]
    items = c.repository.customers_by_address(store.store_id, addresses)
    known = [
        Known(
            channel=_channel_of(address),
            address=address,
            last_message_at=item.last_message_at,
            opted_out=bool(item.opted_out),
            language=item.language,
        )
        for address, item in items.items()
        if item.last_message_at is not None or item.opted_out
    ]
    route = choose_route(
        Contacts(
            emails=emails,
            phones=phones,
            known=known,
            text_consent=order.customer.text_consent is True,
        ),
        text_new_customers=store.proactive.text_new_customers,
        now=c.clock(),
        whatsapp_template=store.whatsapp_template is not None,
    )
    if route is not None and route.channel != "email" and not store.phone_numbers:
        return choose_route(Contacts(emails=emails), text_new_customers=False)
    return route


def _channel_of(address: str) -> Channel:
    if address.startswith(WHATSAPP_PREFIX):
        return "whatsapp"
    return "email" if "@" in address else "sms"


def _record(
    c: Container, store: StoreConfig, route: Route, news: News, language: str, key: str
) -> tuple[ThreadItem, MessageItem] | None:
    """The message on the customer's open thread, or on a new proactive thread."""
    thread = None
    item = c.repository.customer(store.store_id, route.address)
    if item is not None and item.open_thread_id and item.closed_at is None:
        thread = c.repository.thread(store.store_id, item.open_thread_id)
        if thread is not None and thread.status == ThreadStatus.CLOSED:
            thread = None
    domain = store.support_address.partition("@")[2]
    email = route.channel == "email"
    if thread is None:
        number = min(store.phone_numbers) if store.phone_numbers else ""
        store_address = {
            "email": store.support_address,
            "sms": number,
            "whatsapp": WHATSAPP_PREFIX + number,
        }[route.channel]
        thread = c.repository.start_proactive_thread(
            store.store_id,
            channel=route.channel,
            customer=route.address,
            store_address=store_address,
            subject=subject_line(news, store_name=store.name, language=language) if email else None,
            proactive=f"order #{news.order_number}: {news.kind}",
            order_number=news.order_number,
            at=c.clock(),
        )
    elif thread.attached_order is None:
        c.repository.attach_order(thread, news.order_number)  # the agents see which order
    text = message_text(
        news, store_name=store.name, language=language, overrides=store.proactive.messages
    )
    email_id = f"<{key}.{store.store_id}@{domain}>" if email else None
    try:
        message = c.repository.record_outbound(
            thread,
            provider_id=key,
            author=store.support_address,
            body=text,
            at=c.clock(),
            email_message_id=email_id,
            automatic=f"proactive:{news.kind}",
        )
    except AlreadyRecorded as duplicate:
        found = c.repository.message(store.store_id, duplicate.thread_id, duplicate.message_sk)
        first = c.repository.thread(store.store_id, duplicate.thread_id)
        return (first, found) if first is not None and found is not None else None
    return thread, message


def _send(
    c: Container,
    store: StoreConfig,
    thread: ThreadItem,
    message: MessageItem,
    *,
    redelivered: bool,
) -> None:
    """Now, or for a text in the store's quiet hours, when they end (the timers queue);
    on a proactive thread that waits on the customer, its resolution later."""
    now = c.clock()
    wake = quiet_until(now, store.calendar.timezone, store.proactive)
    if thread.proactive and thread.status == ThreadStatus.PENDING.value:
        resolve = Timer(
            TimerKind.RESOLVE,
            store.store_id,
            thread.thread_id,
            int(thread.sla_epoch),
            (wake or now) + RESOLVE_AFTER,
            family=FAMILY,
            message_sk=message.sk,
        )
        c.timers.send_all([resolve], now=now)
    if thread.channel != "email" and wake is not None and message.delivery_status == "queued":
        timer = Timer(
            TimerKind.PROACTIVE,
            store.store_id,
            thread.thread_id,
            0,
            wake,
            family=FAMILY,
            message_sk=message.sk,
        )
        c.timers.send_all([timer], now=now)
        log.info("proactive text waits for the morning: thread=%s", thread.thread_id)
        return
    deliver(c, store, thread, message, redelivered=redelivered)


def send_after_quiet_hours(
    c: Container, store: StoreConfig, thread: ThreadItem, timer: Timer
) -> None:
    """The timer that waited out the quiet hours: the text goes now (once: deliver claims)."""
    message = c.repository.message(store.store_id, thread.thread_id, timer.message_sk)
    if message is None:
        return
    if quiet_until(c.clock(), store.calendar.timezone, store.proactive) is not None:
        # The store's quiet hours changed meanwhile: wait again, until they end.
        _send(c, store, thread, message, redelivered=False)
        return
    deliver(c, store, thread, message)


def resolve_if_unanswered(
    c: Container, store: StoreConfig, thread: ThreadItem, timer: Timer
) -> None:
    """Three days after the news, with nothing since on the thread: resolved. Later news
    on the same thread carries its own timer; a reply has opened the thread for a person."""
    from chalicelib.flows.answer import resolve_quietly

    history = c.repository.messages(store.store_id, thread.thread_id)
    if any(m.sk > timer.message_sk for m in history):
        return
    days = RESOLVE_AFTER.days
    why = f"resolved automatically: no reply within {days} days of the shipment news"
    resolve_quietly(c, store, thread, timer.epoch, why)

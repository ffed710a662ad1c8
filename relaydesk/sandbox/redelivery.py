"""How SendGrid, Shopify and WooCommerce treat a webhook that relaydesk answered with an error
(the tests' providers, on the test's clock; Twilio's is `twilio.deliver_inbound`).

- SendGrid Inbound Parse queues a post answered 5xx (or not at all) and retries it; one that
  still fails 3 days after it was first tried is dropped without notice. SendGrid publishes
  the window, not the intervals: `SENDGRID_PARSE_RETRIES` is our assumption, doubling from
  a minute to 8 hours and then every 8 hours, inside the 3 days.
- Shopify retries a webhook without a 2xx 8 times over 4 hours, exponentially, with the
  original payload (the same X-Shopify-Event-Id); the intervals are not published, so
  `SHOPIFY_RETRIES` doubles and sums to the 4 hours. A subscription made through the Admin
  API whose webhook failed all 8 retries is deleted.
- WooCommerce delivers each event once (a fresh X-WC-Webhook-Delivery-ID each time) and
  never retries; it counts consecutive failures (anything but 2xx, 301, 302) and, at a
  failure when the count is already above `woocommerce_max_webhook_delivery_failures` (5),
  sets the webhook to disabled instead: the 7th failure in a row, and nothing is delivered
  after it (`WC_Webhook::failed_delivery`, class-wc-webhook.php).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

SENDGRID_PARSE_WINDOW: Final = timedelta(days=3)


def _sendgrid_parse_retries() -> tuple[timedelta, ...]:
    delays, waited, step = [], timedelta(0), timedelta(minutes=1)
    while waited + step <= SENDGRID_PARSE_WINDOW:
        delays.append(step)
        waited += step
        step = min(step * 2, timedelta(hours=8))
    return tuple(delays)


SENDGRID_PARSE_RETRIES: Final = _sendgrid_parse_retries()
"""Delays between SendGrid's attempts (assumed: it documents only the 3 days)."""
SHOPIFY_RETRY_WINDOW: Final = timedelta(hours=4)
SHOPIFY_RETRIES: Final = tuple(SHOPIFY_RETRY_WINDOW * 2**k / 255 for k in range(8))
"""8 retries over 4 hours, each wait twice the one before (the intervals are assumed)."""
WOOCOMMERCE_MAX_DELIVERY_FAILURES: Final = 5


def is_2xx(status: int) -> bool:
    return 200 <= status < 300


@dataclass
class Delivery:
    """One webhook event at the provider: every attempt, and how it ended."""

    key: str
    attempts: list[tuple[datetime, int]] = field(default_factory=list)
    """(when, the status we answered)."""
    delivered: bool = False
    dropped: bool = False
    """Every attempt the provider makes failed: it gave up, and nothing tells anyone."""

    @property
    def failures(self) -> int:
        return sum(1 for _, status in self.attempts if not is_2xx(status))


Post = Callable[[], int]
"""Posts the event once, as the provider signs and sends it; the status we answered."""


def redeliver(
    events: Sequence[tuple[datetime, str, Post]],
    *,
    retries: Sequence[timedelta],
    set_clock: Callable[[datetime], None],
    retried: Callable[[int], bool] = lambda status: not is_2xx(status),
) -> list[Delivery]:
    """Each event first posted at its time, then retried after each of `retries` while its
    answer is one `retried` picks, all of them in the order of their due times on the test's
    clock (`set_clock` moves it there before each attempt)."""
    deliveries = [Delivery(key) for _, key, _ in events]
    due = [(at, n, 0) for n, (at, _, _) in enumerate(events)]
    heapq.heapify(due)
    while due:
        at, n, attempt = heapq.heappop(due)
        set_clock(at)
        status = events[n][2]()
        delivery = deliveries[n]
        delivery.attempts.append((at, status))
        if is_2xx(status):
            delivery.delivered = True
        elif retried(status) and attempt < len(retries):
            heapq.heappush(due, (at + retries[attempt], n, attempt + 1))
        else:
            delivery.dropped = True
    return deliveries


@dataclass
class WooWebhook:
    """One WooCommerce webhook's delivery state: active until too many failures in a row."""

    max_failures: int = WOOCOMMERCE_MAX_DELIVERY_FAILURES
    failure_count: int = 0
    status: str = "active"
    not_sent: int = 0
    """Events that happened after it was disabled: never posted."""

    def deliver(self, key: str, post: Post, at: datetime) -> Delivery:
        delivery = Delivery(key)
        if self.status != "active":
            self.not_sent += 1
            delivery.dropped = True
            return delivery
        status = post()
        delivery.attempts.append((at, status))
        if 200 <= status < 303:  # 2xx, 301 and 302 count as delivered
            self.failure_count = 0
            delivery.delivered = True
            return delivery
        delivery.dropped = True  # never retried
        if self.failure_count > self.max_failures:
            self.status = "disabled"
        else:
            self.failure_count += 1
        return delivery

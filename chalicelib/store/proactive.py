"""Proactive messages: what each order's customer was told, the per-customer daily count,
the customer's items found by the order's phones and e-mails (keys, never a scan), and a
new thread for a customer with none open."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.thread import Awaiting, ThreadStatus
from chalicelib.store import _dynamo
from chalicelib.store.errors import StorageError
from chalicelib.store.models import (
    META,
    CounterItem,
    CustomerItem,
    MarkerItem,
    OrderNewsItem,
    ThreadItem,
    customer_pk,
    marker_pk,
    order_pk,
    store_pk,
    thread_pk,
)

NEWS_LIFETIME = timedelta(days=365)
MAX_KEYS = 25


def _counter_key(address: str, day: str) -> str:
    """The daily count's sort key: the address hashed (not kept in clear in a key that
    outlives nothing, but also needs no erasure)."""
    digest = hashlib.sha256(address.encode()).hexdigest()[:20]
    return f"PROACTIVE#{day}#{digest}"


def shop_event_key(event_id: str) -> str:
    return f"shop-event:{event_id}"


class ProactiveStore(_dynamo.Table):
    def shop_event_seen(self, store_id: str, event_id: str) -> bool:
        """Whether a shop's webhook event was queued before (its marker is there)."""
        try:
            MarkerItem.get(marker_pk(store_id, shop_event_key(event_id)), META)
        except MarkerItem.DoesNotExist:
            return False
        except PynamoDBException as exc:
            raise StorageError(f"reading the event's marker failed: {exc}") from exc
        return True

    def order_news(self, store_id: str, number: str) -> tuple[frozenset[str], datetime | None]:
        """The kinds of news told about the order, and when the newest happened."""
        try:
            item = OrderNewsItem.get(order_pk(store_id, number), META, consistent_read=True)
        except OrderNewsItem.DoesNotExist:
            return frozenset(), None
        except PynamoDBException as exc:
            raise StorageError(f"reading the order's news failed: {exc}") from exc
        return frozenset(item.told or ()), item.last_news_at

    def claim_news(
        self, store_id: str, number: str, kind: str, at: datetime, message_key: str
    ) -> bool:
        """Record that `kind` (news of `at`) is told: False if it was told already, or newer
        news was. The same `message_key` may claim again (its job's retry)."""
        item = OrderNewsItem(order_pk(store_id, number), META)
        fresh = (OrderNewsItem.told.does_not_exist() | ~OrderNewsItem.told.contains(kind)) & (
            OrderNewsItem.last_news_at.does_not_exist() | (OrderNewsItem.last_news_at <= at)
        )
        condition = fresh | (OrderNewsItem.claimed_by == message_key)
        try:
            item.update(
                actions=[
                    OrderNewsItem.told.add({kind}),
                    OrderNewsItem.last_news_at.set(at),
                    OrderNewsItem.claimed_by.set(message_key),
                    OrderNewsItem.expires_at.set(int((at + NEWS_LIFETIME).timestamp())),
                ],
                condition=condition,
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise StorageError(f"recording the order's news failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"recording the order's news failed: {exc}") from exc
        return True

    def count_proactive(self, store_id: str, address: str, day: str, cap: int) -> bool:
        """One more proactive message to `address` on the store-local `day`; False when the
        store's daily cap is reached."""
        counter = CounterItem(store_pk(store_id), _counter_key(address, day))
        expires = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
        try:
            counter.update(
                actions=[CounterItem.sent.add(1), CounterItem.expires_at.set(expires)],
                condition=CounterItem.sent.does_not_exist() | (CounterItem.sent < cap),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise StorageError(f"counting proactive messages failed: {exc}") from exc
        except PynamoDBException as exc:
            raise StorageError(f"counting proactive messages failed: {exc}") from exc
        return True

    def customers_by_address(
        self, store_id: str, addresses: Sequence[str]
    ) -> dict[str, CustomerItem]:
        """The store's customer items for these addresses ('+48…', 'whatsapp:+48…', e-mail),
        by address; one BatchGetItem."""
        wanted = list(dict.fromkeys(addresses))[:MAX_KEYS]
        if not wanted:
            return {}
        keys = {customer_pk(store_id, a): a for a in wanted}
        try:
            found = CustomerItem.batch_get([(pk, META) for pk in keys], consistent_read=True)
            return {keys[item.pk]: item for item in found}
        except PynamoDBException as exc:
            raise StorageError(f"reading the order's customer failed: {exc}") from exc

    def start_proactive_thread(
        self,
        store_id: str,
        *,
        channel: str,
        customer: str,
        store_address: str,
        subject: str | None,
        proactive: str,
        order_number: str,
        at: datetime,
    ) -> ThreadItem:
        """A new thread that we open, waiting on the customer, with the order attached (the
        agents' notifications show it), and the customer's pointer to it: their reply joins
        it (and is for a person, with its promise acknowledged)."""
        thread_id = secrets.token_hex(8)
        thread = ThreadItem(
            thread_pk(store_id, thread_id),
            META,
            store_id=store_id,
            thread_id=thread_id,
            channel=channel,
            customer=customer,
            store_address=store_address,
            status=ThreadStatus.PENDING.value,
            awaiting=Awaiting.CUSTOMER.value,
            created_at=at,
            updated_at=at,
            paused_at=at,
            subject=subject,
            proactive=proactive,
            attached_order=order_number,
        )
        pointer = CustomerItem(customer_pk(store_id, customer), META)
        try:
            with TransactWrite(connection=self.connection) as tx:
                tx.save(thread, condition=ThreadItem.pk.does_not_exist())
                tx.update(
                    pointer,
                    actions=[
                        CustomerItem.open_thread_id.set(thread_id),
                        CustomerItem.closed_at.remove(),
                        CustomerItem.due_at.remove(),
                        CustomerItem.survey_thread_id.remove(),
                        CustomerItem.responded.set(False),
                        CustomerItem.answered_automatically.set(True),
                    ],
                    add_version_condition=False,
                )
        except (TransactWriteError, PynamoDBException) as exc:
            raise StorageError(f"starting the proactive thread failed: {exc}") from exc
        return thread

"""Fuzzing the shops' webhooks (Shopify, WooCommerce) through the real app.

Properties, for any body and header set:
- never a 5xx, never an unhandled exception;
- unsigned or forged: a 4xx with a message, nothing stored, queued or sent;
- signed with the shop's secret (so that it reaches the parser): 200 (queued or ignored)
  or a 4xx, whatever the body holds; a 4xx changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.commerce.signing import sign
from chalicelib.composition import Container, reset_container
from chalicelib.settings import Settings
from relaydesk.local_env import LOCAL_SHOPIFY_WEBHOOK_SECRET, LOCAL_WOO_WEBHOOK_SECRET
from tests.integration.conftest import FakeClock
from tests.reliability.helpers import Snapshot, assert_clean_rejection, assert_no_crash, budget

SHOPIFY_PATH, WOO_PATH = "/webhooks/shopify", "/webhooks/woocommerce"
SHOP, SITE = "demo-store.myshopify.com", "https://shop.woo.relaydesk.test/"
SECRETS = {SHOPIFY_PATH: LOCAL_SHOPIFY_WEBHOOK_SECRET, WOO_PATH: LOCAL_WOO_WEBHOOK_SECRET}

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
order_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.integers(0, 10**12),
        "order_id": json_values | st.sampled_from([7000001050, "7000001050", 7000009999]),
        "status": json_values
        | st.sampled_from(["delayed", "failure", "cancelled", "refunded", "x"]),
        "shipment_status": json_values,
        "happened_at": json_values | st.just("2026-11-20T10:00:00Z"),
        "date_modified_gmt": json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    order_fields.map(lambda v: json.dumps(v).encode()),
)
topics = (
    st.sampled_from(
        [
            "fulfillment_events/create",
            "fulfillments/update",
            "orders/cancelled",
            "refunds/create",
            "products/update",
            "order.updated",
            "",
        ]
    )
    | header_text
)
content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded"])


@pytest.fixture
def container(aws: dict[str, str], sandbox_url: str, clock: FakeClock) -> Iterator[Container]:
    """The test stores with proactive messages on, and their shops' webhook secrets."""
    import os

    from relaydesk.local_env import local_environment
    from tests.conftest import TEST_STORES
    from tests.integration.conftest import PUBLIC_URL

    environ = {
        **os.environ,
        **local_environment(
            app_url=PUBLIC_URL, aws_url=os.environ["AWS_ENDPOINT_URL"], sandbox_url=sandbox_url
        ),
        "STORES_FILE": str(TEST_STORES),
        "SHOPIFY_WEBHOOK_SECRET_ANSWERS": LOCAL_SHOPIFY_WEBHOOK_SECRET,
    }
    built = Container(Settings(environ), clock=clock)
    reset_container(built)
    yield built
    reset_container(None)


def headers(path: str, topic: str, body: bytes, signature: str | None, kind: str) -> dict[str, str]:
    if path == SHOPIFY_PATH:
        return {
            "Content-Type": kind,
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": "wh-fuzz",
            **({"X-Shopify-Hmac-Sha256": signature} if signature is not None else {}),
        }
    return {
        "Content-Type": kind,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Source": SITE,
        **({"X-WC-Webhook-Signature": signature} if signature is not None else {}),
    }


def post(client: Client, path: str, body: bytes, sent: dict[str, str]) -> Any:
    return client.http.post(path, headers=sent, body=body)


@budget(1.0)
@given(
    path=st.sampled_from([SHOPIFY_PATH, WOO_PATH]),
    topic=topics,
    body=bodies,
    signature=st.none() | header_text,
    kind=content_types,
)
def test_unsigned_and_forged_shop_webhooks_are_refused_and_change_nothing(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    path: str,
    topic: str,
    body: bytes,
    signature: str | None,
    kind: str,
) -> None:
    logs.clear()
    before = snapshot(tidy=True)
    response = post(client, path, body, headers(path, topic, body, signature, kind))
    assert_no_crash(response, logs.records)
    if path == WOO_PATH and body.strip().startswith(b"webhook_id=") and response.status_code == 200:
        return  # the creation ping: answered, nothing stored
    assert_clean_rejection(response, before, snapshot())


@budget(1.0)
@given(path=st.sampled_from([SHOPIFY_PATH, WOO_PATH]), topic=topics, body=bodies)
def test_signed_garbage_reaches_the_parser_and_never_breaks_it(
    client: Client,
    snapshot: Callable[..., Snapshot],
    logs: pytest.LogCaptureFixture,
    path: str,
    topic: str,
    body: bytes,
) -> None:
    logs.clear()
    before = snapshot(tidy=True)
    sent = headers(path, topic, body, sign(SECRETS[path], body), "application/json")
    response = post(client, path, body, sent)
    assert_no_crash(response, logs.records)
    if response.status_code != 200:
        assert_clean_rejection(response, before, snapshot())

"""The Shopify adapter without a socket: Admin GraphQL answers mapped to our Order, the
cost-based limit respected, THROTTLED retried inside the budget, vendor errors translated."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests

from chalicelib.commerce.port import (
    Contact,
    OrderState,
    Shipment,
    ShipmentEvent,
    ShopRefused,
    ShopUnavailable,
)
from chalicelib.commerce.shopify import (
    API_VERSION,
    BY_EMAIL,
    BY_NAME,
    BY_PHONE,
    ShopifyShop,
    order_from_graphql,
)
from tests.unit.shop_http import FakeResponse, FakeSession, FakeTime

SHOP = "demo-store.myshopify.com"
TOKEN = "shpat_secret_do_not_log"
JANA = Contact(phone="+420777123456")


def node(name: str = "#1042", **overrides: Any) -> dict[str, Any]:
    """An `Order` node as the Admin API answers the adapter's fragment."""
    base: dict[str, Any] = {
        "name": name,
        "createdAt": "2026-11-28T09:15:00Z",
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "FULFILLED",
        "email": "Jana@Customer.example",
        "phone": None,
        "totalPriceSet": {"shopMoney": {"amount": "1290.0", "currencyCode": "CZK"}},
        "billingAddress": {"phone": "777 123 456", "countryCodeV2": "CZ"},
        "customer": {
            "displayName": "Jana Nováková",
            "defaultEmailAddress": {"emailAddress": "jana@customer.example"},
            "defaultPhoneNumber": None,
        },
        "fulfillments": [
            {
                "status": "SUCCESS",
                "displayStatus": "IN_TRANSIT",
                "createdAt": "2026-11-30T14:00:00Z",
                "deliveredAt": None,
                "estimatedDeliveryAt": "2026-12-02T12:00:00Z",
                "trackingInfo": [
                    {
                        "company": "PPL",
                        "number": "PPL123456789CZ",
                        "url": "https://tracking.example/PPL123456789CZ",
                    }
                ],
                "events": {"nodes": [{"status": "IN_TRANSIT", "happenedAt": "2026-11-30T15:00Z"}]},
            }
        ],
    }
    return {**base, **overrides}


def cost(available: float = 1988.0, requested: int = 52) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": 12,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


def answer(data: dict[str, Any], available: float = 1988.0) -> FakeResponse:
    return FakeResponse(200, {"data": data, "extensions": cost(available)})


def orders(*nodes: dict[str, Any]) -> FakeResponse:
    return answer({"orders": {"nodes": list(nodes)}})


def customers(*nodes: dict[str, Any]) -> FakeResponse:
    return answer({"customers": {"nodes": [{"orders": {"nodes": list(nodes)}}]}})


THROTTLED = FakeResponse(
    200,
    {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": cost(available=12.0),
    },
)


def shop(session: FakeSession, time: FakeTime | None = None, **kwargs: Any) -> ShopifyShop:
    time = time or FakeTime()
    return ShopifyShop(
        SHOP, TOKEN, session=session.as_session(), clock=time.clock, sleep=time.sleep, **kwargs
    )


def test_an_order_node_maps_to_our_order() -> None:
    order = order_from_graphql(node())

    assert order is not None
    assert order.number == "1042"
    assert order.created_at == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    assert (order.total, order.currency) == (Decimal("1290.0"), "CZK")
    assert order.state is OrderState.SHIPPED
    assert order.shop_status == "PAID/FULFILLED"
    assert order.customer.name == "Jana Nováková"
    assert order.customer.emails == {"jana@customer.example"}
    # The billing phone, typed nationally, is read in the billing country.
    assert order.customer.phones == {"+420777123456"}
    assert order.shipments == (
        Shipment(
            carrier="PPL",
            tracking_number="PPL123456789CZ",
            tracking_url="https://tracking.example/PPL123456789CZ",
            shipped_at=datetime(2026, 11, 30, 14, tzinfo=UTC),
            estimated_delivery=datetime(2026, 12, 2, 12, tzinfo=UTC),
            last_event=ShipmentEvent.IN_TRANSIT,
            last_event_at=datetime(2026, 11, 30, 15, tzinfo=UTC),
        ),
    )


@pytest.mark.parametrize(
    ("overrides", "state"),
    [
        ({"displayFulfillmentStatus": "UNFULFILLED", "fulfillments": []}, OrderState.UNFULFILLED),
        ({"displayFulfillmentStatus": "ON_HOLD", "fulfillments": []}, OrderState.UNFULFILLED),
        ({"displayFulfillmentStatus": "PARTIALLY_FULFILLED"}, OrderState.SHIPPED),
        ({"cancelledAt": "2026-11-29T10:00:00Z"}, OrderState.CANCELLED),
        (
            {"cancelledAt": "2026-11-29T10:00:00Z", "displayFinancialStatus": "REFUNDED"},
            OrderState.REFUNDED,
        ),
        ({"displayFinancialStatus": "PARTIALLY_REFUNDED"}, OrderState.SHIPPED),
        ({"displayFulfillmentStatus": "SOMETHING_NEW"}, OrderState.UNKNOWN),
    ],
)
def test_shopify_statuses_normalise_to_our_states(
    overrides: dict[str, Any], state: OrderState
) -> None:
    order = order_from_graphql(node(**overrides))
    assert order is not None
    assert order.state is state


def test_a_delivered_fulfillment_makes_the_order_delivered() -> None:
    fulfillment = {
        **node()["fulfillments"][0],
        "displayStatus": "DELIVERED",
        "deliveredAt": "2026-11-29T11:00:00Z",
    }
    order = order_from_graphql(node(fulfillments=[fulfillment]))

    assert order is not None
    assert order.state is OrderState.DELIVERED
    assert order.shipments[0].delivered_at == datetime(2026, 11, 29, 11, tzinfo=UTC)
    assert order.shipments[0].last_event is ShipmentEvent.DELIVERED


def test_a_delayed_display_status_wins_over_an_older_in_transit_event() -> None:
    fulfillment = {**node()["fulfillments"][0], "displayStatus": "DELAYED"}
    order = order_from_graphql(node(fulfillments=[fulfillment]))

    assert order is not None
    assert order.shipments[0].last_event is ShipmentEvent.DELAYED
    assert order.state is OrderState.SHIPPED


@pytest.mark.parametrize("broken", [{"name": None}, {"name": "#"}, {"createdAt": "yesterday"}])
def test_a_node_without_a_name_or_date_is_skipped_not_guessed(broken: dict[str, Any]) -> None:
    assert order_from_graphql(node(**broken)) is None


def test_orders_by_phone_ask_for_the_customer_and_send_the_token_to_the_pinned_version() -> None:
    session = FakeSession([customers(node())])

    found = shop(session).recent_orders(JANA)

    assert [o.number for o in found] == ["1042"]
    (call,) = session.calls
    assert call["method"] == "POST"
    assert call["url"] == f"https://{SHOP}/admin/api/{API_VERSION}/graphql.json"
    assert call["headers"] == {"X-Shopify-Access-Token": TOKEN}
    assert call["json"] == {
        "query": BY_PHONE,
        "variables": {"search": 'phone:"+420777123456"', "first": 3},
    }
    assert call["allow_redirects"] is False
    connect, read = call["timeout"]
    assert 0 < connect <= 3.05
    assert 0 < read <= 5.0


def test_orders_by_phone_and_email_are_merged_newest_first_and_cut_to_the_limit() -> None:
    older = node("#1040", createdAt="2026-11-01T00:00:00Z")
    newer = node("#1043", createdAt="2026-11-30T18:30:00Z", fulfillments=[])
    session = FakeSession([customers(node(), older), orders(newer, node())])

    found = shop(session).recent_orders(
        Contact(phone="+420777123456", email="jana@customer.example"), limit=2
    )

    assert [o.number for o in found] == ["1043", "1042"]
    assert session.calls[1]["json"]["query"] == BY_EMAIL
    assert session.calls[1]["json"]["variables"]["search"] == 'email:"jana@customer.example"'


def test_an_order_the_search_returned_for_someone_else_is_never_handed_out() -> None:
    piotr = node(
        "#1050",
        email="piotr@customer.example",
        billingAddress={"phone": "+48600100200", "countryCodeV2": "PL"},
        customer={"displayName": "Piotr Kowalski"},
    )
    session = FakeSession([orders(piotr, node())])

    found = shop(session).recent_orders(Contact(email="jana@customer.example"))

    assert [o.number for o in found] == ["1042"]


def test_one_order_by_its_number_with_or_without_the_hash() -> None:
    session = FakeSession([orders(node("#10420"), node())])

    order = shop(session).order("#1042")

    assert order is not None
    assert order.number == "1042"
    assert session.calls[0]["json"]["query"] == BY_NAME
    assert session.calls[0]["json"]["variables"]["search"] == 'name:"#1042"'
    assert shop(FakeSession([orders()])).order("1042") is None


def test_a_number_that_is_no_order_number_is_not_even_asked_for() -> None:
    session = FakeSession([orders(node())])

    assert shop(session).order('1042" OR email:*') is None
    assert session.calls == []


def test_throttled_is_retried_after_the_bucket_refills_then_succeeds() -> None:
    time = FakeTime()
    session = FakeSession([THROTTLED, THROTTLED, customers(node())])

    found = shop(session, time).recent_orders(JANA)

    assert [o.number for o in found] == ["1042"]
    assert len(session.calls) == 3
    # (requested 52 - available 12) / 100 per second, but never less than the back-off.
    assert time.slept == [pytest.approx(0.4), pytest.approx(0.5)]


def test_throttled_beyond_the_budget_is_unavailable_without_waiting_past_it() -> None:
    time = FakeTime()
    session = FakeSession([THROTTLED])

    with pytest.raises(ShopUnavailable, match="throttled"):
        shop(session, time, budget_seconds=2.0).recent_orders(JANA)

    assert sum(time.slept) < 2.0


def test_http_429_waits_for_retry_after_within_the_budget() -> None:
    time = FakeTime()
    session = FakeSession([FakeResponse(429, {}, {"Retry-After": "1.5"}), customers(node())])

    assert shop(session, time).recent_orders(JANA)
    assert time.slept == [1.5]

    with pytest.raises(ShopUnavailable, match="throttled"):
        shop(FakeSession([FakeResponse(429, {}, {"Retry-After": "30"})])).recent_orders(JANA)


def test_the_next_query_waits_until_the_reported_bucket_holds_its_cost() -> None:
    time = FakeTime()
    session = FakeSession([answer({"orders": {"nodes": []}}, available=10.0)])
    adapter = shop(session, time)

    adapter.order("1042")
    adapter.order("1042")

    # 52 wanted, 10 left, 100 back per second: 0.42 s before the second query is sent.
    assert time.slept == [pytest.approx(0.42)]


@pytest.mark.parametrize(
    ("response", "error", "words"),
    [
        (FakeResponse(401, {"errors": "[API] Invalid API key"}), ShopRefused, "credentials"),
        (FakeResponse(403, {"errors": "Forbidden"}), ShopRefused, "403"),
        (FakeResponse(402, {"errors": "Payment Required"}), ShopRefused, "402"),
        (FakeResponse(404, {"errors": "Not Found"}), ShopRefused, "404"),
        (FakeResponse(301, None, {"Location": "https://x.example"}), ShopRefused, "redirect"),
        (FakeResponse(500, {"errors": "Internal"}), ShopUnavailable, "500"),
        (FakeResponse(503, {"errors": "Unavailable"}), ShopUnavailable, "503"),
        (FakeResponse(200, text="<html>maintenance</html>"), ShopUnavailable, "not JSON"),
        (
            FakeResponse(
                200, {"errors": [{"message": "x", "extensions": {"code": "ACCESS_DENIED"}}]}
            ),
            ShopRefused,
            "ACCESS_DENIED",
        ),
        (
            FakeResponse(
                200, {"errors": [{"message": "x", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
            ),
            ShopUnavailable,
            "INTERNAL_SERVER_ERROR",
        ),
    ],
)
def test_vendor_errors_become_ours(
    response: FakeResponse, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as raised:
        shop(FakeSession([response])).recent_orders(JANA)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize(
    ("exception", "words"),
    [
        (requests.ReadTimeout("read timed out"), "timed out"),
        (requests.ConnectTimeout("connect timed out"), "timed out"),
        (requests.ConnectionError("refused"), "unreachable"),
    ],
)
def test_a_timeout_or_a_shop_that_is_down_is_unavailable(
    exception: BaseException, words: str
) -> None:
    with pytest.raises(ShopUnavailable, match=words):
        shop(FakeSession([exception])).order("1042")


def test_the_read_timeout_never_outlasts_the_budget() -> None:
    session = FakeSession([orders()])

    shop(session, budget_seconds=1.5).order("1042")

    assert session.calls[0]["timeout"] == (1.5, 1.5)


def test_the_token_is_not_in_the_adapters_repr() -> None:
    assert TOKEN not in repr(ShopifyShop(SHOP, TOKEN))


def test_a_sandbox_base_url_keeps_the_api_path() -> None:
    adapter = ShopifyShop(SHOP, TOKEN, base_url=f"http://127.0.0.1:8025/shopify/{SHOP}/")
    assert (
        adapter.url == f"http://127.0.0.1:8025/shopify/{SHOP}/admin/api/{API_VERSION}/graphql.json"
    )


@pytest.mark.parametrize(
    ("phone", "consent"),
    [
        (None, None),
        ({"phoneNumber": "+420777123456", "marketingState": "SUBSCRIBED"}, True),
        ({"phoneNumber": "+420777123456", "marketingState": "UNSUBSCRIBED"}, False),
        ({"phoneNumber": "+420777123456"}, None),
    ],
)
def test_the_customers_consent_to_texts_is_their_sms_marketing_state(
    phone: dict[str, str] | None, consent: bool | None
) -> None:
    customer = {
        "displayName": "Jana",
        "defaultEmailAddress": None,
        "defaultPhoneNumber": phone,
    }
    order = order_from_graphql(node(customer=customer))
    assert order is not None
    assert order.customer.text_consent is consent


def test_an_order_by_its_webhook_id() -> None:
    """`order_by_id` asks for the order's gid; anything but digits is not an id."""
    shop = ShopifyShop(SHOP, TOKEN)
    assert shop.order_by_id("not-an-id") is None
    assert shop.order_by_id("1" * 21) is None

"""The WooCommerce adapter without a socket: REST v3 orders mapped to our Order, the
free-text search narrowed to the asker's own orders, vendor errors translated."""

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
from chalicelib.commerce.woocommerce import WooCommerceShop, order_from_rest
from tests.unit.shop_http import FakeResponse, FakeSession, FakeTime

URL = "https://shop.example"
KEY, SECRET = "ck_key", "cs_secret_do_not_log"
JANA = Contact(phone="+420777123456")

TRACKING = {
    "key": "_wc_shipment_tracking_items",
    "value": [
        {
            "tracking_provider": "",
            "custom_tracking_provider": "PPL",
            "tracking_number": "PPL123456789CZ",
            "custom_tracking_link": "https://tracking.example/PPL123456789CZ",
            "date_shipped": "1796047200",
        }
    ],
}


def trackship(status: str, **extra: str) -> dict[str, Any]:
    return {"key": "shipment_status", "value": [{"status": status, **extra}]}


def woo(number: str = "1042", **overrides: Any) -> dict[str, Any]:
    """An order as GET /wp-json/wc/v3/orders gives it (the fields the adapter reads)."""
    base: dict[str, Any] = {
        "id": int(number) if number.isdigit() else 7,
        "number": number,
        "status": "completed",
        "currency": "CZK",
        "date_created": "2026-11-28T10:15:00",
        "date_created_gmt": "2026-11-28T09:15:00",
        "total": "1290.00",
        "billing": {
            "first_name": "Jana",
            "last_name": "Nováková",
            "email": "JANA@customer.example",
            "phone": "777 123 456",
            "country": "CZ",
        },
        "shipping": {"first_name": "Jana", "last_name": "Nováková", "country": "CZ", "phone": ""},
        "meta_data": [TRACKING, trackship("in_transit", est_delivery_date="2026-12-02 12:00:00")],
    }
    return {**base, **overrides}


def shop(session: FakeSession, time: FakeTime | None = None) -> WooCommerceShop:
    time = time or FakeTime()
    return WooCommerceShop(
        URL, KEY, SECRET, session=session.as_session(), clock=time.clock, sleep=time.sleep
    )


def test_an_order_maps_to_our_order_with_its_tracking() -> None:
    order = order_from_rest(woo())

    assert order is not None
    assert order.number == "1042"
    assert order.created_at == datetime(2026, 11, 28, 9, 15, tzinfo=UTC)
    assert (order.total, order.currency) == (Decimal("1290.00"), "CZK")
    assert order.state is OrderState.SHIPPED
    assert order.shop_status == "completed"
    assert order.customer.name == "Jana Nováková"
    assert order.customer.emails == {"jana@customer.example"}
    assert order.customer.phones == {"+420777123456"}
    assert order.shipments == (
        Shipment(
            carrier="PPL",
            tracking_number="PPL123456789CZ",
            tracking_url="https://tracking.example/PPL123456789CZ",
            shipped_at=datetime(2026, 11, 30, 14, tzinfo=UTC),
            estimated_delivery=datetime(2026, 12, 2, 12, tzinfo=UTC),
            last_event=ShipmentEvent.IN_TRANSIT,
        ),
    )


@pytest.mark.parametrize(
    ("status", "meta", "state"),
    [
        ("pending", [], OrderState.UNFULFILLED),
        ("processing", [], OrderState.UNFULFILLED),
        ("on-hold", [], OrderState.UNFULFILLED),
        ("completed", [], OrderState.SHIPPED),
        (
            "completed",
            [TRACKING, trackship("delivered", status_date="2026-11-29")],
            OrderState.DELIVERED,
        ),
        ("cancelled", [], OrderState.CANCELLED),
        ("refunded", [], OrderState.REFUNDED),
        ("wc-custom-thing", [], OrderState.UNKNOWN),
    ],
)
def test_woocommerce_statuses_normalise_to_our_states(
    status: str, meta: list[dict[str, Any]], state: OrderState
) -> None:
    order = order_from_rest(woo(status=status, meta_data=meta))
    assert order is not None
    assert order.state is state


def test_trackship_exception_reads_as_delayed() -> None:
    order = order_from_rest(woo(meta_data=[TRACKING, trackship("exception")]))
    assert order is not None
    assert order.shipments[0].last_event is ShipmentEvent.DELAYED
    assert order.shipments[0].estimated_delivery is None


def test_an_order_without_tracking_meta_has_no_shipments() -> None:
    order = order_from_rest(woo(meta_data=[{"key": "_other", "value": "x"}]))
    assert order is not None
    assert order.shipments == ()


def test_the_search_is_by_national_digits_and_keeps_only_the_askers_orders() -> None:
    someone_else = woo(
        "1077",
        billing={"first_name": "Eve", "email": "eve@x.example", "phone": "+1 201 555 0123"},
        customer_note="my friend's number is 777123456",
    )
    session = FakeSession([FakeResponse(200, [someone_else, woo()])])

    found = shop(session).recent_orders(JANA)

    assert [o.number for o in found] == ["1042"]
    (call,) = session.calls
    assert call["method"] == "GET"
    assert call["url"] == f"{URL}/wp-json/wc/v3/orders"
    assert call["params"] == {
        "search": "777123456",
        "orderby": "date",
        "order": "desc",
        "per_page": 20,
    }
    assert call["auth"] == (KEY, SECRET)
    assert call["allow_redirects"] is False


def test_phone_and_email_searches_merge_newest_first_up_to_the_limit() -> None:
    newer = woo("1043", status="processing", meta_data=[], date_created_gmt="2026-11-30T17:30:00")
    older = woo("1001", date_created_gmt="2026-01-01T00:00:00")
    session = FakeSession([FakeResponse(200, [woo(), older]), FakeResponse(200, [newer, woo()])])

    found = shop(session).recent_orders(
        Contact(phone="+420777123456", email="jana@customer.example"), limit=2
    )

    assert [o.number for o in found] == ["1043", "1042"]
    assert [c["params"]["search"] for c in session.calls] == ["jana@customer.example", "777123456"]


def test_one_order_by_id_when_the_number_is_the_id() -> None:
    session = FakeSession([FakeResponse(200, woo())])

    order = shop(session).order("#1042")

    assert order is not None
    assert order.number == "1042"
    assert session.calls[0]["url"] == f"{URL}/wp-json/wc/v3/orders/1042"


def test_a_number_that_is_not_the_id_is_found_by_search() -> None:
    renumbered = woo("1042", id=77)
    session = FakeSession(
        [
            FakeResponse(404, {"code": "woocommerce_rest_shop_order_invalid_id"}),
            FakeResponse(200, [woo("10420"), renumbered]),
        ]
    )

    order = shop(session).order("1042")

    assert order is not None
    assert order.number == "1042"
    assert session.calls[1]["params"] == {"search": "1042", "per_page": 20}
    assert shop(FakeSession([FakeResponse(200, [])])).order("ABC-1") is None


@pytest.mark.parametrize(
    ("response", "error", "words"),
    [
        (
            FakeResponse(401, {"code": "woocommerce_rest_authentication_error"}),
            ShopRefused,
            "credentials",
        ),
        (FakeResponse(403, {"code": "woocommerce_rest_cannot_view"}), ShopRefused, "403"),
        (FakeResponse(404, {"code": "rest_no_route"}), ShopRefused, "404"),
        (FakeResponse(500, {"code": "internal_server_error"}), ShopUnavailable, "500"),
        (FakeResponse(502), ShopUnavailable, "502"),
        (FakeResponse(200, text="<html>Briefly unavailable</html>"), ShopUnavailable, "not JSON"),
        (FakeResponse(200, {"not": "a list"}), ShopUnavailable, "not a list"),
        (FakeResponse(429, {}, {"Retry-After": "60"}), ShopUnavailable, "throttled"),
    ],
)
def test_vendor_errors_become_ours(
    response: FakeResponse, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as raised:
        shop(FakeSession([response])).recent_orders(Contact(email="jana@customer.example"))
    assert SECRET not in str(raised.value)


def test_a_429_within_the_budget_is_waited_out() -> None:
    time = FakeTime()
    session = FakeSession([FakeResponse(429, {}, {"Retry-After": "2"}), FakeResponse(200, [woo()])])

    assert shop(session, time).recent_orders(JANA)
    assert time.slept == [2.0]


@pytest.mark.parametrize(
    "exception", [requests.ReadTimeout("slow"), requests.ConnectionError("refused")]
)
def test_a_timeout_or_a_shop_that_is_down_is_unavailable(exception: BaseException) -> None:
    with pytest.raises(ShopUnavailable):
        shop(FakeSession([exception])).order("1042")


def test_the_secret_is_not_in_the_adapters_repr() -> None:
    assert SECRET not in repr(WooCommerceShop(URL, KEY, SECRET))

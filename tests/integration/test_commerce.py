"""The real shop adapters against the sandbox's Shopify and WooCommerce, over HTTP.

Each case runs on both platforms: the same demo customers and orders, the same identity rule,
the same translation of a vendor's failures into ShopUnavailable / ShopRefused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from chalicelib.commerce.config import ShopifyConfig, WooCommerceConfig, api_base_url
from chalicelib.commerce.port import (
    Contact,
    OrderState,
    ShipmentEvent,
    Shop,
    ShopRefused,
    ShopUnavailable,
)
from chalicelib.commerce.shopify import API_VERSION, ShopifyShop
from chalicelib.commerce.woocommerce import WooCommerceShop
from chalicelib.composition import Container
from chalicelib.settings import Settings
from relaydesk import local_env, sandbox
from relaydesk.sandbox.shop_data import STARTED
from tests.conftest import free_port
from tests.unit.shop_http import FakeTime

PLATFORMS = ("shopify", "woocommerce")
JANA_PHONE, JANA_EMAIL = "+420777123456", "jana@customer.example"
PIOTR_PHONE = "+48600100200"
NOBODY = "+420777999999"
DAY = STARTED.astimezone(UTC).date()

MakeShop = Callable[..., Shop]


@pytest.fixture
def outbox(sandbox_server: sandbox.SandboxServer) -> Iterator[sandbox.Sandbox]:
    """The shared sandbox, with no fault left behind for the next test."""
    sandbox_server.sandbox.clear()
    yield sandbox_server.sandbox
    sandbox_server.sandbox.clear_faults()


def connect(platform: str, base: str, *, secret: str | None = None, **kwargs: Any) -> Shop:
    """The real adapter for the demo shop of `platform`, as the composition root builds it."""
    if platform == "shopify":
        config = ShopifyConfig(local_env.DEMO_SHOPIFY_SHOP)
        return ShopifyShop(
            config.shop,
            secret or local_env.LOCAL_SHOPIFY_ACCESS_TOKEN,
            base_url=api_base_url(config, base),
            **kwargs,
        )
    woo = WooCommerceConfig(local_env.DEMO_WOO_URL)
    return WooCommerceShop(
        woo.url,
        local_env.LOCAL_WOO_CONSUMER_KEY,
        secret or local_env.LOCAL_WOO_CONSUMER_SECRET,
        base_url=api_base_url(woo, base),
        **kwargs,
    )


@pytest.fixture(params=PLATFORMS)
def platform(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_shop(platform: str, sandbox_url: str, outbox: sandbox.Sandbox) -> MakeShop:
    def make(**kwargs: Any) -> Shop:
        return connect(platform, sandbox_url, **kwargs)

    return make


def test_jana_finds_both_her_orders_newest_first_by_phone_or_email(make_shop: MakeShop) -> None:
    shop = make_shop()

    by_phone = shop.recent_orders(Contact(phone=JANA_PHONE))
    by_email = shop.recent_orders(Contact.of("Jana@Customer.Example"))

    assert [o.number for o in by_phone] == ["1043", "1042"]
    assert by_email == by_phone
    unfulfilled, shipped = by_phone
    assert unfulfilled.state is OrderState.UNFULFILLED
    assert unfulfilled.shipments == ()
    assert shipped.state is OrderState.SHIPPED
    assert shipped.customer.name == "Jana Nováková"
    assert shipped.customer.phones == {JANA_PHONE}
    assert shipped.customer.emails == {JANA_EMAIL}
    (shipment,) = shipped.shipments
    assert shipment.carrier == "PPL"
    assert shipment.tracking_number == "PPL123456789CZ"
    assert shipment.tracking_url == "https://tracking.example/PPL123456789CZ"
    assert shipment.shipped_at is not None
    assert shipment.shipped_at.date() == DAY - timedelta(days=1)
    assert shipment.estimated_delivery is not None
    assert shipment.estimated_delivery.date() == DAY + timedelta(days=1)


def test_piotrs_shipment_is_delayed_and_saras_was_delivered(make_shop: MakeShop) -> None:
    shop = make_shop()

    (piotrs,) = shop.recent_orders(Contact(phone=PIOTR_PHONE))
    (saras,) = shop.recent_orders(Contact(email="sara@customer.example"))

    assert piotrs.number == "1050"
    assert piotrs.state is OrderState.SHIPPED
    assert piotrs.shipments[0].carrier == "InPost"
    assert piotrs.shipments[0].tracking_number == "INP998877"
    assert piotrs.shipments[0].last_event is ShipmentEvent.DELAYED
    assert saras.number == "1060"
    assert saras.state is OrderState.DELIVERED
    assert saras.shipments[0].delivered_at == datetime.combine(
        DAY - timedelta(days=2), time(11), UTC
    )


def test_a_number_the_shop_does_not_know_has_no_orders(make_shop: MakeShop) -> None:
    assert make_shop().recent_orders(Contact(phone=NOBODY)) == []


def test_another_customers_contact_returns_nothing_of_theirs(make_shop: MakeShop) -> None:
    shop = make_shop()

    piotrs = shop.recent_orders(Contact(phone=PIOTR_PHONE, email="piotr@customer.example"))
    janas = shop.order("1042")

    assert {o.number for o in piotrs} == {"1050"}
    assert janas is not None
    assert janas.belongs_to(Contact(phone=JANA_PHONE))
    assert not janas.belongs_to(Contact(phone=PIOTR_PHONE))
    assert not janas.belongs_to(Contact(phone=NOBODY, email="piotr@customer.example"))


def test_one_order_by_number_and_none_for_an_unknown_one(make_shop: MakeShop) -> None:
    shop = make_shop()

    order = shop.order("#1050")

    assert order is not None
    assert (order.number, order.currency, str(order.total)) == ("1050", "PLN", "189.99")
    assert shop.order("9999") is None


def test_every_call_is_in_the_outbox_without_credentials(
    make_shop: MakeShop, platform: str, outbox: sandbox.Sandbox
) -> None:
    make_shop().recent_orders(Contact(phone=JANA_PHONE))

    (entry,) = outbox.entries(provider=platform)
    assert entry["to"] in (local_env.DEMO_SHOPIFY_SHOP, "shop.woo.relaydesk.test")
    recorded = json.dumps(entry)
    for secret in (
        local_env.LOCAL_SHOPIFY_ACCESS_TOKEN,
        local_env.LOCAL_WOO_CONSUMER_KEY,
        local_env.LOCAL_WOO_CONSUMER_SECRET,
    ):
        assert secret not in recorded
    if platform == "shopify":
        assert entry["api_version"] == API_VERSION
        assert entry["operation"] == "RelaydeskOrdersByPhone"
    else:
        assert entry["params"]["search"] == "777123456"


def test_bad_credentials_are_refused(make_shop: MakeShop, outbox: sandbox.Sandbox) -> None:
    with pytest.raises(ShopRefused, match="401"):
        make_shop(secret="wrong").recent_orders(Contact(phone=JANA_PHONE))
    assert outbox.entries() == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_unavailable(
    make_shop: MakeShop, platform: str, outbox: sandbox.Sandbox, status: int
) -> None:
    outbox.set_fault(platform, status, 1)

    with pytest.raises(ShopUnavailable, match=str(status)):
        make_shop().recent_orders(Contact(phone=JANA_PHONE))


def test_a_slow_shop_times_out_within_the_budget(
    make_shop: MakeShop, platform: str, outbox: sandbox.Sandbox
) -> None:
    """The sandbox answers a second late; the budget (0.3 s) cuts the 5 s read timeout, so
    the adapter gives up on its own instead of waiting for the (late) 504."""
    outbox.set_fault(platform, 504, 1, delay_seconds=1.0)

    with pytest.raises(ShopUnavailable, match="timed out"):
        make_shop(budget_seconds=0.3).recent_orders(Contact(phone=JANA_PHONE))


def test_a_shop_that_is_down_is_unavailable(platform: str) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ShopUnavailable, match="unreachable"):
        connect(platform, nothing_listens).order("1042")


def test_shopify_throttled_twice_then_answers(sandbox_url: str, outbox: sandbox.Sandbox) -> None:
    outbox.set_fault("shopify", 429, 2)
    clock = FakeTime()

    found = connect("shopify", sandbox_url, clock=clock.clock, sleep=clock.sleep).recent_orders(
        Contact(phone=JANA_PHONE)
    )

    assert [o.number for o in found] == ["1043", "1042"]
    # Waited for the bucket the THROTTLED answers described, then the back-off.
    assert clock.slept == [pytest.approx(0.4), pytest.approx(0.5)]
    assert len(outbox.entries(provider="shopify")) == 1


def test_shopify_throttled_beyond_the_budget_is_unavailable(
    sandbox_url: str, outbox: sandbox.Sandbox
) -> None:
    outbox.set_fault("shopify", 429, 100)
    clock = FakeTime()
    shop = connect("shopify", sandbox_url, clock=clock.clock, sleep=clock.sleep, budget_seconds=3.0)

    with pytest.raises(ShopUnavailable, match="throttled"):
        shop.recent_orders(Contact(phone=JANA_PHONE))
    assert sum(clock.slept) < 3.0


@pytest.mark.parametrize(
    ("store_id", "platform"), [("demo", "shopify"), ("demo-woo", "woocommerce")]
)
def test_the_demo_stores_shop_from_the_composition_root_reaches_the_sandbox(
    sandbox_url: str, outbox: sandbox.Sandbox, store_id: str, platform: str
) -> None:
    """The local stack's settings and secrets, the stores' file, and nothing else."""
    environ = local_env.local_environment(
        app_url="http://127.0.0.1:8000", aws_url="http://127.0.0.1:1", sandbox_url=sandbox_url
    )
    built = Container(Settings(environ))
    store = built.stores.by_id(store_id)
    assert store is not None

    shop = built.shop_for(store)

    assert shop is not None
    assert [o.number for o in shop.recent_orders(Contact(email=JANA_EMAIL))] == ["1043", "1042"]
    assert len(outbox.entries(provider=platform)) == 1

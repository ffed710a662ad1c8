"""The `commerce` block of a store: validated once, errors naming the store and the field;
one set of credentials per store; the sandbox reached only through the base URL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.commerce.config import (
    ShopifyConfig,
    WooCommerceConfig,
    api_base_url,
    parse_commerce,
    secret_names,
)
from chalicelib.commerce.port import ShopRefused
from chalicelib.commerce.shopify import API_VERSION, ShopifyShop
from chalicelib.commerce.woocommerce import WooCommerceShop
from chalicelib.composition import Container
from chalicelib.settings import DEFAULT_STORES_FILE, ConfigError, Settings
from chalicelib.stores import load_stores, parse_store
from relaydesk import local_env

SANDBOX = "http://127.0.0.1:8025"


def test_a_shopify_shop_with_the_pinned_api_version() -> None:
    parsed = parse_commerce({"platform": "shopify", "shop": "Demo-Store.myshopify.com"}, "demo")
    assert parsed == ShopifyConfig("demo-store.myshopify.com", API_VERSION)
    pinned = parse_commerce(
        {"platform": "shopify", "shop": "x.myshopify.com", "api_version": "2025-10"}, "demo"
    )
    assert pinned == ShopifyConfig("x.myshopify.com", "2025-10")


def test_a_woocommerce_shop() -> None:
    parsed = parse_commerce({"platform": "woocommerce", "url": "https://shop.example/"}, "demo")
    assert parsed == WooCommerceConfig("https://shop.example")
    in_a_folder = parse_commerce({"platform": "woocommerce", "url": "https://x.example/shop"}, "a")
    assert in_a_folder == WooCommerceConfig("https://x.example/shop")


def test_no_block_no_shop() -> None:
    assert parse_commerce(None, "demo") is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("shopify", "commerce"),
        ({"shop": "x.myshopify.com"}, "commerce.platform"),
        ({"platform": "magento"}, "commerce.platform"),
        ({"platform": "shopify"}, "commerce.shop"),
        ({"platform": "shopify", "shop": "shop.example.com"}, "commerce.shop"),
        (
            {"platform": "shopify", "shop": "x.myshopify.com", "api_version": "latest"},
            "api_version",
        ),
        ({"platform": "shopify", "shop": "x.myshopify.com", "token": "shpat_x"}, "unknown field"),
        ({"platform": "woocommerce"}, "commerce.url"),
        ({"platform": "woocommerce", "url": "http://shop.example"}, "https://"),
        ({"platform": "woocommerce", "url": "https://ck:cs@shop.example"}, "commerce.url"),
        ({"platform": "woocommerce", "url": "https://shop.example?x=1"}, "commerce.url"),
        ({"platform": "woocommerce", "url": "https://localhost"}, "host name"),
        ({"platform": "woocommerce", "url": "https://x.example", "shop": "y"}, "unknown field"),
    ],
)
def test_errors_name_the_store_and_the_field(raw: Any, field: str) -> None:
    with pytest.raises(ConfigError, match="store 'shop-1': commerce") as raised:
        parse_commerce(raw, "shop-1")
    assert field in str(raised.value)


def test_each_store_has_its_own_credentials() -> None:
    assert secret_names("demo", ShopifyConfig("x.myshopify.com")) == ("SHOPIFY_ACCESS_TOKEN_DEMO",)
    assert secret_names("demo-woo", WooCommerceConfig("https://x.example")) == (
        "WOOCOMMERCE_CONSUMER_KEY_DEMO_WOO",
        "WOOCOMMERCE_CONSUMER_SECRET_DEMO_WOO",
    )


def test_only_the_base_url_differs_locally() -> None:
    shopify, woo = ShopifyConfig("x.myshopify.com"), WooCommerceConfig("https://x.example/shop")
    assert api_base_url(shopify, None) == "https://x.myshopify.com"
    assert api_base_url(shopify, SANDBOX) == f"{SANDBOX}/shopify/x.myshopify.com"
    assert api_base_url(woo, None) == "https://x.example/shop"
    assert api_base_url(woo, SANDBOX) == f"{SANDBOX}/woocommerce/x.example/shop"


def container(**environ: str) -> Container:
    return Container(Settings({"STORES_FILE": str(DEFAULT_STORES_FILE), **environ}))


def test_the_composition_root_builds_each_stores_shop_once_with_its_own_secrets() -> None:
    built = container(
        SHOPIFY_ACCESS_TOKEN_DEMO="shpat_1",
        WOOCOMMERCE_CONSUMER_KEY_DEMO_WOO="ck_1",
        WOOCOMMERCE_CONSUMER_SECRET_DEMO_WOO="cs_1",
        PROVIDER_SANDBOX_URL=SANDBOX,
    )
    demo, woo, fast = (built.stores.by_id(name) for name in ("demo", "demo-woo", "demo-fast"))
    assert demo is not None
    assert woo is not None
    assert fast is not None

    shopify, again, woocommerce = built.shop_for(demo), built.shop_for(demo), built.shop_for(woo)

    assert isinstance(shopify, ShopifyShop)
    assert shopify is again
    assert shopify.url == (
        f"{SANDBOX}/shopify/demo-store.myshopify.com/admin/api/{API_VERSION}/graphql.json"
    )
    assert isinstance(woocommerce, WooCommerceShop)
    assert woocommerce.api == f"{SANDBOX}/woocommerce/shop.woo.relaydesk.test/wp-json/wc/v3"
    assert built.shop_for(fast) is None


def test_without_the_sandbox_the_adapters_talk_to_the_shops_themselves() -> None:
    built = container(SHOPIFY_ACCESS_TOKEN_DEMO="shpat_1")
    demo = built.stores.by_id("demo")
    assert demo is not None

    shop = built.shop_for(demo)

    assert isinstance(shop, ShopifyShop)
    assert shop.url == f"https://demo-store.myshopify.com/admin/api/{API_VERSION}/graphql.json"


def test_missing_credentials_are_a_refusal_naming_the_secret() -> None:
    built = container()
    woo = built.stores.by_id("demo-woo")
    assert woo is not None

    with pytest.raises(ShopRefused, match="WOOCOMMERCE_CONSUMER_KEY_DEMO_WOO"):
        built.shop_for(woo)


def test_the_store_parser_reads_the_block() -> None:
    raw = json.loads(DEFAULT_STORES_FILE.read_text(encoding="utf-8"))["stores"][0]

    assert parse_store(raw).commerce == ShopifyConfig("demo-store.myshopify.com")
    assert parse_store({**raw, "commerce": None}).commerce is None
    with pytest.raises(ConfigError, match=r"store 'demo': commerce\.url: must start with https"):
        parse_store({**raw, "commerce": {"platform": "woocommerce", "url": "http://x.example"}})


def test_the_demo_stores_are_connected_to_the_sandbox_shops() -> None:
    stores = load_stores(DEFAULT_STORES_FILE)

    demo, woo = stores.by_id("demo"), stores.by_id("demo-woo")

    assert demo is not None
    assert demo.commerce == ShopifyConfig(local_env.DEMO_SHOPIFY_SHOP)
    assert woo is not None
    assert woo.commerce == WooCommerceConfig(local_env.DEMO_WOO_URL)
    assert stores.by_number("+15005550008") is woo
    assert woo.support_address == "support@woo.relaydesk.test"
    assert woo.calendar == demo.calendar

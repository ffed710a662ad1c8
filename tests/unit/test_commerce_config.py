"""The `commerce` block of a store: validated once, errors naming the store and the field;
one set of credentials per store; the sandbox reached only through the base URL."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.commerce.config import (
    ShopifyConfig,
    WooCommerceConfig,
    api_base_url,
    build_shop,
    parse_commerce,
    secret_names,
)
from chalicelib.commerce.port import ShopRefused
from chalicelib.commerce.shopify import API_VERSION, ShopifyShop
from chalicelib.commerce.woocommerce import WooCommerceShop
from chalicelib.config import ConfigError

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


def test_the_adapter_is_built_with_the_stores_secrets() -> None:
    secrets = {
        "SHOPIFY_ACCESS_TOKEN_DEMO": "shpat_1",
        "WOOCOMMERCE_CONSUMER_KEY_DEMO_WOO": "ck_1",
        "WOOCOMMERCE_CONSUMER_SECRET_DEMO_WOO": "cs_1",
    }

    shopify = build_shop("demo", ShopifyConfig("x.myshopify.com", "2025-10"), secrets.__getitem__)
    woo = build_shop(
        "demo-woo", WooCommerceConfig("https://x.example"), secrets.__getitem__, SANDBOX
    )

    assert isinstance(shopify, ShopifyShop)
    assert shopify.url == "https://x.myshopify.com/admin/api/2025-10/graphql.json"
    assert isinstance(woo, WooCommerceShop)
    assert woo.api == f"{SANDBOX}/woocommerce/x.example/wp-json/wc/v3"


def test_missing_credentials_are_a_refusal_naming_the_secret() -> None:
    def missing(name: str) -> str:
        raise ConfigError(f"secret {name} is not set")

    with pytest.raises(ShopRefused, match="SHOPIFY_ACCESS_TOKEN_DEMO"):
        build_shop("demo", ShopifyConfig("x.myshopify.com"), missing)

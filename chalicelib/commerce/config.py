"""A store's `commerce` block: which shop it is, and the names of the secrets that open it.

    "commerce": {"platform": "shopify", "shop": "<name>.myshopify.com"}
    "commerce": {"platform": "woocommerce", "url": "https://shop.example"}

A pure function of the raw block, so the store parser (chalicelib/stores.py) needs one call
and this module owns every rule; its errors are the store configuration's own ConfigError,
naming the store and the field.
Credentials never live in the file: SHOPIFY_ACCESS_TOKEN_<STORE>, WOOCOMMERCE_CONSUMER_KEY_
<STORE> and WOOCOMMERCE_CONSUMER_SECRET_<STORE> (the store id upper-cased, '-' as '_'),
from the environment locally and from SSM in AWS, like every other secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

from chalicelib.settings import ConfigError

DEFAULT_SHOPIFY_API_VERSION: Final = "2025-07"
"""Pinned: Shopify supports a version for a year; moving on is a reviewed change. A store may
pin another (`commerce.api_version`)."""
SHOPIFY: Final = "shopify"
WOOCOMMERCE: Final = "woocommerce"
SHOPIFY_DOMAIN: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$")
SHOPIFY_API_VERSION: Final = re.compile(r"^20\d\d-(01|04|07|10)$")
HOSTNAME: Final = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class ShopifyConfig:
    shop: str
    """The shop's permanent `<name>.myshopify.com` domain (not a custom domain)."""
    api_version: str = DEFAULT_SHOPIFY_API_VERSION

    platform: ClassVar[str] = SHOPIFY


@dataclass(frozen=True)
class WooCommerceConfig:
    url: str
    """The site's https:// base URL, without a trailing '/' (the API is under /wp-json)."""

    platform: ClassVar[str] = WOOCOMMERCE


CommerceConfig = ShopifyConfig | WooCommerceConfig


def parse_commerce(raw: object, store_id: str) -> CommerceConfig | None:
    """The store's shop from its `commerce` block; None if the store has none."""
    where = f"store {store_id!r}: commerce"
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{where}: expected {{"platform": "shopify" | "woocommerce", ...}}')
    platform = raw.get("platform")
    if platform == SHOPIFY:
        _only(raw, where, {"platform", "shop", "api_version"})
        return ShopifyConfig(
            shop=_shopify_shop(raw.get("shop"), where),
            api_version=_api_version(raw.get("api_version", DEFAULT_SHOPIFY_API_VERSION), where),
        )
    if platform == WOOCOMMERCE:
        _only(raw, where, {"platform", "url"})
        return WooCommerceConfig(url=_woo_url(raw.get("url"), where))
    raise ConfigError(f"{where}.platform: 'shopify' or 'woocommerce', got {platform!r}")


def _only(raw: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    if unknown := sorted(set(raw) - allowed):
        raise ConfigError(f"{where}: unknown field(s) {unknown}; expected {sorted(allowed)}")


def _shopify_shop(value: object, where: str) -> str:
    if not isinstance(value, str) or not SHOPIFY_DOMAIN.match(value.strip().lower()):
        raise ConfigError(f"{where}.shop: the shop's <name>.myshopify.com domain, got {value!r}")
    return value.strip().lower()


def _api_version(value: object, where: str) -> str:
    if not isinstance(value, str) or not SHOPIFY_API_VERSION.match(value):
        raise ConfigError(
            f"{where}.api_version: a Shopify API version such as "
            f"{DEFAULT_SHOPIFY_API_VERSION!r}, got {value!r}"
        )
    return value


def _woo_url(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}.url: the shop's https:// address, got {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme != "https":
        # WooCommerce takes a consumer key as Basic auth over HTTPS only; over http the
        # secret would travel in clear (and WooCommerce would ask for OAuth 1.0a instead).
        raise ConfigError(f"{where}.url: must start with https://, got {value!r}")
    host = (parts.hostname or "").lower()
    if parts.username or parts.password or parts.query or parts.fragment or parts.port:
        raise ConfigError(f"{where}.url: scheme, host and path only, got {value!r}")
    if not HOSTNAME.match(host):
        raise ConfigError(f"{where}.url: {host!r} is not a host name")
    return f"https://{host}{parts.path.rstrip('/')}"


def secret_name(base: str, store_id: str) -> str:
    """`SHOPIFY_ACCESS_TOKEN` for store `demo-woo` -> `SHOPIFY_ACCESS_TOKEN_DEMO_WOO`: one set
    of credentials per store, so one store's token can never open another's shop."""
    return f"{base}_{store_id.upper().replace('-', '_')}"


def secret_names(store_id: str, config: CommerceConfig) -> tuple[str, ...]:
    """The secrets the store's shop needs, for `make secrets` and for the adapter."""
    if isinstance(config, ShopifyConfig):
        return (secret_name("SHOPIFY_ACCESS_TOKEN", store_id),)
    return (
        secret_name("WOOCOMMERCE_CONSUMER_KEY", store_id),
        secret_name("WOOCOMMERCE_CONSUMER_SECRET", store_id),
    )


def webhook_secret_name(store_id: str, config: CommerceConfig) -> str:
    """The secret the shop signs its webhooks with: a Shopify app's client secret
    (SHOPIFY_WEBHOOK_SECRET_<STORE>) or a WooCommerce webhook's secret
    (WOOCOMMERCE_WEBHOOK_SECRET_<STORE>). Apart from `secret_names`: the shop's API works
    without it, and the webhooks need nothing else."""
    shopify = isinstance(config, ShopifyConfig)
    base = "SHOPIFY_WEBHOOK_SECRET" if shopify else "WOOCOMMERCE_WEBHOOK_SECRET"
    return secret_name(base, store_id)


def api_base_url(config: CommerceConfig, sandbox_url: str | None) -> str:
    """Where the adapter sends its requests: the shop itself, or the local sandbox's stand-in
    for it (the only difference between the local stack and AWS)."""
    if isinstance(config, ShopifyConfig):
        return f"{sandbox_url}/shopify/{config.shop}" if sandbox_url else f"https://{config.shop}"
    if not sandbox_url:
        return config.url
    parts = urlsplit(config.url)
    return f"{sandbox_url}/woocommerce/{parts.hostname}{parts.path}"

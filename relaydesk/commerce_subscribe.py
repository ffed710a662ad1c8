"""`relaydesk commerce subscribe <store> [--url URL] [--dry-run] [--stage STAGE]`: point the
store's shop's webhooks at relaydesk.

Shopify: the four topics proactive messages listen to, through the Admin GraphQL API's
`webhookSubscriptionCreate` (JSON, to `<url>/webhooks/shopify`), with the store's Admin API
token; a topic already subscribed to that URL is left as it is. Shopify signs them with the
app's client secret (SHOPIFY_WEBHOOK_SECRET_<STORE>).
WooCommerce: one `order.updated` webhook through the REST API (`POST /webhooks`) with the
store's consumer key and its webhook secret (WOOCOMMERCE_WEBHOOK_SECRET_<STORE>), unless one
already delivers to that URL.

`--dry-run` prints what would be created and changes nothing. Without `--stage` it talks to
the local sandbox's shops; with it, to the real shop with the deployment's secrets in SSM.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Final

import requests

from chalicelib import routes
from chalicelib.commerce.config import (
    CommerceConfig,
    ShopifyConfig,
    api_base_url,
    secret_names,
    webhook_secret_name,
)
from relaydesk.local_env import local_environment

SHOPIFY_TOPICS: Final = (
    "FULFILLMENT_EVENTS_CREATE",
    "FULFILLMENTS_UPDATE",
    "ORDERS_CANCELLED",
    "REFUNDS_CREATE",
)
WOO_TOPIC: Final = "order.updated"
LIST_SHOPIFY: Final = """
query RelaydeskWebhookSubscriptions {
  webhookSubscriptions(first: 100) {
    nodes { id topic endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
  }
}
"""
CREATE_SHOPIFY: Final = """
mutation RelaydeskWebhookSubscribe($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic,
                            webhookSubscription: {callbackUrl: $url, format: JSON}) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}
"""


def planned(config: CommerceConfig, base_url: str) -> list[dict[str, str]]:
    """The subscriptions the store's shop needs for relaydesk at `base_url`."""
    if isinstance(config, ShopifyConfig):
        url = base_url.rstrip("/") + routes.SHOPIFY
        return [{"topic": topic, "url": url} for topic in SHOPIFY_TOPICS]
    return [{"topic": WOO_TOPIC, "url": base_url.rstrip("/") + routes.WOOCOMMERCE}]


def subscribe_command(args: argparse.Namespace, *, sandbox_url: str) -> int:
    from chalicelib.settings import ConfigError, Secrets, Settings
    from chalicelib.stores import load_stores

    environ = dict(os.environ)
    if args.stage:
        environ.setdefault("SECRETS_SSM_PREFIX", f"/relaydesk/{args.stage}")
        sandbox: str | None = None
    else:
        local = local_environment(app_url="", aws_url="", sandbox_url=sandbox_url)
        environ = {**local, **{k: v for k, v in environ.items() if k == "STORES_FILE"}}
        sandbox = sandbox_url
    settings = Settings(environ)
    stores = load_stores(settings.stores_file)
    store = stores.by_id(args.store)
    if store is None or store.commerce is None:
        print(f"store {args.store!r} is not configured with a shop", flush=True)
        return 2
    base_url = args.url or environ.get("PUBLIC_BASE_URL")
    if not base_url and args.stage:
        from relaydesk.providers_sync import app_endpoint  # the deployed API's own URL

        base_url = app_endpoint(args.stage, None)
    base_url = base_url or args.app_url
    plan = planned(store.commerce, base_url)
    if args.dry_run:
        for item in plan:
            print(f"would subscribe {item['topic']} -> {item['url']}")
        return 0
    secrets = Secrets(environ)
    try:
        credentials = [secrets.get(n) for n in secret_names(store.store_id, store.commerce)]
        webhook_secret = secrets.get(webhook_secret_name(store.store_id, store.commerce))
    except ConfigError as exc:
        print(f"relaydesk commerce subscribe: {exc}")
        return 1
    api = api_base_url(store.commerce, sandbox)
    try:
        if isinstance(store.commerce, ShopifyConfig):
            done = _shopify(api, store.commerce.api_version, credentials[0], plan)
        else:
            done = _woo(api, credentials[0], credentials[1], webhook_secret, plan)
    except (requests.RequestException, ValueError) as exc:
        print(f"relaydesk commerce subscribe: the shop refused or did not answer: {exc}")
        return 1
    for line in done:
        print(line)
    return 0


def _shopify(api: str, version: str, token: str, plan: list[dict[str, str]]) -> list[str]:
    url = f"{api}/admin/api/{version}/graphql.json"

    def call(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(
            url,
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": token},
            timeout=15,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise ValueError(json.dumps(body["errors"])[:300])
        data: dict[str, Any] = body["data"]
        return data

    nodes = call(LIST_SHOPIFY, {})["webhookSubscriptions"]["nodes"]
    existing = {(n["topic"], (n.get("endpoint") or {}).get("callbackUrl")) for n in nodes}
    done = []
    for item in plan:
        if (item["topic"], item["url"]) in existing:
            done.append(f"already subscribed {item['topic']} -> {item['url']}")
            continue
        created = call(CREATE_SHOPIFY, {"topic": item["topic"], "url": item["url"]})
        errors = created["webhookSubscriptionCreate"]["userErrors"]
        if errors:
            raise ValueError(f"{item['topic']}: {errors}")
        done.append(f"subscribed {item['topic']} -> {item['url']}")
    return done


def _woo(
    api: str, key: str, secret: str, webhook_secret: str, plan: list[dict[str, str]]
) -> list[str]:
    url = f"{api}/wp-json/wc/v3/webhooks"
    found = requests.get(url, auth=(key, secret), params={"per_page": 100}, timeout=15)
    found.raise_for_status()
    existing = {(w.get("topic"), w.get("delivery_url")): w for w in found.json()}
    done = []
    for item in plan:
        hook = existing.get((item["topic"], item["url"]))
        if hook is not None and hook.get("status") == "active":
            done.append(f"already subscribed {item['topic']} -> {item['url']}")
            continue
        if hook is not None:
            # WooCommerce disables a webhook after 5 failed deliveries in a row, silently.
            enabled = requests.put(
                f"{url}/{hook['id']}",
                auth=(key, secret),
                json={"status": "active", "secret": webhook_secret},
                timeout=15,
            )
            enabled.raise_for_status()
            done.append(f"re-enabled {item['topic']} -> {item['url']} (was {hook.get('status')})")
            continue
        created = requests.post(
            url,
            auth=(key, secret),
            json={
                "name": "relaydesk",
                "topic": item["topic"],
                "delivery_url": item["url"],
                "secret": webhook_secret,
                "status": "active",
            },
            timeout=15,
        )
        created.raise_for_status()
        done.append(f"subscribed {item['topic']} -> {item['url']}")
    return done

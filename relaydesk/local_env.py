"""The local stack's fixed settings and credentials.

These are not secrets: they exist only on this machine, are printed in the README, and
let anyone sign a webhook for the demo store. Production secrets come from SSM.
"""

from __future__ import annotations

from chalicelib.settings import (
    DEFAULT_INBOX_QUEUE,
    DEFAULT_JOBS_QUEUE,
    DEFAULT_TIMERS_QUEUE,
)

LOCAL_TWILIO_AUTH_TOKEN = "local-twilio-auth-token"  # noqa: S105
LOCAL_PARSE_USER = "parse"
LOCAL_PARSE_PASSWORD = "local-parse-secret"  # noqa: S105
DEMO_NUMBER = "+15005550006"
DEMO_AGENT = "alex@demo.relaydesk.test"
DEMO_SUPPORT = "support@demo.relaydesk.test"
REPLY_DOMAIN = "reply.relaydesk.test"

# The sandbox's two demo shops and the credentials they accept (README: "The shop connection").
DEMO_SHOPIFY_SHOP = "demo-store.myshopify.com"
LOCAL_SHOPIFY_ACCESS_TOKEN = "shpat_local_sandbox_token"  # noqa: S105
DEMO_WOO_URL = "https://shop.woo.relaydesk.test"
LOCAL_WOO_CONSUMER_KEY = "ck_local_sandbox_key"
LOCAL_WOO_CONSUMER_SECRET = "cs_local_sandbox_secret"  # noqa: S105
LOCAL_SHOPIFY_WEBHOOK_SECRET = "local-shopify-secret"  # noqa: S105
LOCAL_WOO_WEBHOOK_SECRET = "local-woo-secret"  # noqa: S105
# Meta (Messenger, Instagram): the app's secret that signs webhook posts, the verify token
# of the subscription check, and the demo page's access token; the demo store's page and
# Instagram account ids are in chalicelib/stores.json.
LOCAL_META_APP_SECRET = "local-meta-app-secret"  # noqa: S105
LOCAL_META_VERIFY_TOKEN = "local-meta-verify-token"  # noqa: S105
LOCAL_META_PAGE_TOKEN = "EAAlocal-sandbox-page-token"  # noqa: S105
DEMO_PAGE_ID = "100000000000001"
DEMO_INSTAGRAM_ID = "17841400000000001"
LOCAL_WEBCHAT_IDENTITY_SECRET = "local-webchat-identity-secret"  # noqa: S105


def local_environment(*, app_url: str, aws_url: str, sandbox_url: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws_url,
        "TABLE_NAME": "relaydesk",
        "JOBS_QUEUE_NAME": DEFAULT_JOBS_QUEUE,
        "TIMERS_QUEUE_NAME": DEFAULT_TIMERS_QUEUE,
        "INBOX_QUEUE_NAME": DEFAULT_INBOX_QUEUE,
        "PUBLIC_BASE_URL": app_url,
        "REPLY_DOMAIN": REPLY_DOMAIN,
        "PROVIDER_SANDBOX_URL": sandbox_url,
        "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
        "TWILIO_AUTH_TOKEN": LOCAL_TWILIO_AUTH_TOKEN,
        "SENDGRID_API_KEY": "SG.local-sandbox-key",
        "INBOUND_PARSE_USER": LOCAL_PARSE_USER,
        "INBOUND_PARSE_PASSWORD": LOCAL_PARSE_PASSWORD,
        "REPLY_TOKEN_SECRET": "local-reply-token-secret",
        # The demo stores' shops, served by the sandbox (chalicelib/commerce/config.py names).
        "SHOPIFY_ACCESS_TOKEN_DEMO": LOCAL_SHOPIFY_ACCESS_TOKEN,
        "WOOCOMMERCE_CONSUMER_KEY_DEMO_WOO": LOCAL_WOO_CONSUMER_KEY,
        "WOOCOMMERCE_CONSUMER_SECRET_DEMO_WOO": LOCAL_WOO_CONSUMER_SECRET,
        # What the demo shops sign their webhooks with (commerce/config.webhook_secret_name).
        "SHOPIFY_WEBHOOK_SECRET_DEMO": LOCAL_SHOPIFY_WEBHOOK_SECRET,
        "WOOCOMMERCE_WEBHOOK_SECRET_DEMO_WOO": LOCAL_WOO_WEBHOOK_SECRET,
        "META_APP_SECRET": LOCAL_META_APP_SECRET,
        "META_VERIFY_TOKEN": LOCAL_META_VERIFY_TOKEN,
        "META_PAGE_TOKEN_DEMO": LOCAL_META_PAGE_TOKEN,
        # What the demo shop signs its signed-in customers' e-mails with (web chat).
        "WEBCHAT_IDENTITY_SECRET_DEMO": LOCAL_WEBCHAT_IDENTITY_SECRET,
    }

"""The emulated providers, in the order the router tries them.

Adding a provider (Shopify, WooCommerce, Meta, ...) is one module and one entry here: the
router, fault injection and `--help` all read this tuple.
"""

from __future__ import annotations

from typing import Final

from relaydesk.sandbox.base import Provider
from relaydesk.sandbox.meta import Meta
from relaydesk.sandbox.provider_settings import SendGridParse, TwilioNumbers
from relaydesk.sandbox.sendgrid import SendGrid
from relaydesk.sandbox.shopify import Shopify
from relaydesk.sandbox.transcribe import Transcribe
from relaydesk.sandbox.twilio import Twilio
from relaydesk.sandbox.twilio_lookup import TwilioLookup
from relaydesk.sandbox.twilio_voice import TwilioRecordings
from relaydesk.sandbox.woocommerce import WooCommerce

REGISTRY: Final[tuple[Provider, ...]] = (
    *(Twilio(), SendGrid(), Shopify(), WooCommerce(), Meta(), TwilioRecordings()),
    TwilioLookup(),  # the line types asked before a voice caller's text back
    Transcribe(),  # moto's writes no transcript: the app's Transcribe client points here
    *(TwilioNumbers(), SendGridParse()),  # the settings `relaydesk providers sync` sets
)

PROVIDERS: Final = tuple(provider.name for provider in REGISTRY)
"""Their names: what an outbox entry's `provider` and an injected fault may say."""

"""A local stand-in for the providers relaydesk talks to, one module per provider.

The real SDKs are pointed at it (Twilio through
`chalicelib.channels.twilio_messaging.sandbox_http_client(base_url)`, SendGrid through
`SendGridAPIClient(api_key, host=f"{base_url}/sendgrid")`), so the app builds its requests
exactly as in production while nothing leaves the machine. Every accepted message is kept in
an outbox that people (`GET /outbox`) and tests (`Sandbox.entries()`) can inspect.

    base.py       Request, Response and the Provider port the modules below implement
    twilio.py     Messages API and its signed status callbacks
    twilio_voice.py  Recordings API, and Twilio's part in a call (Voice URL, fallback)
    twilio_lookup.py Lookup v2 line types (a landline for the voice text back's check)
    sendgrid.py   v3 Mail Send API
    shopify.py    Admin GraphQL API: the orders relaydesk's Shopify adapter reads, THROTTLED
    woocommerce.py  REST API v3: the orders relaydesk's WooCommerce adapter reads
    meta.py       Graph API Send API (Messenger, Instagram) and Meta's signed webhook posts
    provider_settings.py  Twilio's IncomingPhoneNumbers and SendGrid's Inbound Parse
                  settings, which `relaydesk providers sync` sets (changes recorded)
    shop_data.py  the demo shops' customers and orders (both platforms), dated from the start
    registry.py   the providers, in routing order: a new provider is a module and an entry
    recording.py  the outbox and the injected faults (`Sandbox`)
    control.py    /outbox and /sandbox/faults (a status, a count, and a delay for timeouts)
    server.py     the HTTP server, the router, `start_in_thread`, `main`

Standard library only (and twilio's validator for callbacks), so it runs anywhere the app's
tests run. This module re-exports the public names, so `from relaydesk import sandbox` reads
as it did when the sandbox was one module.
"""

from __future__ import annotations

from relaydesk.sandbox.base import (
    WHATSAPP_PREFIX,
    BadRequest,
    Entry,
    Outbox,
    Provider,
    Request,
    Response,
)
from relaydesk.sandbox.control import OUTBOX_FILTERS
from relaydesk.sandbox.recording import Sandbox
from relaydesk.sandbox.registry import PROVIDERS, REGISTRY
from relaydesk.sandbox.server import (
    MAX_BODY_BYTES,
    SandboxHandler,
    SandboxServer,
    main,
    make_server,
    route,
    start_in_thread,
)
from relaydesk.sandbox.twilio import (
    CALLBACK_DELAY_SECONDS,
    TWILIO_API_VERSION,
    TWILIO_MAGIC_TO,
    TWILIO_UNDELIVERED_TO,
)

__all__ = [
    "CALLBACK_DELAY_SECONDS",
    "MAX_BODY_BYTES",
    "OUTBOX_FILTERS",
    "PROVIDERS",
    "REGISTRY",
    "TWILIO_API_VERSION",
    "TWILIO_MAGIC_TO",
    "TWILIO_UNDELIVERED_TO",
    "WHATSAPP_PREFIX",
    "BadRequest",
    "Entry",
    "Outbox",
    "Provider",
    "Request",
    "Response",
    "Sandbox",
    "SandboxHandler",
    "SandboxServer",
    "main",
    "make_server",
    "route",
    "start_in_thread",
]

"""The demo shop page that `relaydesk stack` serves at /webchat/demo, with the widget
embedded as a store's theme would embed it. Local tooling: never part of the deployed app.

`?page=2` is the shop's "next page" (the bubble's unread mark shows there), `?lang=ar`
sets the widget's language as a browser would, `?signed_in=1` embeds a signed-in
customer (their e-mail and its HMAC under the local identity secret).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from chalicelib.domain.webchat import identity_hash
from relaydesk.local_env import LOCAL_WEBCHAT_IDENTITY_SECRET

if TYPE_CHECKING:
    from chalice.app import Chalice

DEMO_PATH = "/webchat/demo"
DEMO_CUSTOMER = "jana.novakova@example.com"

PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo Store{title}</title>
<style>
body {{ font-family: Georgia, serif; margin: 0; color: #222; background: #fbfaf7; }}
header {{ background: #2b2d42; color: #fff; padding: 18px 32px; font-size: 22px; }}
main {{ padding: 24px 32px; max-width: 760px; }}
.items {{ display: flex; gap: 16px; flex-wrap: wrap; }}
.item {{ background: #fff; border: 1px solid #ddd; padding: 14px; width: 200px; }}
.swatch {{ height: 110px; background: linear-gradient(135deg, #e9c46a, #e76f51); }}
</style>
</head>
<body>
<header>Demo Store</header>
<main>
<h1>{heading}</h1>
<div class="items">
<div class="item"><div class="swatch"></div><p>Linen tote bag, 24 EUR</p></div>
<div class="item"><div class="swatch"></div><p>Ceramic mug, 14 EUR</p></div>
</div>
<p><a href="{next_link}">{next_text}</a></p>
</main>
<!-- The one snippet a store pastes into its theme (README: "Web chat"). -->
<script src="/widget.js" data-store="demo"{extra} async></script>
</body>
</html>
"""


def demo_page(query: dict[str, str] | None) -> str:
    query = query or {}
    lang = query.get("lang", "")
    page2 = query.get("page") == "2"
    extra = ' data-open=""' if not page2 else ""
    if lang:
        extra += f' data-language="{html.escape(lang[:10])}"'
    if query.get("signed_in"):
        digest = identity_hash(LOCAL_WEBCHAT_IDENTITY_SECRET.encode(), DEMO_CUSTOMER)
        extra += f' data-customer-email="{DEMO_CUSTOMER}" data-customer-hash="{digest}"'
    keep = f"&lang={html.escape(lang[:10])}" if lang else ""
    return PAGE.format(
        lang=html.escape(lang[:10] or "en"),
        dir="rtl" if lang[:2] in ("ar", "fa") else "ltr",
        title=": more products" if page2 else "",
        heading="More products" if page2 else "Handmade things for your home",
        next_link=f"{DEMO_PATH}?page=1{keep}" if page2 else f"{DEMO_PATH}?page=2{keep}",
        next_text="Back to the first page" if page2 else "Next page",
        extra=extra,
    )


def add_demo_page(app: Chalice) -> None:
    """Route the demo page on the local stack's app (before its server is built)."""
    from chalice.app import Response

    @app.route(DEMO_PATH, methods=["GET"])
    def webchat_demo() -> Response:
        request = app.current_request
        query = dict(request.query_params or {}) if request is not None else {}
        return Response(
            body=demo_page(query),
            status_code=200,
            headers={"Content-Type": "text/html; charset=utf-8"},
        )

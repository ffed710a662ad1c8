"""What both shop adapters share: bounded HTTP calls and the mapping of failures to ours.

`requests` directly, not the vendors' Python libraries: Shopify's `ShopifyAPI` is built around
REST resources and a global session (its GraphQL support is a bare `execute`, without cost
handling), and WooCommerce's `woocommerce` package is a thin wrapper over `requests` that adds
nothing we need. Both would be more cold start and more surface for two small reads.

Every call has connect and read timeouts, and every lookup a total time budget shared by its
retries: a slow shop must never hold a Lambda (or a customer's answer) for long.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from chalicelib.commerce.port import ShopRefused, ShopUnavailable

if TYPE_CHECKING:
    import requests

CONNECT_TIMEOUT: Final = 3.05
"""Seconds; a little over a multiple of 3 s, TCP's SYN retransmission step."""
READ_TIMEOUT: Final = 5.0
BUDGET_SECONDS: Final = 8.0
"""A whole lookup, retries and throttling waits included."""


@dataclass
class Budget:
    """A deadline for one lookup, on an injectable clock, so tests need not really wait."""

    seconds: float = BUDGET_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = self.clock() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def wait(self, seconds: float) -> bool:
        """Sleep `seconds` if the budget allows it (a request must still fit after); else False."""
        if seconds >= self.remaining():
            return False
        if seconds > 0:
            self.sleep(seconds)
        return True


@dataclass(frozen=True)
class Timeouts:
    connect: float = CONNECT_TIMEOUT
    read: float = READ_TIMEOUT

    def within(self, budget: Budget, shop: str) -> tuple[float, float]:
        """The timeouts for the next request, cut to what is left of the budget."""
        left = budget.remaining()
        if left <= 0:
            raise ShopUnavailable(f"shop {shop}: no time left for the request")
        return (min(self.connect, left), min(self.read, left))


def new_session() -> requests.Session:
    """A session per adapter: Lambda reuses the container, so keep-alive saves a TLS handshake."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = "relaydesk"
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    shop: str,
    timeout: tuple[float, float],
    **kwargs: Any,
) -> requests.Response:
    """One request; a timeout or a connection failure becomes ShopUnavailable."""
    import requests

    try:
        return session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.Timeout as exc:
        raise ShopUnavailable(f"shop {shop}: timed out") from exc
    except requests.RequestException as exc:
        # Connection refused, DNS, TLS, a reset: the shop (or the way to it) is down.
        raise ShopUnavailable(f"shop {shop}: unreachable ({type(exc).__name__})") from exc


def check_status(response: requests.Response, shop: str) -> None:
    """Raise ours for an HTTP error: 5xx and 429 are transient, any other 4xx is permanent."""
    status = response.status_code
    if status < 300:
        return
    if status == 429 or status >= 500:
        raise ShopUnavailable(f"shop {shop}: HTTP {status}")
    if 300 <= status < 400:
        # A redirect from an API endpoint is a misconfigured URL (http -> https, a moved shop):
        # following it could send the credentials elsewhere.
        raise ShopRefused(f"shop {shop}: HTTP {status} redirect; check the shop's URL")
    if status in (401, 403):
        raise ShopRefused(f"shop {shop}: HTTP {status}; check the credentials and their scopes")
    raise ShopRefused(f"shop {shop}: HTTP {status}")


def json_body(response: requests.Response, shop: str) -> Any:
    """The parsed body; a 2xx that is not JSON (a maintenance page, say) is transient."""
    try:
        return response.json()
    except ValueError as exc:
        raise ShopUnavailable(f"shop {shop}: the answer is not JSON") from exc


def retry_after(headers: Mapping[str, str], default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds only), else `default`."""
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return default

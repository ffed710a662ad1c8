"""The sandbox's router and Provider port, without a socket: the HTTP side is tested in
tests/integration/test_sandbox.py; this shows a provider is one module behind one port."""

from __future__ import annotations

from email.message import Message

import pytest

from relaydesk.sandbox import PROVIDERS, REGISTRY, Outbox, Request, Response, Sandbox, route
from relaydesk.sandbox.base import Entry, Fault

TWILIO_PATH = "/twilio/2010-04-01/Accounts/AC1/Messages.json"


def request(method: str, path: str, body: bytes = b"", **headers: str) -> Request:
    message = Message()
    for name, value in headers.items():
        message[name] = value
    return Request(method, path, "", message, body)


class Echo:
    """A provider as small as the port allows, to show that the router needs nothing else."""

    name = "echo"
    title = "an echo"

    def handles(self, request: Request) -> bool:
        return request.path.startswith("/echo/")

    def fault(self, fault: Fault) -> Response:
        return Response(fault.status, {"fault": fault.status})

    def handle(self, request: Request, outbox: Outbox) -> Response:
        entry: Entry = {"provider": self.name, "body": request.body.decode()}
        outbox.record([entry])
        return Response(200, entry, headers={"X-Echo": "1"})


def test_every_registered_provider_has_its_own_name() -> None:
    assert PROVIDERS == (
        "twilio",
        "sendgrid",
        "shopify",
        "woocommerce",
        "meta",
        "twilio-voice",
        "twilio-lookup",
        "transcribe",
        "twilio-numbers",
        "sendgrid-parse",
    )
    assert len({provider.name for provider in REGISTRY}) == len(REGISTRY)


def test_a_request_reaches_the_first_provider_that_handles_it() -> None:
    sandbox = Sandbox()

    response = route(request("POST", "/echo/x", b"hi"), sandbox, (Echo(), *REGISTRY))

    assert response == Response(200, {"provider": "echo", "body": "hi"}, {"X-Echo": "1"})
    assert sandbox.entries(provider="echo") == [{"provider": "echo", "body": "hi"}]


def test_a_fault_is_answered_before_the_provider_checks_credentials() -> None:
    sandbox = Sandbox()
    sandbox.set_fault("twilio", 503, 1)

    faulted = route(request("POST", TWILIO_PATH), sandbox)
    after = route(request("POST", TWILIO_PATH), sandbox)

    assert faulted.status == 503
    assert faulted.payload == {
        "code": 20503,
        "message": "Service Unavailable",
        "more_info": "https://www.twilio.com/docs/errors/20503",
        "status": 503,
    }
    assert after.status == 401
    assert sandbox.entries() == []


def test_a_provider_path_with_the_wrong_method_is_no_route() -> None:
    response = route(request("GET", TWILIO_PATH), Sandbox())

    assert response == Response(404, {"error": f"no route for GET {TWILIO_PATH}"})


def test_control_routes_come_after_the_providers() -> None:
    sandbox = Sandbox()
    route(request("POST", "/echo/x", b"hi"), sandbox, (Echo(),))

    listed = route(request("GET", "/outbox"), sandbox, (Echo(),))

    assert listed == Response(200, [{"provider": "echo", "body": "hi"}])


SHOPIFY_PATH = "/shopify/demo-store.myshopify.com/admin/api/2025-07/graphql.json"
WOO_PATH = "/woocommerce/shop.woo.relaydesk.test/wp-json/wc/v3/orders"


def test_shopify_answers_an_injected_429_as_graphql_throttled() -> None:
    sandbox = Sandbox()
    sandbox.set_fault("shopify", 429, 1)

    throttled = route(request("POST", SHOPIFY_PATH, b"{}"), sandbox)

    assert throttled.status == 200
    assert isinstance(throttled.payload, dict)
    assert throttled.payload["errors"][0]["extensions"]["code"] == "THROTTLED"
    status = throttled.payload["extensions"]["cost"]["throttleStatus"]
    assert (
        status["currentlyAvailable"] < throttled.payload["extensions"]["cost"]["requestedQueryCost"]
    )


def test_the_shops_check_credentials_before_answering() -> None:
    sandbox = Sandbox()

    shopify = route(
        request("POST", SHOPIFY_PATH, b"{}", **{"X-Shopify-Access-Token": "wrong"}), sandbox
    )
    woo = route(request("GET", WOO_PATH, Authorization="Basic Y2s6Y3M="), sandbox)
    unknown = route(request("GET", WOO_PATH.replace("shop.woo", "other")), sandbox)

    assert (shopify.status, woo.status, unknown.status) == (401, 401, 404)
    assert sandbox.entries() == []


def test_a_fault_may_be_delayed_and_its_delay_is_bounded() -> None:
    sandbox = Sandbox()
    sandbox.set_fault("woocommerce", 504, 1, delay_seconds=0.01)

    assert sandbox.take("woocommerce") is not None
    assert sandbox.take("woocommerce") is None
    bad = route(
        request(
            "POST",
            "/sandbox/faults",
            b'{"provider": "shopify", "status": 504, "delay_seconds": 60}',
        ),
        sandbox,
    )
    assert bad.status == 400
    assert isinstance(bad.payload, dict)
    assert "delay_seconds" in bad.payload["error"]


SENDGRID_PATH = "/sendgrid/v3/mail/send"


def post_fault(sandbox: Sandbox, spec: dict[str, object]) -> Response:
    import json

    return route(request("POST", "/sandbox/faults", json.dumps(spec).encode()), sandbox)


def test_a_fault_speaks_the_vendors_code_message_and_wait() -> None:
    sandbox = Sandbox()
    spec = {"provider": "twilio", "status": 429, "code": 20429, "retry_after": 30}
    assert post_fault(sandbox, spec).status == 201
    twilio = route(request("POST", TWILIO_PATH), sandbox)
    spec = {"provider": "twilio", "status": 400, "code": 21611, "message": "Queue full"}
    post_fault(sandbox, spec)
    queue_full = route(request("POST", TWILIO_PATH), sandbox)
    post_fault(
        sandbox, {"provider": "sendgrid", "status": 401, "message": "Maximum credits exceeded"}
    )
    credits = route(request("POST", SENDGRID_PATH), sandbox)
    post_fault(sandbox, {"provider": "sendgrid", "status": 429, "retry_after": 60})
    limited = route(request("POST", SENDGRID_PATH), sandbox)

    assert (twilio.status, twilio.headers) == (429, {"Retry-After": "30"})
    assert isinstance(twilio.payload, dict)
    assert twilio.payload["code"] == 20429
    assert isinstance(queue_full.payload, dict)
    assert (queue_full.payload["code"], queue_full.payload["message"]) == (21611, "Queue full")
    assert credits.status == 401
    assert credits.payload == {
        "errors": [{"message": "Maximum credits exceeded", "field": None, "help": None}]
    }
    assert limited.status == 429
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) > 0


@pytest.mark.parametrize(
    "extra",
    [{"code": "21611"}, {"code": True}, {"message": ""}, {"retry_after": -1}, {"retry_after": 1.5}],
)
def test_a_faults_vendor_details_are_checked(extra: dict[str, object]) -> None:
    response = post_fault(Sandbox(), {"provider": "twilio", "status": 400, **extra})
    assert response.status == 400

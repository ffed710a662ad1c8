"""The sandbox's router and Provider port, without a socket: the HTTP side is tested in
tests/integration/test_sandbox.py; this shows a provider is one module behind one port."""

from __future__ import annotations

from email.message import Message

from relaydesk.sandbox import PROVIDERS, REGISTRY, Outbox, Request, Response, Sandbox, route
from relaydesk.sandbox.base import Entry

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

    def fault(self, status: int) -> Response:
        return Response(status, {"fault": status})

    def handle(self, request: Request, outbox: Outbox) -> Response:
        entry: Entry = {"provider": self.name, "body": request.body.decode()}
        outbox.record([entry])
        return Response(200, entry, headers={"X-Echo": "1"})


def test_every_registered_provider_has_its_own_name() -> None:
    assert PROVIDERS == ("twilio", "sendgrid", "shopify", "woocommerce")
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

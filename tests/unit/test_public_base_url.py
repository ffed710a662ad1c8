"""The API's public URL in one deploy: the webhooks check Twilio's signature over the URL
API Gateway received them on (unless PUBLIC_BASE_URL names a custom domain), the queue
functions get it from the package and refuse to run without it; and plain `chalice
deploy` is refused before it changes anything."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from chalicelib import routes
from chalicelib.chalice_deploy import REFUSAL, is_plain_chalice_deploy, refuse_plain_chalice_deploy
from chalicelib.channels.twilio_messaging import (
    TwilioWebhook,
    to_inbound,
)
from chalicelib.composition import Container, queue_container, reset_container
from chalicelib.domain.errors import VerificationFailed
from chalicelib.domain.messages import InboundMessage
from chalicelib.settings import ConfigError, Secrets, Settings
from chalicelib.web import _twilio_request, received_base_url
from relaydesk.packaging import derive_public_base_url

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
TOKEN = "test-auth-token"
FORM = {"MessageSid": "SM" + "a" * 32, "From": "+420777100200", "To": "+15005550006", "Body": "Hi"}
DOMAIN = "abc123.execute-api.eu-central-1.amazonaws.com"
PATH = routes.TWILIO_MESSAGING


def context(domain: str = DOMAIN, path: str = f"/api{PATH}") -> dict[str, Any]:
    """What API Gateway puts in a REST API event's requestContext (the parts we read)."""
    return {"domainName": domain, "path": path, "resourcePath": PATH, "stage": "api"}


def webhook(configured: str | None) -> TwilioWebhook[InboundMessage]:
    return TwilioWebhook(
        auth_token=lambda: TOKEN,
        public_base_url=Settings(
            {"PUBLIC_BASE_URL": configured} if configured else {}
        ).public_base_url_for,
        clock=lambda: NOW,
        read=to_inbound,
    )


def signed(url: str) -> str:
    return str(RequestValidator(TOKEN).compute_signature(url, FORM))


def test_the_base_url_is_the_one_api_gateway_received_the_request_on() -> None:
    assert received_base_url(context(), PATH) == f"https://{DOMAIN}/api"
    # A custom domain with a base path mapping: `path` is as the client called it.
    assert received_base_url(context("hooks.shop.test", f"/help{PATH}"), PATH) == (
        "https://hooks.shop.test/help"
    )
    assert received_base_url(context("hooks.shop.test", PATH), PATH) == "https://hooks.shop.test"
    # Chalice's local server and test client say nothing of the domain; nothing odd is used.
    assert received_base_url({"path": PATH, "resourcePath": PATH}, PATH) is None
    assert received_base_url(None, PATH) is None
    assert received_base_url(context("evil.test\r\nX: y"), PATH) is None
    assert received_base_url(context(path="/api/elsewhere"), PATH) is None


def test_without_a_configured_url_the_signature_is_checked_over_the_received_one() -> None:
    body = urlencode(FORM).encode()
    request = _twilio_request(PATH, body, signed(f"https://{DOMAIN}/api{PATH}"), context())

    message = webhook(None).receive(request, {})

    assert message.body == "Hi"
    # Exact: signed for another host or without the stage path, it is refused.
    for url in (f"https://other.example/api{PATH}", f"https://{DOMAIN}{PATH}"):
        forged = _twilio_request(PATH, body, signed(url), context())
        with pytest.raises(VerificationFailed):
            webhook(None).receive(forged, {})


def test_a_configured_custom_domain_wins_over_the_received_url() -> None:
    body = urlencode(FORM).encode()
    over_custom = signed(f"https://hooks.shop.test{PATH}")

    accepted = webhook("https://hooks.shop.test").receive(
        _twilio_request(PATH, body, over_custom, context()), {}
    )

    assert accepted.body == "Hi"
    with pytest.raises(VerificationFailed):
        webhook(None).receive(_twilio_request(PATH, body, over_custom, context()), {})


def test_with_neither_the_webhook_fails_as_our_error_not_as_a_forgery() -> None:
    request = _twilio_request(PATH, urlencode(FORM).encode(), signed(PATH), None)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL is not set"):
        webhook(None).receive(request, {})


def test_the_voice_webhooks_too_check_over_the_received_url_and_name_callbacks_under_it() -> None:
    """One choice (Settings.public_base_url_for) for every Twilio webhook and for the URLs
    the voice TwiML names: the API handler has no PUBLIC_BASE_URL in AWS."""
    from chalicelib.flows.receive_voice import _urls

    form = {"CallSid": "CA" + "b" * 32, "From": "+420777100200", "To": "+15005550006"}
    path = routes.TWILIO_VOICE
    signature = RequestValidator(TOKEN).compute_signature(f"https://{DOMAIN}/api{path}", form)
    request = _twilio_request(
        path,
        urlencode(form).encode(),
        signature,
        context(path=f"/api{path}") | {"resourcePath": path},
    )
    c = Container(Settings({}), Secrets({"TWILIO_AUTH_TOKEN": TOKEN}))

    call = c.twilio_voice_webhook.receive(request, {})

    assert call.call_sid == form["CallSid"]
    assert request.base_url == f"https://{DOMAIN}/api"
    urls = _urls(c, request.base_url)
    assert urls.recording == f"https://{DOMAIN}/api{routes.TWILIO_VOICE_RECORDING}"
    configured = Container(Settings({"PUBLIC_BASE_URL": "https://hooks.shop.test"}))
    assert _urls(configured, request.base_url).dial == (
        f"https://hooks.shop.test{routes.TWILIO_VOICE_DIAL}"
    )


def test_the_setting_is_required_by_name_and_a_placeholder_is_refused() -> None:
    assert Settings({}).configured_public_base_url is None
    with pytest.raises(ConfigError, match=r"PUBLIC_BASE_URL is not set.*make deploy"):
        _ = Settings({}).public_base_url
    placeholder = "https://REPLACE-WITH-API-ID.execute-api.REPLACE-WITH-REGION.amazonaws.com/api"
    with pytest.raises(ConfigError, match="not a URL"):
        _ = Settings({"PUBLIC_BASE_URL": placeholder}).configured_public_base_url
    assert Settings({"PUBLIC_BASE_URL": "https://h.test/api/"}).public_base_url == (
        "https://h.test/api"
    )


def test_a_queue_handler_without_the_url_fails_before_any_record_is_touched() -> None:
    from app import on_timer

    reset_container(Container(Settings({"TABLE_NAME": "relaydesk"})))
    try:
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL is not set"):
            queue_container()
        event = {"Records": [{"messageId": "m1", "body": "{}", "attributes": {}}]}
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
            on_timer(event, None)
    finally:
        reset_container(None)


CHALICE_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "APIHandler": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Handler": "app.app", "Environment": {"Variables": {"A": "1"}}},
        },
        "OnTimer": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"Handler": "app.on_timer", "Environment": {"Variables": {"A": "1"}}},
        },
        "OnJob": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.on_job"}},
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {}},
    },
    "Outputs": {
        "EndpointURL": {
            "Value": {
                "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"
            }
        }
    },
}


def test_the_package_gives_the_queue_functions_the_apis_own_url() -> None:
    template = copy.deepcopy(CHALICE_TEMPLATE)

    given = derive_public_base_url(template)

    assert sorted(given) == ["OnJob", "OnTimer"]
    resources = template["Resources"]
    derived = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
    for name in given:
        assert resources[name]["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"] == (
            derived
        )
    # The API handler: a reference to the API would be a cycle; it reads each request.
    assert (
        "PUBLIC_BASE_URL" not in resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    )


def test_a_configured_custom_domain_is_kept_and_a_placeholder_stops_the_package() -> None:
    template = copy.deepcopy(CHALICE_TEMPLATE)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["Environment"] = {
                "Variables": {"PUBLIC_BASE_URL": "https://hooks.shop.test"}
            }

    assert derive_public_base_url(template) == []
    assert all(
        r["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"] == "https://hooks.shop.test"
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    )
    placeholder = copy.deepcopy(CHALICE_TEMPLATE)
    placeholder["Resources"]["OnJob"]["Properties"]["Environment"] = {
        "Variables": {"PUBLIC_BASE_URL": "https://REPLACE-WITH-API-ID.example/api"}
    }
    with pytest.raises(SystemExit, match="placeholder"):
        derive_public_base_url(placeholder)


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["/x/.venv/bin/chalice", "deploy", "--stage", "prod"], True),
        (["/usr/lib/python3/site-packages/chalice/__main__.py", "deploy"], True),
        (["/x/.venv/bin/chalice", "package", "--stage", "prod", "out"], False),
        (["/x/.venv/bin/chalice", "local"], False),
        (["/x/.venv/bin/pytest", "deploy"], False),
        ([], False),
    ],
)
def test_only_chalice_deploy_is_refused(argv: list[str], refused: bool) -> None:
    assert is_plain_chalice_deploy(argv) is refused
    if refused:
        with pytest.raises(SystemExit) as stopped:
            refuse_plain_chalice_deploy(argv)
        assert stopped.value.code == REFUSAL
        assert "nothing was changed" in REFUSAL
        assert "make deploy" in REFUSAL
    else:
        refuse_plain_chalice_deploy(argv)

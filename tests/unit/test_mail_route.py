"""The mail route (issue #12 part 2) without sockets: what `relaydesk package` declares,
the authorizer's answers, how the local route reads them, and which S3 events are posts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import routes
from chalicelib.composition import Container
from chalicelib.flows.receive_stored_mail import stored_post_keys
from chalicelib.mail_files import attachment_key
from chalicelib.settings import Settings
from chalicelib.web import sendgrid_parse_authorizer
from relaydesk.apigateway import METHOD_ARN, allowed, store_post
from relaydesk.packaging import add_mail_route


def chalice_template() -> dict[str, Any]:
    """The parts of `chalice package`'s sam.json that add_mail_route changes."""
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.app"}}
    return {
        "Resources": {
            "APIHandler": function,
            "SendgridParseAuth": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.sendgrid_parse_auth", "Environment": {}},
            },
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {"DefinitionBody": {"paths": {routes.SENDGRID_INBOUND: {}}}},
            },
        }
    }


def test_the_packaged_route_stores_the_post_in_s3_after_the_authorizer() -> None:
    template = chalice_template()
    add_mail_route(template, "prod")
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    post = api["paths"][routes.SENDGRID_MAIL]["post"]
    assert post["security"] == [{"sendgrid_parse_auth": []}]
    authorizer = api["securityDefinitions"]["sendgrid_parse_auth"]
    assert authorizer["name"] == "Authorization"
    assert (
        "${SendgridParseAuth.Arn}"
        in authorizer["x-amazon-apigateway-authorizer"]["authorizerUri"]["Fn::Sub"]
    )
    integration = post["x-amazon-apigateway-integration"]
    assert (integration["type"], integration["httpMethod"]) == ("aws", "PUT")
    uri, names = integration["uri"]["Fn::Sub"]
    assert uri.endswith(":s3:path/${Bucket}/raw/{key}")
    assert names == {"Bucket": {"Fn::ImportValue": "relaydesk-prod-MailBucketName"}}
    assert integration["credentials"] == {"Fn::ImportValue": "relaydesk-prod-MailUploadRoleArn"}
    parameters = integration["requestParameters"]
    assert parameters["integration.request.path.key"] == "context.requestId"
    assert parameters["integration.request.header.x-amz-meta-content-type"] == (
        "method.request.header.Content-Type"
    )
    assert parameters["integration.request.header.x-amz-meta-signature"] == (
        "method.request.header.x-twilio-email-event-webhook-signature"
    )
    # Every request parameter it maps is declared on the method (API Gateway insists).
    declared = {p["name"] for p in post["parameters"]}
    mapped = {v.rsplit(".", 1)[-1] for v in parameters.values() if v.startswith("method.")}
    assert mapped == declared
    # S3's refusals are ours to fix: a 503 that SendGrid retries, never a 4xx it drops.
    responses = integration["responses"]
    assert responses["default"]["statusCode"] == "503"
    assert responses["2\\d{2}"]["statusCode"] == "200"
    for resource in ("APIHandler", "SendgridParseAuth"):
        variables = template["Resources"][resource]["Properties"]["Environment"]["Variables"]
        assert variables["MAIL_BUCKET"] == {"Fn::ImportValue": "relaydesk-prod-MailBucketName"}


def container() -> Container:
    return Container(
        Settings({"INBOUND_PARSE_USER": "parse", "INBOUND_PARSE_PASSWORD": "s3cret"}),
        clock=lambda: datetime(2026, 11, 20, tzinfo=UTC),
    )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def policy(answer: Any) -> dict[str, Any]:
    """The authorizer's answer as API Gateway receives it."""
    from chalice.app import AuthRequest

    result: dict[str, Any] = answer.to_dict(AuthRequest("TOKEN", "t", METHOD_ARN))
    return result


@pytest.mark.parametrize(
    ("authorization", "allows"),
    [
        (basic("parse", "s3cret"), True),
        (basic("parse", "guess"), False),
        (basic("other", "s3cret"), False),
        ("Bearer s3cret", False),
        ("Basic not-base64!", False),
    ],
)
def test_the_authorizer_allows_the_mail_route_with_the_webhooks_credentials_only(
    authorization: str, allows: bool, caplog: pytest.LogCaptureFixture
) -> None:
    answer = policy(sendgrid_parse_authorizer(container(), authorization))
    assert allowed(answer, METHOD_ARN) is allows
    other_route = METHOD_ARN.replace(routes.SENDGRID_MAIL, routes.SHOPIFY)
    assert allowed(answer, other_route) is False  # that route alone, whatever the answer
    if not allows:
        assert "security: request refused" in caplog.text
        assert "s3cret" not in caplog.text


def test_the_local_route_refuses_before_any_s3_call() -> None:
    class NoS3:
        def put_object(self, **_: Any) -> None:
            raise AssertionError("stored before the checks")

    c = container()

    def authorizer(event: dict[str, Any], _: Any) -> dict[str, Any]:
        return policy(sendgrid_parse_authorizer(c, event["authorizationToken"]))

    assert store_post(NoS3(), "b", authorizer, {}, b"x")[0] == 401
    wrong = {"Authorization": basic("parse", "guess")}
    assert store_post(NoS3(), "b", authorizer, wrong, b"x")[0] == 403
    right = {"Authorization": basic("parse", "s3cret")}
    assert store_post(NoS3(), "b", authorizer, right, b"x" * (10 * 1024 * 1024 + 1))[0] == 413


def s3_event(*records: tuple[str, str]) -> str:
    return json.dumps(
        {
            "Records": [
                {"eventSource": "aws:s3", "eventName": name, "s3": {"object": {"key": key}}}
                for name, key in records
            ]
        }
    )


def test_the_inbox_tells_s3_events_from_parked_twilio_requests() -> None:
    from chalicelib.flows.inbox import is_s3_event
    from chalicelib.queues import ParkedRequest

    assert is_s3_event(s3_event(("ObjectCreated:Put", "raw/abc")))
    assert is_s3_event(json.dumps({"Event": "s3:TestEvent", "Bucket": "b"}))
    parked = ParkedRequest(
        routes.TWILIO_FALLBACK,
        b"Body=%22Records%22+aws%3As3&MessageSid=SM1",
        "sig",
        datetime(2026, 11, 20, tzinfo=UTC),
        True,
    )
    assert not is_s3_event(parked.encode())
    assert not is_s3_event("not json")


def test_only_posts_created_under_raw_are_taken() -> None:
    assert stored_post_keys(s3_event(("ObjectCreated:Put", "raw/abc-1"))) == ["raw/abc-1"]
    assert stored_post_keys(s3_event(("ObjectCreated:Put", "raw/a%2Bb+c"))) == ["raw/a+b c"]
    assert stored_post_keys(s3_event(("ObjectRemoved:Delete", "raw/abc"))) == []
    assert stored_post_keys(s3_event(("ObjectCreated:Put", "attachments/abc/0/x"))) == []
    assert stored_post_keys(json.dumps({"Event": "s3:TestEvent"})) == []
    assert stored_post_keys("not json") == []


def test_an_attachment_key_is_the_posts_and_safe_in_a_url() -> None:
    assert (
        attachment_key("raw/r1", 0, "Foto z balíku (1).jpg")
        == "attachments/r1/0/Foto_z_bal_ku_1_.jpg"
    )
    assert attachment_key("raw/r1", 2, "../../etc/passwd") == "attachments/r1/2/etc_passwd"
    assert attachment_key("raw/r1", 3, "...") == "attachments/r1/3/file"

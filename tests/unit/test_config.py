from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.sla import Target
from chalicelib.settings import (
    DEFAULT_STORES_FILE,
    SSM_CLIENT_LIMITS,
    ConfigError,
    Secrets,
    SecretsUnavailable,
)
from chalicelib.stores import load_stores, parse_store
from tests.conftest import TEST_STORES

VALID: dict[str, Any] = {
    "id": "shop",
    "name": "Shop",
    "timezone": "Europe/Prague",
    "business_hours": {"mon": ["09:00-17:00"]},
    "first_response_minutes": 60,
    "phone_numbers": ["+15005550006"],
    "support_address": "help@shop.test",
    "agents": ["a@shop.test"],
}


def test_the_shipped_and_test_configurations_load() -> None:
    demo = load_stores(DEFAULT_STORES_FILE).by_id("demo")
    assert demo is not None
    assert demo.name == "Demo Store"
    assert demo.sla.targets.first_response == Target(240)
    assert demo.sla.targets.next_response == Target(240)
    whatsapp = load_stores(DEFAULT_STORES_FILE).by_number("whatsapp:+15005550006")
    assert whatsapp is not None
    assert whatsapp.store_id == "demo"
    assert demo.is_agent("Sam@Demo.Relaydesk.Test")
    stores = load_stores(TEST_STORES)
    assert stores.by_number("+15550001111").store_id == "acme"  # type: ignore[union-attr]
    assert stores.by_number("+15559999999") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "Bad Id"}, "id"),
        ({"name": 5}, "'shop': name: expected str"),
        ({"timezone": "Mars/Base"}, "'shop': business hours"),
        ({"holidays": {"country": "XX"}}, "'shop': business hours: unknown holidays country"),
        ({"special_hours": {"2026-12-24": ["12-9"]}}, "'shop': business hours: special hours"),
        ({"business_hours": {"mon": ["17:00-09:00"]}}, "'shop': business hours"),
        ({"first_response_minutes": 0}, "'shop': first_response_minutes"),
        ({"first_response_minutes": True}, "'shop': first_response_minutes"),
        ({"phone_numbers": ["0777"]}, "'shop': phone_numbers: '0777'"),
        ({"agents": []}, "'shop': agents"),
        ({"agents": ["not-an-address"]}, r"'shop': agents\[0\]: 'not-an-address'"),
        ({"agents": ["a@shop.test", "A@shop.test"]}, "an address is listed twice"),
        ({"agents": [{"email": "a@shop.test", "role": "x"}]}, r"agents\[0\]: an address or"),
        ({"agents": [{"email": "a@shop.test", "hours": {"xyz": []}}]}, r"agents\[0\]: hours"),
        ({"support_address": "nope"}, "'shop': 'nope' is not an e-mail address"),
        ({"notify": "some"}, "notify: 'assignee' or 'all'"),
        ({"auto_replies_per_hour": -1}, "auto_replies_per_hour: must not be negative"),
        ({"retention_days": 7, "reopen_window_days": 7}, "reopen_window_days: 0 up to"),
        ({"reply_templates": {"Bad Name": "x"}}, "reply_templates: 'Bad Name'"),
        ({"reply_templates": {"ok": " "}}, "reply_templates: 'ok'"),
        (
            {"reply_templates": {"ok": "It is {order.colour}"}},
            "reply_templates: 'ok' uses {order.colour}; an order has {order.number}",
        ),
        ({"survey": "yes"}, "survey: expected bool"),
        ({"whatsapp_template": {"content_sid": "HX1"}}, "whatsapp_template.content_sid"),
        (
            {"whatsapp_template": {"content_sid": "HX" + "a" * 32, "variables": {"1": "{x}"}}},
            r"whatsapp_template.variables\['1'\]: unknown \['x'\]",
        ),
        ({"ack_template": "no deadline"}, r"'shop': ack_templates\['en'\]: must state"),
        ({"ack_templates": {"cs": "{deadline} {other}"}}, r"ack_templates\['cs'\]: unknown"),
        ({"ack_templates": {"de": "{deadline"}}, r"ack_templates\['de'\]"),
        ({"no_reply_senders": ["noreply@shop.test"]}, "no_reply_senders: 'noreply@shop.test'"),
        ({"no_reply_senders": "noreply"}, "no_reply_senders: expected list"),
    ],
)
def test_invalid_store_names_the_store_and_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_store({**VALID, **change})


def test_unattended_senders_default_to_the_usual_mailboxes_and_a_store_may_name_its_own() -> None:
    default = parse_store(VALID).no_reply_senders
    assert {"noreply", "no-reply", "no.reply", "mailer-daemon", "postmaster", "abuse", "root"} <= (
        default
    )
    own = parse_store({**VALID, "no_reply_senders": ["Alerts", "noreply"]}).no_reply_senders
    assert own == {"alerts", "noreply"}


def test_agents_may_have_names_and_duty_hours_and_are_found_by_any_of_their_names() -> None:
    store = parse_store(
        {
            **VALID,
            "agents": [
                "a@shop.test",
                {"email": "Kim@Shop.Test", "name": "Kim Novak", "hours": {"sat": ["10:00-14:00"]}},
            ],
            "notify": "all",
            "reply_templates": {"shipping": "Ships in 2 days."},
            "survey": True,
            "whatsapp_template": {"content_sid": "HX" + "a" * 32, "variables": {"1": "{reply}"}},
        }
    )
    assert [(a.email, a.name, a.hours is not None) for a in store.team] == [
        ("a@shop.test", "a", False),
        ("kim@shop.test", "Kim Novak", True),
    ]
    assert store.agents == {"a@shop.test", "kim@shop.test"}
    for name in ("kim", "KIM NOVAK", "kim@shop.test", "Kim"):
        assert store.agent(name) == store.team[1], name
    assert store.agent("novak") is None
    assert (store.notify_all, store.survey) == (True, True)
    assert store.whatsapp_template is not None
    assert store.whatsapp_template.variables == {"1": "{reply}"}
    assert parse_store(VALID).notify_all is False
    assert parse_store(VALID).whatsapp_template is None


def test_a_number_may_belong_to_one_store_only(tmp_path: Path) -> None:
    path = tmp_path / "stores.json"
    other = {**VALID, "id": "other", "support_address": "help@other.test"}
    path.write_text(json.dumps({"stores": [VALID, other]}))
    with pytest.raises(ConfigError, match=r"\+15005550006 is configured twice"):
        load_stores(path)
    path.write_text(json.dumps({"stores": [VALID, {**VALID, "id": "other", "phone_numbers": []}]}))
    with pytest.raises(ConfigError, match="support_address"):
        load_stores(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        load_stores(path)


class FakeSSM:
    def __init__(self) -> None:
        self.calls = 0

    def get_paginator(self, name: str) -> FakeSSM:
        assert name == "get_parameters_by_path"
        return self

    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls += 1
        assert kwargs == {"Path": "/relaydesk/prod", "WithDecryption": True, "Recursive": False}
        return [{"Parameters": [{"Name": "/relaydesk/prod/TWILIO_AUTH_TOKEN", "Value": "t0k"}]}]


def test_secrets_come_from_the_environment_first_then_ssm_once() -> None:
    ssm = FakeSSM()
    secrets = Secrets(
        {"SECRETS_SSM_PREFIX": "/relaydesk/prod", "SENDGRID_API_KEY": "env"}, ssm_client=ssm
    )
    assert secrets.get("SENDGRID_API_KEY") == "env"
    assert secrets.get("TWILIO_AUTH_TOKEN") == "t0k"
    assert secrets.get("TWILIO_AUTH_TOKEN") == "t0k"
    assert ssm.calls == 1
    with pytest.raises(ConfigError, match="REPLY_TOKEN_SECRET is not set"):
        secrets.get("REPLY_TOKEN_SECRET")


class ThrottledSSM(FakeSSM):
    def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError

        self.calls += 1
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise ClientError(error, "GetParametersByPath")  # type: ignore[arg-type]


def test_ssm_that_throttles_is_our_outage_and_is_asked_again_next_time() -> None:
    """After a deploy, many cold starts read SSM at once: a throttled read (after botocore's
    bounded, jittered retries) is SecretsUnavailable (the webhook's 503), not a crash, and
    nothing is cached, so the next request reads again."""
    ssm = ThrottledSSM()
    secrets = Secrets({"SECRETS_SSM_PREFIX": "/relaydesk/prod"}, ssm_client=ssm)
    for _ in range(2):
        with pytest.raises(SecretsUnavailable, match="Rate exceeded"):
            secrets.get("TWILIO_AUTH_TOKEN")
    assert ssm.calls == 2


def test_the_ssm_client_answers_within_twilios_wait() -> None:
    attempts = SSM_CLIENT_LIMITS["retries"]["total_max_attempts"]
    per_attempt = SSM_CLIENT_LIMITS["connect_timeout"] + SSM_CLIENT_LIMITS["read_timeout"]
    backoff = sum(2**n for n in range(attempts - 1))  # botocore standard: at most 2^n s each
    assert attempts * per_attempt + backoff <= 12  # Twilio waits 15 s

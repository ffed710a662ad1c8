"""`relaydesk providers sync [--stage S] [--url URL] [--dry-run]`: point the providers at
the deployed API, so that nobody copies a URL into a console by hand (a typo loses messages).

Twilio, for every number of every configured store, through the IncomingPhoneNumbers API
(the `twilio` SDK: list the number, update what differs):
  - SmsUrl     <base>/webhooks/twilio/messaging#<connection overrides>, SmsMethod POST
  - SmsFallbackUrl  <base>/webhooks/twilio/fallback, SmsFallbackMethod POST
  - SmsApplicationSid cleared: a TwiML App on the number would override both URLs.
  - for a store with a `voice` section only: VoiceUrl <base>/webhooks/twilio/voice,
    VoiceFallbackUrl <base>/webhooks/twilio/voice/fallback and the calls' StatusCallback
    <base>/webhooks/twilio/voice/status (a caller who hangs up during the greeting is a
    missed call), all POST, VoiceApplicationSid cleared; a store without one keeps its
    number's calls where they go (said in a note).
  Message status callbacks are not a number setting: every message the app sends names
  <base>/webhooks/twilio/status itself (the number's StatusCallback is for calls). A
  number that is not in the account is an error naming its store, and nothing is changed.
SendGrid, through the Inbound Parse settings API (the `sendgrid` SDK,
`user/webhooks/parse/settings`): one setting for the reply domain (agents' replies) and one
for each store's support address's domain, posting to
`https://<user>:<INBOUND_PARSE_PASSWORD>@<api>/webhooks/sendgrid/inbound`; created when
missing, its URL updated when it differs, spam check and raw mode left as the owner chose
(relaydesk reads both modes). What the API cannot set is explained: the host's MX record.

Idempotent: a setting already right is left alone, and a second run changes nothing.
`--dry-run` prints each difference (current -> wanted, the password masked) and changes
nothing. Without `--stage` it talks to the local sandbox's Twilio and SendGrid (the local
stack's numbers and settings, GET /sandbox/settings); with it, to the real ones, with the
deployment's secrets from SSM; `relaydesk deploy` runs it after the app stack.

A channel that needs more wiring adds to it: a number setting (as the voice channel's
Voice URLs) is one function in NUMBER_SETTINGS; another provider (Meta's webhooks) is one more
`Wiring` in `wirings()`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from chalicelib import routes
from chalicelib.channels.twilio_messaging import override_fragment
from relaydesk.local_env import local_environment
from relaydesk.packaging import PROJECT_ROOT

if TYPE_CHECKING:
    from chalicelib.settings import Secrets, Settings
    from chalicelib.stores import StoreConfig

SECRET_SHOWN_AS: Final = "<INBOUND_PARSE_PASSWORD>"  # noqa: S105 - a name, not a secret
PLACEHOLDER_BASE: Final = "https://<api-id>.execute-api.<region>.amazonaws.com/api"
"""A dry run before the first deploy: the API's URL does not exist yet."""


class SyncError(Exception):
    """A provider refused or did not answer, or the configuration names something the
    provider's account does not have; the message says which, and what to do."""


@dataclass(frozen=True)
class Endpoints:
    """Where relaydesk receives each provider's requests."""

    base_url: str
    """The API's public URL, stage path included (PUBLIC_BASE_URL)."""
    reply_domain: str
    parse_user: str
    parse_password: str

    def url(self, route: str) -> str:
        return self.base_url.rstrip("/") + route

    def parse_url(self, route: str = routes.SENDGRID_INBOUND) -> str:
        """An Inbound Parse URL, with the HTTP Basic credentials SendGrid sends."""
        scheme, _, rest = self.url(route).partition("://")
        return f"{scheme}://{self.parse_user}:{self.parse_password}@{rest}"

    def shown(self, text: str) -> str:
        """`text` fit to print: our password by its name, any other URL password masked."""
        if self.parse_password:
            text = text.replace(f":{self.parse_password}@", f":{SECRET_SHOWN_AS}@")
        return re.sub(r"(://[^:/@\s]+:)(?!<INBOUND_PARSE_PASSWORD>@)[^@/\s]+@", r"\1***@", text)


@dataclass(frozen=True)
class Change:
    field: str
    current: str | None
    """None: the setting does not exist yet."""
    wanted: str


@dataclass
class Step:
    """One provider resource (a number, a parse setting): its differences, and how to make
    them (None when there are none)."""

    provider: str
    target: str
    changes: list[Change]
    apply: Callable[[], None] | None = None
    creates: bool = False


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the provider's API cannot set, for the owner to do or check."""
    problems: list[str] = field(default_factory=list)
    """Errors that stop the sync before anything is changed."""


class Wiring(Protocol):
    """One provider's side of the sync: read its settings, plan the differences."""

    name: str

    def plan(self, stores: Sequence[StoreConfig], endpoints: Endpoints) -> Plan: ...


NumberSettings = Callable[["StoreConfig", Endpoints], dict[str, str]]
"""A channel's fields of a store's Twilio number (the SDK's IncomingPhoneNumber names)."""


def messaging_settings(store: StoreConfig, endpoints: Endpoints) -> dict[str, str]:
    """SMS (and MMS) to the messaging webhook with its connection overrides, and its
    Fallback URL to the parking path (web.twilio_fallback_webhook)."""
    return {
        "sms_url": f"{endpoints.url(routes.TWILIO_MESSAGING)}#{override_fragment()}",
        "sms_method": "POST",
        "sms_fallback_url": endpoints.url(routes.TWILIO_FALLBACK),
        "sms_fallback_method": "POST",
        "sms_application_sid": "",
    }


def voice_settings(store: StoreConfig, endpoints: Endpoints) -> dict[str, str]:
    """Calls to the Voice URL (flows/receive_voice.py) and its Voice Fallback URL to the
    path that takes the voicemail without the database (web.twilio_voice_fallback_webhook),
    no TwiML App (it would override both): only for a store with a `voice` section. A store
    without one may keep its own phone system on the number (`voice_note`). The calls'
    StatusCallback: the end of a call whose caller hung up before any URL its TwiML names."""
    if not store.voice.configured:
        return {}
    return {
        "voice_url": endpoints.url(routes.TWILIO_VOICE),
        "voice_method": "POST",
        "voice_fallback_url": endpoints.url(routes.TWILIO_VOICE_FALLBACK),
        "voice_fallback_method": "POST",
        "status_callback": endpoints.url(routes.TWILIO_VOICE_STATUS),
        "status_callback_method": "POST",
        "voice_application_sid": "",
    }


def voice_note(store: StoreConfig, endpoints: Endpoints) -> str | None:
    if store.voice.configured or not store.phone_numbers:
        return None
    numbers = ", ".join(sorted(store.phone_numbers))
    return (
        f"store {store.store_id}: no `voice` section, so the Voice URL of {numbers} is left as "
        "it is (its calls keep going where they go now); add a `voice` section to the store "
        f"for relaydesk to take them ({endpoints.url(routes.TWILIO_VOICE)})"
    )


NUMBER_SETTINGS: list[NumberSettings] = [messaging_settings, voice_settings]
"""Every channel's number settings."""
NUMBER_NOTES: list[Callable[[StoreConfig, Endpoints], str | None]] = [voice_note]
"""What a channel leaves alone on a store's numbers, said in the output."""


class TwilioNumbers:
    """Each store number's webhooks, through Twilio's IncomingPhoneNumbers API."""

    name = "twilio"

    def __init__(
        self,
        client: Any,
        settings: Sequence[NumberSettings] = NUMBER_SETTINGS,
        notes: Sequence[Callable[[StoreConfig, Endpoints], str | None]] = NUMBER_NOTES,
    ) -> None:
        self._client = client
        self._settings = tuple(settings)
        self._notes = tuple(notes)

    def plan(self, stores: Sequence[StoreConfig], endpoints: Endpoints) -> Plan:
        plan = Plan()
        for store in stores:
            for number in sorted(store.phone_numbers):
                target = f"{number} (store {store.store_id})"
                found = [n for n in self._list(number) if n.phone_number == number]
                if not found:
                    plan.problems.append(
                        f"store {store.store_id!r}: {number} is not a number of the Twilio "
                        f"account {self._client.account_sid} (check phone_numbers in the "
                        "stores' configuration, or the account SID)"
                    )
                    continue
                instance = found[0]
                wanted: dict[str, str] = {}
                for settings in self._settings:
                    wanted.update(settings(store, endpoints))
                changes = [
                    Change(name, getattr(instance, name, None) or "", value)
                    for name, value in wanted.items()
                    if (getattr(instance, name, None) or "") != value
                ]
                update = {c.field: c.wanted for c in changes}
                plan.steps.append(
                    Step(
                        self.name,
                        target,
                        changes,
                        partial(self._update, instance.sid, update) if changes else None,
                    )
                )
        for store in stores:
            plan.notes.extend(n for note in self._notes if (n := note(store, endpoints)))
        plan.notes.append(
            "Twilio message status callbacks: nothing to set on the numbers, every message "
            f"relaydesk sends names {endpoints.url(routes.TWILIO_STATUS)} itself"
        )
        if any(store.phone_numbers for store in stores):
            plan.notes.append(
                "WhatsApp: a number that is also a WhatsApp sender takes its webhook from the "
                "sender (Twilio console, Messaging > Senders > WhatsApp senders): set the same "
                "two URLs there; a number in a Messaging Service with its own inbound webhook "
                "uses the service's instead"
            )
        return plan

    def _list(self, number: str) -> list[Any]:
        from twilio.base.exceptions import TwilioException

        try:
            return list(self._client.incoming_phone_numbers.list(phone_number=number, limit=20))
        except TwilioException as exc:
            raise SyncError(f"Twilio: listing {number}: {_twilio_reason(exc)}") from exc
        except OSError as exc:
            raise SyncError(f"Twilio did not answer: {exc}") from exc

    def _update(self, sid: str, fields: dict[str, str]) -> None:
        from twilio.base.exceptions import TwilioException

        try:
            self._client.incoming_phone_numbers(sid).update(**fields)
        except TwilioException as exc:
            raise SyncError(f"Twilio: updating {sid}: {_twilio_reason(exc)}") from exc
        except OSError as exc:
            raise SyncError(f"Twilio did not answer: {exc}") from exc


def _twilio_reason(exc: Exception) -> str:
    """Twilio's error code and message: a TwilioRestException carries them; a list's page
    that failed is a plain TwilioException holding the response, whose body has them."""
    code, message = getattr(exc, "code", None), getattr(exc, "msg", str(exc))
    response = exc.args[1] if len(exc.args) > 1 else None
    if code is None and isinstance(getattr(response, "text", None), str):
        try:
            body = json.loads(response.text)  # type: ignore[union-attr]
        except ValueError:
            body = {}
        if isinstance(body, dict):
            code, message = body.get("code"), body.get("message", message)
    if code == 20003:
        return "20003 the account SID or auth token is wrong (TWILIO_ACCOUNT_SID, make secrets)"
    return f"{code} {message}" if code else str(message)


class SendGridParse:
    """An Inbound Parse setting for each host relaydesk receives mail on."""

    name = "sendgrid"

    def __init__(self, client: Any) -> None:
        self._client = client

    def plan(self, stores: Sequence[StoreConfig], endpoints: Endpoints) -> Plan:
        plan = Plan()
        # The reply domain posts to the Lambda route; support mail (photos, up to 10 MB) to
        # the route API Gateway stores in S3 (routes.SENDGRID_MAIL).
        reply = endpoints.reply_domain.lower()
        hosts: dict[str, str] = {reply: "the reply domain"}
        for store in stores:
            host = store.support_address.rsplit("@", 1)[-1].lower()
            hosts.setdefault(host, f"store {store.store_id}'s support address")
        current = {str(s.get("hostname", "")).lower(): s for s in self._settings()}
        for host, why in hosts.items():
            url = endpoints.parse_url(
                routes.SENDGRID_INBOUND if host == reply else routes.SENDGRID_MAIL
            )
            target = f"inbound parse {host} ({why})"
            setting = current.get(host)
            if setting is None:
                body = {"hostname": host, "url": url, "spam_check": False, "send_raw": False}
                plan.steps.append(
                    Step(
                        self.name,
                        target,
                        [Change("url", None, url)],
                        partial(self._call, "post", None, body),
                        creates=True,
                    )
                )
            elif setting.get("url") != url:
                plan.steps.append(
                    Step(
                        self.name,
                        target,
                        [Change("url", str(setting.get("url") or ""), url)],
                        partial(self._call, "patch", host, {"url": url}),
                    )
                )
            else:
                plan.steps.append(Step(self.name, target, []))
        plan.notes.append(
            "SendGrid: each of these hosts must be a domain authenticated in SendGrid, with "
            "an MX record `10 mx.sendgrid.net.` in its DNS (all mail to the host then comes "
            f"to relaydesk; SendGrid's API cannot set DNS): {', '.join(hosts)}"
        )
        return plan

    def _settings(self) -> list[dict[str, Any]]:
        response = self._call("get", None, None)
        try:
            result = json.loads(response.body or b"{}").get("result", [])
        except ValueError as exc:
            raise SyncError(f"SendGrid answered something that is not JSON: {exc}") from exc
        return [s for s in result if isinstance(s, dict)]

    def _call(self, verb: str, host: str | None, body: dict[str, Any] | None) -> Any:
        from python_http_client.exceptions import HTTPError

        resource = self._client.client.user.webhooks.parse.settings
        if host is not None:
            resource = resource._(host)
        try:
            method = getattr(resource, verb)
            return method(request_body=body) if body is not None else method()
        except HTTPError as exc:
            status = getattr(exc, "status_code", "?")
            hint = (
                " (the API key needs the Inbound Parse permission: Settings > API Keys)"
                if status in (401, 403)
                else ""
            )
            detail = str(getattr(exc, "body", b"") or b"", "utf-8", "replace")[:300]
            message = f"SendGrid: {verb} parse settings: HTTP {status}{hint} {detail}"
            raise SyncError(message) from exc
        except OSError as exc:
            raise SyncError(f"SendGrid did not answer: {exc}") from exc


def run_sync(
    wirings: Sequence[Wiring],
    stores: Sequence[StoreConfig],
    endpoints: Endpoints,
    *,
    dry_run: bool,
    out: TextIO | None = None,
) -> int:
    """Plan every provider first; with a problem, print it and change nothing (1). Else
    print each difference, make it unless `dry_run`, and print what was done (0)."""
    stream = out or sys.stdout  # looked up now: a test's capture replaces sys.stdout

    def say(line: str) -> None:
        print(endpoints.shown(line), file=stream, flush=True)

    try:
        plans = [(wiring.name, wiring.plan(stores, endpoints)) for wiring in wirings]
    except SyncError as exc:
        say(f"providers sync: {exc}; nothing was changed")
        return 1
    problems = [p for _, plan in plans for p in plan.problems]
    if problems:
        for problem in problems:
            say(f"providers sync: {problem}")
        say("providers sync: nothing was changed")
        return 1
    mode = "dry run, nothing is changed" if dry_run else "changing what differs"
    say(f"providers sync for {endpoints.base_url} ({mode}):")
    pending = 0
    for _, plan in plans:
        for step in plan.steps:
            if not step.changes:
                say(f"  {step.provider} {step.target}: already right")
                continue
            pending += 1
            verb = "create" if step.creates else "change"
            say(f"  {step.provider} {step.target}: {'would ' + verb if dry_run else verb}")
            for change in step.changes:
                current = "(none)" if change.current is None else repr(change.current)
                say(f"      {change.field}: {current} -> {change.wanted!r}")
            if not dry_run and step.apply is not None:
                try:
                    step.apply()
                except SyncError as exc:
                    say(f"providers sync: {exc}")
                    return 1
                say("      done")
    for _, plan in plans:
        for note in plan.notes:
            say(f"  note: {note}")
    if dry_run:
        say(f"{pending} setting(s) would change; run without --dry-run to change them")
    else:
        say(f"{pending} setting(s) changed" if pending else "nothing to change")
    return 0


def twilio_client(account_sid: str, auth_token: str, sandbox_url: str | None) -> Any:
    from twilio.rest import Client

    from chalicelib.channels.twilio_messaging import sandbox_http_client

    http_client = sandbox_http_client(sandbox_url) if sandbox_url else None
    return Client(account_sid, auth_token, http_client=http_client)


def sendgrid_client(api_key: str, sandbox_url: str | None) -> Any:
    from sendgrid import SendGridAPIClient

    kwargs = {"host": f"{sandbox_url}/sendgrid"} if sandbox_url else {}
    return SendGridAPIClient(api_key, **kwargs)


def wirings(settings: Settings, secrets: Secrets, sandbox_url: str | None) -> list[Wiring]:
    """Every provider's wiring, its client built from the deployment's settings and
    secrets; `sandbox_url`: the local sandbox instead of the providers."""
    from chalicelib.settings import ConfigError

    account_sid = settings.twilio_account_sid
    if "REPLACE-WITH" in account_sid:
        raise ConfigError(
            "TWILIO_ACCOUNT_SID in .chalice/config.json is still the placeholder: set the "
            "account's SID (Twilio console, Account info)"
        )
    return [
        TwilioNumbers(twilio_client(account_sid, secrets.get("TWILIO_AUTH_TOKEN"), sandbox_url)),
        SendGridParse(sendgrid_client(secrets.get("SENDGRID_API_KEY"), sandbox_url)),
    ]


def stage_environment(stage: str) -> dict[str, str]:
    """The environment `.chalice/config.json` gives the stage's functions."""
    config = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text())
    environ = dict(config.get("environment_variables", {}))
    environ.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    environ.setdefault("SECRETS_SSM_PREFIX", f"/relaydesk/{stage}")
    return {k: str(v) for k, v in environ.items()}


def app_endpoint(stage: str, endpoint_url: str | None) -> str | None:
    """The app stack's EndpointURL output (the API's URL), None before the first deploy."""
    import boto3
    from botocore.exceptions import ClientError

    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint_url)
    try:
        stack = cloudformation.describe_stacks(StackName=f"relaydesk-{stage}-app")["Stacks"][0]
    except ClientError:
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    url = outputs.get("EndpointURL")
    return str(url).rstrip("/") if url else None


def sync(
    *,
    stage: str | None,
    base_url: str | None,
    dry_run: bool,
    sandbox_url: str | None,
    endpoint_url: str | None = None,
    out: TextIO | None = None,
) -> int:
    """The sync for a stage in AWS (`stage`; `endpoint_url`: its emulator, then the
    providers are the sandbox's too) or for the local stack (`stage` None: the sandbox)."""
    out = out or sys.stdout
    from chalicelib.settings import ConfigError, Secrets, SecretsUnavailable, Settings
    from chalicelib.stores import load_stores

    if stage is None:
        environ = {
            **local_environment(app_url=base_url or "", aws_url="", sandbox_url=sandbox_url or ""),
            **{k: v for k, v in os.environ.items() if k == "STORES_FILE"},
        }
        providers = sandbox_url
    else:
        environ = {**stage_environment(stage), **_overrides(os.environ)}
        if endpoint_url:
            environ["AWS_ENDPOINT_URL"] = endpoint_url
        providers = sandbox_url if endpoint_url else None
    ssm = None
    if endpoint_url:
        import boto3

        ssm = boto3.client("ssm", endpoint_url=endpoint_url)
    settings, secrets = Settings(environ), Secrets(environ, ssm_client=ssm)
    try:
        base = (
            base_url
            or settings.configured_public_base_url
            or (app_endpoint(stage, endpoint_url) if stage else None)
        )
        if base is None:
            if not dry_run:
                print(
                    "providers sync: the API's URL is not known yet: deploy first "
                    "(make deploy), or give it with --url",
                    file=out,
                )
                return 1
            base = PLACEHOLDER_BASE
        endpoints = Endpoints(
            base_url=base.rstrip("/"),
            reply_domain=settings.reply_domain,
            parse_user=settings.inbound_parse_user,
            parse_password=secrets.get("INBOUND_PARSE_PASSWORD"),
        )
        stores = load_stores(settings.stores_file).all()
        chosen = wirings(settings, secrets, providers)
    except (ConfigError, SecretsUnavailable) as exc:
        print(f"providers sync: {exc}", file=out)
        return 1
    return run_sync(chosen, stores, endpoints, dry_run=dry_run, out=out)


def _overrides(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """What the caller's environment may set over the stage's configuration."""
    names = ("PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID", "STORES_FILE")
    return {name: environ[name] for name in names if environ.get(name)}


def sync_command(args: argparse.Namespace) -> int:
    return sync(
        stage=args.stage,
        base_url=args.url or (None if args.stage else args.app_url),
        dry_run=args.dry_run,
        sandbox_url=args.sandbox_url,
        endpoint_url=args.endpoint_url,
    )

"""Deployment settings from the environment, and secrets.

Both are read once, when first needed, with an error that names what is wrong. Secrets
never live in the stores' configuration file (chalicelib/stores.py): locally they come from
the environment, in AWS from SSM Parameter Store (a SecureString under `SECRETS_SSM_PREFIX`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

DEFAULT_STORES_FILE = Path(__file__).with_name("stores.json")
# The queues' names when the environment names none: the one definition that app.py (which
# subscribes the handlers), the container (which sends) and packaging (which patches the
# timers' event source) share.
DEFAULT_JOBS_QUEUE = "relaydesk-jobs"
DEFAULT_TIMERS_QUEUE = "relaydesk-timers"
DEFAULT_INBOX_QUEUE = "relaydesk-inbox"
"""Twilio requests parked by the Fallback URL, replayed by `on_parked`."""


class ConfigError(ValueError):
    """The store configuration or the settings are invalid; the message says where."""


SSM_CLIENT_LIMITS: dict[str, Any] = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "total_max_attempts": 3},
}
"""After a deploy many containers start at once and SSM throttles them: botocore's standard
retries back off with jitter, and three attempts of at most 3 s each, with their waits, end
well inside Twilio's 15 s, so that the webhook can still answer 503 in time."""


class SecretsUnavailable(Exception):
    """SSM refused or did not answer in time: our infrastructure, so a webhook answers 503
    and the provider retries."""


class Secrets:
    """Secret values by name: the environment first, then SSM Parameter Store.

    SSM is read once per container (one request for all parameters under the prefix, kept
    for the container's life: Lambda reuses it across invocations), and only when a secret
    is missing from the environment.
    """

    def __init__(self, environ: Mapping[str, str], ssm_client: Any = None) -> None:
        self._environ = environ
        self._ssm_client = ssm_client
        self._from_ssm: dict[str, str] | None = None

    def get(self, name: str) -> str:
        if value := self._environ.get(name):
            return value
        prefix = self._environ.get("SECRETS_SSM_PREFIX")
        if prefix:
            if self._from_ssm is None:
                self._from_ssm = self._load_ssm(prefix)
            if value := self._from_ssm.get(name):
                return value
        raise ConfigError(f"secret {name} is not set (environment or SSM {prefix or '-'})")

    def _load_ssm(self, prefix: str) -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._ssm_client
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("ssm", config=Config(**SSM_CLIENT_LIMITS))
        values: dict[str, str] = {}
        try:
            paginator = client.get_paginator("get_parameters_by_path")
            for page in paginator.paginate(Path=prefix, WithDecryption=True, Recursive=False):
                for parameter in page["Parameters"]:
                    values[parameter["Name"].rsplit("/", 1)[-1]] = parameter["Value"]
        except (BotoCoreError, ClientError) as exc:
            raise SecretsUnavailable(f"cannot read the secrets under {prefix}: {exc}") from exc
        return values


@dataclass(frozen=True)
class Settings:
    """Non-secret deployment settings, from the environment (`.chalice/config.json`)."""

    environ: Mapping[str, str]

    @classmethod
    def from_env(cls) -> Settings:
        return cls(dict(os.environ))

    def _get(self, name: str, default: str | None = None) -> str:
        value = self.environ.get(name, default)
        if not value:
            raise ConfigError(f"setting {name} is not set")
        return value

    @cached_property
    def configured_public_base_url(self) -> str | None:
        """PUBLIC_BASE_URL when set: a custom domain, the local stack, or (in the queue
        functions) the API's URL that `relaydesk deploy` derives from the app stack.
        A placeholder left in `.chalice/config.json` is an error, not a URL."""
        value = (self.environ.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
        if not value:
            return None
        if "REPLACE-WITH" in value or not value.startswith(("https://", "http://")):
            raise ConfigError(
                f"setting PUBLIC_BASE_URL is not a URL ({value[:80]!r}): remove it from "
                ".chalice/config.json (relaydesk deploy derives the API's URL) or set it to "
                "the custom domain Twilio and SendGrid call, stage path included"
            )
        return value

    @cached_property
    def public_base_url(self) -> str:
        """The URL Twilio calls, stage path included: signatures are computed over it, and
        the jobs name it in status callback URLs and links (no request to learn it from)."""
        value = self.configured_public_base_url
        if value is None:
            raise ConfigError(
                "setting PUBLIC_BASE_URL is not set: the API's public URL, which jobs and "
                "timers need outside a request. `relaydesk deploy` puts the app stack's "
                "EndpointURL in the queue functions' environment and `relaydesk stack` the "
                "local app's; a plain `chalice deploy` does not (use `make deploy`)"
            )
        return value

    def public_base_url_for(self, received: str | None) -> str:
        """The base URL a request's signature and the URLs named in its answer are under:
        the configured one (a custom domain, the local stack) wins, else the URL the request
        came in on (`WebhookRequest.base_url`: the API handler has no PUBLIC_BASE_URL in
        AWS), else the setting is required (ConfigError, naming it). The one place this
        choice is made: the Twilio webhooks' signature check and the voice TwiML use it."""
        return self.configured_public_base_url or received or self.public_base_url

    @cached_property
    def reply_domain(self) -> str:
        return self._get("REPLY_DOMAIN").lower()

    @cached_property
    def jobs_queue_name(self) -> str:
        return self._get("JOBS_QUEUE_NAME", DEFAULT_JOBS_QUEUE)

    @cached_property
    def timers_queue_name(self) -> str:
        return self._get("TIMERS_QUEUE_NAME", DEFAULT_TIMERS_QUEUE)

    @cached_property
    def jobs_queue_url(self) -> str | None:
        return self.environ.get("JOBS_QUEUE_URL") or None

    @cached_property
    def inbox_queue_name(self) -> str:
        return self._get("INBOX_QUEUE_NAME", DEFAULT_INBOX_QUEUE)

    @cached_property
    def inbox_queue_url(self) -> str | None:
        """Saves the fallback path its one GetQueueUrl when set."""
        return self.environ.get("INBOX_QUEUE_URL") or None

    @cached_property
    def stores_file(self) -> Path:
        return Path(self.environ.get("STORES_FILE") or DEFAULT_STORES_FILE)

    @cached_property
    def sandbox_url(self) -> str | None:
        """Set locally and in tests: outbound Twilio/SendGrid calls go to this sandbox."""
        return self.environ.get("PROVIDER_SANDBOX_URL") or None

    @cached_property
    def twilio_account_sid(self) -> str:
        return self._get("TWILIO_ACCOUNT_SID")

    @cached_property
    def sendgrid_parse_public_key(self) -> str | None:
        """When set, Inbound Parse posts must also carry SendGrid's ECDSA signature."""
        return self.environ.get("SENDGRID_PARSE_PUBLIC_KEY") or None

    @cached_property
    def inbound_parse_user(self) -> str:
        return self._get("INBOUND_PARSE_USER", "parse")

    @cached_property
    def mail_bucket(self) -> str:
        """The private bucket of stored Inbound Parse posts and their attachments (the
        data stack's MailBucketName; `relaydesk package` sets it on every function)."""
        return self._get("MAIL_BUCKET")

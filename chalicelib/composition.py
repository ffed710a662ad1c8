"""The one composition root: builds every adapter from settings, lazily, once per container.

Lambda reuses a container across requests, so clients are built on first use and kept.
Nothing heavy is imported until a request needs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib import routes
from chalicelib.channels.port import (
    ChannelAdapter,
    Channels,
    InboundAdapter,
    LineTypes,
    Mailer,
    TextMessenger,
)
from chalicelib.channels.text_channel import TextChannel
from chalicelib.domain.messages import Channel, InboundMessage
from chalicelib.queues import JobQueue
from chalicelib.settings import ConfigError, Secrets, Settings
from chalicelib.store.repository import Repository

if TYPE_CHECKING:
    from chalicelib.channels.meta_send import GraphSender
    from chalicelib.channels.meta_webhook import MetaBatch
    from chalicelib.channels.port import Recordings
    from chalicelib.channels.sendgrid_inbound import SendGridInbound
    from chalicelib.channels.twilio_messaging import StatusUpdate
    from chalicelib.channels.twilio_voice import (
        Call,
        CallEnded,
        DialResult,
        Recording,
        Transcription,
    )
    from chalicelib.commerce.port import Shop
    from chalicelib.domain.mail import InboundEmail
    from chalicelib.mail_files import MailFiles
    from chalicelib.transcribe import Transcriber
from chalicelib.stores import StoreConfig, Stores, load_stores

log = logging.getLogger(__name__)

SQS_CLIENT_LIMITS: dict[str, Any] = {
    "connect_timeout": 1,
    "read_timeout": 3,
    "retries": {"mode": "standard", "total_max_attempts": 3},
}
"""At most about 3 x 4 s with backoff: inside Twilio's 15 s, after the DynamoDB write."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Container:
    def __init__(
        self,
        settings: Settings,
        secrets: Secrets | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.secrets = secrets or Secrets(settings.environ)
        self.clock = clock

    @cached_property
    def stores(self) -> Stores:
        return load_stores(self.settings.stores_file)

    @cached_property
    def repository(self) -> Repository:
        return Repository(clock=self.clock)

    @cached_property
    def sqs(self) -> Any:
        """One client for both queues, with timeouts that fit a webhook's budget (Twilio
        waits 15 s): boto3's own are 60 s, a stall that would outlive the request."""
        import boto3
        from botocore.config import Config

        return boto3.client("sqs", config=Config(**SQS_CLIENT_LIMITS))

    @cached_property
    def jobs(self) -> JobQueue:
        return JobQueue(
            self.sqs,
            queue_name=self.settings.jobs_queue_name,
            queue_url=self.settings.jobs_queue_url,
        )

    @cached_property
    def inbox(self) -> JobQueue:
        """Where Twilio's Fallback URL parks requests (ParkedRequest) for `on_parked`."""
        return JobQueue(
            self.sqs,
            queue_name=self.settings.inbox_queue_name,
            queue_url=self.settings.inbox_queue_url,
        )

    @cached_property
    def timers(self) -> JobQueue:
        return JobQueue(self.sqs, queue_name=self.settings.timers_queue_name)

    @cached_property
    def reply_secret(self) -> bytes:
        return self.secrets.get("REPLY_TOKEN_SECRET").encode()

    @cached_property
    def twilio_auth_token(self) -> str:
        return self.secrets.get("TWILIO_AUTH_TOKEN")

    @cached_property
    def inbound_parse_password(self) -> str:
        return self.secrets.get("INBOUND_PARSE_PASSWORD")

    @cached_property
    def twilio_messaging_webhook(self) -> InboundAdapter[InboundMessage]:
        from chalicelib.channels.twilio_messaging import (
            TwilioWebhook,
            override_fragment,
            to_inbound,
        )

        return TwilioWebhook(
            auth_token=lambda: self.twilio_auth_token,
            public_base_url=self.settings.public_base_url_for,
            clock=lambda: self.clock(),
            read=to_inbound,
            logged_ids=("MessageSid", "AccountSid"),
            fragment=override_fragment(),
        )

    @cached_property
    def twilio_fallback_webhook(self) -> InboundAdapter[Mapping[str, list[str]]]:
        """The Fallback URL's check: the signature over its own URL, nothing parsed beyond
        the form (the replay reads the message)."""
        from chalicelib.channels.twilio_messaging import TwilioWebhook

        return TwilioWebhook(
            auth_token=lambda: self.twilio_auth_token,
            public_base_url=self.settings.public_base_url_for,
            clock=lambda: self.clock(),
            read=lambda params, _: params,
            logged_ids=("MessageSid", "AccountSid"),
        )

    @cached_property
    def twilio_replay_webhook(self) -> InboundAdapter[InboundMessage]:
        """A parked request, verified again and read as the messaging webhook reads it."""
        from chalicelib.channels.twilio_messaging import TwilioWebhook, to_inbound

        return TwilioWebhook(
            auth_token=lambda: self.twilio_auth_token,
            public_base_url=self.settings.public_base_url_for,
            clock=lambda: self.clock(),
            read=to_inbound,
            logged_ids=("MessageSid", "AccountSid"),
        )

    @cached_property
    def twilio_status_webhook(self) -> InboundAdapter[StatusUpdate]:
        from chalicelib.channels.twilio_messaging import TwilioWebhook, to_status_update

        return TwilioWebhook(
            auth_token=lambda: self.twilio_auth_token,
            public_base_url=self.settings.public_base_url_for,
            clock=lambda: self.clock(),
            read=lambda params, _: to_status_update(params),
        )

    def _voice_webhook(self, read: Callable[[Mapping[str, list[str]], datetime], Any]) -> Any:
        """A Twilio Voice request, verified as the messaging webhooks are."""
        from chalicelib.channels.twilio_messaging import TwilioWebhook

        return TwilioWebhook(
            auth_token=lambda: self.twilio_auth_token,
            public_base_url=self.settings.public_base_url_for,
            clock=lambda: self.clock(),
            read=read,
            logged_ids=("CallSid", "RecordingSid", "AccountSid"),
        )

    @cached_property
    def twilio_voice_webhook(self) -> InboundAdapter[Call]:
        from chalicelib.channels.twilio_voice import to_call

        return self._voice_webhook(to_call)  # type: ignore[no-any-return]

    @cached_property
    def twilio_dial_webhook(self) -> InboundAdapter[DialResult]:
        from chalicelib.channels.twilio_voice import to_dial_result

        return self._voice_webhook(to_dial_result)  # type: ignore[no-any-return]

    @cached_property
    def twilio_recording_webhook(self) -> InboundAdapter[Recording]:
        from chalicelib.channels.twilio_voice import to_recording

        return self._voice_webhook(to_recording)  # type: ignore[no-any-return]

    @cached_property
    def twilio_call_status_webhook(self) -> InboundAdapter[CallEnded]:
        from chalicelib.channels.twilio_voice import to_call_ended

        return self._voice_webhook(to_call_ended)  # type: ignore[no-any-return]

    @cached_property
    def twilio_voice_fallback_webhook(self) -> InboundAdapter[Call]:
        """The Voice Fallback URL and its recording action: verified over their own URLs."""
        from chalicelib.channels.twilio_voice import to_call

        return self._voice_webhook(to_call)  # type: ignore[no-any-return]

    @cached_property
    def twilio_voice_replay_webhook(self) -> InboundAdapter[Recording]:
        """A recording the Voice Fallback URL parked, verified again and read as the
        recording callback reads it."""
        from chalicelib.channels.twilio_voice import to_recording

        return self._voice_webhook(to_recording)  # type: ignore[no-any-return]

    @cached_property
    def twilio_transcription_webhook(self) -> InboundAdapter[Transcription]:
        from chalicelib.channels.twilio_voice import to_transcription

        return self._voice_webhook(to_transcription)  # type: ignore[no-any-return]

    @cached_property
    def sendgrid_inbound_webhook(self) -> InboundAdapter[InboundEmail]:
        from chalicelib.channels.sendgrid_inbound import SendGridInbound

        return SendGridInbound(
            user=lambda: self.settings.inbound_parse_user,
            password=lambda: self.inbound_parse_password,
            public_key=lambda: self.settings.sendgrid_parse_public_key,
            clock=lambda: self.clock(),
        )

    @cached_property
    def meta_webhook(self) -> InboundAdapter[MetaBatch]:
        from chalicelib.channels.meta_webhook import MetaWebhook

        return MetaWebhook(
            app_secret=lambda: self.secrets.get("META_APP_SECRET"),
            clock=lambda: self.clock(),
        )

    @cached_property
    def meta_verify_token(self) -> str:
        return self.secrets.get("META_VERIFY_TOKEN")

    @cached_property
    def _graph_senders(self) -> dict[str, GraphSender]:
        return {}

    def graph_sender(self, store: StoreConfig) -> GraphSender:
        """The Send API as the store's page (its own token), built on first use and kept."""
        with _lock:
            sender = self._graph_senders.get(store.store_id)
        if sender is not None:
            return sender
        from chalicelib.channels.meta_send import GRAPH_URL, GraphClient
        from chalicelib.domain.meta_config import page_token_name

        sandbox = self.settings.sandbox_url
        client = GraphClient(
            self.secrets.get(page_token_name(store.store_id)),
            app_secret=self.secrets.get("META_APP_SECRET"),
            base_url=f"{sandbox}/meta" if sandbox else GRAPH_URL,
        )
        with _lock:
            return self._graph_senders.setdefault(store.store_id, client)

    @cached_property
    def sendgrid_stored_posts(self) -> SendGridInbound:
        """Inbound Parse posts that API Gateway stored in S3: checked as the webhook
        checks them, but for HTTP Basic, which the route's authorizer checked."""
        from chalicelib.channels.sendgrid_inbound import SendGridInbound

        return SendGridInbound(
            user=lambda: self.settings.inbound_parse_user,
            password=lambda: self.inbound_parse_password,
            public_key=lambda: self.settings.sendgrid_parse_public_key,
            clock=lambda: self.clock(),
        )

    @cached_property
    def s3(self) -> Any:
        """Built when a stored post or an attachment's link needs it: never on a webhook."""
        import boto3
        from botocore.config import Config

        from chalicelib.mail_files import S3_CLIENT_LIMITS

        return boto3.client("s3", config=Config(**S3_CLIENT_LIMITS))

    @cached_property
    def mail_files(self) -> MailFiles:
        from chalicelib.mail_files import MailFiles

        return MailFiles(lambda: self.s3, self.settings.mail_bucket)

    @cached_property
    def recordings(self) -> Recordings:
        """Twilio's Recordings API with the account's credentials (the sandbox's locally,
        through the same seams as the messenger)."""
        from chalicelib.channels.twilio_messaging import sandbox_http_client
        from chalicelib.channels.twilio_recordings import TWILIO_API, TwilioRecordings

        sandbox = self.settings.sandbox_url
        return TwilioRecordings(
            self.settings.twilio_account_sid,
            self.twilio_auth_token,
            api_base=f"{sandbox}/twilio" if sandbox else TWILIO_API,
            http_client=sandbox_http_client(sandbox) if sandbox else None,
        )

    @cached_property
    def transcribe(self) -> Any:
        """Built by the voicemail jobs only. Locally the sandbox stands in for Transcribe
        (moto's never writes a transcript): the same boto3 calls, another endpoint."""
        import boto3
        from botocore.config import Config

        from chalicelib.transcribe import TRANSCRIBE_CLIENT_LIMITS

        sandbox = self.settings.sandbox_url
        return boto3.client(
            "transcribe",
            config=Config(**TRANSCRIBE_CLIENT_LIMITS),
            endpoint_url=f"{sandbox}/transcribe" if sandbox else None,
        )

    @cached_property
    def transcriber(self) -> Transcriber:
        from chalicelib.transcribe import Transcriber

        return Transcriber(lambda: self.transcribe, self.settings.mail_bucket)

    @cached_property
    def messenger(self) -> TextMessenger:
        from chalicelib.channels.twilio_messaging import TwilioMessenger, sandbox_http_client

        sandbox = self.settings.sandbox_url
        return TwilioMessenger(
            self.settings.twilio_account_sid,
            self.twilio_auth_token,
            http_client=sandbox_http_client(sandbox) if sandbox else None,
            status_callback=f"{self.settings.public_base_url}{routes.TWILIO_STATUS}",
        )

    @cached_property
    def line_types(self) -> LineTypes:
        """Twilio Lookup's line types, for the voice text back of stores that ask for it."""
        from chalicelib.channels.twilio_lookup import TwilioLineTypes
        from chalicelib.channels.twilio_messaging import sandbox_http_client

        sandbox = self.settings.sandbox_url
        return TwilioLineTypes(
            self.settings.twilio_account_sid,
            self.twilio_auth_token,
            http_client=sandbox_http_client(sandbox) if sandbox else None,
        )

    @cached_property
    def mailer(self) -> Mailer:
        from chalicelib.channels.sendgrid_send import SendGridMailer

        sandbox = self.settings.sandbox_url
        return SendGridMailer(
            self.secrets.get("SENDGRID_API_KEY"),
            host=f"{sandbox}/sendgrid" if sandbox else None,
        )

    @cached_property
    def channels(self) -> Channels:
        """Each customer channel's adapter. Each reaches its provider through the container
        at send time: nothing is built (no secret read, no SDK imported) until a message
        goes out, and a test that swaps the messenger or mailer swaps it for every channel."""

        def email() -> ChannelAdapter:
            from chalicelib.channels.email_channel import EmailChannel

            return EmailChannel(lambda: self.mailer)

        def text(whatsapp: bool) -> Callable[[], ChannelAdapter]:
            return lambda: TextChannel(lambda: self.messenger, whatsapp=whatsapp)

        def meta(channel: Channel) -> Callable[[], ChannelAdapter]:
            def build() -> ChannelAdapter:
                from chalicelib.channels.meta_send import MetaChannel

                return MetaChannel(self.graph_sender, channel=channel.value)

            return build

        def voice() -> ChannelAdapter:
            # A caller is answered by SMS from the number they called; the text back goes
            # by a job once the voicemail is stored (a call's TwiML cannot carry a text).
            from chalicelib.channels.text_channel import CallerChannel

            return CallerChannel(lambda: self.messenger)

        def web() -> ChannelAdapter:
            from chalicelib.channels.webchat import WebChannel

            def contact(store_id: str, customer: str) -> str | None:
                item = self.repository.customer(store_id, customer)
                return item.reply_to if item is not None else None

            return WebChannel(contact, lambda: self.mailer, lambda: self.messenger)

        return Channels(
            {
                Channel.SMS: text(False),
                Channel.WHATSAPP: text(True),
                Channel.EMAIL: email,
                Channel.MESSENGER: meta(Channel.MESSENGER),
                Channel.INSTAGRAM: meta(Channel.INSTAGRAM),
                Channel.VOICE: voice,
                Channel.WEB: web,
            }
        )

    def webchat_identity_secret(self, store: StoreConfig) -> bytes | None:
        """The secret the store's shop signs signed-in customers' e-mails with
        (WEBCHAT_IDENTITY_SECRET_<STORE>); None, logged, when it is not set: every chat is
        then anonymous."""
        from chalicelib.commerce.config import secret_name

        try:
            return self.secrets.get(secret_name("WEBCHAT_IDENTITY_SECRET", store.store_id)).encode()
        except ConfigError:
            log.error("store %s: WEBCHAT_IDENTITY_SECRET is not set", store.store_id)
            return None

    def shop_webhook_secret(self, store: StoreConfig) -> str | None:
        """The secret the store's shop signs its webhooks with; None if it has no shop.
        None too when it is not set (logged): the webhook then refuses and stores nothing."""
        if store.commerce is None:
            return None
        from chalicelib.commerce.config import webhook_secret_name

        try:
            return self.secrets.get(webhook_secret_name(store.store_id, store.commerce))
        except ConfigError:
            log.error("store %s: its shop's webhook secret is not set", store.store_id)
            return None

    @cached_property
    def _shops(self) -> dict[str, Shop]:
        return {}

    def shop_for(self, store: StoreConfig) -> Shop | None:
        """The store's shop, built on first use and kept (its HTTP session and Shopify's
        bucket live as long as the container); None if the store has no shop connected.

        Raises ShopRefused when the store's credentials are missing: to the answer flow that
        is a shop that refuses us, and it degrades to the acknowledgement and the agents."""
        config = store.commerce
        if config is None:
            return None
        with _lock:
            shop = self._shops.get(store.store_id)
        if shop is not None:
            return shop
        from chalicelib.commerce.config import ShopifyConfig, api_base_url, secret_names
        from chalicelib.commerce.port import ShopRefused

        try:
            credentials = [self.secrets.get(name) for name in secret_names(store.store_id, config)]
        except ConfigError as exc:
            raise ShopRefused(f"store {store.store_id!r}: {exc}") from exc
        base_url = api_base_url(config, self.settings.sandbox_url)
        if isinstance(config, ShopifyConfig):
            from chalicelib.commerce.shopify import ShopifyShop

            shop = ShopifyShop(
                config.shop, credentials[0], base_url=base_url, api_version=config.api_version
            )
        else:
            from chalicelib.commerce.woocommerce import WooCommerceShop

            shop = WooCommerceShop(config.url, *credentials, base_url=base_url)
        with _lock:
            return self._shops.setdefault(store.store_id, shop)


_lock = threading.Lock()
_container: Container | None = None


def container() -> Container:
    global _container
    with _lock:
        if _container is None:
            _container = Container(Settings.from_env())
        return _container


def queue_container() -> Container:
    """The container for a queue handler (jobs, timers, parked requests): they run outside
    any request, so a setting only a request could supply (PUBLIC_BASE_URL, the API's
    URL) is required before any record is touched: a deployment without it fails every
    invocation loudly (Lambda errors, alarmed) instead of half-running jobs."""
    built = container()
    _ = built.settings.public_base_url  # raises ConfigError, naming what to do
    return built


def reset_container(new: Container | None = None) -> None:
    """Tests and the local stack replace the container after changing settings."""
    global _container
    with _lock:
        _container = new

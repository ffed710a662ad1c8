"""The channel port: what a flow may ask of a customer's channel, whoever provides it.

Flows pick the adapter by the thread's channel from `Channels` (built once, in the
composition root) and never ask which channel it is, so that a new channel is one adapter
module and one entry here, not a change in every flow. Adapters see plain values (an
`Answer`) and the narrow `SendProgress` they may read and record through, never a store
item; vendor errors come out as `DeliveryError`, whose `permanent` says whether a retry
can help.

Inbound, each provider's webhook is an `InboundAdapter`: it authenticates the request and
verifies its signature before it parses a byte it does not need, and refuses with the
project's own `RequestRejected` errors (401/403/400), which web.py turns into statuses.

The transports beneath (`TextMessenger`, `Mailer`) are ports too: the container's
messenger and mailer are typed by them, so that mypy checks every send, and a test can
put a fake that records what it was given in their place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from chalicelib.domain.messages import Channel

if TYPE_CHECKING:  # types only: the SMS webhook needs neither the mail shapes nor their import
    from chalicelib.domain.mail import OutgoingEmail
    from chalicelib.stores import StoreConfig


class TextMessenger(Protocol):
    """Sends one text message (SMS or WhatsApp, by the addresses' form)."""

    def send(
        self,
        *,
        sender: str,
        to: str,
        body: str = "",
        media_urls: Sequence[str] = (),
        content_sid: str | None = None,
        content_variables: Mapping[str, str] | None = None,
    ) -> str:
        """The provider's id of the message; `content_sid`: an approved template instead
        of free text. Raises `DeliveryError`."""
        ...


class LineTypes(Protocol):
    """What kind of line a phone number is (mobile, landline, ...), asked of the carrier."""

    def line_type(self, number: str) -> str:
        """The provider's type for `number` ('landline', 'mobile', 'unknown', ...). Raises
        `LookupFailed` when the provider did not answer or refused."""
        ...


class Mailer(Protocol):
    """Sends one e-mail, to customers or to agents."""

    def send(self, mail: OutgoingEmail) -> None:
        """Raises `DeliveryError`."""
        ...


@dataclass(frozen=True)
class Answer:
    """One message of ours to a customer, in the plain values every channel needs."""

    store: StoreConfig
    store_address: str
    """The store's address the customer wrote to: its number (`whatsapp:` too) or mailbox."""
    customer: str
    body: str
    author_name: str | None
    """The agent who wrote it; None for the store's own (automatic) messages."""
    automatic: bool
    subject: str
    """The thread's subject (e-mail), empty where the channel has none."""
    profile_name: str | None
    last_inbound_at: datetime
    """When the customer last wrote: the WhatsApp 24-hour window runs from it."""
    email_message_id: str | None
    """Our Message-ID for it, when it was decided before sending (e-mail)."""
    parts_sent: int
    """Parts a failed earlier attempt already sent: not sent again."""
    last_part_id: str | None
    """The provider's id of the last part already sent."""


class SendProgress(Protocol):
    """What an adapter may read and record about the thread while it sends."""

    def now(self) -> datetime: ...

    def opted_out(self) -> bool:
        """The customer asked for no more messages on this address (STOP)."""
        ...

    def earlier_email_ids(self) -> Sequence[tuple[bool, str]]:
        """(from the customer?, Message-ID) of the thread's earlier mails, oldest first."""
        ...

    def part_sent(self, number: int, provider_id: str) -> None:
        """Part `number` (from 1) is out: a retry after a failure starts after it."""
        ...


class ChannelAdapter(Protocol):
    """One customer channel's outbound side."""

    @property
    def acknowledges_in_response(self) -> bool:
        """The acknowledgement goes back in the webhook's own answer (TwiML) rather than
        by a job after the message is stored."""
        ...

    @property
    def threads_by_message_id(self) -> bool:
        """Our messages carry a Message-ID that the customer's replies name (e-mail)."""
        ...

    def send_answer(self, answer: Answer, progress: SendProgress) -> str:
        """Send `answer`; the provider's id for it (of its last part). Raises
        `DeliveryError`."""
        ...


class Channels:
    """Channel name -> its adapter; an unknown channel is a bug, not a customer's error.

    Each adapter is built (and its module imported) on its first use: an SMS webhook's
    Lambda never loads the e-mail channel's code."""

    def __init__(self, factories: Mapping[Channel, Callable[[], ChannelAdapter]]) -> None:
        self._factories = dict(factories)
        self._adapters: dict[Channel, ChannelAdapter] = {}

    def __getitem__(self, channel: Channel | str) -> ChannelAdapter:
        key = Channel(channel)
        if key not in self._adapters:
            self._adapters[key] = self._factories[key]()
        return self._adapters[key]


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's request as it arrived: unverified bytes."""

    path: str
    """The route it was posted to; the public URL a signature covers ends with it."""
    body: bytes
    headers: Mapping[str, str]
    """Looked up by lower-case name."""
    base_url: str | None = None
    """The public URL's base as API Gateway received it (web.received_base_url); a
    signature is checked over it when PUBLIC_BASE_URL does not name a custom domain."""


Parsed = TypeVar("Parsed", covariant=True)


class InboundAdapter(Protocol[Parsed]):
    """One provider webhook: verify, then parse into our shape (an `InboundMessage`, an
    `InboundEmail` still to be routed, or a delivery status)."""

    def authenticate(self, request: WebhookRequest) -> None:
        """Credentials carried beside the body (HTTP Basic), checked before the body is
        looked at; a provider that signs the body instead checks nothing here."""
        ...

    def receive(self, request: WebhookRequest, facts: dict[str, str]) -> Parsed:
        """Verify the body's signature and parse it. `facts`: the provider's ids learnt
        on the way (never addresses or text), added even when verification then fails,
        so that a refusal's log line is traceable."""
        ...


class RecordingGone(Exception):
    """Twilio has no such recording (404): deleted already, or never ours."""


class RecordingsUnavailable(Exception):
    """Twilio refused or did not answer: a transient failure, the job is retried."""


class Recordings(Protocol):
    """The account's call recordings at the voice provider (Twilio's Recordings API)."""

    def fetch(self, recording_sid: str) -> bytes:
        """The recording's audio (WAV). Raises `RecordingGone`, `RecordingsUnavailable`."""
        ...

    def delete(self, recording_sid: str) -> None:
        """Deleted at the provider; one gone already counts as deleted. Raises
        `RecordingsUnavailable`."""
        ...

"""The project's own exceptions; the app maps each to one HTTP status."""

from enum import StrEnum


class RequestRejected(Exception):
    """Base for requests we refuse: nothing is stored, the caller gets a 4xx."""

    status = 400


class MalformedRequest(RequestRejected):
    status = 400


class NotAuthenticated(RequestRejected):
    """No or wrong credentials (HTTP Basic on Inbound Parse)."""

    status = 401


class VerificationFailed(RequestRejected):
    """A signature or token did not verify, or the sender may not act here."""

    status = 403


class UnknownDestination(RequestRejected):
    """The message was addressed to a number or address no store owns."""

    status = 404


class LookupFailed(Exception):
    """A phone number lookup (its line type) did not answer or was refused: the caller of
    the port decides what that means (the voice text back texts anyway)."""


class FailureKind(StrEnum):
    """What a provider's refusal means for the message (chalicelib/domain/provider_errors.py)."""

    PERMANENT = "permanent"
    """No retry can send this message (an invalid or opted-out number): recorded as failed
    and told to the agent who wrote it."""
    TRANSIENT = "transient"
    """The provider is down, slow or busy (5xx, a timeout, 429): retried soon, as late as
    the provider asks."""
    ACCOUNT = "account"
    """The store's provider account needs a person (a bad key, credits spent, suspended,
    a sender's queue full): neither the customer's fault nor fixed by a quick retry, so
    retried slowly, never failed against the customer, and raised to the store's alarm."""


class DeliveryError(Exception):
    """Sending to a provider failed; `kind` tells whether and how retrying can help.

    `permanent=` is the old two-way form (True: PERMANENT, False: TRANSIENT), kept for
    failures decided before any provider is asked (an opted-out customer)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool | None = None,
        code: int | None = None,
        kind: FailureKind | None = None,
        provider: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        if kind is None:
            kind = FailureKind.PERMANENT if permanent else FailureKind.TRANSIENT
        self.kind = kind
        self.code = code
        self.provider = provider
        """'twilio' or 'sendgrid'; empty when no provider was asked."""
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (Retry-After, X-RateLimit-Reset)."""

    @property
    def permanent(self) -> bool:
        return self.kind is FailureKind.PERMANENT


class SignatureRejected(VerificationFailed):
    """A shop's webhook signature (an HMAC of the body) is missing or wrong: 401, as the
    platforms document it; nothing is read from the body."""

    status = 401

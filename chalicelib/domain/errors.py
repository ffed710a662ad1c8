"""The project's own exceptions; the app maps each to one HTTP status."""


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


class DeliveryError(Exception):
    """Sending to a provider failed; `permanent` tells whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code

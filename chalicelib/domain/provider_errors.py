"""What a provider's refusal means: permanent for this message, transient, or a problem
with the store's own provider account (chalicelib/domain/errors.py, `FailureKind`).

Classified by the provider's own error code where it gives one (Twilio), by status and
message where it does not (SendGrid, whose v3 API has no error codes), and by HTTP status
as the last resort. The channel adapters translate with these tables and nothing else; the
tables are tested with fixed vectors (tests/unit/test_provider_errors.py).

Sources: Twilio's error dictionary (twilio.com/docs/api/errors/<code>), SendGrid's v3
"Errors" and "Rate Limits" pages and its 4XX troubleshooting article; for Meta, the Graph
API's "Handling Errors" page, the Messenger Platform's error codes and the errors the Page
Messages edge lists (developers.facebook.com/docs/graph-api/reference/page/messages).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from chalicelib.domain.errors import FailureKind

PERMANENT, TRANSIENT, ACCOUNT = FailureKind.PERMANENT, FailureKind.TRANSIENT, FailureKind.ACCOUNT


@dataclass(frozen=True)
class Classification:
    kind: FailureKind
    meaning: str
    """In plain words, for the agent told of a failure and for the log line of an account
    problem: never the provider's raw text (it may name the customer's number)."""


# Twilio's codes, from the Messages API's answer to a send and from status callbacks.
TWILIO_CODES: dict[int, Classification] = {
    # This message can never go: the address, the recipient's choice, or the message.
    21211: Classification(PERMANENT, "the number is not a valid phone number"),
    21214: Classification(PERMANENT, "the number cannot be reached"),
    21217: Classification(PERMANENT, "the number does not appear to be valid"),
    21265: Classification(PERMANENT, "the number is a short code, which cannot receive it"),
    21408: Classification(
        PERMANENT,
        "the store's Twilio account may not send to this country (enable it in Twilio's "
        "Messaging Geo Permissions, then answer again)",
    ),
    21602: Classification(PERMANENT, "the message had no text"),
    21603: Classification(PERMANENT, "the message had no sender number"),
    21604: Classification(PERMANENT, "the message had no recipient number"),
    21610: Classification(PERMANENT, "the customer unsubscribed (replied STOP) from this number"),
    21612: Classification(PERMANENT, "this number cannot be reached from the store's number"),
    21614: Classification(PERMANENT, "the number is not a mobile number"),
    21617: Classification(PERMANENT, "the message is longer than Twilio's 1,600 characters"),
    21620: Classification(PERMANENT, "a media link in the message is not valid"),
    21623: Classification(PERMANENT, "the message has more media than allowed"),
    63003: Classification(PERMANENT, "the number has no WhatsApp account"),
    63016: Classification(PERMANENT, "WhatsApp's 24-hour window had closed"),
    63024: Classification(PERMANENT, "WhatsApp does not accept this recipient"),
    30003: Classification(PERMANENT, "the phone is switched off or out of reach"),
    30004: Classification(PERMANENT, "the recipient blocked messages from this number"),
    30005: Classification(PERMANENT, "the number does not exist"),
    30006: Classification(PERMANENT, "the number is a landline or cannot receive this channel"),
    30007: Classification(PERMANENT, "the carrier filtered the message as spam"),
    30008: Classification(PERMANENT, "the carrier gave no reason"),
    # The store's Twilio account needs a person.
    10001: Classification(ACCOUNT, "the Twilio account is not active (balance or suspension)"),
    20003: Classification(
        ACCOUNT,
        "Twilio refused our credentials (account SID or auth token wrong, revoked, "
        "or the account suspended)",
    ),
    20403: Classification(ACCOUNT, "the Twilio account is suspended or closed"),
    21606: Classification(
        ACCOUNT, "the store's number is not a message-capable number of this Twilio account"
    ),
    21608: Classification(
        ACCOUNT, "the Twilio account is a trial, which sends only to verified numbers"
    ),
    21611: Classification(
        ACCOUNT, "the store's number has more than 10 hours of messages queued at Twilio"
    ),
    30001: Classification(ACCOUNT, "the store's number's queue at Twilio overflowed"),
    30002: Classification(ACCOUNT, "the Twilio account was suspended"),
    30034: Classification(
        ACCOUNT, "the store's US number is not registered for A2P 10DLC, so carriers block it"
    ),
    63038: Classification(ACCOUNT, "the Twilio account reached its daily message limit"),
    # Busy or down: a retry soon sends it.
    20429: Classification(TRANSIENT, "Twilio is rate-limiting the account's API requests"),
    20500: Classification(TRANSIENT, "Twilio had an internal error"),
    20503: Classification(TRANSIENT, "Twilio's service was unavailable"),
    21730: Classification(TRANSIENT, "Twilio was under maintenance"),
    63017: Classification(TRANSIENT, "Twilio's message rate limit was exceeded"),
    63018: Classification(TRANSIENT, "the channel's rate limit was exceeded"),
}


# Meta's Graph API: `error.code`, and where it says more, `error.error_subcode`.
META_CODES: dict[int, Classification] = {
    # This message can never go to this person.
    100: Classification(PERMANENT, "Meta refused the message as invalid (no such person?)"),
    551: Classification(PERMANENT, "the person is not available on Messenger right now"),
    230: Classification(PERMANENT, "the person's settings do not allow the page to message them"),
    10900: Classification(PERMANENT, "the person's message was already answered"),
    10903: Classification(PERMANENT, "the person cannot be answered on this conversation"),
    # The store's page or Meta app needs a person.
    190: Classification(
        ACCOUNT, "Meta refused the page access token (expired, revoked or for another page)"
    ),
    200: Classification(ACCOUNT, "the Meta app lacks a permission (pages_messaging?)"),
    10: Classification(ACCOUNT, "the Meta app may not do this (a permission or a review)"),
    368: Classification(ACCOUNT, "Meta has blocked the page from sending for now (policy)"),
    2022: Classification(ACCOUNT, "Meta has disabled the app's messaging for now"),
    10904: Classification(ACCOUNT, "the page has messaging switched off in its settings"),
    # Busy or down: a retry soon sends it.
    1: Classification(TRANSIENT, "Meta had an unknown error"),
    2: Classification(TRANSIENT, "Meta's service was temporarily unavailable"),
    4: Classification(TRANSIENT, "Meta is rate-limiting the app's requests"),
    17: Classification(TRANSIENT, "Meta is rate-limiting the page's requests"),
    32: Classification(TRANSIENT, "Meta is rate-limiting the page's requests"),
    613: Classification(TRANSIENT, "Meta is rate-limiting the Send API for this page"),
    1200: Classification(TRANSIENT, "Meta failed to send the message for now"),
}
META_SUBCODES: dict[int, Classification] = {
    2018278: Classification(
        PERMANENT, "it was outside Messenger's window for answers (24 hours, 7 with the tag)"
    ),
    2018001: Classification(PERMANENT, "Meta knows no such person for this page"),
    2018108: Classification(PERMANENT, "the person cannot receive messages from the page"),
    1545041: Classification(PERMANENT, "the person is not available on Messenger right now"),
    2018065: Classification(ACCOUNT, "the Meta app lacks the pages_messaging permission"),
}
META_WINDOW_SUBCODE = 2018278
"""Meta's "This message is sent outside of allowed window": also what we say, unasked."""


def classify_meta(status: int | None, code: int | None, subcode: int | None) -> Classification:
    """The subcode first (code 10 is a permission or the closed window by its subcode),
    then the code, then the status."""
    for table, key in ((META_SUBCODES, subcode), (META_CODES, code)):
        if key is not None and (known := table.get(key)) is not None:
            return known
    return by_status("Meta", status)


def by_status(provider: str, status: int | None) -> Classification:
    """What an HTTP status alone says: no answer, 429 and 5xx are transient; 401 and 403
    are the account's (bad credentials, no permission, suspended); any other 4xx is this
    message's own problem."""
    if not status:
        return Classification(TRANSIENT, f"{provider} could not be reached")
    if status == 429:
        return Classification(TRANSIENT, f"{provider} is rate-limiting our requests")
    if status >= 500:
        return Classification(TRANSIENT, f"{provider} failed (HTTP {status})")
    if status in (401, 403):
        return Classification(ACCOUNT, f"{provider} refused the store's account (HTTP {status})")
    return Classification(PERMANENT, f"{provider} refused the message (HTTP {status})")


def classify_twilio(status: int | None, code: int | None) -> Classification:
    """Twilio's error code first (a 400 may be the account's: 21611), then the status."""
    known = TWILIO_CODES.get(code) if code is not None else None
    return known if known is not None else by_status("Twilio", status)


def classify_sendgrid(status: int | None, messages: tuple[str, ...] = ()) -> Classification:
    """SendGrid's v3 Mail Send has no error codes: its status, and for 401 its message.

    401 is the account's whatever it says: a key invalid, expired or revoked, or
    "Maximum credits exceeded" (the plan's e-mails are spent until they renew: the mail
    must wait, not be failed). 403 is too: a sender identity not verified, a key without
    the Mail Send permission, or a temporary block. 413: this mail is larger than
    SendGrid takes (30 MB), which no retry changes."""
    text = " ".join(messages).lower()
    if status == 401 and "credits" in text:
        return Classification(ACCOUNT, "the SendGrid plan's e-mail credits are spent")
    if status == 401:
        return Classification(ACCOUNT, "SendGrid refused the API key (invalid, expired or revoked)")
    if status == 403:
        return Classification(
            ACCOUNT,
            "SendGrid refused the account: a sender not verified, a key without the Mail "
            "Send permission, or a temporary block",
        )
    if status == 413:
        return Classification(PERMANENT, "the e-mail is larger than SendGrid accepts")
    return by_status("SendGrid", status)


def seconds_until(value: str | None, now: datetime) -> float | None:
    """A wait the provider asked for, in seconds from `now`: `Retry-After` as seconds or an
    HTTP date (RFC 9110); None when absent or unreadable (the caller's default applies)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def seconds_until_epoch(value: str | None, now: datetime) -> float | None:
    """SendGrid's `X-RateLimit-Reset`: the Unix time its refresh period ends."""
    if value is None or not (text := value.strip()).isascii() or not text.isdigit():
        return None
    return max(0.0, float(text) - now.timestamp())


ACCOUNT_RETRY_SECONDS = (15 * 60, 60 * 60, 3 * 60 * 60, 6 * 60 * 60, 11 * 60 * 60)
"""An account problem waits for a person: retried after 15 minutes, then an hour, 3, 6
and 11 hours (the jobs queue's 5 receives span about 21 hours, within SQS's 12-hour hold
per receipt); then the job waits in the dead-letter queue (14 days) to be redriven once
the account is fixed."""
MIN_RETRY_SECONDS = 1


def retry_delay(kind: FailureKind, retry_after: float | None, receive_count: int) -> int | None:
    """How long the job should wait before SQS hands it out again; None: the queue's own
    visibility timeout. A permanent failure is not retried (None too)."""
    if kind is ACCOUNT:
        step = ACCOUNT_RETRY_SECONDS[max(0, min(receive_count, len(ACCOUNT_RETRY_SECONDS)) - 1)]
        return max(step, math.ceil(retry_after or 0))
    if kind is TRANSIENT and retry_after is not None:
        return max(MIN_RETRY_SECONDS, math.ceil(retry_after))
    return None

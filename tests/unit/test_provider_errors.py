"""Provider errors classified by what the provider means, with fixed vectors: Twilio by its
error code (then the HTTP status), SendGrid by status and message; the waits they ask for;
and how long a failed job then waits on its queue."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest

from chalicelib.channels.sendgrid_send import error_messages, retry_after
from chalicelib.channels.twilio_messaging import TwilioMessenger
from chalicelib.domain.errors import DeliveryError, FailureKind
from chalicelib.domain.provider_errors import (
    ACCOUNT_RETRY_SECONDS,
    TWILIO_CODES,
    classify_sendgrid,
    classify_twilio,
    retry_delay,
    seconds_until,
    seconds_until_epoch,
)

P, T, A = FailureKind.PERMANENT, FailureKind.TRANSIENT, FailureKind.ACCOUNT
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 21211, P),  # invalid 'To' number
        (400, 21408, P),  # the account may not send to this country
        (400, 21610, P),  # unsubscribed (STOP)
        (400, 21612, P),  # To/From combination
        (400, 21614, P),  # not a mobile number
        (400, 63016, P),  # WhatsApp window closed
        (400, 63003, P),  # not on WhatsApp
        (None, 30003, P),  # status callbacks: unreachable ...
        (None, 30004, P),
        (None, 30005, P),
        (None, 30006, P),
        (None, 30007, P),
        (None, 30008, P),  # ... and no reason given
        (400, 21611, A),  # the sender's queue at Twilio is full (a 400 all the same)
        (401, 20003, A),  # credentials refused
        (403, 20403, A),  # suspended or closed
        (400, 21606, A),  # the store's number is not this account's
        (400, 21608, A),  # a trial account
        (None, 30001, A),  # queue overflow, reported after the send
        (None, 30002, A),  # suspended after the send
        (400, 63038, A),  # the daily limit
        (429, 20429, T),  # too many requests
        (500, 20500, T),
        (503, 20503, T),
        # Codes we do not know: the status decides.
        (429, None, T),
        (502, 99999, T),
        (401, 99999, A),
        (403, None, A),
        (400, 21999, P),
        (404, 20404, P),
        (None, None, T),
    ],
)
def test_twilio_errors_by_code_then_status(status: int | None, code: int | None, kind: str) -> None:
    assert classify_twilio(status, code).kind == kind


def test_every_twilio_meaning_is_plain_words_without_an_address() -> None:
    for code, found in TWILIO_CODES.items():
        assert found.meaning, code
        assert "+" not in found.meaning, code
        assert "{" not in found.meaning, code


@pytest.mark.parametrize(
    ("status", "messages", "kind", "says"),
    [
        (401, ("Maximum credits exceeded",), A, "credits are spent"),
        (401, ("The provided authorization grant is invalid, expired, or revoked",), A, "key"),
        (401, (), A, "key"),
        (403, ("The from address does not match a verified Sender Identity.",), A, "sender"),
        (403, ("access forbidden",), A, "permission"),
        (413, (), P, "larger"),
        (400, ("The to array is required",), P, "HTTP 400"),
        (429, ("too many requests",), T, "rate-limiting"),
        (500, (), T, "HTTP 500"),
        (503, (), T, "HTTP 503"),
        (None, (), T, "could not be reached"),
    ],
)
def test_sendgrid_errors_by_status_and_message(
    status: int | None, messages: tuple[str, ...], kind: str, says: str
) -> None:
    found = classify_sendgrid(status, messages)
    assert (found.kind, says in found.meaning) == (kind, True)


def test_sendgrid_error_bodies_are_read_or_ignored() -> None:
    body = b'{"errors": [{"message": "Maximum credits exceeded", "field": null}]}'
    assert error_messages(body) == ("Maximum credits exceeded",)
    assert error_messages(b"<html>413 Request Entity Too Large</html>") == ()
    assert error_messages(b"\xff") == ()
    assert error_messages(None) == ()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 0 ", 0.0),
        ("Tue, 01 Dec 2026 12:02:00 GMT", 120.0),
        ("Tue, 01 Dec 2026 11:00:00 GMT", 0.0),  # already past: at once
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_as_seconds_or_http_date(value: str | None, seconds: float | None) -> None:
    assert seconds_until(value, NOW) == seconds


def test_sendgrid_rate_limit_reset_is_a_unix_time() -> None:
    reset = str(int(NOW.timestamp()) + 45)
    assert seconds_until_epoch(reset, NOW) == 45.0
    assert seconds_until_epoch("12.5", NOW) is None
    headers = Message()
    headers["X-RateLimit-Limit"] = "600"
    headers["X-RateLimit-Reset"] = reset
    assert retry_after(headers, NOW) == 45.0  # the SDK's headers are an http.client message
    assert retry_after({"Retry-After": "7", "X-RateLimit-Reset": reset}, NOW) == 7.0
    assert retry_after({}, NOW) is None
    assert retry_after(None, NOW) is None


@pytest.mark.parametrize(
    ("kind", "wait", "receive_count", "delay"),
    [
        (T, 30.0, 1, 30),  # as Twilio's Retry-After says
        (T, 0.2, 1, 1),  # at least a second
        (T, None, 1, None),  # the queue's own visibility timeout
        (P, 30.0, 1, None),  # not retried at all
        (A, None, 1, ACCOUNT_RETRY_SECONDS[0]),
        (A, None, 2, ACCOUNT_RETRY_SECONDS[1]),
        (A, None, 99, ACCOUNT_RETRY_SECONDS[-1]),
        (A, 7200.0, 1, 7200),  # the longer of the two
    ],
)
def test_how_long_a_failed_job_waits(
    kind: FailureKind, wait: float | None, receive_count: int, delay: int | None
) -> None:
    assert retry_delay(kind, wait, receive_count) == delay


def test_account_retries_span_most_of_a_day_within_sqs_hold_limit() -> None:
    assert all(s <= 12 * 3600 - 15 * 60 for s in ACCOUNT_RETRY_SECONDS)
    assert 20 * 3600 < sum(ACCOUNT_RETRY_SECONDS) < 24 * 3600


def test_the_old_two_way_form_still_reads() -> None:
    assert DeliveryError("x", permanent=True).kind is P
    assert DeliveryError("x", permanent=False).kind is T
    assert DeliveryError("x", kind=A).permanent is False


class FakeTwilioHttp:
    """The SDK's `http_client` seam: answers every request with one canned response."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        import json

        from twilio.http.response import Response

        self.logger = None
        self.timeout = 10
        self.is_async = False
        self._response = Response(status, json.dumps(body), headers)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        return self._response


# Importing the SDK imports urllib3, which probes for IPv6 with a socket (refused here).
@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
@pytest.mark.parametrize(
    ("status", "code", "headers", "kind", "wait"),
    [
        (429, 20429, {"Retry-After": "30"}, T, 30.0),
        (429, 20429, {}, T, None),
        (400, 21610, {}, P, None),
        (400, 21611, {}, A, None),
        (401, 20003, {}, A, None),
        (503, 20503, {"retry-after": "5"}, T, 5.0),
    ],
)
def test_the_twilio_adapter_translates_with_the_table(
    status: int, code: int, headers: dict[str, str], kind: FailureKind, wait: float | None
) -> None:
    body = {"code": code, "message": "Attempt to send to +420777123456", "status": status}
    http: Any = FakeTwilioHttp(status, body, headers)
    messenger = TwilioMessenger("AC" + "0" * 32, "secret-token", http_client=http)
    with pytest.raises(DeliveryError) as raised:
        messenger.send(sender="+15005550006", to="+420777123456", body="hi")
    error = raised.value
    assert (error.kind, error.code, error.provider, error.retry_after) == (
        kind,
        code,
        "twilio",
        wait,
    )
    assert "secret-token" not in str(error)
    assert TWILIO_CODES[code].meaning in str(error)

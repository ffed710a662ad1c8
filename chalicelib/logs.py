"""Structured logs: one JSON object per line, with the correlation id of the message being
handled, and customer contact details masked in every record, whatever its level.

Correlation ids (one per inbound message, followed through the jobs it causes):

- A webhook request starts under API Gateway's request id (`correlation(request_id)` in
  app.py), so that even a rejected request's lines hang together. As soon as the flow knows
  the store and the provider's message id it calls `bind_message(store_id, provider_id)`:
  from then on the id is the message's own id, `sha256(store, provider id)[:16]`, the same
  `message_id` the repository stores. It never contains the provider id itself (an e-mail
  Message-ID can carry an address), and a provider's redelivery gets the same id.
- An SQS job names its message by `message_sk`, which ends with that same message id: the
  agents' notification and the e-mail acknowledgement of a message log under the id of
  the webhook that stored it, and an agent's relayed reply under the id of the reply's
  Inbound Parse request (`flows/jobs.py`).
- A timer is about a thread, not a message: it logs under its SQS message id, which stays
  the same across the early deliveries that hold it, and names it in the dead-letter queue.

Masking is defence in depth: flows should not log customer text or addresses at INFO in
the first place (DESIGN.md); `MaskingFilter` makes sure a slip still prints `+420******56`
and `j***@example.com`. Secrets are not pattern-matched (they have no shape): they must
never be passed to a logger, and tests/integration/test_logging.py scans for them.

Kept light: this module is imported on the webhook's cold path.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from chalicelib.domain.messages import message_id_for

LOGGER = "chalicelib"
"""The package logger configure_logging sets up; every module logs under it."""

_CORRELATION_ID: ContextVar[str | None] = ContextVar("relaydesk_correlation_id", default=None)

# -- correlation ---------------------------------------------------------------------------


def correlation_id() -> str | None:
    return _CORRELATION_ID.get()


@contextmanager
def correlation(value: str | None = None) -> Iterator[str]:
    """Log every line inside under `value` (a fresh random id when None or empty).

    The previous id is restored on the way out, also after `set_correlation_id`."""
    token = _CORRELATION_ID.set(value or secrets.token_hex(8))
    try:
        yield _CORRELATION_ID.get() or ""
    finally:
        _CORRELATION_ID.reset(token)


def set_correlation_id(value: str) -> None:
    """Refine the id inside the current `correlation` (which restores the outer one)."""
    _CORRELATION_ID.set(value)


def bind_message(store_id: str, provider_id: str) -> str:
    """From here on, log under the message's id (see the module's docstring); the id."""
    value = message_id_for(store_id, provider_id)
    set_correlation_id(value)
    return value


def job_correlation_id(message_sk: str) -> str:
    """The message id a job's `message_sk` (`MSG#<time>#<message id>`) ends with."""
    return message_sk.rsplit("#", 1)[-1] or message_sk


# -- masking -------------------------------------------------------------------------------

MASKED_DIGITS = "******"

# Addresses first (a local part can be all digits: 420777123456@s.whatsapp.net).
# Lengths are bounded (RFC 5321's 64-character local part, 63-character labels) so that
# a long line costs linear time.
# The local part is the practical set (letters, digits, . _ % + -), so that `to=jana@...`
# keeps its `to=`; `@` may be form-encoded (%40).
_EMAIL = re.compile(
    r"(?P<first>[A-Za-z0-9_%+-])[A-Za-z0-9._%+-]{0,63}"
    r"(?P<at>@|%40)(?P<domain>[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})"
)
# A number in international form (`+`, or `%2B` in form-encoded text), separators allowed:
# +420777123456, whatsapp:+420777123456, +1 (500) 555-0006, From=%2B420777123456.
# Or a bare run of 9-15 digits standing alone (WhatsApp's WaId: 420777123456). A bare run
# inside a word, hex id or dotted/dashed token is left alone, so are dates (2026-11-20)
# and shorter numbers (HTTP statuses, Twilio error codes, counts). Ten-digit epoch
# seconds standing alone are masked too: the price of not missing a WaId.
_PHONE = re.compile(
    r"(?P<plus>\+|%2[Bb])(?P<intl>\d(?:[ ().-]{0,2}\d){6,14})(?!\d)"
    r"|(?<![\w.-])(?P<bare>\d{9,15})(?![\w-]|\.\d)"
)


def _mask_email(match: re.Match[str]) -> str:
    return f"{match['first']}***{match['at']}{match['domain']}"


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match["intl"] or match["bare"])
    return f"{match['plus'] or ''}{digits[:3]}{MASKED_DIGITS}{digits[-2:]}"


def mask(text: str) -> str:
    """Phone numbers keep their first 3 and last 2 digits (+420******56); e-mail addresses
    their first character and domain (j***@example.com). Idempotent."""
    if "@" in text or "%40" in text:
        text = _EMAIL.sub(_mask_email, text)
    return _PHONE.sub(_mask_phone, text)


def mask_value(value: Any) -> Any:
    """`mask` on every string in a structure of dicts, lists and tuples."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "correlation_id", "taskName"}
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """What the caller passed as `extra=`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}


_TRACEBACKS = logging.Formatter()


class MaskingFilter(logging.Filter):
    """Masks the message (merged with its args), the traceback and every `extra` string of
    each record it sees, and stamps the record with the current correlation id.

    Put it on a handler (as configure_logging does): a handler's filters see the records
    of every logger below it, a logger's own filters only that logger's records."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string still gets logged, masked
            message = f"{record.msg} {record.args!r}"
        record.msg = mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        for key, value in _extras(record).items():
            setattr(record, key, mask_value(value))
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = correlation_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC, ISO 8601), level, logger, message,
    correlation_id, then the `extra` fields, and the traceback as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class _Handler(logging.StreamHandler[TextIO]):
    """Writes to the given stream, or to whatever `sys.stderr` is when a record comes
    (Lambda sends it to CloudWatch; tests swap it), never to a stream closed since."""

    def __init__(self, stream: TextIO | None) -> None:
        self._fixed = stream
        super().__init__(stream)

    @property
    def stream(self) -> TextIO:
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # StreamHandler.__init__ assigns it; the getter decides


def configure_logging(level: str | int = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """JSON lines with masking for everything under `chalicelib`; idempotent (a second
    call replaces the first one's handler). The logger stops propagating to the root
    logger, where Lambda's runtime has its own handler: otherwise every line would be
    printed twice, once as plain unmasked text. (pytest attaches its capture handlers to
    non-propagating loggers too; being added later, they see records already masked.)
    Third-party libraries keep logging through the root logger (WARNING by default in
    Lambda), where none of them writes request payloads."""
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(old)
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False
    return handler

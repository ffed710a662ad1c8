"""Structured logs: the JSON formatter, the masking filter and the correlation context."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import logs
from chalicelib.domain.messages import message_id_for


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure_logging("DEBUG", stream)
    yield stream
    logs.configure_logging("INFO")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+420777123456", "+420******56"),
        ("whatsapp:+420777123456", "whatsapp:+420******56"),
        ("call +420 777 123 456 now", "call +420******56 now"),
        ("+1 (500) 555-0006", "+150******06"),
        ("From=%2B420777123456&To=%2B15005550006", "From=%2B420******56&To=%2B150******06"),
        ("WaId=420777123456", "WaId=420******56"),
        ("jana.novak@customer.example", "j***@customer.example"),
        ("From: Jana <jana@customer.example>", "From: Jana <j***@customer.example>"),
        ("to=jana%40customer.example", "to=j***%40customer.example"),
        ("reply+demo.t1.abc@reply.relaydesk.test", "r***@reply.relaydesk.test"),
        ("420777123456@s.whatsapp.net", "4***@s.whatsapp.net"),
    ],
)
def test_contact_details_are_masked(text: str, masked: str) -> None:
    assert logs.mask(text) == masked
    assert logs.mask(masked) == masked  # idempotent: a record masked twice stays the same


@pytest.mark.parametrize(
    "text",
    [
        "store=demo thread=3f2a9c0d11e24b7a count=3",
        "due 2026-11-20T15:30:00+01:00",
        "MSG#20261120T153000.000000Z#0123456789abcdef",
        "twilio message sent: SM0123456789abcdef0123456789abcdef",
        "HTTP 429, code 21610",
        "sqs 059f36b4-87a3-44ab-83d2-661975830a7d",
        "a version 1.2.3 and 12345678",
    ],
)
def test_ids_dates_and_codes_are_left_alone(text: str) -> None:
    assert logs.mask(text) == text


def test_a_long_line_is_masked_in_linear_time() -> None:
    text = "x" * 200_000 + "@" + "y" * 200_000  # would take minutes with unbounded repeats
    assert logs.mask(text) == text


def test_records_are_json_with_correlation_and_extra_fields(output: io.StringIO) -> None:
    log = logging.getLogger("chalicelib.flows.example")
    with logs.correlation("c0ffee"):
        log.info("stored: store=%s count=%d", "demo", 2, extra={"thread_id": "t1", "n": 3})
    log.warning("outside")
    first, second = lines(output)
    assert first["level"] == "INFO"
    assert first["logger"] == "chalicelib.flows.example"
    assert first["message"] == "stored: store=demo count=2"
    assert first["correlation_id"] == "c0ffee"
    assert (first["thread_id"], first["n"]) == ("t1", 3)
    assert first["timestamp"].endswith("+00:00")
    assert second["correlation_id"] is None


def test_message_args_extras_and_tracebacks_are_masked_at_every_level(
    output: io.StringIO,
) -> None:
    log = logging.getLogger("chalicelib.x")
    log.debug("from %s", "+420777123456")
    log.info("from %(who)s", {"who": "jana@customer.example"})
    log.info("profile", extra={"customer": {"phone": "+420777123456", "tags": ["a@b.cz"]}})
    try:
        raise ValueError("Twilio refused +420777123456")
    except ValueError:
        log.exception("failed for %s", "jana@customer.example")
    log.error("broken %s %s", "+420777123456")  # a bad format string is still logged
    text = output.getvalue()
    assert "777123456" not in text
    assert "jana@" not in text
    assert "a@b.cz" not in text
    records = lines(output)
    assert [r["level"] for r in records] == ["DEBUG", "INFO", "INFO", "ERROR", "ERROR"]
    assert records[0]["message"] == "from +420******56"
    assert records[1]["message"] == "from j***@customer.example"
    assert records[2]["customer"] == {"phone": "+420******56", "tags": ["a***@b.cz"]}
    assert "ValueError: Twilio refused +420******56" in records[3]["exception"]
    assert "+420******56" in records[4]["message"]


def test_the_filter_masks_records_for_any_handler() -> None:
    record = logging.LogRecord(
        "other", logging.INFO, __file__, 1, "to %s", ("+420777123456",), None
    )
    logs.MaskingFilter().filter(record)
    assert record.getMessage() == "to +420******56"


def test_correlation_nests_and_restores(output: io.StringIO) -> None:
    assert logs.correlation_id() is None
    with logs.correlation("outer"):
        with logs.correlation() as inner:
            assert len(inner) == 16
            logs.set_correlation_id("refined")
            assert logs.correlation_id() == "refined"
        assert logs.correlation_id() == "outer"
    assert logs.correlation_id() is None


def test_each_thread_has_its_own_correlation() -> None:
    seen: dict[str, str | None] = {}

    def work(name: str) -> None:
        with logs.correlation(name):
            barrier.wait()
            seen[name] = logs.correlation_id()

    barrier = threading.Barrier(2)
    workers = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert seen == {"a": "a", "b": "b"}


def test_a_message_and_its_jobs_share_one_id() -> None:
    with logs.correlation("api-gateway-request-id"):
        bound = logs.bind_message("demo", "SM123")
        assert logs.correlation_id() == bound == message_id_for("demo", "SM123")
        assert "SM123" not in bound
    sort_key = f"MSG#20261120T153000.000000Z#{bound}"
    assert logs.job_correlation_id(sort_key) == bound


def test_configure_logging_is_idempotent_and_stops_double_printing() -> None:
    first, second = io.StringIO(), io.StringIO()
    logs.configure_logging("INFO", first)
    logs.configure_logging("WARNING", second)
    try:
        logger = logging.getLogger("chalicelib")
        logging.getLogger("chalicelib.x").warning("once")
        logging.getLogger("chalicelib.x").info("filtered out")
        assert first.getvalue() == ""
        assert [r["message"] for r in lines(second)] == ["once"]
        assert logger.propagate is False
        assert logger.level == logging.WARNING
    finally:
        logs.configure_logging("INFO")


def test_without_a_stream_it_writes_to_the_current_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure_logging("INFO")
    logging.getLogger("chalicelib.x").info("hello")
    assert json.loads(capsys.readouterr().err)["message"] == "hello"

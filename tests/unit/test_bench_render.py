"""The bench modules render their RESULTS.md sections from the data they are given: the
derived figures come from the same numbers as the tables, and a target's verdict follows
the figure. No timing is measured or asserted here; the bench itself is not run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bench import __main__ as runner
from bench import flows, timers, webhook
from bench.report import Section, Target

FLOWS: dict[str, dict[str, float]] = {
    name: {
        "dynamodb requests": 2,
        "dynamodb wru": float(n + 1),
        "dynamodb rru": 1,
        "sqs requests": 1,
        "twilio calls": 1 if "deliver" in name else 0,
        "sendgrid calls": 1 if "notif" in name or "timer" in name else 0,
    }
    for n, name in enumerate([*flows.SHAPE, "e-mail webhook, new thread"])
}
DURATIONS = dict.fromkeys(FLOWS, 0.05)


def test_the_conversation_total_is_the_table_times_the_shape() -> None:
    total = flows.conversation(FLOWS)
    assert total["dynamodb wru"] == sum(
        FLOWS[name]["dynamodb wru"] * times for name, times in flows.SHAPE.items()
    )
    section = flows.render(FLOWS, DURATIONS)
    assert f"**{total['dynamodb wru']:g}**" in section.markdown
    assert f"{total['dynamodb wru']:g} WRU" in section.markdown


def test_the_cost_table_is_the_per_conversation_cost_times_the_volume() -> None:
    per_conversation = flows.costs(FLOWS, DURATIONS)
    section = flows.render(FLOWS, DURATIONS)
    for volume in flows.VOLUMES:
        assert f"**${volume * sum(per_conversation.values()):,.2f}**" in section.markdown
    dynamodb = flows.conversation(FLOWS)["dynamodb wru"] * flows.PRICE["dynamodb_wru"]
    assert per_conversation["DynamoDB"] > dynamodb  # the read units are on top


def kind(name: str, p50: float, replay: float | None, dynamodb: float = 2.0) -> webhook.Kind:
    return webhook.Kind(name, p50, p50 * 2, replay, dynamodb, 1.0)


def test_the_webhook_targets_follow_the_figures() -> None:
    section = webhook.render(
        [
            kind(webhook.FLOOR, 0.010, None),
            kind("SMS", 0.014, 0.010),
            kind("e-mail", 0.020, 0.010, dynamodb=3.0),
        ],
        requests=7,
        state_every=5,
    )
    verdicts = {t.what: t.met for t in section.targets}
    assert verdicts == {
        "SMS: requests per message 2 DynamoDB + 1 SQS": True,
        "e-mail: requests per message 2 DynamoDB + 1 SQS": False,
        "SMS: p50 / replay (our own work over the webhook's I/O)": True,
        "e-mail: p50 / replay (our own work over the webhook's I/O)": False,
    }
    assert "| SMS | 14.0 | 28.0 | 1.40 | 10.0 | 1.40 | 2.00 | 1.00 |" in section.markdown
    assert "7 requests of each kind" in section.markdown


def test_the_timer_count_is_checked_against_the_design() -> None:
    rows = [
        timers.Measured(
            "15 min",
            timedelta(minutes=15),
            {"GetQueueUrl": 1, "SendMessage": 1, "ReceiveMessage": 1, "DeleteMessage": 1},
            3,
        ),
        timers.Measured("14 days", timedelta(days=14), {"SendMessage": 200}, 4032),
    ]
    section = timers.render(rows)
    assert [(t.measured, t.limit, t.met) for t in section.targets] == [
        ("3", "3", True),
        ("200", str(timers.expected(timedelta(days=14))), False),
    ]


def test_the_runner_writes_a_header_the_targets_and_every_section() -> None:
    ran = [
        runner.Ran("timers", Section("Timers", "body one", (Target("t", "1", "1", True),)), 3.0),
        runner.Ran("answers", Section("Answers", "body two"), 65.0),
    ]
    text = runner.render(
        ran, datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "abc1234", True, "1.00", "2.00", 68.0
    )
    assert "| commit | `abc1234` (with uncommitted changes) |" in text
    assert "| total wall time | 1 min 8 s |" in text
    assert "| `bench.timers` | t | 1 | 1 | met |" in text
    assert re.search(r"## Timers\n\nbody one\n\n.*\n\nWall time: 3 s", text, re.DOTALL)
    assert "## Answers\n\nbody two\n\nWall time: 1 min 5 s" in text

"""The weekly report against a week of scripted conversations on the emulator, with a fake
clock: redelivered webhooks, every job delivered twice, a breach alert and an answer that
fail once and are retried. Every figure of the report is checked against a count done the
slow way (a scan of the table, and the script's own ledger of promises), and the Monday
schedule sends it once."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from chalice.test import Client

from chalicelib.composition import Container, reset_container
from chalicelib.domain import report, tokens
from chalicelib.domain.report_render import render_html, render_text
from chalicelib.flows.report import build_report, send_weekly_reports
from chalicelib.settings import Settings
from chalicelib.store import privacy
from relaydesk import sandbox
from relaydesk.local_env import local_environment
from relaydesk.workers import QueueWorker
from tests.conftest import ROOT
from tests.integration.conftest import PUBLIC_URL, FakeClock, drain
from tests.integration.test_spine import post_parse, post_twilio

STORE, NUMBER, ZONE = "weekly", "+15005550040", "America/New_York"
ANN, BOB = "ann@weekly.test", "bob@weekly.test"
OWNER = "owner@weekly.test"
WEEK = report.IsoWeek(2026, 48)  # Mon 23 - Sun 29 November 2026 in New York (UTC-5)
NY = ZoneInfo(ZONE)

WEEKLY_STORE = {
    "id": STORE,
    "name": "Weekly Goods",
    "timezone": ZONE,
    "business_hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "first_response_minutes": 60,
    "ack_cooldown_minutes": 0,
    "phone_numbers": [NUMBER],
    "support_address": "help@weekly.test",
    "agents": [{"email": ANN, "name": "Ann"}, {"email": BOB, "name": "Bob"}],
    "survey": True,
    "sla": {"next_response": {"minutes": 30}, "resolution": {"minutes": 480}},
    "automation": {
        "enabled": True,
        "answers_file": str(ROOT / "chalicelib" / "demo_answers.json"),
        "notify_agents": "after_handoff",
    },
    "report_to": [OWNER],
}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in November 2026, in UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=NY).astimezone(UTC)


@pytest.fixture
def container(
    aws: dict[str, str], sandbox_url: str, clock: FakeClock, tmp_path: Path
) -> Iterator[Container]:
    stores = tmp_path / "stores.json"
    stores.write_text(json.dumps({"stores": [WEEKLY_STORE]}))
    environ = {
        **os.environ,
        **local_environment(
            app_url=PUBLIC_URL, aws_url=os.environ["AWS_ENDPOINT_URL"], sandbox_url=sandbox_url
        ),
        "STORES_FILE": str(stores),
    }
    built = Container(Settings(environ), clock=clock)
    reset_container(built)
    yield built
    reset_container(None)


def twice(handler: Any) -> Any:
    """SQS delivers at least once: every job and timer runs twice here."""

    def run(event: Any, context: Any) -> Any:
        first = handler(event, context)
        handler(event, context)
        return first

    return run


@pytest.fixture
def jobs(aws: dict[str, str], container: Container) -> QueueWorker:
    from app import on_job

    return QueueWorker(
        boto3.client("sqs"), aws["JobsQueueUrl"], twice(on_job), retry_backoff_seconds=0
    )


@pytest.fixture
def timers(aws: dict[str, str], container: Container) -> QueueWorker:
    from app import on_timer

    return QueueWorker(
        boto3.client("sqs"), aws["TimersQueueUrl"], twice(on_timer), retry_backoff_seconds=0
    )


@dataclass
class Promise:
    """The script's ledger: a promise as the thread held it when it started."""

    thread_id: str
    target: str
    due: datetime
    answered_at: datetime | None = None


class Week:
    """Drives the store through the scripted week, keeping a ledger of every promise."""

    def __init__(
        self,
        client: Client,
        c: Container,
        jobs: QueueWorker,
        timers: QueueWorker,
        clock: FakeClock,
        outbox: sandbox.Sandbox,
    ) -> None:
        self.client, self.c, self.jobs, self.timers = client, c, jobs, timers
        self.clock, self.outbox = clock, outbox
        self.promises: list[Promise] = []

    def at(self, when: datetime) -> None:
        """Move the clock on, letting every timer due on the way act."""
        assert when >= self.clock.now
        while self.clock.now < when:
            self.clock.now = min(when, self.clock.now + timedelta(minutes=10))
            self.tick()

    def tick(self) -> None:
        for _ in range(5):
            if self.timers.poll_once() == 0:
                break
        drain(self.jobs)

    def thread(self, customer: str) -> Any:
        pointer = self.c.repository.customer(STORE, customer)
        assert pointer is not None
        assert pointer.open_thread_id
        thread = self.c.repository.thread(STORE, pointer.open_thread_id)
        assert thread is not None
        return thread

    def customer_writes(
        self, customer: str, body: str, when: datetime, *, redelivered: int = 0
    ) -> Any:
        self.at(when)
        to = f"whatsapp:{NUMBER}" if customer.startswith("whatsapp:") else NUMBER
        sid = f"SM{customer[-4:]}{int(when.timestamp())}"
        for _ in range(1 + redelivered):  # the same MessageSid: Twilio's redelivery
            assert (
                post_twilio(self.client, sender=customer, to=to, body=body, sid=sid).status_code
                == 200
            )
        drain(self.jobs)
        thread = self.thread(customer)
        running = thread.awaiting == "agent" and thread.response_due_at is not None
        if running and not any(
            p.thread_id == thread.thread_id and p.answered_at is None for p in self.promises
        ):
            self.promises.append(
                Promise(thread.thread_id, thread.response_target, thread.response_due_at)
            )
        return thread

    def agent_replies(self, agent: str, customer: str, text: str, when: datetime) -> None:
        self.at(when)
        thread = self.thread(customer)
        address = tokens.reply_address(
            self.c.reply_secret, STORE, thread.thread_id, self.c.settings.reply_domain
        )
        assert post_parse(self.client, sender=agent, to=address, text=text).status_code == 200
        drain(self.jobs)
        for p in self.promises:
            if p.thread_id == thread.thread_id and p.answered_at is None:
                p.answered_at = when


def scripted_week(w: Week) -> dict[str, str]:
    """The week; returns the customers by name."""
    people = {
        "c0": "+12025550100",
        "c1": "+12025550101",
        "c2": "+12025550102",
        "c3": "+12025550103",
        "c4": "whatsapp:+12025550104",
        "c5": "+12025550105",
        "c6": "+12025550106",
    }
    # The week before: one conversation, answered in 20 minutes.
    w.customer_writes(people["c0"], "Is my parcel on its way?", local(20, 10))
    w.agent_replies(ANN, people["c0"], "Yes, it left today.", local(20, 10, 20))

    # Monday: a damaged parcel, the webhook redelivered twice; Ann answers in 30 minutes,
    # closes; the customer rates 5.
    w.customer_writes(people["c1"], "My parcel arrived damaged", local(23, 9, 10), redelivered=2)
    w.agent_replies(ANN, people["c1"], "#close\nSorry! A new one is on its way.", local(23, 9, 40))
    w.customer_writes(people["c1"], "5", local(23, 10, 30), redelivered=1)

    # Monday: Bob misses the first response (the breach alert fails once and is retried),
    # answers late, keeps the next response, closes; the customer rates 1.
    w.customer_writes(people["c2"], "The size is wrong", local(23, 11))
    w.at(local(23, 11, 50))  # the reminder
    w.outbox.set_fault("sendgrid", 500, 1, 0.0)  # the breach alert's first try fails
    w.customer_writes(people["c2"], "Hello?", local(23, 12, 40))
    w.agent_replies(
        BOB, people["c2"], "Sorry for the wait, which size do you need?", local(23, 12, 50)
    )
    w.customer_writes(people["c2"], "M please", local(23, 13))
    w.agent_replies(BOB, people["c2"], "#close\nDone, M is on its way.", local(23, 13, 10))
    w.customer_writes(people["c2"], "1", local(23, 13, 30))

    # Tuesday: answered automatically; the customer comes back to a person; Ann answers.
    w.customer_writes(people["c3"], "How do I return something?", local(24, 10))
    w.customer_writes(people["c3"], "I lost the label, can someone help me", local(24, 10, 20))
    w.agent_replies(ANN, people["c3"], "I have sent you a new label.", local(24, 10, 30))

    # Wednesday night on WhatsApp: out of hours, due Thursday 10:00, broken; Bob answers.
    w.customer_writes(people["c4"], "The charger is missing from my order", local(25, 20))
    w.agent_replies(BOB, people["c4"], "Yes we do.", local(26, 10, 30))

    # Friday: Ann's answer fails at Twilio once and its job is retried.
    w.customer_writes(people["c5"], "Please put my parcel at the back door", local(27, 16, 50))
    w.outbox.set_fault("twilio", 500, 1, 0.0)
    w.agent_replies(ANN, people["c5"], "Yes, done.", local(27, 16, 55))
    drain(w.jobs)

    # Sunday 23:30 in New York (Monday 04:30 UTC): Sunday's, unanswered.
    w.customer_writes(people["c6"], "The zipper of my jacket broke", local(29, 23, 30))
    return people


def items_of(store_id: str) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table("relaydesk")
    found, start = [], None
    while True:
        page = table.scan(**({"ExclusiveStartKey": start} if start else {}))
        found += [i for i in page["Items"] if str(i["pk"]).startswith(f"{store_id}#THREAD#")]
        start = page.get("LastEvaluatedKey")
        if not start:
            return found


def when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def in_week(at: datetime, week: report.IsoWeek) -> bool:
    start, end = week.bounds(ZONE)
    return start <= at < end


def slow_figures(week: report.IsoWeek, promises: list[Promise]) -> dict[str, Any]:
    """Every figure of the report, counted from the stored threads and messages and from
    the script's ledger, without the counters."""
    items = items_of(STORE)
    threads = {i["pk"]: i for i in items if i["sk"] == "#META"}
    messages = sorted((i for i in items if i["sk"].startswith("MSG#")), key=lambda m: m["sk"])
    day_index = {d: n for n, d in enumerate(week.days)}

    conversations: Counter[tuple[str, int]] = Counter()
    for t in threads.values():
        created = when(t["created_at"])
        if in_week(created, week):
            conversations[(t["channel"], day_index[created.astimezone(NY).date()])] += 1
    heat: Counter[tuple[int, int]] = Counter()
    surveys = auto_answered = 0
    returned: set[str] = set()
    answered_by_machine: set[str] = set()
    first_out: dict[str, str] = {}
    for m in messages:
        at = when(m["created_at"])
        automatic = m.get("automatic")
        if m["direction"] == "in" and automatic is None:
            if m["pk"] in answered_by_machine and in_week(at, week):
                returned.add(m["pk"])
            answered_by_machine.discard(m["pk"])
            if in_week(at, week):
                local_at = at.astimezone(NY)
                heat[(day_index[local_at.date()], local_at.hour)] += 1
        if m["direction"] == "out" and m.get("delivery_status") == "sent":
            if automatic is None:
                first_out.setdefault(m["pk"], m["author"])
            elif str(automatic).startswith("answer:"):
                answered_by_machine.add(m["pk"])
                auto_answered += in_week(at, week)
            elif automatic == "survey":
                surveys += in_week(at, week)
    frt: Counter[int] = Counter()
    agents: dict[str, dict[str, Any]] = {}
    ratings: Counter[int] = Counter()
    low = set()
    for pk, t in threads.items():
        if t.get("first_response_at") and in_week(when(t["first_response_at"]), week):
            minutes = (when(t["first_response_at"]) - when(t["created_at"])).total_seconds() / 60
            b = report.bucket(minutes)
            frt[b] += 1
            agent = agents.setdefault(
                first_out[pk], {"threads": 0, "frt": Counter(), "r": Counter()}
            )
            agent["threads"] += 1
            agent["frt"][b] += 1
        if t.get("rating") is not None and in_week(when(t["rated_at"]), week):
            ratings[int(t["rating"])] += 1
            agents.setdefault(t["assignee"], {"threads": 0, "frt": Counter(), "r": Counter()})
            agents[t["assignee"]]["r"][int(t["rating"])] += 1
            if int(t["rating"]) <= report.LOW_RATING:
                low.add((int(t["rating"]), t["channel"], t["thread_id"]))
    kept: Counter[str] = Counter()
    broken: Counter[str] = Counter()
    breaches: Counter[int] = Counter()
    for p in promises:  # response promises: answered by the deadline, or broken at it
        if p.answered_at is not None and p.answered_at <= p.due:
            if in_week(p.answered_at, week):
                kept[p.target] += 1
        elif in_week(p.due, week):
            broken[p.target] += 1
            breaches[p.due.astimezone(NY).hour] += 1
    for t in threads.values():  # resolution: closed by its deadline, or breached
        due = t.get("resolution_due_at")
        if due is None:
            continue
        if t.get("resolution_breached_at") and in_week(when(t["resolution_breached_at"]), week):
            broken["resolution"] += 1
            breaches[when(due).astimezone(NY).hour] += 1
        elif t.get("closed_at") and in_week(when(t["closed_at"]), week):
            kept["resolution"] += int(when(t["closed_at"]) <= when(due))
            broken["resolution"] += int(when(t["closed_at"]) > when(due))
    return {
        "conversations": conversations,
        "heat": heat,
        "frt": frt,
        "agents": agents,
        "ratings": ratings,
        "low": low,
        "surveys": surveys,
        "auto_answered": auto_answered,
        "auto_returned": len(returned),
        "kept": kept,
        "broken": broken,
        "breaches": breaches,
    }


def check_against_slow_count(figures: report.WeekFigures, slow: dict[str, Any]) -> None:
    assert {
        (ch, i): n for ch, days in figures.conversations.items() for i, n in enumerate(days) if n
    } == dict(slow["conversations"])
    assert {
        (d, h): n for d, row in enumerate(figures.heat) for h, n in enumerate(row) if n
    } == dict(slow["heat"])
    assert {i: n for i, n in enumerate(figures.frt_counts) if n} == dict(slow["frt"])
    assert {
        a.agent: (a.threads, {i: n for i, n in enumerate(a.frt_counts) if n})
        for a in figures.agents
    } == {a: (v["threads"], dict(v["frt"])) for a, v in slow["agents"].items()}
    assert {
        a.agent: {r: n for r, n in zip(report.RATINGS, a.ratings, strict=True) if n}
        for a in figures.agents
    } == {a: dict(v["r"]) for a, v in slow["agents"].items()}
    assert {r: n for r, n in zip(report.RATINGS, figures.ratings, strict=True) if n} == dict(
        slow["ratings"]
    )
    assert {(e.rating, e.channel, e.thread_id) for e in figures.low_rated} == slow["low"]
    assert figures.surveys == slow["surveys"]
    assert figures.auto_answered == slow["auto_answered"]
    assert figures.auto_returned == slow["auto_returned"]
    assert {p: n for p, n in figures.kept.items() if n} == dict(slow["kept"])
    assert {p: n for p, n in figures.broken.items() if n} == dict(slow["broken"])
    assert {h: n for h, n in enumerate(figures.breaches_by_hour) if n} == dict(slow["breaches"])


def test_a_scripted_week_reports_every_figure_as_the_slow_count_does(
    client: Client,
    container: Container,
    jobs: QueueWorker,
    timers: QueueWorker,
    clock: FakeClock,
    outbox: sandbox.Sandbox,
) -> None:
    clock.now = local(20, 9)
    w = Week(client, container, jobs, timers, clock, outbox)
    people = scripted_week(w)
    w.at(local(30, 6))  # Monday before the report: every timer of the week has acted
    store = container.stores.by_id(STORE)
    assert store is not None

    built = build_report(container, store, WEEK)
    check_against_slow_count(built.this, slow_figures(WEEK, w.promises))
    check_against_slow_count(built.before, slow_figures(WEEK.previous(), w.promises))

    this = built.this
    # What the script did, as far as it is plain without counting: six conversations this
    # week (SMS on Mon, Mon, Tue, Fri, Sun; WhatsApp on Wed), one the week before.
    assert this.conversations == {"sms": (2, 1, 0, 0, 1, 0, 1), "whatsapp": (0, 0, 1, 0, 0, 0, 0)}
    assert built.before.total_conversations == 1
    assert this.heat[6][23] == 1  # Sunday 23:30 in New York, although Monday in UTC
    assert this.ratings == (1, 0, 0, 0, 1)
    assert this.surveys == 2
    assert (this.auto_answered, this.auto_returned) == (1, 1)
    assert this.broken["first_response"] == 2  # c2 (breach alert retried) and c4
    c2_alerts = [
        m
        for m in outbox.entries(provider="sendgrid")
        if "Overdue" in str(m["subject"]) and people["c2"] in str(m["subject"])
    ]
    assert len(c2_alerts) == 1  # its first try failed; the retry sent it, and counted nothing
    assert [m["body"] for m in outbox.entries(to=people["c5"])].count("Yes, done.") == 1

    # The rendered report shows these numbers.
    html, text = render_html(built), render_text(built)
    assert f">{this.total_conversations}<" in html.replace("</div>", "<")
    assert "Weekly Goods: Weekly report" in text
    assert (
        tokens.reply_address(
            container.reply_secret,
            STORE,
            this.low_rated[0].thread_id,
            container.settings.reply_domain,
        )
        in html
    )

    # Erasing a customer keeps the counts.
    key = container.reply_secret
    privacy.erase_customer(STORE, people["c2"], key=key)
    assert build_report(container, store, WEEK).this == this


def test_the_monday_schedule_sends_last_weeks_report_once(
    client: Client,
    container: Container,
    jobs: QueueWorker,
    timers: QueueWorker,
    clock: FakeClock,
    outbox: sandbox.Sandbox,
) -> None:
    clock.now = local(23, 9)
    w = Week(client, container, jobs, timers, clock, outbox)
    w.customer_writes("+12025550109", "Hi there", local(23, 9, 5))
    w.agent_replies(ANN, "+12025550109", "Hello!", local(23, 9, 15))

    clock.now = local(30, 6, 30)  # Monday 06:30 in New York: not yet
    assert send_weekly_reports(container) == []
    clock.now = local(30, 7, 5)
    assert send_weekly_reports(container) == [STORE]
    clock.now = local(30, 8, 5)  # the next hour's run, and a retried invocation
    assert send_weekly_reports(container) == []
    assert send_weekly_reports(container) == []
    [mail] = outbox.entries(to=OWNER)
    assert mail["subject"] == "Weekly Goods: Weekly report 2026-W48"
    assert "Conversations: 1" in mail["text"]
    assert mail["html"].startswith("<!DOCTYPE html>")
    assert mail["headers"]["Auto-Submitted"] == "auto-generated"


def test_a_failed_send_is_tried_again_the_next_hour(
    container: Container, clock: FakeClock, outbox: sandbox.Sandbox
) -> None:
    from chalicelib.flows.report import ReportFailed

    clock.now = local(30, 7, 5)
    outbox.set_fault("sendgrid", 500, 5, 0.0)
    with pytest.raises(ReportFailed, match=STORE):
        send_weekly_reports(container)
    outbox.clear_faults()
    clock.now = local(30, 8, 5)
    assert send_weekly_reports(container) == [STORE]
    assert len(outbox.entries(to=OWNER)) == 1


def test_a_report_of_a_week_without_counters_is_all_zero(container: Container) -> None:
    store = container.stores.by_id(STORE)
    assert store is not None
    built = build_report(container, store, report.IsoWeek(2026, 2))
    assert built.this.total_conversations == 0
    assert built.this.frt_median is None
    assert date(2026, 1, 5) == built.this.week.monday

"""The weekly report's arithmetic and its rendering: buckets, percentiles from buckets, ISO
weeks across time zones and clock changes, what each event counts, and HTML / text / CSV
that show the numbers computed (no remote images, no scripts, tags balanced)."""

from __future__ import annotations

import json
import random
import statistics
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import report
from chalicelib.domain.report import (
    FRT_EDGES_MINUTES,
    AnswerFacts,
    IsoWeek,
    bucket,
    bucket_bounds,
    percentile,
)
from chalicelib.domain.report_render import _Format, csv_tables, render_html, render_text
from chalicelib.settings import ConfigError
from chalicelib.stores import parse_store
from tests.conftest import TEST_STORES

# -- buckets and percentiles ------------------------------------------------------------


def test_every_minute_falls_in_exactly_the_bucket_whose_bounds_hold_it() -> None:
    for minutes in [0, 0.5, 4.99, 5, 14.9, 15, 59, 60, 239, 240, 1439, 1440, 2879, 2880, 10**6]:
        low, high = bucket_bounds(bucket(minutes))
        assert low <= minutes
        assert high is None or minutes < high
    assert bucket(-3) == 0
    assert bucket(10**9) == len(FRT_EDGES_MINUTES)


def test_percentile_interpolates_inside_the_bucket() -> None:
    counts = [0] * (len(FRT_EDGES_MINUTES) + 1)
    counts[1] = 10  # ten answers between 5 and 15 minutes
    assert percentile(counts, 0.5) == pytest.approx(10.0)
    assert percentile(counts, 0.9) == pytest.approx(14.0)
    assert percentile([0] * len(counts), 0.5) is None


def test_percentile_in_the_open_last_bucket_is_its_floor() -> None:
    counts = [0] * (len(FRT_EDGES_MINUTES) + 1)
    counts[-1] = 3
    assert percentile(counts, 0.9) == FRT_EDGES_MINUTES[-1]


@pytest.mark.parametrize("seed", range(20))
def test_percentile_from_buckets_is_within_the_true_values_bucket(seed: int) -> None:
    rng = random.Random(seed)
    minutes = [rng.expovariate(1 / rng.choice([10, 60, 300])) for _ in range(rng.randint(1, 400))]
    counts = [0] * (len(FRT_EDGES_MINUTES) + 1)
    for m in minutes:
        counts[bucket(m)] += 1
    for q in (0.5, 0.9):
        true = sorted(minutes)[max(0, int(q * len(minutes) + 0.999999) - 1)]  # nearest rank
        estimate = percentile(counts, q)
        assert estimate is not None
        low, high = bucket_bounds(bucket(true))
        assert low <= estimate <= (high if high is not None else low)


def test_the_median_of_counts_agrees_with_statistics_on_bucket_midpoints() -> None:
    counts = [0, 4, 0, 4, 0, 0, 0, 0, 0, 0]  # 4 in [5,15), 4 in [30,60)
    assert percentile(counts, 0.5) == 15.0  # the edge between the two halves
    assert statistics.median([10] * 4 + [45] * 4) == 27.5  # the midpoints' median differs,
    # which is why the report says percentiles are estimated from the buckets


# -- weeks ------------------------------------------------------------------------------


def test_iso_weeks_parse_and_say_what_is_wrong() -> None:
    assert IsoWeek.parse("2026-W48") == IsoWeek(2026, 48)
    assert str(IsoWeek(2026, 1)) == "2026-W01"
    assert IsoWeek.parse("2026-W01").monday == date(2025, 12, 29)  # ISO year != calendar year
    assert IsoWeek.parse("2026-W53").monday == date(2026, 12, 28)  # 2026 has 53 weeks
    with pytest.raises(ValueError, match="2025 has no week 53"):
        IsoWeek.parse("2025-W53")
    with pytest.raises(ValueError, match="expected YYYY-Www"):
        IsoWeek.parse("2026-48")
    assert IsoWeek(2026, 1).previous() == IsoWeek(2025, 52)


@pytest.mark.parametrize(
    ("zone", "week", "hours"),
    [
        ("Europe/Prague", IsoWeek(2026, 13), 167),  # summer time from Sun 29 March
        ("Europe/Prague", IsoWeek(2026, 43), 169),  # winter time from Sun 25 October
        ("Europe/Prague", IsoWeek(2026, 48), 168),
        ("America/New_York", IsoWeek(2026, 10), 167),  # from Sun 8 March
        ("America/New_York", IsoWeek(2026, 44), 169),  # to standard time Sun 1 November
        ("Australia/Sydney", IsoWeek(2026, 14), 169),  # to standard time Sun 5 April
        ("Asia/Kolkata", IsoWeek(2026, 13), 168),  # no clock changes
    ],
)
def test_a_week_runs_from_local_monday_midnight_across_clock_changes(
    zone: str, week: IsoWeek, hours: int
) -> None:
    start, end = week.bounds(zone)
    assert (end - start) == timedelta(hours=hours)
    local_start = start.astimezone(ZoneInfo(zone))
    assert (local_start.date(), local_start.hour, local_start.minute) == (week.monday, 0, 0)
    assert end.astimezone(ZoneInfo(zone)).date() == week.monday + timedelta(days=7)
    assert report.local_day_hour(start, zone) == (week.monday, 0)
    assert report.local_day_hour(end - timedelta(seconds=1), zone) == (week.days[-1], 23)


def test_the_same_instant_is_filed_under_each_stores_own_day() -> None:
    instant = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)  # Monday in UTC
    assert report.local_day_hour(instant, "America/New_York") == (date(2026, 11, 29), 23)
    assert report.local_day_hour(instant, "Pacific/Auckland") == (date(2026, 11, 30), 17)
    assert report.this_week(instant, "America/New_York") == IsoWeek(2026, 48)
    assert report.this_week(instant, "Pacific/Auckland") == IsoWeek(2026, 49)


@pytest.mark.parametrize(
    ("instant", "zone", "due"),
    [
        (datetime(2026, 11, 30, 6, 0, tzinfo=UTC), "Europe/Prague", IsoWeek(2026, 48)),  # 07:00
        (datetime(2026, 11, 30, 5, 59, tzinfo=UTC), "Europe/Prague", None),  # 06:59
        (datetime(2026, 11, 30, 11, 0, tzinfo=UTC), "Europe/Prague", None),  # 12:00
        # Monday 07:30 in Auckland is Sunday 18:30 UTC: the Sunday runs are for them.
        (datetime(2026, 11, 29, 18, 30, tzinfo=UTC), "Pacific/Auckland", IsoWeek(2026, 48)),
        (datetime(2026, 11, 30, 12, 30, tzinfo=UTC), "America/New_York", IsoWeek(2026, 48)),
        (datetime(2026, 12, 1, 12, 30, tzinfo=UTC), "America/New_York", None),  # Tuesday
        # Summer time: Monday 07:00 in Prague is 05:00 UTC.
        (datetime(2026, 6, 29, 5, 0, tzinfo=UTC), "Europe/Prague", IsoWeek(2026, 26)),
    ],
)
def test_the_report_is_due_on_the_stores_monday_morning(
    instant: datetime, zone: str, due: IsoWeek | None
) -> None:
    assert report.report_due(instant, zone) == due


def test_the_schedule_runs_on_every_utc_hour_that_is_monday_morning_somewhere() -> None:
    """Monday 07:00-11:59 in UTC+14 .. UTC-12 is Sunday 17:00 .. Monday 23:59 UTC."""
    hours = []
    start = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    for step in range(48):
        hours.append(start + timedelta(hours=step))
    for zone in ("Pacific/Kiritimati", "Pacific/Auckland", "Europe/Prague", "Pacific/Pago_Pago"):
        assert sum(report.report_due(h, zone) is not None for h in hours) == 5, zone


# -- what events count ------------------------------------------------------------------


def test_a_first_answer_counts_its_time_agent_and_the_promise() -> None:
    created = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    facts = AnswerFacts(
        thread_id="t1",
        awaiting_agent=True,
        created_at=created,
        first_response_at=None,
        response_target="first_response",
        response_due_at=created + timedelta(hours=1),
        breach_counted=False,
        author="ann@x.test",
    )
    adds = report.answer_counts(facts, created + timedelta(minutes=20), "America/New_York")
    assert adds == {
        "frt_2": 1,
        "agent:ann@x.test:threads": 1,
        "agent:ann@x.test:frt_2": 1,
        "kept_first_response": 1,
    }
    late = report.answer_counts(facts, created + timedelta(hours=2), "America/New_York")
    assert late["broken_first_response"] == 1
    assert late["breach_h10"] == 1  # due 15:00 UTC, 10:00 in New York
    counted = AnswerFacts(**{**vars(facts), "breach_counted": True, "first_response_at": created})
    assert report.answer_counts(counted, created + timedelta(hours=2), "UTC") == {}


def test_counts_are_filed_by_local_day_and_a_threads_shard() -> None:
    at = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
    counts = report.counts_at(at, "America/New_York", "abc", {"x": 1}, event="e")
    assert counts is not None
    assert counts.day == date(2026, 11, 29)
    assert 0 <= counts.shard < report.SHARDS
    assert counts.shard == report.shard_of("abc")
    assert report.counts_at(at, "UTC", "abc", {}) is None
    assert report.low_rated_entry(3, "sms", "t") is None
    assert report.low_rated_entry(1, "sms", "t") == "1|sms|t"


def test_merge_sums_the_shards_and_week_figures_reads_every_counter() -> None:
    week = IsoWeek(2026, 48)
    monday, sunday = week.days[0], week.days[-1]
    items: list[tuple[date, dict[str, object]]] = [
        (monday, {"conv_sms": 2, "in_h09": 3, "frt_1": 1, "kept_first_response": 1}),
        (monday, {"conv_sms": 1, "conv_email": 1, "in_h09": 1, "broken_first_response": 1}),
        (monday, {"breach_h10": 1, "rating_5": 1, "agent:a@x.test:rating_5": 1}),
        (sunday, {"low": {"1|sms|t9"}, "rating_1": 1, "surveys": 2}),
        (sunday, {"agent:a@x.test:threads": 1, "agent:a@x.test:frt_1": 1}),
        (sunday, {"auto_answered": 2, "auto_returned": 1}),
        (monday - timedelta(days=1), {"conv_sms": 50}),  # the week before
    ]
    figures = report.week_figures(week, report.merge(items))
    assert figures.conversations == {"email": (1, 0, 0, 0, 0, 0, 0), "sms": (3, 0, 0, 0, 0, 0, 0)}
    assert figures.total_conversations == 4
    assert figures.heat[0][9] == 4
    assert figures.kept_share("first_response") == 0.5
    assert figures.kept_share("resolution") is None
    assert figures.breaches_by_hour[10] == 1
    assert figures.ratings == (1, 0, 0, 0, 1)
    assert figures.rating_average == 3.0
    assert figures.response_rate == 1.0
    [agent] = figures.agents
    assert (agent.agent, agent.threads, agent.ratings) == ("a@x.test", 1, (0, 0, 0, 0, 1))
    assert agent.frt_median == pytest.approx(10.0)
    assert [(e.rating, e.channel, e.thread_id, e.day) for e in figures.low_rated] == [
        (1, "sms", "t9", sunday)
    ]
    assert (figures.auto_answered, figures.auto_returned) == (2, 1)
    assert figures.auto_share == 0.5
    assert figures.returned_share == 0.5


# -- rendering ---------------------------------------------------------------------------

VOID = {"meta", "br", "img", "hr", "input", "link"}


class _Checker(HTMLParser):
    """Tags balanced and nested; no script, image, stylesheet or remote resource."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.problems: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "img", "link", "style", "iframe", "object"):
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or (
                name in ("src", "href") and value and value.startswith(("http:", "https:"))
            ):
                self.problems.append(f"{tag} {name}={value}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _sample(language: str = "en") -> report.WeeklyReport:
    week = IsoWeek(2026, 48)
    rng = random.Random(7)
    items = []
    for w in (week.previous(), week):
        for d in w.days:
            counts: dict[str, object] = {
                "conv_sms": rng.randint(0, 9),
                "conv_whatsapp": rng.randint(0, 5),
                "kept_first_response": rng.randint(0, 9),
                "broken_first_response": rng.randint(0, 3),
                "kept_resolution": rng.randint(0, 3),
                "rating_5": rng.randint(0, 3),
                "rating_2": rng.randint(0, 1),
                "surveys": 4,
                "auto_answered": 1,
                f"breach_h{rng.randint(0, 23):02d}": 1,
                f"in_h{rng.randint(0, 23):02d}": rng.randint(1, 9),
                f"frt_{rng.randint(0, 9)}": rng.randint(1, 5),
                "agent:ann@x.test:threads": 2,
                "agent:ann@x.test:frt_3": 2,
            }
            items.append((d, counts))
    items.append((week.days[1], {"low": {"1|sms|thread1"}, "rating_1": 1}))
    days = report.merge(items)
    return report.WeeklyReport(
        store_name="Shop <&> Co",
        language=language,
        timezone="Europe/Prague",
        this=report.week_figures(week, days),
        before=report.week_figures(week.previous(), days),
        first_response_target_minutes=240,
        target_business_hours=True,
        agent_names={"ann@x.test": "Ann"},
        links={"thread1": "reply+demo.thread1.abc@reply.test"},
    )


@pytest.mark.parametrize("language", ["en", "de", "cs", "ar"])
def test_the_html_validates_and_shows_the_computed_numbers(language: str) -> None:
    built = _sample(language)
    html = render_html(built)
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.doctype
    assert checker.problems == []
    assert checker.stack == []
    text = " ".join(checker.text)
    fmt = _Format(language)
    this = built.this
    assert fmt.number(this.total_conversations) in text
    assert fmt.percent(this.kept_share("first_response")) in text
    assert fmt.minutes(this.frt_median, report_words(language)) in text
    assert fmt.minutes(this.frt_p90, report_words(language)) in text
    assert fmt.number(this.rating_average or 0, 1) in text
    assert fmt.percent(this.response_rate) in text
    for i in range(7):
        assert fmt.number(this.conversations_on(i)) in text
    assert "Shop <&> Co" in text  # escaped in the markup, intact as text
    assert "Shop <&> Co" not in html
    assert 'href="mailto:reply+demo.thread1.abc@reply.test"' in html


def report_words(language: str) -> dict[str, str]:
    from chalicelib.domain.report_render import words

    return words(language)


def test_the_numbers_follow_the_stores_language() -> None:
    de = render_text(_sample("de"))
    assert de.startswith("Shop <&> Co: Wochenbericht")
    average = _sample("de").this.rating_average
    assert average is not None
    assert f"{average:.1f}".replace(".", ",") in de  # a decimal comma
    assert "23.11.2026" in de
    en = render_text(_sample("en"))
    assert "Nov 23, 2026" in en


def test_the_text_part_carries_the_same_figures() -> None:
    built = _sample()
    text = render_text(built)
    this, fmt = built.this, _Format("en")
    assert f"Conversations: {fmt.number(this.total_conversations)}" in text
    assert f"First response: {fmt.percent(this.kept_share('first_response'))}" in text
    assert "reply+demo.thread1.abc@reply.test" in text
    assert "Ann: Threads 14" in text


def test_csv_tables_hold_plain_numbers_for_both_weeks() -> None:
    built = _sample()
    tables = csv_tables(built)
    rows = tables["conversations.csv"]
    assert rows[0] == ["week", "day", "channel", "conversations"]
    this_week = [r for r in rows[1:] if r[0] == "2026-W48"]
    assert sum(int(r[3]) for r in this_week) == built.this.total_conversations
    assert {r[1] for r in this_week} == {d.isoformat() for d in built.this.week.days}
    heat = [r for r in tables["busy_hours.csv"][1:] if r[0] == "2026-W48"]
    assert [list(map(int, r[2:])) for r in heat] == [list(row) for row in built.this.heat]
    assert json.dumps(tables)  # plain strings only


# -- configuration ----------------------------------------------------------------------


def _demo_raw() -> dict[str, object]:
    stores = json.loads(TEST_STORES.read_text())["stores"]
    return dict(next(s for s in stores if s["id"] == "demo"))


def test_report_to_is_validated_naming_the_store_and_field() -> None:
    raw = _demo_raw()
    assert parse_store(raw).report_to == ()
    raw["report_to"] = ["Owner@Shop.test", "owner@shop.test", "boss@shop.test"]
    assert parse_store(raw).report_to == ("owner@shop.test", "boss@shop.test")
    raw["report_to"] = "owner@shop.test"
    assert parse_store(raw).report_to == ("owner@shop.test",)
    for bad in (["not an address"], [3], {"to": "x"}):
        raw["report_to"] = bad
        with pytest.raises(ConfigError, match="store 'demo': report_to"):
            parse_store(raw)


# Importing the store imports botocore, whose vendored urllib3 probes for IPv6 with a socket
# (refused here, and caught by urllib3).
@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
def test_a_close_stored_in_a_transaction_shows_on_the_local_item_as_an_update_would() -> None:
    from chalicelib.domain import thread as life
    from chalicelib.store.models import ThreadItem
    from chalicelib.store.threads import apply_locally, snapshot

    at = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    item = ThreadItem(
        "demo#THREAD#t",
        "#META",
        status="snoozed",
        snoozed_until=at + timedelta(days=1),
        sla_epoch=2,
        resolution_epoch=1,
    )
    apply_locally(item, life.close(snapshot(item), at))
    assert (item.status, item.closed_at, item.updated_at) == ("closed", at, at)
    assert item.snoozed_until is None
    assert (item.sla_epoch, item.resolution_epoch) == (3, 2)

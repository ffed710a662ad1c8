"""The acknowledgement's promise: computed by the calendar, worded by the store's template."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.ack import acknowledgement
from chalicelib.domain.sla import deadline
from chalicelib.settings import DEFAULT_STORES_FILE
from chalicelib.stores import StoreConfig, load_stores

PRAGUE = "Europe/Prague"


@pytest.fixture
def demo() -> StoreConfig:
    store = load_stores(DEFAULT_STORES_FILE).by_id("demo")
    assert store is not None
    return store


@pytest.mark.parametrize(
    ("received_utc", "expected"),
    [
        # Friday 16:30 Prague: 30 minutes on Friday, 3.5 hours on Monday.
        (datetime(2026, 11, 20, 15, 30, tzinfo=UTC), "Monday 12:30"),
        # Saturday: the clock starts Monday 09:00.
        (datetime(2026, 11, 21, 10, 0, tzinfo=UTC), "Monday 13:00"),
        # Tuesday 10:00 Prague: same day, so "today" rather than "Tuesday".
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "14:00 today"),
        # Tuesday 15:00 Prague: 2 hours on Tuesday, 2 on Wednesday.
        (datetime(2026, 11, 24, 14, 0, tzinfo=UTC), "11:00 tomorrow"),
    ],
)
def test_the_demo_store_promise(demo: StoreConfig, received_utc: datetime, expected: str) -> None:
    due = deadline(demo.calendar, received_utc, demo.sla.targets.first_response)
    text = acknowledgement(
        store_name=demo.name,
        deadline=due,
        opens=None,
        timezone=PRAGUE,
        language=demo.locale,
        now=received_utc,
        overrides={},
    )
    assert text == f"Thanks, we got your message. Someone from Demo Store will reply by {expected}."


def test_a_deadline_beyond_the_coming_week_names_the_date() -> None:
    now = datetime(2026, 12, 23, 12, 0, tzinfo=UTC)
    text = acknowledgement(
        store_name="x",
        deadline=datetime(2027, 1, 4, 8, 0, tzinfo=UTC),
        opens=None,
        timezone=PRAGUE,
        language="en",
        now=now,
        overrides={"en": "By {deadline}."},
    )
    assert text == "By Monday 4 January 09:00."

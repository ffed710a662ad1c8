"""When and what we answer automatically to a customer's message."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.calendar import BusinessCalendar


def first_response_due(calendar: BusinessCalendar, received_at: datetime, minutes: int) -> datetime:
    """The promise we make: both the acknowledgement and the SLA timers use this."""
    return calendar.add_business_minutes(received_at, minutes)


def should_acknowledge(
    *,
    new_thread: bool,
    opted_out: bool,
    last_ack_at: datetime | None,
    now: datetime,
    cooldown_minutes: int,
) -> bool:
    if opted_out:
        return False
    if new_thread or last_ack_at is None:
        return True
    return now - last_ack_at >= timedelta(minutes=cooldown_minutes)


def format_deadline(deadline: datetime, *, timezone: str, locale: str, now: datetime) -> str:
    """'Monday 12:30' within the coming week, with the date added when further away.

    Babel is imported here, not at module load: its locale data is only needed when
    an acknowledgement is actually written.
    """
    from babel.dates import format_datetime

    local = deadline.astimezone(ZoneInfo(timezone))
    pattern = (
        "EEEE HH:mm"
        if local - now.astimezone(local.tzinfo) < timedelta(days=6)
        else ("EEEE d MMMM HH:mm")
    )
    return str(format_datetime(local, pattern, tzinfo=local.tzinfo, locale=locale))


def acknowledgement_text(
    template: str, *, store_name: str, deadline: datetime, timezone: str, locale: str, now: datetime
) -> str:
    return template.format(
        store=store_name,
        deadline=format_deadline(deadline, timezone=timezone, locale=locale, now=now),
    )

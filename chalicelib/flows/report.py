"""Flow 7: the weekly report. Built from the counters kept as the work happens (one Query
of two weeks of day items per store, never a scan), e-mailed on the store's Monday morning
to its `report_to`, and built on demand by `relaydesk report`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.domain import report, tokens
from chalicelib.domain.mail import OutgoingEmail
from chalicelib.stores import StoreConfig

if TYPE_CHECKING:
    from chalicelib.composition import Container

log = logging.getLogger(__name__)


def build_report(c: Container, store: StoreConfig, week: report.IsoWeek) -> report.WeeklyReport:
    """`week` against the week before, from the counters (one Query, paged)."""
    before = week.previous()
    items = c.repository.report_days(store.store_id, before.monday, week.days[-1])
    days = report.merge(items)
    this = report.week_figures(week, days)
    target = store.sla.targets.first_response
    links = {
        entry.thread_id: tokens.reply_address(
            c.reply_secret, store.store_id, entry.thread_id, c.settings.reply_domain
        )
        for entry in this.low_rated
    }
    return report.WeeklyReport(
        store_name=store.name,
        language=store.locale,
        timezone=store.calendar.timezone,
        this=this,
        before=report.week_figures(before, days),
        first_response_target_minutes=target.minutes,
        target_business_hours=target.business_hours,
        agent_names={a.email: a.name for a in store.team},
        links=links,
    )


def report_mail(store: StoreConfig, built: report.WeeklyReport) -> OutgoingEmail:
    from chalicelib.domain.report_render import render_html, render_text, words

    w = words(built.language)
    return OutgoingEmail(
        from_email=store.support_address,
        from_name=f"{store.name} (relaydesk)",
        to=store.report_to,
        subject=f"{store.name}: {w['title']} {built.this.week}",
        text=render_text(built),
        html=render_html(built),
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )


def send_weekly_reports(c: Container) -> list[str]:
    """The hourly schedule's body: every store whose Monday morning it is now gets last
    week's report, once (a claim per store and week; a failed send leaves the claim to
    the next hour's run). Returns the stores sent to."""
    now = c.clock()
    sent, failed = [], []
    for store in c.stores.all():
        week = report.report_due(now, store.calendar.timezone)
        if week is None or not store.report_to:
            continue
        if not c.repository.claim_report(store.store_id, str(week), now):
            continue
        try:
            c.mailer.send(report_mail(store, build_report(c, store, week)))
        except Exception:
            # One store's failure must not cost the others their report.
            log.exception("weekly report failed: store=%s week=%s", store.store_id, week)
            c.repository.report_sent(store.store_id, str(week), sent=False)
            failed.append(store.store_id)
            continue
        c.repository.report_sent(store.store_id, str(week), sent=True)
        log.info("weekly report sent: store=%s week=%s", store.store_id, week)
        sent.append(store.store_id)
    if failed:
        raise ReportFailed(f"the weekly report failed for {', '.join(failed)}")
    return sent


class ReportFailed(Exception):
    """Raised after every store was tried: the invocation fails, and the alarm on the
    function's errors tells someone; the next hour's run sends what failed."""

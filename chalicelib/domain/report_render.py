"""The weekly report written out: an HTML e-mail whose charts are table cells (bars and
heat-map squares coloured with `bgcolor` and inline styles: no images, no scripts, no
stylesheet, so that Gmail, Outlook and Apple Mail show the same thing), its plain-text
part, and CSV tables for a spreadsheet.

Numbers, percentages, dates and weekday names come from Babel in the store's language;
the headings are ours (English and German; other languages get English headings with
their own numbers and dates). Babel is imported inside the functions: only the report's
schedule and the CLI render.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape
from typing import TYPE_CHECKING

from chalicelib.domain.report import (
    FIRST,
    FRT_EDGES_MINUTES,
    NEXT,
    PROMISES,
    RATINGS,
    RESOLUTION,
    WeekFigures,
    WeeklyReport,
    bucket_bounds,
)

if TYPE_CHECKING:
    from babel import Locale

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Weekly report",
        "week": "Week {week}",
        "vs": "compared with the week before",
        "conversations": "Conversations",
        "by_channel_day": "Conversations by channel and day",
        "frt": "First response",
        "median": "median",
        "p90": "90th percentile",
        "target": "target",
        "business": "business minutes",
        "minutes": "min",
        "hours": "h",
        "histogram": "First response times",
        "promises": "Promises kept",
        FIRST: "First response",
        NEXT: "Next response",
        RESOLUTION: "Resolution",
        "kept": "kept",
        "broken": "broken",
        "breaches": "Broken promises by hour of day",
        "heat": "Busy hours (customers' messages)",
        "ratings": "Ratings",
        "rated": "ratings",
        "average": "average",
        "response_rate": "answered the survey",
        "lowest": "Lowest rated",
        "follow_up": "follow up",
        "agents": "Team",
        "agent": "Agent",
        "threads": "Threads",
        "median_frt": "Median first response",
        "rating": "Rating",
        "automation": "Answered automatically",
        "returned": "came back to a person",
        "none": "none this week",
        "note": (
            "Percentiles are estimated from the first-response buckets (to within a "
            "bucket's width). Times are wall-clock minutes from the customer's first "
            "message; the target counts business minutes."
        ),
        "before": "week before",
        "total": "Total",
    },
    "de": {
        "title": "Wochenbericht",
        "week": "Woche {week}",
        "vs": "verglichen mit der Vorwoche",
        "conversations": "Gespräche",
        "by_channel_day": "Gespräche nach Kanal und Tag",
        "frt": "Erste Antwort",
        "median": "Median",
        "p90": "90. Perzentil",
        "target": "Ziel",
        "business": "Geschäftsminuten",
        "minutes": "Min.",
        "hours": "Std.",
        "histogram": "Zeit bis zur ersten Antwort",
        "promises": "Eingehaltene Zusagen",
        FIRST: "Erste Antwort",
        NEXT: "Nächste Antwort",
        RESOLUTION: "Lösung",
        "kept": "eingehalten",
        "broken": "gebrochen",
        "breaches": "Gebrochene Zusagen nach Tageszeit",
        "heat": "Stoßzeiten (Nachrichten der Kunden)",
        "ratings": "Bewertungen",
        "rated": "Bewertungen",
        "average": "Durchschnitt",
        "response_rate": "haben die Umfrage beantwortet",
        "lowest": "Am schlechtesten bewertet",
        "follow_up": "nachfassen",
        "agents": "Team",
        "agent": "Mitarbeiter",
        "threads": "Gespräche",
        "median_frt": "Median erste Antwort",
        "rating": "Bewertung",
        "automation": "Automatisch beantwortet",
        "returned": "kamen zu einem Menschen zurück",
        "none": "keine diese Woche",
        "note": (
            "Perzentile sind aus den Zeitklassen geschätzt (auf eine Klassenbreite genau). "
            "Zeiten sind Minuten ab der ersten Nachricht; das Ziel zählt Geschäftsminuten."
        ),
        "before": "Vorwoche",
        "total": "Summe",
    },
}

CHANNEL_COLOURS = {
    "sms": "#2f6fdb",
    "whatsapp": "#25a35a",
    "email": "#e08a1e",
    "webchat": "#8e44ad",
    "messenger": "#0084ff",
    "instagram": "#c13584",
    "voice": "#7f8c8d",
}
KEPT, BROKEN, BAR, EMPTY = "#2e9d57", "#d64545", "#3b6fd1", "#eef1f5"
HEAT = ("#f4f6fa", "#d7e3fb", "#a9c4f5", "#6d9ae9", "#3a6fd6", "#1f4aa8")
FONT = "font-family:Helvetica,Arial,sans-serif;"
BAR_ROOM = 85
"""The longest bar takes this share of its row (%): the rest keeps room for its number."""


def words(language: str) -> dict[str, str]:
    return WORDS.get(language.split("-")[0].split("_")[0].lower(), WORDS["en"])


class _Format:
    """Babel's numbers, dates and weekday names for one language."""

    def __init__(self, language: str) -> None:
        from babel import Locale, UnknownLocaleError

        try:
            self.locale: Locale = Locale.parse(language.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            self.locale = Locale.parse("en")

    def number(self, value: float, digits: int = 0) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def percent(self, share: float | None) -> str:
        from babel.numbers import format_percent

        return "–" if share is None else str(format_percent(share, locale=self.locale))

    def day(self, day: date) -> str:
        from babel.dates import format_date

        return str(format_date(day, format="medium", locale=self.locale))

    def short_day(self, day: date) -> str:
        from babel.dates import format_skeleton

        return str(format_skeleton("MMMd", day, locale=self.locale))

    def weekdays(self) -> list[str]:
        names = self.locale.days["format"]["abbreviated"]
        return [str(names[i]) for i in range(7)]

    def minutes(self, value: float | None, w: dict[str, str]) -> str:
        if value is None:
            return "–"
        if value >= 120:
            hours = value / 60
            digits = 0 if hours == int(hours) or hours >= 10 else 1
            return f"{self.number(hours, digits)} {w['hours']}"
        return f"{self.number(value)} {w['minutes']}"

    def signed_change(self, now: float, before: float) -> str:
        if before == 0:
            return ""
        change = (now - before) / before
        sign = "+" if change > 0 else ""
        return f"{sign}{self.percent(change)}"


def bucket_label(index: int, fmt: _Format, w: dict[str, str]) -> str:
    low, high = bucket_bounds(index)
    if high is None:
        return f"≥ {fmt.minutes(low, w)}"
    if low == 0:
        return f"< {fmt.minutes(high, w)}"
    return f"{fmt.minutes(low, w)} – {fmt.minutes(high, w)}"


# -- HTML -------------------------------------------------------------------------------


def _bar(share: float, colour: str, label: str = "", height: int = 14) -> str:
    """A horizontal bar `share` (0..1) of the cell's width, built from two table cells."""
    pct = max(0, min(BAR_ROOM, round(share * BAR_ROOM)))
    cells = ""
    if pct > 0:
        cells += (
            f'<td width="{pct}%" bgcolor="{colour}" style="background:{colour};'
            f'height:{height}px;line-height:{height}px;font-size:1px">&nbsp;</td>'
        )
    if pct < 100:
        cells += (
            f'<td width="{100 - pct}%" style="height:{height}px;font-size:11px;{FONT}'
            f'color:#555;padding-left:4px">{escape(label)}</td>'
        )
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'border="0"><tr>{cells}</tr></table>'
    )


def _stacked(parts: Sequence[tuple[float, str]], label: str, height: int = 14) -> str:
    """Bars of several colours side by side (their shares add to at most 1)."""
    cells, used = "", 0
    for share, colour in parts:
        pct = round(share * BAR_ROOM)
        if pct <= 0:
            continue
        used += pct
        cells += (
            f'<td width="{pct}%" bgcolor="{colour}" style="background:{colour};'
            f'height:{height}px;font-size:1px">&nbsp;</td>'
        )
    rest = max(0, 100 - used)
    cells += (
        f'<td width="{rest}%" style="font-size:11px;{FONT}color:#555;padding-left:4px">'
        f"{escape(label)}</td>"
    )
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'border="0"><tr>{cells}</tr></table>'
    )


def _heat_colour(value: int, top: int) -> str:
    if value <= 0 or top <= 0:
        return HEAT[0]
    return HEAT[min(len(HEAT) - 1, 1 + (value * (len(HEAT) - 2)) // top)]


def _h2(text: str) -> str:
    return (
        f'<tr><td style="{FONT}font-size:16px;font-weight:bold;color:#1b2a41;'
        f'padding:22px 0 8px 0">{escape(text)}</td></tr>'
    )


def _row(inner: str) -> str:
    return f"<tr><td>{inner}</td></tr>"


def _tile(title: str, value: str, sub: str) -> str:
    return (
        f'<td width="25%" valign="top" style="{FONT}padding:10px;background:#f4f6fa;'
        f'border:2px solid #ffffff">'
        f'<div style="font-size:12px;color:#5a6b85">{escape(title)}</div>'
        f'<div style="font-size:22px;font-weight:bold;color:#1b2a41;padding:2px 0">'
        f"{escape(value)}</div>"
        f'<div style="font-size:11px;color:#5a6b85">{escape(sub)}</div></td>'
    )


def render_html(report: WeeklyReport) -> str:
    """The whole report as one HTML document (UTF-8), for the e-mail and for `--html`."""
    w, fmt = words(report.language), _Format(report.language)
    this, before = report.this, report.before
    days = this.week.days
    weekdays = fmt.weekdays()
    title = f"{report.store_name}: {w['title']}"
    span = f"{fmt.day(days[0])} – {fmt.day(days[-1])}"
    body: list[str] = []

    # Summary tiles.
    target = report.first_response_target_minutes
    target_text = f"{w['target']} {fmt.number(target)} " + (
        w["business"] if report.target_business_hours else w["minutes"]
    )
    tiles = [
        _tile(
            w["conversations"],
            fmt.number(this.total_conversations),
            f"{w['before']}: {fmt.number(before.total_conversations)} "
            f"{fmt.signed_change(this.total_conversations, before.total_conversations)}".strip(),
        ),
        _tile(
            f"{w['frt']} ({w['median']})",
            fmt.minutes(this.frt_median, w),
            f"{w['p90']}: {fmt.minutes(this.frt_p90, w)} · {target_text}",
        ),
        _tile(
            f"{w['promises']} ({w[FIRST]})",
            fmt.percent(this.kept_share(FIRST)),
            f"{w['before']}: {fmt.percent(before.kept_share(FIRST))}",
        ),
        _tile(
            w["ratings"],
            "–" if this.rating_average is None else fmt.number(this.rating_average, 1) + " / 5",
            f"{fmt.number(this.rating_count)} {w['rated']} · {w['before']}: "
            + ("–" if before.rating_average is None else fmt.number(before.rating_average, 1)),
        ),
    ]
    body.append(
        _row(
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f"<tr>{''.join(tiles)}</tr></table>"
        )
    )

    # Conversations by channel and day.
    body.append(_h2(w["by_channel_day"]))
    channels = list(this.conversations)
    top_day = max([this.conversations_on(i) for i in range(7)] + [1])
    legend = " ".join(
        f'<span style="{FONT}font-size:11px;color:#333;white-space:nowrap">'
        f'<span style="color:{CHANNEL_COLOURS.get(ch, BAR)}">'
        f"&#9632;</span> {escape(ch)} {fmt.number(sum(this.conversations[ch]))}</span>&nbsp;&nbsp;"
        for ch in channels
    )
    rows = []
    for i, day in enumerate(days):
        total = this.conversations_on(i)
        parts = [
            (this.conversations[ch][i] / top_day, CHANNEL_COLOURS.get(ch, BAR)) for ch in channels
        ]
        rows.append(
            f'<tr><td width="95" style="{FONT}font-size:12px;color:#333;padding:2px 6px 2px 0;'
            f'white-space:nowrap">'
            f"{escape(weekdays[i])} {escape(fmt.short_day(day))}</td>"
            f"<td>{_stacked(parts, fmt.number(total))}</td></tr>"
        )
    body.append(
        _row(
            f'<div style="padding-bottom:6px">{legend or escape(w["none"])}</div>'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f"{''.join(rows)}</table>"
        )
    )

    # First-response histogram.
    body.append(_h2(w["histogram"]))
    top = max([*this.frt_counts, 1])
    rows = [
        f'<tr><td width="110" style="{FONT}font-size:12px;color:#333;padding:2px 6px 2px 0">'
        f"{escape(bucket_label(i, fmt, w))}</td>"
        f"<td>{_bar(n / top, BAR, fmt.number(n))}</td></tr>"
        for i, n in enumerate(this.frt_counts)
    ]
    body.append(
        _row(
            f'<div style="{FONT}font-size:12px;color:#333;padding-bottom:6px">'
            f"{escape(w['median'])}: <b>{escape(fmt.minutes(this.frt_median, w))}</b> · "
            f"{escape(w['p90'])}: <b>{escape(fmt.minutes(this.frt_p90, w))}</b> · "
            f"{escape(target_text)} ({escape(w['before'])}: "
            f"{escape(fmt.minutes(before.frt_median, w))} / "
            f"{escape(fmt.minutes(before.frt_p90, w))})</div>"
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f"{''.join(rows)}</table>"
        )
    )

    # Promises kept and broken.
    body.append(_h2(w["promises"]))
    rows = []
    for promise in PROMISES:
        kept, broken = this.kept[promise], this.broken[promise]
        total = kept + broken
        share = this.kept_share(promise)
        bar = (
            _stacked(
                [(kept / total, KEPT), (broken / total, BROKEN)],
                "",
            )
            if total
            else _bar(0, KEPT, w["none"])
        )
        rows.append(
            f'<tr><td width="120" style="{FONT}font-size:12px;color:#333;padding:3px 6px 3px 0">'
            f"{escape(w[promise])}</td><td>{bar}</td>"
            f'<td width="230" style="{FONT}font-size:12px;color:#333;padding-left:8px">'
            f"<b>{escape(fmt.percent(share))}</b> {escape(w['kept'])} "
            f"({fmt.number(kept)} / {fmt.number(total)}) · {escape(w['before'])} "
            f"{escape(fmt.percent(before.kept_share(promise)))}</td></tr>"
        )
    body.append(
        _row(
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f"{''.join(rows)}</table>"
        )
    )

    # Breaches by hour of day.
    body.append(_h2(w["breaches"]))
    cells = '<td width="40"></td>' + "".join(
        f'<td width="25" align="center" bgcolor="{BROKEN if n else EMPTY}" '
        f'style="{FONT}font-size:10px;'
        f"color:{'#fff' if n else '#999'};background:{BROKEN if n else EMPTY};"
        f'opacity:1;height:22px;border:1px solid #fff">{fmt.number(n) if n else ""}</td>'
        for n in this.breaches_by_hour
    )
    hours = "".join(
        f'<td width="25" align="center" style="{FONT}font-size:9px;color:#777">{h}</td>'
        for h in range(24)
    )
    body.append(
        _row(
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f'<tr>{cells}</tr><tr><td width="40"></td>{hours}</tr></table>'
        )
    )

    # Heat map: 7 x 24.
    body.append(_h2(w["heat"]))
    top = max([max(row) for row in this.heat] + [1])
    rows = []
    for i, row in enumerate(this.heat):
        cells = "".join(
            f'<td width="25" align="center" bgcolor="{_heat_colour(n, top)}" '
            f'style="{FONT}font-size:9px;'
            f"background:{_heat_colour(n, top)};color:{'#fff' if n * 2 > top else '#1b2a41'};"
            f'height:20px;border:1px solid #fff">{fmt.number(n) if n else ""}</td>'
            for n in row
        )
        rows.append(
            f'<tr><td width="40" style="{FONT}font-size:11px;color:#333">'
            f"{escape(weekdays[i])}</td>{cells}</tr>"
        )
    rows.append(f'<tr><td width="40"></td>{hours}</tr>')
    body.append(
        _row(
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f"{''.join(rows)}</table>"
        )
    )

    # Ratings.
    body.append(_h2(w["ratings"]))
    top = max([*this.ratings, 1])
    rows = []
    for value in reversed(RATINGS):
        n = this.ratings[value - 1]
        colour = KEPT if value >= 4 else (BROKEN if value <= 2 else BAR)
        rows.append(
            f'<tr><td width="60" style="{FONT}font-size:12px;color:#e0a800;padding:1px 0">'
            f'{"★" * value}</td><td style="padding:1px 0">'
            f"{_bar(n / top, colour, fmt.number(n))}</td></tr>"
        )
    average = "–" if this.rating_average is None else fmt.number(this.rating_average, 1)
    low_items = "".join(
        f'<li style="{FONT}font-size:12px;color:#333">{"★" * entry.rating} · '
        f"{escape(entry.channel)} · {escape(fmt.day(entry.day))} · "
        + (
            f'<a href="mailto:{escape(report.links[entry.thread_id])}" '
            f'style="color:#2f6fdb">{escape(w["follow_up"])}: '
            f"{escape(report.links[entry.thread_id])}</a>"
            if entry.thread_id in report.links
            else escape(entry.thread_id)
        )
        + "</li>"
        for entry in this.low_rated[:10]
    )
    body.append(
        _row(
            f'<div style="{FONT}font-size:12px;color:#333;padding-bottom:6px">'
            f"{escape(w['average'])}: <b>{escape(average)}</b> · "
            f"<b>{escape(fmt.percent(this.response_rate))}</b> {escape(w['response_rate'])} "
            f"({fmt.number(this.rating_count)} / {fmt.number(this.surveys)})</div>"
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f"{''.join(rows)}</table>"
            + (
                f'<div style="{FONT}font-size:13px;font-weight:bold;color:#1b2a41;'
                f'padding-top:10px">{escape(w["lowest"])}</div><ul style="margin:4px 0">'
                f"{low_items}</ul>"
                if low_items
                else ""
            )
        )
    )

    # Per agent.
    body.append(_h2(w["agents"]))
    head = "".join(
        f'<th align="left" style="{FONT}font-size:12px;color:#5a6b85;padding:4px 6px;'
        f'border-bottom:1px solid #d5dbe5">{escape(w[k])}</th>'
        for k in ("agent", "threads", "median_frt", "rating")
    )
    cell = (
        f'style="{FONT}font-size:12px;color:#1b2a41;padding:4px 6px;'
        'border-bottom:1px solid #eef1f5"'
    )
    agent_rows = (
        "".join(
            f"<tr><td {cell}>{escape(report.agent_names.get(a.agent, a.agent))}</td>"
            f"<td {cell}>{fmt.number(a.threads)}</td>"
            f"<td {cell}>{escape(fmt.minutes(a.frt_median, w))}</td>"
            f"<td {cell}>"
            + (
                "–"
                if a.rating_average is None
                else f"{fmt.number(a.rating_average, 1)} ({fmt.number(sum(a.ratings))})"
            )
            + "</td></tr>"
            for a in this.agents
        )
        or f'<tr><td colspan="4" {cell}>{escape(w["none"])}</td></tr>'
    )
    body.append(
        _row(
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
            f"<tr>{head}</tr>{agent_rows}</table>"
        )
    )

    # Automation.
    body.append(_h2(w["automation"]))
    body.append(
        _row(
            f'<div style="{FONT}font-size:12px;color:#333;padding-bottom:4px">'
            f"<b>{escape(fmt.percent(this.auto_share))}</b> "
            f"({fmt.number(this.auto_answered)} / {fmt.number(this.total_conversations)}) · "
            f"<b>{fmt.number(this.auto_returned)}</b> {escape(w['returned'])} "
            f"({escape(fmt.percent(this.returned_share))})</div>"
            + _bar(this.auto_share or 0, BAR, "")
        )
    )
    body.append(
        f'<tr><td style="{FONT}font-size:11px;color:#7a869a;padding-top:24px">'
        f"{escape(w['note'])}</td></tr>"
    )

    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(fmt.locale.language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="margin:0;padding:0;background:#ffffff">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
        '<tr><td align="center" style="padding:16px">'
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:640px;width:100%">'
        f'<tr><td style="{FONT}font-size:22px;font-weight:bold;color:#1b2a41">'
        f"{escape(title)}</td></tr>"
        f'<tr><td style="{FONT}font-size:13px;color:#5a6b85;padding-bottom:8px">'
        f"{escape(w['week'].format(week=str(this.week)))} · {escape(span)} · {escape(w['vs'])}"
        "</td></tr>"
        f"{''.join(body)}"
        "</table></td></tr></table></body></html>\n"
    )


# -- plain text -------------------------------------------------------------------------


def render_text(report: WeeklyReport) -> str:
    """The plain-text part: every figure of the HTML, without the charts."""
    w, fmt = words(report.language), _Format(report.language)
    this, before = report.this, report.before
    weekdays = fmt.weekdays()
    days = this.week.days
    lines = [
        f"{report.store_name}: {w['title']}",
        f"{w['week'].format(week=str(this.week))}, {fmt.day(days[0])} – {fmt.day(days[-1])}",
        "",
        f"{w['conversations']}: {fmt.number(this.total_conversations)} "
        f"({w['before']}: {fmt.number(before.total_conversations)})",
    ]
    for ch, counts in this.conversations.items():
        per_day = ", ".join(f"{weekdays[i]} {fmt.number(n)}" for i, n in enumerate(counts))
        lines.append(f"  {ch}: {fmt.number(sum(counts))} ({per_day})")
    target_unit = w["business"] if report.target_business_hours else w["minutes"]
    lines += [
        "",
        f"{w['frt']}: {w['median']} {fmt.minutes(this.frt_median, w)}, "
        f"{w['p90']} {fmt.minutes(this.frt_p90, w)}; {w['target']} "
        f"{fmt.number(report.first_response_target_minutes)} {target_unit} "
        f"({w['before']}: {fmt.minutes(before.frt_median, w)} / "
        f"{fmt.minutes(before.frt_p90, w)})",
    ]
    for i, n in enumerate(this.frt_counts):
        lines.append(f"  {bucket_label(i, fmt, w)}: {fmt.number(n)}")
    lines += ["", f"{w['promises']}:"]
    for promise in PROMISES:
        kept, broken = this.kept[promise], this.broken[promise]
        lines.append(
            f"  {w[promise]}: {fmt.percent(this.kept_share(promise))} "
            f"({w['kept']} {fmt.number(kept)}, {w['broken']} {fmt.number(broken)}; "
            f"{w['before']} {fmt.percent(before.kept_share(promise))})"
        )
    breaches = ", ".join(f"{h}h {fmt.number(n)}" for h, n in enumerate(this.breaches_by_hour) if n)
    lines += ["", f"{w['breaches']}: {breaches or w['none']}", "", f"{w['heat']}:"]
    for i, row in enumerate(this.heat):
        busiest = sorted(((n, h) for h, n in enumerate(row) if n), reverse=True)[:3]
        text = ", ".join(f"{h}h {fmt.number(n)}" for n, h in busiest)
        lines.append(f"  {weekdays[i]}: {fmt.number(sum(row))}" + (f" ({text})" if text else ""))
    average = "–" if this.rating_average is None else fmt.number(this.rating_average, 1)
    lines += [
        "",
        f"{w['ratings']}: {w['average']} {average}; {fmt.percent(this.response_rate)} "
        f"{w['response_rate']} ({fmt.number(this.rating_count)} / {fmt.number(this.surveys)})",
        "  " + ", ".join(f"{v}: {fmt.number(this.ratings[v - 1])}" for v in reversed(RATINGS)),
    ]
    if this.low_rated:
        lines.append(f"{w['lowest']}:")
        for entry in this.low_rated[:10]:
            link = report.links.get(entry.thread_id, entry.thread_id)
            lines.append(f"  {entry.rating} · {entry.channel} · {fmt.day(entry.day)} · {link}")
    lines += ["", f"{w['agents']}:"]
    for a in this.agents:
        rating = "–" if a.rating_average is None else fmt.number(a.rating_average, 1)
        lines.append(
            f"  {report.agent_names.get(a.agent, a.agent)}: {w['threads']} "
            f"{fmt.number(a.threads)}, {w['median_frt']} {fmt.minutes(a.frt_median, w)}, "
            f"{w['rating']} {rating}"
        )
    if not this.agents:
        lines.append(f"  {w['none']}")
    lines += [
        "",
        f"{w['automation']}: {fmt.percent(this.auto_share)} "
        f"({fmt.number(this.auto_answered)}); {fmt.number(this.auto_returned)} {w['returned']}",
        "",
        w["note"],
    ]
    return "\n".join(lines) + "\n"


# -- CSV --------------------------------------------------------------------------------


def csv_tables(report: WeeklyReport) -> dict[str, list[list[str]]]:
    """File name -> rows (header first) for `relaydesk report --csv`; plain numbers, ISO
    dates, no locale formatting (a spreadsheet reads them as numbers)."""
    tables: dict[str, list[list[str]]] = {}
    weeks = (report.this, report.before)

    def per_week(rows: list[list[str]], figures: WeekFigures, make: list[list[str]]) -> None:
        rows.extend([str(figures.week), *row] for row in make)

    rows: list[list[str]] = [["week", "day", "channel", "conversations"]]
    for f in weeks:
        per_week(
            rows,
            f,
            [
                [f.week.days[i].isoformat(), ch, str(n)]
                for ch, counts in f.conversations.items()
                for i, n in enumerate(counts)
            ],
        )
    tables["conversations.csv"] = rows
    rows = [["week", "from_minutes", "to_minutes", "first_responses"]]
    for f in weeks:
        per_week(
            rows,
            f,
            [
                [str(bucket_bounds(i)[0]), str(bucket_bounds(i)[1] or ""), str(n)]
                for i, n in enumerate(f.frt_counts)
            ],
        )
    tables["first_response.csv"] = rows
    rows = [["week", "promise", "kept", "broken"]]
    for f in weeks:
        per_week(rows, f, [[p, str(f.kept[p]), str(f.broken[p])] for p in PROMISES])
    tables["promises.csv"] = rows
    rows = [["week", "hour", "broken_promises"]]
    for f in weeks:
        per_week(rows, f, [[str(h), str(n)] for h, n in enumerate(f.breaches_by_hour)])
    tables["breaches_by_hour.csv"] = rows
    rows = [["week", "day", *(f"h{h:02d}" for h in range(24))]]
    for f in weeks:
        per_week(
            rows,
            f,
            [[f.week.days[i].isoformat(), *map(str, row)] for i, row in enumerate(f.heat)],
        )
    tables["busy_hours.csv"] = rows
    rows = [["week", "rating", "count"]]
    for f in weeks:
        per_week(rows, f, [[str(v), str(f.ratings[v - 1])] for v in RATINGS])
        per_week(rows, f, [["surveys_sent", str(f.surveys)]])
    tables["ratings.csv"] = rows
    rows = [["week", "agent", "threads", "median_first_response_minutes", *map(str, RATINGS)]]
    for f in weeks:
        per_week(
            rows,
            f,
            [
                [
                    a.agent,
                    str(a.threads),
                    "" if a.frt_median is None else f"{a.frt_median:.1f}",
                    *map(str, a.ratings),
                ]
                for a in f.agents
            ],
        )
    tables["agents.csv"] = rows
    rows = [
        [
            "week",
            "conversations",
            "first_response_median_minutes",
            "first_response_p90_minutes",
            "answered_automatically",
            "came_back_to_a_person",
        ]
    ]
    for f in weeks:
        per_week(
            rows,
            f,
            [
                [
                    str(f.total_conversations),
                    "" if f.frt_median is None else f"{f.frt_median:.1f}",
                    "" if f.frt_p90 is None else f"{f.frt_p90:.1f}",
                    str(f.auto_answered),
                    str(f.auto_returned),
                ]
            ],
        )
    tables["summary.csv"] = rows
    return tables


__all__ = ["FRT_EDGES_MINUTES", "csv_tables", "render_html", "render_text", "words"]

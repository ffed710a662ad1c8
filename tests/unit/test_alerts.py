"""The wording of reminders, breaches and escalations (domain/alerts.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.alerts import Promise, alert_subject, alert_text, escalation_sms

DUE = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)  # Mon 12:30 in Prague


def promise(*, resolution: bool = False, channel: str = "whatsapp") -> Promise:
    return Promise(
        store_name="Demo Store",
        channel=channel,
        customer="whatsapp:+420777123456",
        due_at=DUE,
        timezone="Europe/Prague",
        resolution=resolution,
    )


def test_each_alert_names_the_promise_in_the_stores_time_and_the_customer_readably() -> None:
    p = promise()
    assert alert_subject("reminder", p) == (
        "[Demo Store] Reminder: answer due Mon 23 Nov 12:30: WhatsApp from +420777123456"
    )
    assert alert_subject("breach", p) == (
        "[Demo Store] Overdue since Mon 23 Nov 12:30: WhatsApp from +420777123456"
    )
    assert alert_subject("escalation", p) == (
        "[Demo Store] Escalation: WhatsApp from +420777123456, answer overdue since Mon 23 Nov"
        " 12:30"
    )
    assert escalation_sms(p) == (
        "[Demo Store] WhatsApp from +420777123456: answer overdue since Mon 23 Nov 12:30."
    )


def test_a_resolution_promise_says_so_and_the_text_says_how_to_answer() -> None:
    p = promise(resolution=True, channel="email")
    assert alert_subject("breach", p).startswith("[Demo Store] Resolution overdue since Mon")
    assert alert_text("reminder", p) == (
        f"{alert_subject('reminder', p)}\n\nThe customer was promised a resolution by "
        "Mon 23 Nov 12:30 (Europe/Prague). Reply to this e-mail to answer them by e-mail.\n"
    )

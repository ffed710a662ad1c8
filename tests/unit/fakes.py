"""Fakes shared by the channel tests: they record what the code under test told them."""

from __future__ import annotations

from datetime import datetime


class Progress:
    """A send's progress as the deliver flow keeps it (channels/port.py `SendProgress`): at
    `now`, nobody opted out, no earlier e-mails, and the parts sent recorded in order."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self.parts: list[tuple[int, str]] = []

    def now(self) -> datetime:
        return self._now

    def opted_out(self) -> bool:
        return False

    def earlier_email_ids(self) -> list[tuple[bool, str]]:
        return []

    def part_sent(self, number: int, provider_id: str) -> None:
        self.parts.append((number, provider_id))

"""The sandbox's memory: what the providers accepted (the outbox) and the faults to inject.

One `Sandbox` is shared by every request thread of a server, so every method takes the lock
and hands out copies.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass

from relaydesk.sandbox.base import Entry, Fault
from relaydesk.sandbox.provider_settings import ProviderAccounts
from relaydesk.sandbox.registry import PROVIDERS

MAX_FAULT_DELAY_SECONDS = 10.0


__all__ = ["MAX_FAULT_DELAY_SECONDS", "Fault", "Sandbox"]


@dataclass
class _Fault:
    fault: Fault
    remaining: int


class Sandbox:
    """The recorded outbox and the pending injected faults, shared by all request threads."""

    def __init__(self, status_token: str | None = None) -> None:
        self._lock = threading.Lock()
        self._outbox: list[Entry] = []
        self._faults: dict[str, _Fault] = {}
        self.status_token = status_token
        """Signs status callbacks as Twilio would; None: no callbacks are made."""
        self.accounts = ProviderAccounts()
        """The Twilio numbers and parse settings `relaydesk providers sync` sets."""

    def entries(
        self, *, provider: str | None = None, to: str | None = None, channel: str | None = None
    ) -> list[Entry]:
        """Copies of the recorded entries in arrival order, so callers cannot alter the record."""
        wanted = {"provider": provider, "to": to, "channel": channel}
        with self._lock:
            return [
                copy.deepcopy(entry)
                for entry in self._outbox
                if all(value is None or entry.get(key) == value for key, value in wanted.items())
            ]

    def record(self, entries: list[Entry]) -> None:
        """Append entries together, so one email's recipients are never interleaved."""
        with self._lock:
            self._outbox.extend(copy.deepcopy(entries))

    def clear(self) -> None:
        """Forget the outbox (not the faults), as `DELETE /outbox` does."""
        with self._lock:
            self._outbox.clear()

    def set_fault(
        self,
        provider: str,
        status: int,
        count: int,
        delay_seconds: float = 0.0,
        *,
        code: int | None = None,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `count` requests to `provider` fail with `status`, each answered
        `delay_seconds` late (to time a client out), with the vendor's error `code`,
        `message` and wait (`retry_after` seconds) when given; replaces any old one."""
        if provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}")
        if not 0 <= delay_seconds <= MAX_FAULT_DELAY_SECONDS:
            raise ValueError(f"delay_seconds must be 0 to {MAX_FAULT_DELAY_SECONDS}")
        with self._lock:
            fault = Fault(status, delay_seconds, code, message, retry_after)
            self._faults[provider] = _Fault(fault, count)

    def clear_faults(self, provider: str | None = None) -> None:
        """Drop pending faults, for one provider or all."""
        with self._lock:
            if provider is None:
                self._faults.clear()
            else:
                self._faults.pop(provider, None)

    def take_fault(self, provider: str) -> int | None:
        """Consume one pending fault atomically; the HTTP status to fail with, or None."""
        fault = self.take(provider)
        return None if fault is None else fault.status

    def take(self, provider: str) -> Fault | None:
        """Consume one pending fault atomically, with its delay; None if none is pending."""
        with self._lock:
            fault = self._faults.get(provider)
            if fault is None:
                return None
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[provider]
            return fault.fault

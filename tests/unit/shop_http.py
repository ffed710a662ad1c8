"""A scripted stand-in for `requests.Session` and a fake clock, for the shop adapters' unit
tests: the vendor's HTTP is faked at the seam the adapters take in their constructor."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import requests


@dataclass
class FakeResponse:
    status_code: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None

    def json(self) -> Any:
        if self.text is not None:
            return json.loads(self.text)
        return self.body


Answer = FakeResponse | BaseException | Callable[[dict[str, Any]], FakeResponse]


@dataclass
class FakeSession:
    """Answers each request with the next scripted answer (the last one repeats)."""

    answers: list[Answer]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        call = {"method": method, "url": url, **kwargs}
        self.calls.append(call)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer(call)
        return answer

    def as_session(self) -> requests.Session:
        return cast("requests.Session", self)


@dataclass
class FakeTime:
    """A monotonic clock that moves only when the code sleeps (or the test says so)."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

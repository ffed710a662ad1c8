"""The store's own answers to common questions (`automation.answers` in stores.json).

Each answer has an id, its text per language, and per language the phrases or keywords
that ask for it. This module only describes and validates that shape (pure: the
configuration loader reads the file and calls `parse_answers`); the matching lives in
`chalicelib.domain.intents`, so that a store owner's list and our built-in intents
compete under one set of rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# The id is also the `kind` of a decision and appears in reports: keep it a plain word.
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
# An answer id may not shadow a built-in kind.
RESERVED_IDS = frozenset({"order_status", "handoff", "none"})


@dataclass(frozen=True)
class StoreAnswer:
    id: str
    answers: Mapping[str, str]
    """Language code ('en', 'cs', ...) -> the text sent to the customer."""
    phrases: Mapping[str, tuple[str, ...]]
    """Language code -> the phrases or keywords that ask for this answer."""

    def text(self, language: str, default: str) -> str | None:
        """The answer in `language`, else in the store's `default`, else None."""
        return self.answers.get(language) or self.answers.get(default)


class AnswersConfigError(ValueError):
    """`automation.answers` is malformed; the message names the answer and the field."""


def parse_answers(raw: object, *, where: str = "automation.answers") -> tuple[StoreAnswer, ...]:
    """Validate the JSON shape once, when the configuration is loaded.

    Rejecting a bad list at load time (naming the field) is kinder than answering
    wrongly at run time: a phrase list for a language without an answer text would
    match and then have nothing to say.
    """
    if not isinstance(raw, list):
        raise AnswersConfigError(f"{where}: must be a list")
    seen: set[str] = set()
    parsed: list[StoreAnswer] = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise AnswersConfigError(f"{at}: must be an object")
        answer_id = item.get("id")
        if not isinstance(answer_id, str) or not _ID.fullmatch(answer_id):
            raise AnswersConfigError(f"{at}.id: a lower-case word (a-z, 0-9, _ and -)")
        if answer_id in RESERVED_IDS:
            raise AnswersConfigError(f"{at}.id: {answer_id!r} is reserved")
        if answer_id in seen:
            raise AnswersConfigError(f"{at}.id: {answer_id!r} appears twice")
        seen.add(answer_id)
        at = f"{where}[{answer_id}]"
        answers = _texts(item.get("answers"), f"{at}.answers")
        phrases = _phrases(item.get("phrases"), f"{at}.phrases")
        if missing := sorted(set(phrases) - set(answers)):
            raise AnswersConfigError(
                f"{at}.answers: no text for {', '.join(missing)}, which has phrases"
            )
        parsed.append(StoreAnswer(id=answer_id, answers=answers, phrases=phrases))
    return tuple(parsed)


def _texts(raw: object, at: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw:
        raise AnswersConfigError(f"{at}: an object of language -> text, not empty")
    texts: dict[str, str] = {}
    for language, text in raw.items():
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            raise AnswersConfigError(f"{at}: {language!r} is not a language code")
        if not isinstance(text, str) or not text.strip():
            raise AnswersConfigError(f"{at}.{language}: a non-empty text")
        texts[language] = text.strip()
    return texts


def _phrases(raw: object, at: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or not raw:
        raise AnswersConfigError(f"{at}: an object of language -> list of phrases, not empty")
    phrases: dict[str, tuple[str, ...]] = {}
    for language, items in raw.items():
        if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
            raise AnswersConfigError(f"{at}: {language!r} is not a language code")
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(p, str) and p.strip() for p in items)
        ):
            raise AnswersConfigError(f"{at}.{language}: a non-empty list of non-empty phrases")
        phrases[language] = tuple(p.strip() for p in items)
    return phrases

"""Commands an agent writes at the top of an e-mailed reply (`#close`), before the answer.

A reply is read top down: blank lines and command lines first, then the answer to the
customer (or, after `#note`, an internal note). Every problem in the commands is collected
before anything is refused, so that the agent fixes the reply in one go instead of learning
about one mistake per round trip; nothing of a reply with a problem is applied or sent.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.domain.sla import PRIORITIES
from chalicelib.domain.snooze import MAX_SNOOZE, check_spec

# (name, usage, what it does): the parser and the help text both read this table.
_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("note", "#note <text>", "an internal note for the team; nothing goes to the customer"),
    ("close", "#close", "close the conversation (after sending your answer, if any)"),
    ("reopen", "#reopen", "reopen a closed or pending conversation"),
    ("pending", "#pending", "wait for the customer; the response clock stops"),
    ("assign", "#assign <agent or me>", "assign to an agent (address or name) or to yourself"),
    ("priority", "#priority <level>", f"set the priority: {', '.join(PRIORITIES)}"),
    (
        "snooze",
        "#snooze <when>",
        f"wake up then: 4h, 1d12h, tomorrow, friday, 2026-12-01 14:30 "
        f"(at most {MAX_SNOOZE.days} days)",
    ),
    ("template", "#template <name>", "answer with the store's saved answer of that name"),
    ("tag", "#tag <tags>", "add tags, separated by commas or spaces"),
    (
        "order",
        "#order <number>",
        "attach that order from the store's shop (nothing is sent); #template can then use "
        "{order.number}, {order.status}, {order.tracking_url}, ...",
    ),
)
KNOWN_COMMANDS = frozenset(name for name, _, _ in _COMMANDS)

_NO_ARGUMENT = frozenset({"close", "reopen", "pending"})
# Each of these sets the thread's state: two of them in one reply cannot both happen.
_STATE_CHANGES = ("close", "pending", "snooze", "reopen")
# A command line: '#', ASCII letters, then the end or whitespace ("#1", "#12345 is your
# order number" and "#close." are answer text).
_COMMAND_LINE = re.compile(r"#([A-Za-z]+)(?:\s+(.*))?")
_TEMPLATE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_TAG_SEPARATORS = re.compile(r"[\s,]+")
# What can be an order number (chalicelib/commerce/port.ORDER_NUMBER, which the adapters
# apply again): checked here so that a typo is answered before anything is queued.
_ORDER_NUMBER = re.compile(r"#?([A-Za-z0-9-]{1,32})")


@dataclass(frozen=True)
class Command:
    name: str
    """Without '#', lower-case: "close", "assign", ..."""
    argument: str
    """Stripped; "" when none. Normalised where the value is a keyword: a priority and a
    template name are lower-case, and "me" is "me" however it was typed."""


@dataclass(frozen=True)
class ParsedReply:
    commands: tuple[Command, ...]
    text: str
    """The answer to the customer, or the note's text when `is_note`."""
    is_note: bool

    def get(self, name: str) -> Command | None:
        """The first command of that name ("close" or "#close"), if the reply has one."""
        wanted = name.removeprefix("#").lower()
        return next((command for command in self.commands if command.name == wanted), None)

    @property
    def tags(self) -> tuple[str, ...]:
        """Every #tag's tags, lower-case, each once, in the order written."""
        found: dict[str, None] = {}
        for command in self.commands:
            if command.name == "tag":
                found.update(dict.fromkeys(_split_tags(command.argument)))
        return tuple(found)


class CommandError(ValueError):
    """The reply's commands are wrong; `problems` has one sentence per mistake."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__(" ".join(self.problems))


def parse_reply(text: str) -> ParsedReply:
    """Commands and answer of an agent's reply (quoted text already removed).

    Blank lines before and between the command lines are skipped: a blank line after
    `#assign me` must not turn the next `#priority high` into words for the customer.
    """
    lines = text.splitlines(keepends=True)
    index = 0
    found: list[tuple[str, str]] = []
    note: str | None = None
    while index < len(lines):
        stripped = lines[index].strip()
        match = _COMMAND_LINE.fullmatch(stripped)
        if stripped and match is None:
            break
        index += 1
        if match is None:
            continue
        name, argument = match.group(1).lower(), (match.group(2) or "").strip()
        if name == "note":
            # The rest of the reply is the note, even lines that look like commands.
            note = (argument + "\n" + "".join(lines[index:])).strip()
            found.append((name, ""))
            index = len(lines)
        else:
            found.append((name, argument))
    rest = "".join(lines[index:]).strip()

    problems: list[str] = []
    commands: list[Command] = []
    seen: set[str] = set()
    for name, argument in found:
        if name in seen and name != "tag":
            problems.append(f"#{name} is given more than once.")
        seen.add(name)
        problem, value = _check(name, argument)
        if problem:
            problems.append(problem)
        else:
            commands.append(Command(name, value))
    states = [name for name in _STATE_CHANGES if name in seen]
    if len(states) > 1:
        *first, last = (f"#{name}" for name in states)
        named = f"{', '.join(first)} and {last}"
        problems.append(f"{named} contradict each other: use only one of them.")
    if "note" in seen and "template" in seen:
        problems.append("#note and #template do not go together: a note is never sent.")
    if note == "":
        problems.append("#note needs the note's text, after it or on the lines below it.")
    if problems:
        raise CommandError(problems)
    if note is not None:
        return ParsedReply(tuple(commands), note, is_note=True)
    return ParsedReply(tuple(commands), rest, is_note=False)


def _check(name: str, argument: str) -> tuple[str | None, str]:
    """(the problem or None, the normalised argument) of one command."""
    if name not in KNOWN_COMMANDS:
        close = difflib.get_close_matches(name, sorted(KNOWN_COMMANDS), n=1)
        suggestion = f" (did you mean #{close[0]}?)" if close else ""
        return f"#{name} is not a command{suggestion}.", argument
    if name in _NO_ARGUMENT:
        if argument:
            return f"#{name} takes nothing after it, but has {argument!r}.", argument
        return None, argument
    if name == "assign":
        if not argument:
            return "#assign needs an agent: an e-mail address, a name, or 'me'.", argument
        return None, "me" if argument.lower() == "me" else argument
    if name == "priority":
        level = argument.lower()
        if level not in PRIORITIES:
            given = f"; {argument!r} is not one of them" if argument else ""
            return f"#priority needs one of {', '.join(PRIORITIES)}{given}.", argument
        return None, level
    if name == "snooze":
        if problem := check_spec(argument):
            return f"#snooze: {problem}.", argument
        return None, argument
    if name == "template":
        template = argument.lower()
        if not _TEMPLATE_NAME.fullmatch(template):
            return (
                "#template needs the name of a saved answer (letters, digits, '-' and '_'), "
                f"but has {argument!r}."
            ), argument
        return None, template
    if name == "tag":
        tags = _split_tags(argument)
        if not tags:
            return "#tag needs at least one tag.", argument
        bad = [tag for tag in tags if not _TAG.fullmatch(tag)]
        if bad:
            return (
                f"#tag: {', '.join(repr(tag) for tag in bad)} cannot be a tag (up to 50 "
                "letters, digits, '-' and '_', starting with a letter or digit)."
            ), argument
        return None, argument
    if name == "order":
        number = _ORDER_NUMBER.fullmatch(argument)
        if number is None:
            given = f", but has {argument!r}" if argument else ""
            return f"#order needs the shop's order number, such as #order 1042{given}.", argument
        return None, number.group(1)
    return None, argument  # note: its text is checked with the whole reply


def _split_tags(argument: str) -> list[str]:
    return [tag for tag in _TAG_SEPARATORS.split(argument.lower()) if tag]


def help_text() -> str:
    """The commands with one line of usage each, for the e-mail that answers a mistake."""
    width = max(len(usage) for _, usage, _ in _COMMANDS) + 2
    lines = [
        "Write commands at the top of your reply, one per line, before your answer:",
        "",
        *(f"{usage.ljust(width)}{purpose}" for _, usage, purpose in _COMMANDS),
        "",
        "Commands are not case-sensitive. Use one of #close, #pending, #snooze and #reopen "
        "at a time; #tag may be given more than once.",
    ]
    return "\n".join(lines)

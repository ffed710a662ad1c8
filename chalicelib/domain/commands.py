"""Commands an agent writes at the top of a reply (`#close`), before the answer itself."""

from __future__ import annotations

from chalicelib.domain.sla import PRIORITIES

KNOWN_COMMANDS = frozenset({"#close", "#pending", "#priority"})


class UnknownCommand(ValueError):
    pass


def split_commands(text: str) -> tuple[dict[str, str], str]:
    """({command: argument}, answer): leading lines that start with '#', then the rest."""
    lines = text.strip().splitlines()
    commands: dict[str, str] = {}
    while lines and lines[0].strip().startswith("#"):
        word, _, argument = lines.pop(0).strip().partition(" ")
        word, argument = word.lower(), argument.strip().lower()
        if word not in KNOWN_COMMANDS:
            raise UnknownCommand(
                f"unknown command {word}; known commands: {', '.join(sorted(KNOWN_COMMANDS))}"
            )
        if word == "#priority" and argument not in PRIORITIES:
            raise UnknownCommand(f"#priority takes one of {', '.join(PRIORITIES)}")
        commands[word] = argument
    return commands, "\n".join(lines).strip()

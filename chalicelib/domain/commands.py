"""Commands an agent writes at the top of a reply (`#close`), before the answer itself."""

from __future__ import annotations

KNOWN_COMMANDS = frozenset({"#close", "#pending"})


class UnknownCommand(ValueError):
    pass


def split_commands(text: str) -> tuple[list[str], str]:
    """(commands, answer): leading lines that start with '#', then the rest of the text."""
    lines = text.strip().splitlines()
    commands: list[str] = []
    while lines and lines[0].strip().startswith("#"):
        word = lines.pop(0).strip().split()[0].lower()
        if word not in KNOWN_COMMANDS:
            raise UnknownCommand(
                f"unknown command {word}; known commands: {', '.join(sorted(KNOWN_COMMANDS))}"
            )
        commands.append(word)
    return commands, "\n".join(lines).strip()

"""How ms reads its command line: argparse, with usage errors that say what to type instead.

Every usage error is one line, exit 2, ending with where the help is. No abbreviated options:
`--fak` in a script must not quietly mean --fake.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from mscli import streams
from mscli.errors import UsageError, did_you_mean

REQUIRED = "the following arguments are required: "
SHOWN_CHARS = 40  # of one argument echoed in a hint: a 1 MiB inline JSON is not repeated


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as ms does."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        if message.startswith(REQUIRED):
            message = self._needs(message[len(REQUIRED):].split(", "))
        raise UsageError(f"{_with_suggestion(message)} (see '{self.prog} --help')")

    def _needs(self, names: list[str]) -> str:
        """'ms schema needs constraints or devices', not argparse's 'required: which'."""
        wanted = [_describe(a) for a in self._actions if a.required and _name(a) in names]
        return f"{self.prog} needs {' and '.join(wanted)}"

    def _print_message(self, message: str, file=None) -> None:
        # --help and --version are data on stdout: written whole, or an error
        if file is None or file is sys.stdout:
            streams.write_out(message)
        elif message:
            streams.say(message.rstrip("\n"))


def _name(action: argparse.Action) -> str:
    """The name argparse gives an argument in its messages."""
    return "/".join(action.option_strings) or action.metavar or action.dest


def _describe(action: argparse.Action) -> str:
    if action.choices:
        return " or ".join(action.choices)
    if action.option_strings:
        return f"{_name(action)} {action.metavar or action.dest.upper()}"
    return action.metavar or action.dest


def _with_suggestion(message: str) -> str:
    # argparse: "argument command: invalid choice: 'devics' (choose from 'devices', ...)"
    if "invalid choice: '" in message:
        wrong = message.split("invalid choice: '", 1)[1].split("'", 1)[0]
        choices = message.split("(choose from ", 1)[-1].rstrip(")").replace("'", "").split(", ")
        what = "command" if message.startswith("argument COMMAND") else "choice"
        return (f"unknown {what} {wrong!r}{did_you_mean(wrong, choices)} "
                f"(choose from {', '.join(choices)})")
    return message


def _commands(parser: Parser) -> dict[str, Parser]:
    return next(a for a in parser._actions
                if isinstance(a, argparse._SubParsersAction)).choices


def unknown_arguments(parser: Parser, args, extras: list[str]) -> UsageError:
    """Arguments no option took, with the closest option of the command as a hint."""
    sub = _commands(parser)[args.command]
    wrong = extras[0]
    visible = [option for option, action in sub._option_string_actions.items()
               if action.help != argparse.SUPPRESS]  # never suggest the hidden --complete
    hint = did_you_mean(_option(wrong), visible) if wrong.startswith("-") else ""
    return UsageError(f"unknown option or argument {wrong!r}{hint} "
                      f"(see '{sub.prog} --help')")


def check_option_order(parser: Parser, argv: list[str]) -> None:
    """An option of a command written before it (`ms --json devices`): argparse would call it
    unknown and suggest itself, or take its value for the command name. Say where it goes."""
    commands = _commands(parser)
    at = next((i for i, word in enumerate(argv) if word in commands or word == "--"), None)
    if at is None or argv[at] == "--":
        return
    command, before = argv[at], argv[:at]
    own = commands[command]._option_string_actions
    moved = [word for word in before if _option(word) not in parser._option_string_actions]
    misplaced = next((_option(word) for word in moved if _option(word) in own), None)
    if misplaced is None:
        return
    example = shlex.join([parser.prog, command, *map(_short, moved)])
    rest = " …" if argv[at + 1:] else ""
    raise UsageError(f"{misplaced} is an option of '{parser.prog} {command}', written after "
                     f"the command: {example}{rest}")


def _option(word: str) -> str:
    return word.split("=", 1)[0]  # --devices=f.json


def _short(word: str) -> str:
    return word if len(word) <= SHOWN_CHARS else word[:SHOWN_CHARS] + "…"

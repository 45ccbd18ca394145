"""The command line as data: `describe()` turns cli.build_parser() into commands, options and
the kind of value each option takes, which every generated file is rendered from."""

from __future__ import annotations

from typing import NamedTuple

class Values(NamedTuple):
    """What an option's (or a positional's) value completes to."""

    files: bool = False  # file names
    words: tuple[str, ...] = ()  # fixed words (choices, formats, `none`)
    # DEVICE: deviceId, label:TEXT, index:N from `ms devices --complete=WHICH`: "inputs" or
    # "speaker"s; "" for none
    device: str = ""
    kind_prefix: bool = False  # also KIND=FILE (video=, audio=), as -o takes

    @property
    def anything(self) -> bool:
        return self.files or bool(self.words) or bool(self.device)


class Option(NamedTuple):
    flags: tuple[str, ...]  # short first, as argparse lists them
    help: str
    metavar: str | None  # None: a flag, takes no value
    values: Values | None
    repeatable: bool
    required: bool
    group: str  # argument group title
    exits: bool  # --help, --version: nothing else on the line matters


class Positional(NamedTuple):
    name: str
    help: str
    values: Values
    optional: bool


class Command(NamedTuple):
    name: str
    help: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    examples: tuple[str, ...]


class CLI(NamedTuple):
    prog: str
    description: str
    options: tuple[Option, ...]
    commands: tuple[Command, ...]
    examples: tuple[str, ...]


GENERAL_GROUP = "general"


def _formats() -> tuple[str, ...]:
    # formats.py is free of PyAV and OpenCV (it is what capture consults before opening).
    from mscli.sinks.formats import FORMATS

    return tuple(FORMATS)


# How the value of an option completes, by its metavar. Every metavar in build_parser() must
# be here (or the option must have choices): the generator refuses an unknown one.
VALUES = {
    "FILE": lambda: Values(files=True),
    "FILE|none": lambda: Values(files=True, words=("none",)),
    "C": lambda: Values(files=True),  # constraints: a file, - or inline JSON
    "OUT": lambda: Values(files=True, kind_prefix=True, words=("speaker",)),
    "FORMAT": lambda: Values(words=_formats()),
    "DEVICE": lambda: Values(device="inputs"),
    "SPEAKER": lambda: Values(device="speaker"),
    "CODEC": Values,  # free text: nothing to offer
    "N": Values,
    "RATE": Values,
    "SECONDS": Values,
    "EXPECTATION": Values,  # KIND.METRIC OP VALUE: free text
    "LUMA": Values,
    "DBFS": Values,
}


def _values(action) -> Values:
    if action.choices:
        return Values(words=tuple(action.choices))
    metavar = action.metavar or action.dest.upper()
    if metavar not in VALUES:
        raise SystemExit(f"mscli/completion/model.py: {'/'.join(action.option_strings) or metavar}: "
                         f"metavar {metavar!r} is not in VALUES; say how its values complete")
    return VALUES[metavar]()


def _groups(parser) -> dict[int, str]:
    return {id(action): group.title for group in parser._action_groups
            for action in group._group_actions}


def _examples(parser) -> tuple[str, ...]:
    text = parser.epilog or ""
    if "examples:" not in text:
        return ()
    body = text.split("examples:", 1)[1]
    return tuple(line.strip() for line in body.splitlines() if line.strip())


def _options(parser) -> tuple[Option, ...]:
    import argparse

    groups = _groups(parser)
    found = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        takes_value = action.nargs != 0
        exits = isinstance(action, (argparse._HelpAction, argparse._VersionAction))
        found.append(Option(
            flags=tuple(action.option_strings), help=" ".join((action.help or "").split()),
            metavar=(action.metavar or action.dest.upper()) if takes_value else None,
            values=_values(action) if takes_value else None,
            repeatable=isinstance(action, argparse._AppendAction), required=action.required,
            group=groups.get(id(action), "options"), exits=exits))
    return tuple(found)


def _positionals(parser) -> tuple[Positional, ...]:
    import argparse

    found = []
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        found.append(Positional(name=action.metavar or action.dest.upper(),
                                help=" ".join((action.help or "").split()),
                                values=_values(action), optional=action.nargs in ("?", "*")))
    return tuple(found)


def describe(parser=None) -> CLI:
    """The command line of build_parser() as the generators need it."""
    import argparse

    if parser is None:
        from mscli.cli import build_parser

        parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    commands = tuple(
        Command(name=name, help=helps.get(name) or sub_parser.description or "",
                options=_options(sub_parser), positionals=_positionals(sub_parser),
                examples=_examples(sub_parser))
        for name, sub_parser in sub.choices.items() if helps.get(name) != argparse.SUPPRESS)
    return CLI(prog=parser.prog, description=parser.description or "",
               options=_options(parser), commands=commands, examples=_examples(parser))

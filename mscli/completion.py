"""Shell completions (bash, zsh, fish) and the man page, generated from `cli.build_parser()`.

    python -m mscli.completion            # rewrite completions/* and man/ms.1 in this checkout
    python -m mscli.completion --check    # exit 1, naming the files that differ (CI, tests)

Nothing here is written by hand per option: `describe()` walks the argparse actions of
build_parser() into a small model (commands, options, what values an option takes), and each
writer renders that model. A new option therefore reaches every shell and the man page on the
next regeneration; an option whose metavar says nothing about its values (see VALUES) stops
the generator until someone decides how it completes.

DEVICE values come from the running program: the scripts call `ms devices --complete`
(a hidden option, see `print_device_candidates`) with the --fake/--devices already typed.
That runs on every Tab press, so this module's top level imports nothing heavy; the
generators import what they need when called.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

# --------------------------------------------------------------------------------------------
# The hook: `ms devices --complete [--fake | --devices FILE]`


def device_candidates(devices) -> list[tuple[str, str]]:
    """(value, description) for every way to name each input device on the command line:
    its deviceId, `label:TEXT` (only where the label is unique and fits on one line) and
    `index:N` (N in `ms devices` order, speakers included). Speakers themselves are left
    out: DEVICE is completed for `ms caps`, which takes inputs only."""
    from mscli.devices import AUDIO_OUTPUT

    labels = [d.label for d in devices]
    out = []
    for index, d in enumerate(devices):
        if d.kind == AUDIO_OUTPUT:
            continue
        label = d.label
        plain = label.isprintable() and "\t" not in label
        shown = label if plain else repr(label)
        out.append((d.device_id, f"{shown} ({d.kind})"))
        if plain and label and labels.count(label) == 1:
            out.append((f"label:{label}", d.kind))
        out.append((f"index:{index}", f"{shown} ({d.kind})"))
    return out


def print_device_candidates(devices_file: str | None, fake: bool) -> None:
    """One `VALUE<TAB>DESCRIPTION` line per candidate, and nothing else: no warnings about
    a backend that cannot load, no error for an unreadable device file (a Tab press is not
    the place for them; the command itself reports them when run)."""
    from mscli.catalog import load_devices
    from mscli.errors import MediaError

    try:
        devices = load_devices(devices_file, fake, warn=lambda message: None)
    except (MediaError, OSError):
        return
    sys.stdout.write("".join(f"{value}\t{about}\n" for value, about in device_candidates(devices)))


# --------------------------------------------------------------------------------------------
# The model


class Values(NamedTuple):
    """What an option's (or a positional's) value completes to."""

    files: bool = False  # file names
    words: tuple[str, ...] = ()  # fixed words (choices, formats, `none`)
    device: bool = False  # DEVICE: deviceId, label:TEXT, index:N from `ms devices --complete`
    kind_prefix: bool = False  # also KIND=FILE (video=, audio=), as -o takes

    @property
    def anything(self) -> bool:
        return self.files or bool(self.words) or self.device


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
    "OUT": lambda: Values(files=True, kind_prefix=True),
    "FORMAT": lambda: Values(words=_formats()),
    "DEVICE": lambda: Values(device=True),
    "CODEC": Values,  # free text: nothing to offer
    "N": Values,
    "RATE": Values,
    "SECONDS": Values,
}


def _values(action) -> Values:
    if action.choices:
        return Values(words=tuple(action.choices))
    metavar = action.metavar or action.dest.upper()
    if metavar not in VALUES:
        raise SystemExit(f"mscli/completion.py: {'/'.join(action.option_strings) or metavar}: "
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


def _header(comment: str, shell: str) -> str:
    return (f"{comment} {shell} completion for ms. Generated from mscli.cli.build_parser() by\n"
            f"{comment} `python scripts/generate.py`; edit the parser or mscli/completion.py, "
            "not this file.\n")


# --------------------------------------------------------------------------------------------
# bash

BASH_HELPERS = r'''
# The words of $1 as the shell will hand them to ms (quotes and backslashes removed), in
# _ms_words, and the quote still open at its end in _ms_quote. COMP_WORDS is no use for
# this: bash splits it at : and = and leaves the quotes in.
_ms_split() {
    local line=$1 word="" quote="" c i inword=0
    _ms_words=()
    for ((i = 0; i < ${#line}; i++)); do
        c=${line:i:1}
        if [[ $quote == "'" ]]; then
            if [[ $c == "'" ]]; then quote=""; else word+=$c; fi
        elif [[ $quote == '"' ]]; then
            if [[ $c == '"' ]]; then quote=""
            elif [[ $c == '\' && ${line:i+1:1} == [\"\\\$\`] ]]; then ((i++)); word+=${line:i:1}
            else word+=$c; fi
        elif [[ $c == '\' ]]; then
            ((i++)); word+=${line:i:1}; inword=1
        elif [[ $c == [\"\'] ]]; then
            quote=$c; inword=1
        elif [[ $c == [[:space:]] ]]; then
            ((inword)) && _ms_words+=("$word")
            word="" inword=0
        else
            word+=$c; inword=1
        fi
    done
    _ms_words+=("$word")
    _ms_quote=$quote
}

# Offer each argument (a whole value) that starts with $_ms_cur. Readline replaces only the
# part of the word after its last : or = (COMP_WORDBREAKS) or opening quote, $_ms_rl, so
# what comes before that is cut from each candidate.
_ms_offer() {
    local pre="" c
    [[ $_ms_cur == *"$_ms_rl" ]] && pre=${_ms_cur%"$_ms_rl"}
    for c in "$@"; do
        [[ $c == "$_ms_cur"* ]] && COMPREPLY+=("${c#"$pre"}")
    done
}

# File names; with -o filenames readline quotes them (spaces, quotes) as the line needs.
# $1: a prefix the value may carry before the file name (video= for -o video=FILE).
_ms_files() {
    local prefix=${1-} f
    [[ -n $prefix && $_ms_cur != "$prefix"* ]] && return
    compopt -o filenames 2>/dev/null
    while IFS= read -r f; do
        _ms_offer "$prefix$f"
    done < <(compgen -f -- "${_ms_cur#"$prefix"}")
}

# -o: a file, or KIND=FILE for one track kind.
_ms_output() {
    case $_ms_cur in
        video=*) _ms_files video= ;;
        audio=*) _ms_files audio= ;;
        *) _ms_files ;;
    esac
}

# DEVICE: what `ms devices --complete` prints for the --fake/--devices typed so far (and
# MS_FAKE/MS_DEVICES, which it reads as ms does). Labels may hold spaces: outside quotes
# each candidate is escaped here (printf %q); inside them readline adds the closing quote.
# (-o filenames would escape too, but also the : of a label: it inserts as label\:Desk.)
_ms_devices() {
    local args=() i w prog=${_ms_words[0]} value
    for ((i = 1; i < ${#_ms_words[@]} - 1; i++)); do
        w=${_ms_words[i]}
        case $w in
            --fake) args+=(--fake) ;;
            --devices) ((i + 1 < ${#_ms_words[@]} - 1)) && args+=(--devices "${_ms_words[i+1]}") ;;
            --devices=*) args+=(--devices "${w#--devices=}") ;;
        esac
    done
    for ((i = 0; i < ${#args[@]}; i++)); do
        [[ ${args[i]} == "~/"* ]] && args[i]=$HOME/${args[i]:2}
    done
    [[ $prog == "~/"* ]] && prog=$HOME/${prog:2}
    local before=${#COMPREPLY[@]}
    while IFS=$'\t' read -r value _; do
        [[ -n $value ]] && _ms_offer "$value"
    done < <("$prog" devices --complete "${args[@]}" 2>/dev/null)
    if [[ -z $_ms_quote ]]; then
        for ((i = before; i < ${#COMPREPLY[@]}; i++)); do
            printf -v "COMPREPLY[i]" %q "${COMPREPLY[i]}"
        done
    fi
}
'''

BASH_MAIN = r'''
_ms() {
    COMPREPLY=()
    local _ms_words _ms_quote _ms_cur _ms_rl=${2-}
    # What readline replaces, without the shell quoting it still has when no quote is open.
    if [[ $_ms_rl == *\\* ]]; then
        _ms_split "${COMP_LINE:0:COMP_POINT}"
        if [[ -z $_ms_quote ]]; then
            _ms_split "$_ms_rl"
            _ms_rl=${_ms_words[${#_ms_words[@]} - 1]}
        fi
    fi
    _ms_split "${COMP_LINE:0:COMP_POINT}"
    local n=${#_ms_words[@]}
    _ms_cur=${_ms_words[n - 1]}

    local command="" at=0 i
    for ((i = 1; i < n - 1; i++)); do
        if [[ ${_ms_words[i]} != -* ]]; then command=${_ms_words[i]} at=$i; break; fi
    done
    if [[ -z $command ]]; then
        if [[ $_ms_cur == -* ]]; then _ms_offer @TOP_OPTIONS@; else _ms_offer @COMMANDS@; fi
        return 0
    fi

    local options valued
    case $command in
@OPTION_TABLE@
        *) return 0 ;;
    esac

    local prev=${_ms_words[n - 2]}
    if [[ $_ms_cur == --*=* && " $valued " == *" ${_ms_cur%%=*} "* ]]; then
        local option=${_ms_cur%%=*}
        _ms_cur=${_ms_cur#*=}
        _ms_value "$command" "$option"
    elif ((n - 2 > at)) && [[ " $valued " == *" $prev "* ]]; then
        _ms_value "$command" "$prev"
    elif [[ $_ms_cur == -* ]]; then
        _ms_offer $options
    else
        local k=0
        for ((i = at + 1; i < n - 1; i++)); do
            if [[ " $valued " == *" ${_ms_words[i]} "* ]]; then ((i++))
            elif [[ ${_ms_words[i]} != -* ]]; then ((k++)); fi
        done
        _ms_positional "$command" "$k"
    fi
    return 0
}

complete -F _ms ms
'''


def _bash_words(words) -> str:
    return " ".join(words)


def _bash_action(values: Values) -> str:
    parts = []
    if values.device:
        parts.append("_ms_devices")
    if values.files:
        parts.append("_ms_output" if values.kind_prefix else "_ms_files")
    if values.words:
        parts.append("_ms_offer " + _bash_words(values.words))
    return "; ".join(parts) or ":"


def bash_script(cli: CLI) -> str:
    top = [flag for option in cli.options for flag in option.flags]
    table, value_cases, positional_cases = [], [], []
    for command in cli.commands:
        flags = [flag for option in command.options for flag in option.flags]
        valued = [flag for option in command.options if option.values for flag in option.flags]
        table.append(f'        {command.name}) options="{" ".join(flags)}" '
                     f'valued="{" ".join(valued)}" ;;')
        for option in command.options:
            if option.values:
                pattern = "|".join(f"{command.name}:{flag}" for flag in option.flags)
                value_cases.append(f"        {pattern}) {_bash_action(option.values)} ;;")
        for index, positional in enumerate(command.positionals):
            if positional.values.anything:
                positional_cases.append(f"        {command.name}:{index}) "
                                        f"{_bash_action(positional.values)} ;;")
    value_fn = ("\n# The value of option $2 of command $1.\n_ms_value() {\n    case $1:$2 in\n"
                + "\n".join(value_cases) + "\n    esac\n}\n")
    positional_fn = ("\n# Positional argument number $2 (from 0) of command $1.\n"
                     "_ms_positional() {\n    case $1:$2 in\n"
                     + "\n".join(positional_cases) + "\n    esac\n}\n")
    main = (BASH_MAIN.replace("@TOP_OPTIONS@", _bash_words(top))
            .replace("@COMMANDS@", _bash_words(c.name for c in cli.commands))
            .replace("@OPTION_TABLE@", "\n".join(table)))
    return (_header("#", "bash")
            + "# Install: source it from ~/.bashrc, or copy it to "
              "~/.local/share/bash-completion/completions/ms\n"
            + BASH_HELPERS + value_fn + positional_fn + main)


# --------------------------------------------------------------------------------------------
# zsh


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _zsh_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _zsh_action(values: Values | None) -> str:
    if values is None or not values.anything:
        return " "
    if values.device:
        return "_ms_devices"
    if values.kind_prefix:
        return "_ms_output"
    if values.files and values.words:
        return "{_ms_files_or " + " ".join(values.words) + "}"
    if values.files:
        return "_files"
    return "(" + " ".join(values.words) + ")"


def _zsh_option_specs(options) -> list[str]:
    specs = []
    for option in options:
        if option.exits:
            exclude = "(- *)"
        elif option.repeatable:
            exclude = "*"
        else:
            exclude = "(" + " ".join(option.flags) + ")" if len(option.flags) > 1 else ""
        for flag in option.flags:
            spec = exclude + flag
            if option.metavar:
                spec += "+" if not flag.startswith("--") else "="
            spec += f"[{_zsh_help(option.help)}]"
            if option.metavar:
                spec += f":{option.metavar.replace(':', '')}:{_zsh_action(option.values)}"
            specs.append(spec)
    return specs


def _zsh_positional_specs(positionals) -> list[str]:
    return [f"{index + 1}:{':' if p.optional else ''}{p.name}:{_zsh_action(p.values)}"
            for index, p in enumerate(positionals)]


ZSH_HELPERS = r'''
# DEVICE: what `ms devices --complete` prints for the --fake/--devices typed so far (and
# MS_FAKE/MS_DEVICES, which it reads as ms does). compadd quotes the spaces in labels.
_ms_devices() {
  local -a args candidates
  local i line value file prog=${(Q)_ms_prog}
  for (( i = 1; i < CURRENT; i++ )); do
    file=
    case $words[i] in
      --fake) args+=(--fake) ;;
      --devices) (( i + 1 < CURRENT )) && file=${(Q)words[i+1]} ;;
      --devices=*) file=${(Q)${words[i]#--devices=}} ;;
    esac
    [[ $file == '~/'* ]] && file=$HOME/${file#??}
    [[ -n $file ]] && args+=(--devices "$file")
  done
  [[ $prog == '~/'* ]] && prog=$HOME/${prog#??}
  for line in ${(f)"$("$prog" devices --complete $args 2>/dev/null)"}; do
    value=${line%%$'\t'*}
    candidates+=("${value//:/\\:}:${line#*$'\t'}")
  done
  _describe -t devices device candidates
}

# -o: a file, or KIND=FILE for one track kind.
_ms_output() {
  if compset -P '(video|audio)='; then
    _files
  else
    _alternative 'files:file:_files' 'kinds:track kind:compadd -S "" video= audio='
  fi
}

# A file, or one of the words given.
_ms_files_or() {
  _alternative "words:word:($*)" 'files:file:_files'
}

_ms_commands() {
  local -a commands
  commands=(
@COMMANDS@
  )
  _describe -t commands command commands
}
'''

ZSH_MAIN = r'''
_ms() {
  local curcontext=$curcontext state state_descr line _ms_prog=$words[1] ret=1
  typeset -A opt_args
  _arguments -C -S \
@TOP_SPECS@
    '1: :_ms_commands' \
    '*:: :->command' && ret=0
  if [[ $state == command ]]; then
    curcontext=${curcontext%:*:*}:ms-$words[1]:
    case $words[1] in
@COMMAND_CASES@
    esac
  fi
  return ret
}

# Autoloaded from $fpath, this file is the body of _ms; sourced, it registers itself.
if [[ $funcstack[1] == _ms ]]; then
  _ms "$@"
else
  compdef _ms ms
fi
'''


def _zsh_lines(specs, indent: str) -> str:
    return "".join(f"{indent}{_zsh_quote(spec)} \\\n" for spec in specs)


def zsh_script(cli: CLI) -> str:
    commands = "\n".join(f"    {_zsh_quote(c.name + ':' + c.help)}" for c in cli.commands)
    cases = []
    for command in cli.commands:
        specs = _zsh_option_specs(command.options) + _zsh_positional_specs(command.positionals)
        body = _zsh_lines(specs, " " * 12).rstrip(" \\\n")
        cases.append(f"      {command.name})\n        _arguments -S \\\n{body} && ret=0\n"
                     "        ;;")
    main = (ZSH_MAIN.replace("@TOP_SPECS@", _zsh_lines(_zsh_option_specs(cli.options), "    ")
                             .rstrip("\n"))
            .replace("@COMMAND_CASES@", "\n".join(cases)))
    return ("#compdef ms\n" + _header("#", "zsh")
            + "# Install: put it in a directory of $fpath (as _ms), then compinit.\n"
            + ZSH_HELPERS.replace("@COMMANDS@", commands) + main)


# --------------------------------------------------------------------------------------------
# fish


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


FISH_HELPERS = r'''
# The command (devices, caps, ...) on the line so far, or nothing. The general options before
# it take no value, so it is the first word that is not an option.
function __ms_command
    for word in (commandline -opc)[2..-1]
        if not string match -q -- '-*' $word
            echo $word
            return
        end
    end
end

# Whether the line is at command $argv[1] (no argument: at no command yet).
function __ms_in
    set -l command (__ms_command)
    test "$command" = "$argv[1]"
end

# Whether the word being completed is positional argument $argv[2] (from 0) of command
# $argv[1]: words after the command that are neither options nor their values.
function __ms_positional
    set -l command
    set -l count 0
    set -l skip 0
    for word in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
        else if test -z "$command"
            string match -q -- '-*' $word; or set command $word
        else if contains -- $word (__ms_valued $command)
            set skip 1
        else if not string match -q -- '-*' $word
            set count (math $count + 1)
        end
    end
    test "$command" = "$argv[1]" -a $count = $argv[2] -a $skip = 0
end

# DEVICE: what `ms devices --complete` prints (VALUE, tab, description) for the
# --fake/--devices typed so far; fish escapes the spaces in labels.
function __ms_devices
    set -l words (commandline -opc)
    set -l args
    for i in (seq 2 (count $words))
        set -l file
        switch $words[$i]
            case --fake
                set -a args --fake
            case --devices
                test $i -lt (count $words); and set file $words[(math $i + 1)]
            case '--devices=*'
                set file (string replace -- --devices= '' $words[$i])
        end
        test -n "$file"; and set -a args --devices (string replace -r -- '^~/' "$HOME/" $file)
    end
    set -l program (string replace -r -- '^~/' "$HOME/" $words[1])
    command $program devices --complete $args 2>/dev/null
end
'''


def _fish_flags(option: Option) -> str:
    parts = []
    for flag in option.flags:
        if flag.startswith("--"):
            parts.append(f"-l {flag[2:]}")
        elif len(flag) == 2:
            parts.append(f"-s {flag[1]}")
        else:
            parts.append(f"-o {flag[1:]}")
    return " ".join(parts)


def _fish_values(values: Values | None) -> str:
    if values is None:
        return ""
    out = " -r" + (" -F" if values.files else " -f")
    if values.words:
        out += " -a " + _fish_quote(" ".join(values.words))
    return out


def fish_script(cli: CLI) -> str:
    lines = [_header("#", "fish").rstrip("\n"),
             "# Install: copy it to ~/.config/fish/completions/ms.fish",
             FISH_HELPERS.rstrip("\n"), "",
             "# Options that take a value, per command (for __ms_positional).",
             "function __ms_valued", "    switch $argv[1]"]
    for command in cli.commands:
        valued = [flag for option in command.options if option.values for flag in option.flags]
        lines += [f"        case {command.name}", f"            echo {' '.join(valued)}"
                  if valued else "            return"]
    lines += ["    end", "end", "", "complete -c ms -f", ""]

    def option_line(condition: str, option: Option) -> str:
        return (f"complete -c ms -n {_fish_quote(condition)} {_fish_flags(option)}"
                f"{_fish_values(option.values)} -d {_fish_quote(option.help)}")

    lines.append("# ms [general options] COMMAND")
    lines += [option_line("__ms_in", option) for option in cli.options]
    lines += [f"complete -c ms -n __ms_in -a {command.name} -d {_fish_quote(command.help)}"
              for command in cli.commands]
    for command in cli.commands:
        lines += ["", f"# ms {command.name}"]
        lines += [option_line(f"__ms_in {command.name}", option) for option in command.options]
        for index, positional in enumerate(command.positionals):
            values = positional.values
            condition = _fish_quote(f"__ms_positional {command.name} {index}")
            if values.device:
                lines.append(f"complete -c ms -n {condition} -a '(__ms_devices)'")
            if values.files:
                lines.append(f"complete -c ms -n {condition} -F")
            if values.words:
                lines.append(f"complete -c ms -n {condition} "
                             f"-a {_fish_quote(' '.join(values.words))} "
                             f"-d {_fish_quote(positional.help)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# The man page


def _roff(text: str) -> str:
    """Text for roff: backslashes, minus signs (so options copy and search as typed), quotes
    that must stay ASCII in shell examples, and no line that starts like a request."""
    text = (text.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq")
            .replace("`", "\\(ga"))
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line
                     for line in text.split("\n"))


def _man_option_tag(option: Option) -> str:
    # \% before an option: never hyphenated, so it reads (and searches) as typed.
    flags = ", ".join(f"\\fB\\%{_roff(flag)}\\fR" for flag in option.flags)
    return flags + (f" \\fI{_roff(option.metavar)}\\fR" if option.metavar else "")


def _man_synopsis_item(option: Option, alone: bool = False) -> str:
    flag = option.flags[0]  # as argparse's usage line: the short form where there is one
    text = f"\\fB{_roff(flag)}\\fR" + (f"\\ \\fI{_roff(option.metavar)}\\fR"
                                        if option.metavar else "")
    if option.repeatable:
        text += "\\ ..."
    # \\% first: the item is one word to hyphenation (it still breaks between items).
    return "\\%" + (text if option.required or alone else f"[{text}]")


def _man_positional_synopsis(positional: Positional) -> str:
    if positional.values.words and not positional.values.files:
        text = "|".join(f"\\fB{_roff(w)}\\fR" for w in positional.values.words)
        text = "{" + text + "}"
    else:
        text = f"\\fI{_roff(positional.name)}\\fR"
    return f"[{text}]" if positional.optional else text


def _sentence(text: str) -> str:
    """argparse help ("show this help message and exit") as a man page sentence."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _clause(text: str) -> str:
    """A docstring's text after a name and a colon: one line, lower case, no markdown."""
    text = " ".join(text.replace("`", "").split())
    text = text[:1].lower() + text[1:]
    return text if text.endswith(".") else text + "."


def _exit_rows() -> list[tuple[str, str]]:
    """contract.md's exit codes: the ones an error class carries come from mscli.errors."""
    from mscli.errors import MediaError

    by_code: dict[int, list] = {}
    for error in MediaError.__subclasses__():
        by_code.setdefault(error.exit_code, []).append(error)
    rows = [("0", "Success. Also the first Ctrl\\-C, SIGTERM or SIGHUP (without "
                  "\\fB\\%\\-\\-reapply\\fR) during \\fBcapture\\fR, once the output "
                  "files are finalized, and the tracks ending by themselves.")]
    for code in sorted(by_code):
        parts = [f"\\fB{error.name}\\fR: {_roff(_clause(error.__doc__))}"
                 for error in by_code[code]]
        if code == 1:
            parts.append("Any other unexpected failure (the message says to rerun with "
                         "\\fB\\%\\-\\-traceback\\fR).")
        rows.append((str(code), "\n.br\n".join(parts)))
    rows += [("130", "A second Ctrl\\-C, SIGTERM or SIGQUIT during \\fBcapture\\fR: hard "
                     "stop."),
             ("141", "The reader of stdout went away (EPIPE), before or in the middle of "
                     "the output of any command: no message, no traceback.")]
    return rows


MAN_DESCRIPTION = r'''.PP
\fBms\fR gives devices ids that stay the same for one user, shows their capabilities,
chooses devices and settings from a JSON constraints file exactly as \fBgetUserMedia()\fR
would (the W3C Media Capture and Streams algorithm), records or pipes the tracks, and reports
\fBmute\fR, \fBunmute\fR, \fBended\fR and \fBoverconstrained\fR events as they
happen.
.PP
Data goes to stdout (JSON or media), messages and events to stderr.
With \fB\-\-json\fR, and whenever stdout is not a terminal, the inspection commands print
JSON; on a terminal they print tables.
.PP
Devices come from the machine (cameras through V4L2 on Linux, AVFoundation or DirectShow on
macOS and Windows, where this is untested; sound cards through PortAudio), from the built\-in
virtual set (\fB\-\-fake\fR: a camera, a microphone and a speaker), or from a JSON file
describing virtual devices (\fB\-\-devices\fR \fIFILE\fR).
.PP
A \fIDEVICE\fR is a deviceId as \fBms devices\fR prints it, \fBlabel:\fR\fITEXT\fR (the
exact label) or \fBindex:\fR\fIN\fR (the position in \fBms devices\fR order, from 0).
Constraints \fIC\fR are a file holding a MediaStreamConstraints JSON object, \fB\-\fR for
stdin, or the JSON itself when it starts with \fB{\fR.
'''

MAN_ENVIRONMENT = r'''.TP
.B MS_FAKE
\fB1\fR, \fBtrue\fR, \fByes\fR or \fBon\fR: use the built\-in virtual devices, as
\fB\-\-fake\fR.
.TP
.B MS_DEVICES
A virtual device file to use, as \fB\-\-devices\fR \fIFILE\fR.
.TP
.B MS_STATE_DIR
Where the secret behind deviceIds is kept (see \fBFILES\fR).
.TP
.B XDG_STATE_HOME
Base of the default state directory, \fI$XDG_STATE_HOME/mscli\fR; when unset,
\fI~/.local/state/mscli\fR.
.TP
.B NO_COLOR
When set, no colour in tables and the live view, as \fB\-\-no\-color\fR.
.TP
.B MS_VERBOSE
\fB1\fR: let the audio backend's start\-up messages through to stderr (\fB\-v\fR sets it).
'''

MAN_FILES = r'''.TP
.I $MS_STATE_DIR/@SECRET@
The per\-user secret behind deviceIds and groupIds (mode 0600), created on first use;
by default \fI$XDG_STATE_HOME/mscli/@SECRET@\fR or \fI~/.local/state/mscli/@SECRET@\fR.
\fBms devices \-\-reset\-ids\fR replaces it, and every id changes.
.TP
.I constraints file
The \fB\-c\fR \fIC\fR of \fBresolve\fR and \fBcapture\fR: a MediaStreamConstraints object,
\fB{"audio": ..., "video": ...}\fR, with the specification's constraint names and forms.
\fBms schema constraints\fR prints its JSON Schema; \fBms supported\fR lists the names.
.TP
.I device file
The \fB\-\-devices\fR \fIFILE\fR (or \fBMS_DEVICES\fR): \fB{"devices": [...]}\fR, virtual
cameras, microphones and speakers with their modes, sources (test pattern, tone or a media
file) and scripted faults. \fBms schema devices\fR prints its JSON Schema.
'''

MAN_SEE_ALSO = r'''.BR ffmpeg (1),
.BR ffplay (1),
.BR jq (1),
.BR v4l2\-ctl (1)
.PP
W3C Media Capture and Streams, https://www.w3.org/TR/mediacapture\-streams/
'''


def man_page(cli: CLI) -> str:
    from mscli import __version__
    from mscli.ids import SECRET_NAME

    general = [o for o in cli.commands[0].options if o.group == GENERAL_GROUP] \
        if cli.commands else []
    out = [".\\\" Man page for ms. Generated from mscli.cli.build_parser() by",
           ".\\\" `python scripts/generate.py`; edit the parser or mscli/completion.py, "
           "not this file.",
           f'.TH MS 1 "" "ms {__version__}" "User Commands"',
           ".SH NAME",
           "ms \\- list, inspect, resolve and capture cameras and microphones as getUserMedia "
           "does",
           ".SH SYNOPSIS"]
    top = [o for o in cli.options if not o.exits]
    out += [".SY ms", " ".join(_man_synopsis_item(o) for o in top),
            "\\fICOMMAND\\fR [\\fIoptions\\fR]", ".YS"]
    for option in (o for o in cli.options if o.exits):
        out += [".SY ms", _man_synopsis_item(option, alone=True), ".YS"]
    for command in cli.commands:
        items = [_man_positional_synopsis(p) for p in command.positionals]
        items += [_man_synopsis_item(o) for o in command.options
                  if o.group != GENERAL_GROUP and not o.exits]
        out += [f".SY \"ms {command.name}\"", " ".join(items), ".YS"]
    out += [".SH DESCRIPTION", _roff(_sentence(cli.description)) if cli.description else "",
            MAN_DESCRIPTION.rstrip("\n")]
    out += [".SH OPTIONS",
            "The general options may come before the command or after it.",
            "Each command's own options come after its name."]
    for option in cli.options:
        out += [".TP", _man_option_tag(option), _roff(_sentence(option.help))]
    out.append(".SH COMMANDS")
    for command in cli.commands:
        out += [f".SS \"ms {command.name}\"", _roff(_sentence(command.help))]
        for positional in command.positionals:
            out += [".TP", f"\\fI{_roff(positional.name)}\\fR", _roff(_sentence(positional.help))]
        own = [o for o in command.options if o.group != GENERAL_GROUP and not o.exits]
        titles = list(dict.fromkeys(o.group for o in own))
        for title in titles:
            if len(titles) > 1:
                out += [".PP", f"\\fI{_roff(title.capitalize())}:\\fR"]
            for option in (o for o in own if o.group == title):
                out += [".TP", _man_option_tag(option), _roff(_sentence(option.help))]
        if general:
            out += [".PP", "Also the general options, and \\fB\\-h\\fR, \\fB\\-\\-help\\fR."]
    out += [".SH EXIT STATUS",
            "A failure prints one line on stderr, \\fBms: \\fR\\fINAME\\fR\\fB: \\fR\\fImessage"
            "\\fR, and with \\fB\\-\\-json\\fR also an object on stdout, "
            "\\fB{\"error\": {\"name\": ..., \"message\": ...}}\\fR."]
    for code, text in _exit_rows():
        out += [".TP", f".B {code}", text]
    out += [".SH ENVIRONMENT", MAN_ENVIRONMENT.rstrip("\n"),
            ".SH FILES", MAN_FILES.replace("@SECRET@", _roff(SECRET_NAME)).rstrip("\n"),
            ".SH EXAMPLES"]
    seen = set()
    for title, examples in [(None, cli.examples)] + [(c.name, c.examples) for c in cli.commands]:
        fresh = [e for e in examples if e not in seen and "COMMAND" not in e]
        seen.update(fresh)
        if not fresh:
            continue
        if title:
            out += [".PP", f"\\fBms {_roff(title)}\\fR:"]
        out += [".PP", ".RS 4", ".nf", *(_roff(e) for e in fresh), ".fi", ".RE"]
    out += [".SH SEE ALSO", MAN_SEE_ALSO.rstrip("\n")]
    return "\n".join(line for line in out if line != "") + "\n"


# --------------------------------------------------------------------------------------------
# Writing the files

OUTPUTS = {
    "completions/ms.bash": bash_script,
    "completions/_ms": zsh_script,
    "completions/ms.fish": fish_script,
    "man/ms.1": man_page,
}


def render_all(cli: CLI | None = None) -> dict[str, str]:
    """Every generated file: path relative to the repository -> its text."""
    cli = cli or describe()
    return {path: make(cli) for path, make in OUTPUTS.items()}


def main(argv: list[str] | None = None) -> int:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m mscli.completion",
                                     description="Regenerate the shell completions and the "
                                                 "man page from mscli.cli.build_parser().")
    parser.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parent.parent),
                        help="where completions/ and man/ go (default: this checkout)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming each file that differs")
    args = parser.parse_args(argv)
    root = Path(args.root)
    stale = []
    for path, text in render_all().items():
        target = root / path
        current = target.read_text() if target.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    if args.check and stale:
        print("out of date (run python scripts/generate.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {root / path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

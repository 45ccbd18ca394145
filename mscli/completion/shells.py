"""The bash, zsh and fish completion scripts, rendered from the model (model.py). Each script
asks `ms devices --complete` for DEVICE values (see the package's __init__)."""

from __future__ import annotations

from mscli.completion.model import CLI, Option, Values

def _header(comment: str, shell: str) -> str:
    return (f"{comment} {shell} completion for ms. Generated from mscli.cli.build_parser() by\n"
            f"{comment} `python scripts/generate.py`; edit the parser or mscli/completion/, "
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

# DEVICE: what `ms devices --complete=$1` prints (inputs, or speakers) for the
# --fake/--devices typed so far (and MS_FAKE/MS_DEVICES, which it reads as ms does).
# Labels may hold spaces, quotes, $(...):
# each candidate is quoted here for where the cursor is (_ms_quoted); inside quotes
# readline adds the closing quote. (-o filenames would escape too, but also the : of a
# label: it inserts as label\:Desk, and it leaves $ and ` live inside double quotes.)
_ms_devices() {
    local args=() i w prog=${_ms_words[0]} value which=${1:-inputs}
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
    done < <("$prog" devices --complete="$which" "${args[@]}" 2>/dev/null)
    for ((i = before; i < ${#COMPREPLY[@]}; i++)); do
        _ms_quoted "${COMPREPLY[i]}"
        COMPREPLY[i]=$_ms_text
    done
}

# $1 as the line needs it after the quote still open ($_ms_quote), in _ms_text, so that the
# shell hands ms the text itself and never runs any of it. Outside quotes: printf %q.
# In '...': a ' closes, is escaped and reopens. In "...": \ $ ` " take a backslash, and !
# goes outside them ("\!"): inside, the backslash that stops history expansion stays.
_ms_quoted() {
    local text=$1 q="'" b='\'
    case $_ms_quote in
        "'") text=${text//"$q"/"$q$b$q$q"} ;;
        '"')
            text=${text//"$b"/"$b$b"}
            text=${text//'$'/"$b\$"}
            text=${text//'`'/"$b\`"}
            text=${text//'"'/"$b\""}
            text=${text//'!'/"\"$b!\""}
            ;;
        *) printf -v text %q "$text" ;;
    esac
    _ms_text=$text
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
        parts.append(f"_ms_devices {values.device}")
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
        return f"{{_ms_devices {values.device}}}"
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
# DEVICE: what `ms devices --complete=$1` prints (inputs, or speakers) for the
# --fake/--devices typed so far (and MS_FAKE/MS_DEVICES, which it reads as ms does).
# compadd quotes the spaces in labels.
_ms_devices() {
  local -a args candidates
  local i line value file prog=${(Q)_ms_prog} which=${1:-inputs}
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
  for line in ${(f)"$("$prog" devices --complete=$which $args 2>/dev/null)"}; do
    value=${line%%$'\t'*}
    value=${value//\\/\\\\}  # _describe takes \ as an escape: a label's own, doubled
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

# DEVICE: what `ms devices --complete=$argv[1]` prints (VALUE, tab, description: inputs,
# or speakers) for the --fake/--devices typed so far; fish escapes the spaces in labels.
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
    set -l which $argv[1]
    test -n "$which"; or set which inputs
    command $program devices --complete=$which $args 2>/dev/null
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
    if values.device:
        out += " -a " + _fish_quote(f"(__ms_devices {values.device})")
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
                lines.append(f"complete -c ms -n {condition} -a "
                             f"{_fish_quote(f'(__ms_devices {values.device})')}")
            if values.files:
                lines.append(f"complete -c ms -n {condition} -F")
            if values.words:
                lines.append(f"complete -c ms -n {condition} "
                             f"-a {_fish_quote(' '.join(values.words))} "
                             f"-d {_fish_quote(positional.help)}")
    return "\n".join(lines) + "\n"

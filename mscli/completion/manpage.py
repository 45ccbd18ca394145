"""The man page, ms.1, rendered from the model (model.py) as roff."""

from __future__ import annotations

from mscli.completion.model import CLI, GENERAL_GROUP, Option, Positional

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
           ".\\\" `python scripts/generate.py`; edit the parser or mscli/completion/, "
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

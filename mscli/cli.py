"""The `ms` command line: each command parses its options, calls the library, renders.

Errors become one line on stderr (`ms: NAME: message`), a JSON object on stdout with --json,
and the exit code contract.md fixes; tracebacks only with --traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from mscli import __version__, render
from mscli.errors import AbortError, ConstraintTypeError, MediaError, UsageError

app = typer.Typer(
    name="ms",
    help="List, inspect, resolve and capture cameras and microphones the way a browser's "
         "getUserMedia does.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

FakeOption = Annotated[bool, typer.Option(
    "--fake", envvar="MS_FAKE",
    help="Use the built-in virtual devices (a camera, a microphone, a speaker).")]
DevicesOption = Annotated[Optional[str], typer.Option(
    "--devices", envvar="MS_DEVICES", metavar="FILE",
    help="Use the virtual devices described in FILE (JSON).")]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print JSON on stdout (the default when stdout is not a terminal).")]


def _examples(*lines: str) -> str:
    # \b keeps click from re-wrapping the example lines.
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def _load_devices(fake: bool, devices_file: Optional[str]):
    from mscli.catalog import load_devices

    return load_devices(devices_file, fake)


def _warn(message: str) -> None:
    print(f"ms: warning: {message}", file=sys.stderr)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")]
    = False,
) -> None:
    if version:
        print(f"ms {__version__}")
        raise typer.Exit()


@app.command(epilog=_examples(
    "ms devices --fake",
    "ms devices --devices ci-devices.json --json | jq -r '.[].label'",
    "ms devices --reset-ids   # new deviceIds for every device"))
def devices(
    fake: FakeOption = False,
    devices_file: DevicesOption = None,
    json_out: JsonOption = False,
    reset_ids: Annotated[bool, typer.Option(
        "--reset-ids", help="Forget the secret behind deviceIds: every id changes.")] = False,
) -> None:
    """List cameras, microphones and speakers (enumerateDevices)."""
    if reset_ids:
        from mscli.ids import reset_secret

        _warn(f"device ids reset (secret in {reset_secret()})")
    infos = [d.info() for d in _load_devices(fake, devices_file)]
    if render.wants_json(json_out):
        render.print_json(infos)
    else:
        render.devices_table(infos)


@app.command(epilog=_examples(
    "ms caps --fake",
    "ms caps label:'Fake Camera' --fake --modes",
    "ms caps index:0 --devices ci-devices.json --json"))
def caps(
    device: Annotated[Optional[str], typer.Argument(
        metavar="[DEVICE]", help="A deviceId, label:TEXT or index:N; all inputs if absent.",
        show_default=False)] = None,
    modes: Annotated[bool, typer.Option(
        "--modes", help="Also show the native modes behind the ranges.")] = False,
    fake: FakeOption = False,
    devices_file: DevicesOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show what an input device can do (getCapabilities)."""
    from mscli.catalog import find_device
    from mscli.devices import AUDIO_OUTPUT, capabilities, native_modes

    found = _load_devices(fake, devices_file)
    chosen = [find_device(found, device)] if device else \
        [d for d in found if d.kind != AUDIO_OUTPUT]
    if device and chosen[0].kind == AUDIO_OUTPUT:
        raise UsageError(f"{device!r} is a speaker; capabilities are for input devices")
    entries = []
    for d in chosen:
        entry = {"deviceId": d.device_id, "kind": d.kind, "label": d.label,
                 "capabilities": capabilities(d)}
        if modes:
            entry["modes"] = native_modes(d)
        entries.append(entry)
    if not render.wants_json(json_out):
        render.caps_tables(entries)
    elif device and not modes:
        render.print_json(entries[0]["capabilities"])  # exactly getCapabilities()
    else:
        render.print_json(entries[0] if device else entries)


@app.command(epilog=_examples("ms supported", "ms supported --json | jq 'keys'"))
def supported(json_out: JsonOption = False) -> None:
    """List the constraint names ms honours (getSupportedConstraints)."""
    from mscli.constraints import PROPERTIES

    names = {name: True for name in PROPERTIES}
    if render.wants_json(json_out):
        render.print_json(names)
    else:
        render.supported_table(names)


ConstraintsOption = Annotated[str, typer.Option(
    "--constraints", "-c", metavar="C",
    help="MediaStreamConstraints: a JSON file, - for stdin, or inline JSON starting with {.")]


@app.command(epilog=_examples(
    "ms resolve --fake -c '{\"video\": {\"width\": 1280, \"height\": 720}}'",
    "ms resolve --devices ci-devices.json -c constraints.json --json",
    "echo '{\"audio\": true}' | ms resolve --fake -c -"))
def resolve(
    constraints: ConstraintsOption,
    fake: FakeOption = False,
    devices_file: DevicesOption = None,
    json_out: JsonOption = False,
) -> None:
    """Choose devices and settings as getUserMedia would, without opening anything."""
    from mscli.constraints import parse_stream_constraints
    from mscli.jsoninput import load_json
    from mscli.select import resolve_stream

    value, _ = load_json(constraints, "constraints", ConstraintTypeError)
    parsed = parse_stream_constraints(value)
    for warning in parsed.warnings:
        _warn(warning)
    selections = resolve_stream(parsed, _load_devices(fake, devices_file))
    result = {"tracks": [s.to_json() for s in selections]}
    if render.wants_json(json_out):
        render.print_json(result)
    else:
        render.resolve_table(result)


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and turns every failure into the documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    traceback = "--traceback" in args
    args = [a for a in args if a != "--traceback"]
    json_mode = "--json" in args
    try:
        code = app(args=args, prog_name="ms", standalone_mode=False)
    except MediaError as e:
        if traceback:
            raise
        _fail(e, json_mode)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        render.quiet_broken_pipe()
    except Exception as e:  # the last line of defence: never a traceback by default
        if _is_click(e, "NoArgsIsHelpError"):
            sys.exit(2)  # the help is already on the screen
        if _is_click(e, "UsageError"):
            _fail(UsageError(_usage_message(e)), json_mode)
        if _is_click(e, "Abort"):
            sys.exit(130)
        if traceback:
            raise
        _fail(AbortError(f"unexpected {type(e).__name__}: {e} (rerun with --traceback "
                         "and report it)"), json_mode)
    sys.exit(code if isinstance(code, int) else 0)


def _is_click(error: Exception, name: str) -> bool:
    """Typer raises click's exceptions, from click itself or from its vendored copy."""
    return any(cls.__name__ == name for cls in type(error).__mro__)


def _usage_message(error) -> str:
    ctx = getattr(error, "ctx", None)
    command = f"ms {ctx.info_name}" if ctx is not None and ctx.parent is not None else "ms"
    return f"{error.format_message()} (see '{command} --help')"


def _fail(error: MediaError, json_mode: bool) -> None:
    print(f"ms: {error.name}: {error.message}", file=sys.stderr)
    if json_mode:
        render.print_json(error.to_json())
    sys.exit(error.exit_code)

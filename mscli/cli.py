"""The `ms` command line: each command parses its options, calls the library, renders.

Errors become one line on stderr (`ms: NAME: message`), a JSON object on stdout with --json,
and the exit code contract.md fixes; tracebacks only with --traceback.

Built on argparse rather than typer: `ms devices` runs on every Tab press, and importing typer
costs ~55 ms here (typer 0.29 also pulls in pydantic, ~100 ms more) where argparse costs ~9 ms.
`build_parser()` is the one definition of the command line; completions and the man page are
generated from it.
"""

from __future__ import annotations

import argparse
import os
import sys

from mscli import __version__, render, streams
from mscli.errors import AbortError, ConstraintTypeError, MediaError
from mscli.usage import Parser, check_option_order, unknown_arguments

DESCRIPTION = ("List, inspect, resolve and capture cameras and microphones the way a browser's "
               "getUserMedia does.")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _add_general_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """-q, -v, --no-color and --traceback, before or after the command name. After it they
    default to SUPPRESS so that a subcommand does not reset what was given before it."""
    default = argparse.SUPPRESS if suppress else False
    group = parser.add_argument_group("general")
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="no warnings, events or live view on stderr; errors and data only "
                            "(--events FILE still gets events)")
    group.add_argument("-v", "--verbose", action="store_true", default=default,
                       help="more detail on stderr (what ms chose, backend start-up noise)")
    group.add_argument("--no-color", action="store_true", default=default,
                       help="no colour in tables and the live view (also NO_COLOR=1)")
    group.add_argument("--traceback", action="store_true", default=default,
                       help="show the Python traceback of an unexpected failure")


def _add_device_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("devices")
    group.add_argument("--fake", action="store_true", default=_env_flag("MS_FAKE"),
                       help="use the built-in virtual devices (a camera, a microphone, "
                            "a speaker); also MS_FAKE=1")
    group.add_argument("--devices", metavar="FILE", dest="devices_file",
                       default=os.environ.get("MS_DEVICES") or None,
                       help="use the virtual devices described in FILE (JSON); "
                            "also MS_DEVICES=FILE")


def _add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", dest="json_out",
                        help="print JSON on stdout (the default when stdout is not a terminal)")


def build_parser() -> Parser:
    parser = Parser(prog="ms", description=DESCRIPTION,
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog=_examples("ms devices --fake",
                                     "ms resolve --fake -c '{\"video\": {\"width\": 1280}}'",
                                     "ms COMMAND --help"))
    parser.add_argument("--version", action="version", version=f"ms {__version__}")
    _add_general_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, help: str, *examples: str) -> Parser:
        sub = commands.add_parser(name, help=help, description=help,
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog=_examples(*examples))
        _add_general_options(sub, suppress=True)
        return sub

    devices = command("devices", "List cameras, microphones and speakers (enumerateDevices).",
                      "ms devices --fake",
                      "ms devices --devices ci-devices.json --json | jq -r '.[].label'",
                      "ms devices --reset-ids   # new deviceIds for every device",
                      "ms devices --watch --devices ci-devices.json")
    _add_device_options(devices)
    _add_json_option(devices)
    devices.add_argument("--reset-ids", action="store_true",
                         help="forget the secret behind deviceIds: every id changes")
    devices.add_argument("--watch", action="store_true",
                         help="after the list, print a devicechange event (stderr) each time "
                              "it changes, until Ctrl-C")
    _add_events_option(devices)
    # For the shell completions only (mscli/completion/): DEVICE candidates, one a line.
    devices.add_argument("--complete", nargs="?", const="inputs", choices=("inputs", "speaker"),
                         help=argparse.SUPPRESS)
    devices.set_defaults(run=cmd_devices)

    caps = command("caps", "Show what an input device can do (getCapabilities), or what a "
                           "speaker takes.",
                   "ms caps --fake",
                   "ms caps 'label:Fake Camera' --fake --modes",
                   "ms caps index:0 --devices ci-devices.json --json",
                   "ms caps 'label:Fake Speaker' --fake --modes   # rates and channels")
    caps.add_argument("device", nargs="?", metavar="DEVICE",
                      help="a deviceId, label:TEXT or index:N (default: every input; "
                           "name a speaker to see what it takes)")
    caps.add_argument("--modes", action="store_true",
                      help="also show the native modes behind the ranges")
    _add_device_options(caps)
    _add_json_option(caps)
    caps.set_defaults(run=cmd_caps)

    supported = command("supported",
                        "List the constraint names ms honours (getSupportedConstraints).",
                        "ms supported", "ms supported --json | jq 'keys'")
    _add_json_option(supported)
    supported.set_defaults(run=cmd_supported)

    resolve = command("resolve",
                      "Choose devices and settings as getUserMedia would, without opening "
                      "anything.",
                      "ms resolve --fake -c '{\"video\": {\"width\": 1280, \"height\": 720}}'",
                      "ms resolve --devices ci-devices.json -c constraints.json --json",
                      "echo '{\"audio\": true}' | ms resolve --fake -c -")
    _add_constraints_option(resolve)
    _add_device_options(resolve)
    _add_json_option(resolve)
    resolve.set_defaults(run=cmd_resolve)

    capture = command(
        "capture", "Open the devices getUserMedia would choose and record or pipe their "
                   "tracks; report events as they happen.",
        "ms capture --fake -c '{\"video\": true, \"audio\": true}' -t 5 -o demo.mkv",
        "ms capture --fake -c '{\"video\": {\"width\": 1280}}' --frames 300 -o - | "
        "ffplay -",
        "ms capture --devices ci.json -c c.json -o video=v.y4m -o audio=a.wav -t 2",
        "ms capture --fake -c '{\"video\": true}' -o still.png",
        "ms capture --fake -c '{\"video\": true}' -t 3 -o null --expect 'video.fps >= 24' "
        "--junit checks.xml",
        "ms capture -c '{\"audio\": true}' -t 10 -o talk.wav -o speaker   # record and listen",
        "ms capture -c '{\"audio\": true}' -t 5 --play far.wav --speaker index:2 -o near.wav",
        "ms capture -c '{\"video\": true, \"audio\": true}' -o rec.mkv "
        "-o rtmp://127.0.0.1/live/cam --reconnect   # record and publish",
        "ms capture --fake -c '{\"video\": true}' -t 10 -o 'udp://239.0.0.1:1234?pkt_size=1316'")
    _add_constraints_option(capture)
    _add_device_options(capture)
    out = capture.add_argument_group("outputs")
    out.add_argument("-o", "--output", action="append", default=[], metavar="OUT",
                     help="PATH (format from the extension: .mkv .webm .mp4 .mov .nut .y4m "
                          ".wav .ogg .opus .flac .png .jpg), - for stdout, null to discard, "
                          "speaker or speaker:DEVICE to play the audio track, a URL to "
                          "publish (udp:// tcp:// rtp:// MPEG-TS, rtmp:// FLV, rtsp:// "
                          "RECORD; protocol options in its query; whip+http(s):// WebRTC, "
                          "the webrtc extra), "
                          "or KIND=OUT to send one track kind (video=, audio=); repeatable")
    _add_speaker_options(out)
    out.add_argument("-f", "--format", metavar="FORMAT",
                     help="container for -o - (matroska, nut, y4m, wav, ...) or to override "
                          "an extension")
    out.add_argument("-y", "--overwrite", action="store_true",
                     help="replace existing output files")
    out.add_argument("--video-codec", metavar="CODEC",
                     help="e.g. libx264, libvpx-vp9, ffv1; copy stores a file-backed "
                          "device's packets, or a V4L2 camera's MJPEG/H.264 (mkv, mp4, nut; "
                          "H.264 not mkv) or YUYV as rawvideo (nut, mkv), as they are (native "
                          "settings only; no content checks; faults that change or drop "
                          "frames refused)")
    out.add_argument("--audio-codec", metavar="CODEC",
                     help="e.g. libopus, aac, flac; copy as for --video-codec")
    out.add_argument("--crf", type=float, metavar="N", help="video quality (x264: 0-51)")
    out.add_argument("--bitrate", metavar="RATE", help="e.g. 2M, 128k")
    stop = capture.add_argument_group("stopping")
    stop.add_argument("-t", "--duration", type=_positive_float, metavar="SECONDS",
                      help="stop after this much capture time")
    stop.add_argument("--frames", type=_positive_int, metavar="N",
                      help="stop after N video frames")
    run = capture.add_argument_group("running")
    run.add_argument("--unpaced", action="store_true",
                     help="virtual and file sources run as fast as the outputs take frames "
                          "(timestamps stay at the nominal rate); real devices ignore it")
    _add_events_option(run)
    run.add_argument("--stats", type=_positive_float, metavar="SECONDS",
                     help="emit a stats event per track every SECONDS: the spec's track "
                          "statistics (delivered, discarded, total frames; audio latency), "
                          "also in the stopped event")
    run.add_argument("--reapply", action="store_true",
                     help="on SIGHUP, re-read the constraints file and apply it to the live "
                          "tracks (applyConstraints)")
    run.add_argument("--reconnect", action="store_true",
                     help="when a device goes away and comes back, go on recording from it "
                          "(removetrack, then addtrack; one output, one timeline); when a "
                          "URL output's server goes away, retry it with backoff (0.5, 1, 2, "
                          "4, then every 8 s) while the other outputs go on")
    _add_content_options(capture)
    _add_check_options(capture)
    capture.set_defaults(run=cmd_capture)

    schema = command("schema", "Print the JSON Schema of a file ms reads, for editors.",
                     "ms schema constraints > constraints.schema.json",
                     "ms schema devices > devices.schema.json")
    schema.add_argument("which", choices=("constraints", "devices"),
                        help="constraints (-c) or devices (--devices)")
    schema.set_defaults(run=cmd_schema)
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _add_speaker_options(group) -> None:
    group.add_argument("--play", metavar="FILE",
                       help="play FILE's audio on the default speaker (or --speaker) in real "
                            "time while capturing: the far end of an echo or latency test")
    group.add_argument("--speaker", metavar="SPEAKER",
                       help="the speaker --play plays on: a deviceId, label:TEXT or index:N")


def _add_check_options(parser) -> None:
    group = parser.add_argument_group("checks")
    group.add_argument("--expect", action="append", default=[], type=_expectation,
                       metavar="EXPECTATION",
                       help="'KIND.METRIC OP VALUE' to check when the capture stops, e.g. "
                            "'video.fps >= 24' (OP: >= <= > < == !=; metrics: frames fps "
                            "drops black frozen silence level peak clipping latency.p50 "
                            "latency.p99 echo_delay events.NAME); exit 6 if one does not "
                            "hold; "
                            "repeatable")
    group.add_argument("--report", metavar="FILE",
                       help="write each expectation's result and the tracks' statistics to "
                            "FILE as JSON (- for stdout)")
    group.add_argument("--junit", metavar="FILE",
                       help="write the expectations to FILE as JUnit XML for CI (one "
                            "testcase each)")


def _expectation(text: str):
    from mscli.checks.expectations import parse_expectation

    return parse_expectation(text)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _number_from(low: float, high: float, what: str):
    """An option's type: a number in [low, high], else a usage error saying so."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {what} from {low:g} to {high:g}, "
                                             f"got {text!r}")
        return value

    return parse


def _add_content_options(parser) -> None:
    from mscli.content import DEFAULTS

    group = parser.add_argument_group(
        "content", "black or frozen video, silent or clipping audio: content events")
    group.add_argument("--no-content", action="store_true",
                       help="do not watch the content (no content events or totals)")
    options = (
        ("--black-level", _number_from(0, 255, "a luma level"), "LUMA", "black_level",
         "video is black when 98 percent of its luma is at or below LUMA, 0-255"),
        ("--frozen-after", _positive_float, "SECONDS", "frozen_after",
         "video is frozen when its picture stays the same this long"),
        ("--silence-below", _number_from(-200, 0, "dBFS"), "DBFS", "silence_below",
         "audio is silent when its RMS level is below DBFS"),
        ("--silence-after", _positive_float, "SECONDS", "silence_after",
         "audio is silence when below that level this long"))
    for flag, kind, metavar, name, text in options:
        default = getattr(DEFAULTS, name)
        group.add_argument(flag, type=kind, metavar=metavar, default=default,
                           help=f"{text} (default {default:g})")


def _add_events_option(parser) -> None:
    parser.add_argument("--events", metavar="FILE|none",
                        help="write events as NDJSON to FILE (- for stdout), or none; "
                             "default: stderr (NDJSON, or readable on a terminal)")


def _add_constraints_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--constraints", metavar="C", required=True,
                        help="MediaStreamConstraints: a JSON file, - for stdin, or inline "
                             "JSON starting with {")


# --- commands -----------------------------------------------------------------------------


def _load_devices(args, explain: bool = False, probe=None, keep: bool = False,
                  speakers: set[str] | None = frozenset()):
    """explain: say on stderr why the machine lists no input device at all. probe: the
    constraints whose track kinds need the modes of network sources that declare none
    (mscli/network/probe.py says when), and whose devices alone are listed, with `speakers`
    (speakers.plan.speaker_kinds); keep: their streams stay open for the capture."""
    from mscli.catalog import absent_notes, kinds_to_list, load_devices

    kinds = None if probe is None else kinds_to_list(probe, speakers)
    devices = load_devices(args.devices_file, args.fake, kinds=kinds)
    for note in absent_notes(devices) if explain else ():
        _warn(note)
    if probe is not None:
        kinds = dict(probe.tracks())
        _probe_streams([d for d in devices if d.track_kind in kinds], keep)
    return devices


def _probe_streams(devices, keep: bool = False) -> None:
    if any(isinstance(d.source, dict) and d.source.get("probe") for d in devices):
        from mscli.network.probe import probe_sources

        probe_sources(devices, keep)


def _warn(message: str) -> None:
    from mscli.messages import warn

    warn(message)


def cmd_devices(args) -> None:
    if args.complete:  # runs on every Tab press: no tables, no warnings, no heavy imports
        from mscli.completion import print_device_candidates

        return print_device_candidates(args.devices_file, args.fake, args.complete)
    if args.reset_ids:
        from mscli.ids import reset_secret

        _warn(f"device ids reset (secret in {reset_secret()})")
    if args.watch:
        from mscli.watch import watch

        return watch(args.devices_file, args.fake, args.events,
                     lambda infos: _print_devices(infos, args.json_out))
    _print_devices([d.info() for d in _load_devices(args, explain=True)], args.json_out)


def _print_devices(infos: list[dict], json_out: bool) -> None:
    if render.wants_json(json_out):
        render.print_json(infos)
    else:
        render.devices_table(infos)


def cmd_caps(args) -> None:
    from mscli.catalog import find_device
    from mscli.controls import current_values
    from mscli.devices import AUDIO_OUTPUT, capabilities, native_modes

    found = _load_devices(args, explain=args.device is None)
    if args.device is not None:
        chosen = [find_device(found, args.device)]
        if chosen[0].kind == AUDIO_OUTPUT:
            from mscli.speakers import probe_speaker

            probe_speaker(chosen[0])
    else:
        chosen = [d for d in found if d.kind != AUDIO_OUTPUT]
    _probe_streams(chosen)
    entries = []
    for d in chosen:
        entry = {"deviceId": d.device_id, "kind": d.kind, "label": d.label,
                 "capabilities": capabilities(d)}
        if args.modes:
            entry["modes"] = native_modes(d)
        entries.append(entry)
    if not render.wants_json(args.json_out):
        render.caps_tables(entries, [current_values(d.controls) for d in chosen])
    elif args.device is not None and not args.modes:
        render.print_json(entries[0]["capabilities"])  # exactly getCapabilities()
    else:
        render.print_json(entries[0] if args.device is not None else entries)


def cmd_supported(args) -> None:
    from mscli.constraints import PROPERTIES

    names = {name: True for name in PROPERTIES}
    if render.wants_json(args.json_out):
        render.print_json(names)
    else:
        render.supported_table(names)


def load_constraints(source: str):
    """The constraints option: parsed, with its warnings shown once on stderr."""
    from mscli.constraints import parse_stream_constraints
    from mscli.jsoninput import load_json

    value, _ = load_json(source, "constraints", ConstraintTypeError)
    parsed = parse_stream_constraints(value)
    for warning in parsed.warnings:
        _warn(warning)
    return parsed


def cmd_resolve(args) -> None:
    from mscli.select import resolve_stream

    parsed = load_constraints(args.constraints)
    selections = resolve_stream(parsed, _load_devices(args, probe=parsed))
    result = {"tracks": [s.to_json() for s in selections]}
    if render.wants_json(args.json_out):
        render.print_json(result)
    else:
        render.resolve_table(result)


def cmd_capture(args) -> None:
    from mscli.startup import paused_collector

    with paused_collector():
        from mscli.capture import capture
        from mscli.speakers.plan import speaker_kinds

        parsed = load_constraints(args.constraints)
        speakers = speaker_kinds(args.output, args.play, args.speaker)
        capture(args, parsed, _load_devices(args, probe=parsed, keep=True, speakers=speakers))


def cmd_schema(args) -> None:
    from mscli.schema import constraints_schema, devices_schema

    render.print_json(constraints_schema() if args.which == "constraints" else devices_schema())


# --- entry point --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs a command and turns every failure into the documented exit code."""
    streams.guard_standard_fds()
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in argv
    traceback = "--traceback" in argv
    try:
        parser = build_parser()
        check_option_order(parser, argv)
        args, extras = parser.parse_known_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            sys.exit(2)
        if extras:
            raise unknown_arguments(parser, args, extras)
        _apply_general_options(args)
        args.run(args)
    except MediaError as e:
        if traceback:
            raise
        _fail(e, json_mode)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        streams.reader_gone()
    except Exception as e:  # the last line of defence: never a traceback by default
        if traceback:
            raise
        _fail(AbortError(f"unexpected {type(e).__name__}: {e} (rerun with --traceback "
                         "and report it)"), json_mode)
    sys.exit(0)


def _apply_general_options(args) -> None:
    from mscli import messages

    # ms does no linear algebra: numpy's OpenBLAS needs no pool of threads, and starting one
    # spins about 0.1 s of CPU in every capture (bench/lean.py). Before numpy is imported.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    messages.quiet = args.quiet
    messages.verbose = args.verbose
    if args.verbose:
        os.environ["MS_VERBOSE"] = "1"  # backends show their start-up output
    if args.no_color:
        os.environ["NO_COLOR"] = "1"


def _fail(error: MediaError, json_mode: bool) -> None:
    for line in error.lines():
        streams.say(line)
    if json_mode:
        try:
            render.print_json(error.to_json())
        except (OSError, MediaError):  # stdout is what failed: the exit code still tells
            pass
    sys.exit(error.exit_code)

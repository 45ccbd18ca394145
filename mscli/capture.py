"""`ms capture` from parsed options to a finished recording: resolve, check the outputs,
choose where events go, run the session, and make every way out leave finalised files."""

from __future__ import annotations

import contextlib
import json
import sys

from mscli import messages
from mscli.checks.verdict import CaptureChecks
from mscli.content import content_options
from mscli.errors import UsageError
from mscli.events import CaptureClock, EventLog, attach_event_writers
from mscli.outputs import plan_outputs
from mscli.select import resolve_stream
from mscli.session import CaptureOptions, CaptureSession
from mscli.speakers.plan import is_speaker, plan_play
from mscli.stopping import StopSignals, StoppedWaiting
from mscli.streamcopy import check_copy


def plays_something(args) -> bool:
    """--play or -o speaker: only then is there an echo delay to measure."""
    return args.play is not None or any(map(is_speaker, args.output))


def capture(args, constraints, devices) -> None:
    selections = resolve_stream(constraints, devices)
    kinds = [s.kind for s in selections]
    if args.frames is not None and "video" not in kinds:
        raise UsageError("--frames counts video frames and no video track is requested; "
                         "use -t SECONDS")
    if args.reapply and (args.constraints == "-" or args.constraints.lstrip().startswith("{")):
        raise UsageError("--reapply re-reads the constraints file: give -c FILE")
    checks = CaptureChecks(args.expect, kinds, report=args.report, junit=args.junit,
                           unpaced=args.unpaced, content=not args.no_content,
                           plays=plays_something(args),
                           overwrite=args.overwrite)
    events_file = [("--events", args.events)] if args.events not in (None, "none") else []
    play = plan_play(args.play, args.speaker, devices, paced=not args.unpaced)
    plans = plan_outputs(args.output, kinds, args.format, args.overwrite,
                         files=events_file + checks.files(), devices=devices, play=play)
    if messages.verbose:
        for s in selections:
            print(f"ms: {s.kind}: {s.device.label!r} {json.dumps(s.settings)}", file=sys.stderr)
    options = CaptureOptions(
        duration=args.duration, frames=args.frames, paced=not args.unpaced,
        overwrite=args.overwrite, reapply=args.reapply, constraints_source=args.constraints,
        reconnect=args.reconnect, stats=args.stats, content=content_options(args),
        recorder={k: v for k, v in (("video_codec", args.video_codec),
                                    ("audio_codec", args.audio_codec),
                                    ("crf", args.crf), ("bitrate", args.bitrate))
                  if v is not None}, play=play)
    check_copy(selections, plans, args, options.recorder)
    events = EventLog(CaptureClock())
    try:
        detail = _record(args, selections, constraints, plans, options, events)
    except StoppedWaiting as stop:  # a stop before the first frame: nothing was captured
        messages.warn(str(stop))
        detail = {"tracks": [], "reason": "signal"}
    checks.finish(detail, events.history)  # after the live view and the event file closed


def _record(args, selections, constraints, plans, options, events) -> dict:
    """Opens the outputs, runs the session; returns the `stopped` detail."""
    with contextlib.ExitStack() as stack:
        # From before the devices and outputs open until after they are finalised: a stop
        # signal at any moment in between finalises (or removes) what is open, exit 0.
        signals = stack.enter_context(StopSignals(reapply=args.reapply))
        view = attach_event_writers(args.events, events, stack, live_view=True,
                                    overwrite=args.overwrite)
        session = CaptureSession(selections, constraints, plans, options, events, view)
        signals.attach(session)
        session.open_outputs()
        try:
            return session.run()
        except BaseException:
            session.abort()
            raise

"""`ms capture --reapply`: SIGHUP re-reads the constraints file and runs applyConstraints on
each live track.

applyConstraints runs SelectSettings on the track's own device only (a new deviceId cannot
move it). Success changes the settings of the frames from then on, and the camera controls
the new constraints give values to (trackcontrols.py); failure (a required constraint the
device cannot meet, in selection or as it reads a control back) fires `overconstrained`
with the constraint's name and keeps the old constraints, settings and control values, as
the spec's rejected promise does.
"""

from __future__ import annotations

from mscli.constraints import parse_stream_constraints
from mscli.errors import ConstraintTypeError, MediaError, OverconstrainedError
from mscli.jsoninput import load_json
from mscli.messages import warn
from mscli.select import select_settings
from mscli.trackcontrols import live_device, reapply_controls


def reapply_constraints(session, source: str) -> None:
    try:
        # wait=0: a FIFO with no writer ready must not stall the capture while it waits
        value, _ = load_json(source, "constraints", ConstraintTypeError, wait=0)
        parsed = parse_stream_constraints(value)
    except MediaError as e:  # a half-saved file must not stop a recording
        warn(f"--reapply: {e.message}; keeping the current constraints")
        return
    new = dict(parsed.tracks())
    live = [t for t in session.tracks if t.ready_state == "live" and t.kind in new]
    for track in session.tracks:  # selecting for one track slows the others' threads too
        track.hold_rate_check(True)
    try:
        for track in live:
            try:
                selection = select_settings(new[track.kind], [live_device(track)], track.kind)
                settings = reapply_controls(track, selection.settings, new[track.kind])
            except OverconstrainedError as e:
                session.events.emit("overconstrained", track=track,
                                    detail={"constraint": e.constraint, "message": e.message,
                                            "cause": "reapply"})
                continue
            track.apply_settings(settings, new[track.kind], selection.mode)
    finally:
        for track in session.tracks:
            track.hold_rate_check(False)

"""CaptureSession's own rules, in process with the built-in virtual devices."""

from __future__ import annotations

import time

from mscli.catalog import load_devices
from mscli.constraints import parse_stream_constraints
from mscli.events import CaptureClock, EventLog
from mscli.select import resolve_stream
from mscli.session import CaptureOptions, CaptureSession


def test_stopping_the_sources_frees_one_waiting_for_room_in_its_queue(monkeypatch, tmp_path):
    # An unpaced source waits for room in its track's queue. After a write failed nobody takes
    # frames any more: stopping must free it, not leave it to the join's timeout (an unpaced
    # capture onto a full disk took 5 s to exit instead of 1).
    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path))
    constraints = parse_stream_constraints({"video": True})
    selections = resolve_stream(constraints, load_devices(None, fake=True))
    session = CaptureSession(selections, constraints, [], CaptureOptions(paced=False),
                             EventLog(CaptureClock()))
    [track] = session.tracks
    track.source.start()
    deadline = time.monotonic() + 30
    while len(track._queue) < track._limit:  # full: the source now waits for room
        assert time.monotonic() < deadline, "the source never filled its queue"
        time.sleep(0.01)
    session._stop_sources()
    assert not track.source._thread.is_alive()

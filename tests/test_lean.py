"""What a capture costs beyond the work its media needs (issue 15, bench/lean.py)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

# A capture in a child process, then the threads it is left with that Python did not start
# (a Python thread that just ended may take a moment to leave /proc: those are waited for).
NATIVE_THREADS_AFTER_CAPTURE = """
import os, sys, threading, time
from mscli.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    assert e.code == 0, e.code
import numpy  # what the capture imported
deadline = time.monotonic() + 2
while True:
    python = {t.native_id for t in threading.enumerate()}
    native = {int(tid) for tid in os.listdir("/proc/self/task")} - python
    if not native or time.monotonic() > deadline:
        break
    time.sleep(0.05)
print(len(native))
"""


def test_a_capture_starts_no_blas_threads(ms_env):
    """numpy's OpenBLAS starts a thread per further core at import, each spinning ~0.1 s of
    CPU; ms uses no BLAS. (On a one-core machine there is no such thread either way.)"""
    ms_env.pop("OPENBLAS_NUM_THREADS", None)
    args = ["capture", "--fake", "-c", '{"audio": true}', "-t", "0.1", "--unpaced",
            "--events", "none", "-o", "null"]
    proc = subprocess.run([sys.executable, "-c", NATIVE_THREADS_AFTER_CAPTURE, *args],
                          env=ms_env, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_an_idle_writer_sleeps_until_it_has_something_to_do(monkeypatch, tmp_path):
    """Paced 5 fps for a second: the writer wakes for the frames (and a stats event), not
    every 10 ms (about a hundred wake-ups, ~4% of a paced recording's CPU)."""
    from mscli.catalog import load_devices
    from mscli.constraints import parse_stream_constraints
    from mscli.events import CaptureClock, EventLog
    from mscli.select import resolve_stream
    from mscli.session import CaptureOptions, CaptureSession

    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path))
    constraints = parse_stream_constraints({"video": {"width": 160, "height": 120,
                                                      "frameRate": 5}})
    selections = resolve_stream(constraints, load_devices(None, fake=True))
    session = CaptureSession(selections, constraints, [],
                             CaptureOptions(paced=True, duration=1.0, stats=0.5),
                             EventLog(CaptureClock()))
    idle = []
    write = session._write
    monkeypatch.setattr(session, "_write", lambda frames: (idle.append(not frames),
                                                           write(frames)))
    detail = session.run()
    assert detail["tracks"][0]["frames"] == 5
    # 5 frames, 2 stats events, the end: a few idle wake-ups at most (margin for a late
    # source thread, whose watchdog is then checked every POLL_SECONDS).
    assert sum(idle) <= 20, f"{sum(idle)} idle wake-ups in 1 s"

"""What a capture costs beyond the work its media needs (issue 15, bench/lean.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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


# Loaded by every Python started with its directory on PYTHONPATH: says on stderr whether the
# atexit functions ran and whether the interpreter tore its modules down (this module's
# globals are freed then, and the object's __del__ runs).
SITECUSTOMIZE = """
import atexit, os
atexit.register(lambda: os.write(2, b"atexit ran\\n"))
class _Teardown:
    def __del__(self):
        os.write(2, b"torn down\\n")
_marker = _Teardown()
"""


def _with_sitecustomize(ms_env, tmp_path) -> dict:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return dict(ms_env, PYTHONPATH=f"{site}{os.pathsep}{ms_env['PYTHONPATH']}")


def test_ms_exits_after_its_outputs_without_tearing_the_interpreter_down(ms_env, tmp_path):
    """Freeing PyAV's and numpy's modules at exit cost 25-45 ms of CPU after the recording was
    closed. Skipped, with the atexit functions still run and every output whole: the
    recording, the events file and the one on stdout (a pipe)."""
    env = _with_sitecustomize(ms_env, tmp_path)
    events, mkv = tmp_path / "events.jsonl", tmp_path / "out.mkv"
    c = '{"video": {"width": 160, "height": 120}, "audio": true}'
    proc = subprocess.run([sys.executable, "-m", "mscli", "capture", "--fake", "-c", c,
                           "--frames", "7", "--unpaced", "--events", str(events), "-o",
                           str(mkv), "-o", "-"], env=env, capture_output=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b"atexit ran" in proc.stderr and b"torn down" not in proc.stderr, proc.stderr
    (tmp_path / "stdout.mkv").write_bytes(proc.stdout)
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[-1]["event"] == "stopped", lines[-1]
    import av

    for path in (mkv, tmp_path / "stdout.mkv"):
        with av.open(str(path)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 7, path


@pytest.mark.parametrize("args, code", [
    (["capture", "--fake", "--bogus"], 2),
    (["capture", "--fake", "-c", '{"video": {"deviceId": {"exact": "nope"}}}', "-o", "null"], 4),
    (["devices", "--fake", "--json"], 0),
])
def test_the_fast_exit_keeps_the_exit_code_and_stdout(ms_env, tmp_path, args, code):
    env = _with_sitecustomize(ms_env, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "mscli", *args], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert "atexit ran" in proc.stderr and "torn down" not in proc.stderr, proc.stderr
    if code == 0:
        assert json.loads(proc.stdout)  # printed, flushed whole
    else:
        assert proc.stderr.count("ms: ") == 1, proc.stderr


EXIT_NOW_WITH = """
import sys, threading, time
from mscli.streams import exit_now
if sys.argv[1] == "thread":
    def late():
        time.sleep(0.2)
        print("the thread finished", flush=True)
    threading.Thread(target=late).start()
    exit_now(4)
exit_now("a message")
"""


@pytest.mark.parametrize("case, code, out, err", [
    ("thread", 4, "the thread finished\n", ""),  # the interpreter waits for the thread
    ("message", 1, "", "a message\n"),  # and prints a status that is not a number
])
def test_the_fast_exit_leaves_to_the_interpreter_what_it_cannot_skip(ms_env, case, code,
                                                                      out, err):
    proc = subprocess.run([sys.executable, "-c", EXIT_NOW_WITH, case], env=ms_env,
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (code, out, err)


# A capture in a child process, then: the collections that ran in the capture command before
# start-up's objects were frozen, how many were frozen (while the capture ran: they are
# unfrozen after it), whether the collector is on.
COLLECTIONS_IN_A_CAPTURE = """
import gc, sys
from mscli import cli, startup
before_freeze, frozen = [], []
command, started = cli.cmd_capture, startup.started
def counted(args):
    gc.callbacks.append(lambda phase, info: phase == "start" and before_freeze.append(
        gc.get_freeze_count() == 0))
    command(args)
def freezes():
    started()
    frozen.append(gc.get_freeze_count())
cli.cmd_capture, startup.started = counted, freezes
try:
    cli.main(sys.argv[1:])
except SystemExit as e:
    assert not e.code, e.code
print(sum(before_freeze), *frozen, gc.isenabled())
"""


def test_the_collector_waits_until_the_capture_has_started(ms_env):
    """The ~50 collections start-up ran over objects that live for the whole capture
    (~80 ms of CPU): none now, start-up's objects frozen, the collector on again."""
    args = ["capture", "--fake", "-c", '{"video": true, "audio": true}', "-t", "0.1",
            "--unpaced", "--events", "none", "-o", "null"]
    proc = subprocess.run([sys.executable, "-c", COLLECTIONS_IN_A_CAPTURE, *args],
                          env=ms_env, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    collections, frozen, enabled = proc.stdout.split()
    assert (collections, enabled) == ("0", "True")
    assert int(frozen) > 10000  # PyAV's and numpy's modules among them


def test_a_capture_that_fails_before_it_starts_leaves_the_collector_on():
    import gc

    from mscli.cli import main

    c = '{"video": {"deviceId": {"exact": "nope"}}}'
    with pytest.raises(SystemExit) as stop:
        main(["capture", "--fake", "-c", c, "-o", "null"])
    assert stop.value.code == 4
    assert gc.isenabled()

"""Helpers and fixtures for the tests that need the hardware lab's real kernel drivers.

`python hwlab/run.py` boots a QEMU guest whose init sets MS_HWLAB=1 and loads vivid and
snd-aloop; anywhere else these tests are skipped (`pytestmark = LAB` in each module). This is
not a conftest.py: tests/conftest.py owns that module name.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import time

import pytest

IN_LAB = os.environ.get("MS_HWLAB") == "1" and os.path.exists("/dev/video0")
CAMERA_NODE = "/dev/video0"  # vivid n_devs=1: the capture node
LAB = [pytest.mark.hwlab,
       pytest.mark.skipif(not IN_LAB, reason="needs vivid and snd-aloop: runs inside the "
                          "hardware lab (python hwlab/run.py)")]


def run_ms(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mscli", *args], capture_output=True,
                          text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"ms {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


@functools.cache
def listed() -> tuple[list, str]:
    """`ms devices --json`, run once per session: (devices, stderr)."""
    done = run_ms("devices", "--json")
    return json.loads(done.stdout), done.stderr


def camera() -> dict:
    cameras = [d for d in listed()[0] if d["kind"] == "videoinput"]
    assert len(cameras) == 1, f"vivid n_devs=1 should give one camera, got {cameras}"
    return cameras[0]


@contextlib.contextmanager
def recording(*args: str, out, written: int):
    """`ms capture ARGS` in the background, entered once OUT holds more than WRITTEN bytes:
    yields the process for the test to act on while it records (communicate() waits for its
    end); killed if it is still running after."""
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (os.path.exists(out) and os.path.getsize(out) > written):
            assert proc.poll() is None, f"ms exited {proc.returncode}: {proc.stderr.read()}"
            assert time.monotonic() < deadline, f"nothing written to {out} within 60 s"
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def events_in(path, content: bool = False) -> list[dict]:
    """The NDJSON events in PATH; `content` events only if asked: vivid's colour bars stand
    still, which the content watcher rightly calls frozen, and the tests of other events
    would all have to allow for it (test_lab_checks tests the content conditions)."""
    with open(path) as f:
        events = [json.loads(line) for line in f if line.strip()]
    return [e for e in events if content or e["event"] != "content"]

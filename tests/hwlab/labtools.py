"""Helpers and fixtures for the tests that need the hardware lab's real kernel drivers.

`python hwlab/run.py` boots a QEMU guest whose init sets MS_HWLAB=1 and loads vivid and
snd-aloop; anywhere else these tests are skipped (`pytestmark = LAB` in each module). This is
not a conftest.py: tests/conftest.py owns that module name.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pytest

IN_LAB = os.environ.get("MS_HWLAB") == "1" and os.path.exists("/dev/video0")
CAMERA_NODE = "/dev/video0"  # vivid n_devs=1: the capture node
LAB = [pytest.mark.hwlab,
       pytest.mark.skipif(not IN_LAB, reason="needs vivid and snd-aloop: runs inside the "
                          "hardware lab (python hwlab/run.py)")]


def run_ms(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "mscli", *args], capture_output=True,
                          text=True, timeout=120)
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

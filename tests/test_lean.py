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


"""Shared fixtures: run `ms` as a real subprocess, with its own state directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Tests that compare with the ffmpeg and ffprobe programs (PyAV alone does not bring them).
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
    reason="needs the ffmpeg and ffprobe programs (apt-get install ffmpeg; .ci/run installs "
           "them)")


@dataclass
class Result:
    code: int
    out: str
    err: str
    raw: bytes = b""  # stdout as bytes, for media written there

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def ms_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MS_")}
    env["MS_STATE_DIR"] = str(tmp_path / "state")
    env["PYTHONPATH"] = str(REPO)
    env.pop("NO_COLOR", None)
    return env


@pytest.fixture
def ms(ms_env):
    """ms(*args, input=None, env=None) -> Result; stdout is a pipe, as in scripts."""

    def run(*args, input: str | bytes | None = None, env: dict | None = None,
            timeout: float = 60) -> Result:
        full_env = dict(ms_env, **(env or {}))
        proc = subprocess.run([sys.executable, "-m", "mscli", *args], env=full_env,
                              input=input.encode() if isinstance(input, str) else input,
                              capture_output=True, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout.decode(errors="replace"),
                      proc.stderr.decode(errors="replace"), proc.stdout)

    return run


def one_error_line(result: Result) -> str:
    """The contract: a failure is one line on stderr, `ms: NAME: message`, no traceback."""
    lines = [line for line in result.err.splitlines() if not line.startswith("ms: warning:")]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("ms: "), result.err
    assert "Traceback" not in result.err
    return lines[0]

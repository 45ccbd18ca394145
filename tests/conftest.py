"""Shared fixtures: run `ms` as a real subprocess, with its own state directory."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
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


def _ms_env(state) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MS_")}
    env["MS_STATE_DIR"] = str(state)
    env["PYTHONPATH"] = str(REPO)
    env.pop("NO_COLOR", None)
    return env


@pytest.fixture
def ms_env(tmp_path):
    return _ms_env(tmp_path / "state")


@pytest.fixture(scope="module")
def ms_module_env(tmp_path_factory):
    """ms_env for a module's fixtures: one state directory for the whole module."""
    return _ms_env(tmp_path_factory.mktemp("state"))


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


class Lateness:
    """How late this machine wakes a sleeping thread while a test runs, measured by probe
    threads that sleep 2 ms at a time, one pinned to each CPU the tests may use. A real-time
    assertion adds margin() to the bound that ms itself promises: the promise is ms's, the extra
    is the machine's load, measured rather than guessed (on an idle machine the margin is about
    a millisecond). One probe per CPU because a stall may hit one CPU only: the hardware lab's
    two virtual CPUs are two host threads, and a busy host that left the one running ms
    unscheduled was invisible to a probe on the other (CI saw a vivid capture mute with the
    probe reporting no stall)."""

    PERIOD = 0.002

    def __init__(self):
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [None]
        self._worst = dict.fromkeys(cpus, 0.0)
        self._stalled = dict.fromkeys(cpus, 0.0)  # per CPU: its wake-ups' lateness together
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._probe, args=(cpu,), daemon=True,
                                          name=f"lateness-probe-{cpu}") for cpu in cpus]
        for thread in self._threads:
            thread.start()

    @property
    def worst(self) -> float:
        """The latest wake-up seen on any CPU (seconds)."""
        return max(self._worst.values())

    @property
    def stalled(self) -> float:
        """Seconds of lateness on the most delayed CPU."""
        return max(self._stalled.values())

    def _probe(self, cpu) -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})  # this thread only (Linux: 0 is the caller)
        while not self._stop.is_set():
            started = time.monotonic()
            time.sleep(self.PERIOD)
            late = time.monotonic() - started - self.PERIOD
            self._worst[cpu] = max(self._worst[cpu], late)
            self._stalled[cpu] += late

    def margin(self, wakeups: int = 3) -> float:
        """Seconds to allow for `wakeups` thread wake-ups in a row, each as late as the worst
        seen so far in this test."""
        return wakeups * self.worst

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@pytest.fixture
def lateness():
    probe = Lateness()
    yield probe
    probe.stop()


@pytest.fixture
def shell_env(ms_env, tmp_path):
    """An environment whose `ms` is this checkout (via a wrapper on PATH), away from the
    user's shell configuration."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ms"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m mscli "$@"\n')
    wrapper.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in ms_env.items() if k not in ("EDITOR", "VISUAL", "BASH_ENV", "ENV")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{ms_env.get('PATH', os.defpath)}", HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               TERM="dumb", COLUMNS="200", LC_ALL="C.UTF-8")
    return env

"""Stopping `ms capture` with real signals to a real process (issue 10, findings 4 and 6, and
the signal matrix): INT, TERM, HUP at seeded random moments against every container; QUIT,
XCPU and repeated signals; a slow reader; a hung-up terminal. Every wait has a timeout, so a
hang fails.

The seeds are printed (and in every failure message): rerun one with MS_SIGNAL_SEED=N.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import av
import numpy as np
import pytest

from mscli.media.pattern import read_frame_number

AV = '{"video": true, "audio": true}'
VIDEO = '{"video": true}'
AUDIO = '{"audio": true}'
# extension -> what it records (every container ms writes; y4m is video only, the rest of
# the audio-only ones cannot carry video)
CONTAINERS = {"mkv": AV, "webm": AV, "mp4": AV, "mov": AV, "nut": AV, "y4m": VIDEO,
              "wav": AUDIO, "ogg": AUDIO, "opus": AUDIO, "flac": AUDIO}
SIGNALS = {"INT": signal.SIGINT, "TERM": signal.SIGTERM, "HUP": signal.SIGHUP}
# Seconds after ms began catching signals (its handlers are in place before any device or
# output opens): "armed" lands while the outputs open, "early" around the first frames,
# "late" well into the recording.
MOMENTS = {"armed": (0.0, 0.05), "early": (0.05, 0.6), "late": (0.8, 2.5)}
TIMEOUT = 60  # for any one ms process to finish once signalled


def _seed(default: int) -> int:
    seed = int(os.environ.get("MS_SIGNAL_SEED", default))
    print(f"signal seed {seed} (rerun with MS_SIGNAL_SEED={seed})")
    return seed


def _spawn(ms_env, *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE):
    return subprocess.Popen([sys.executable, "-m", "mscli", "capture", *args], env=ms_env,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)


def _catches(pid: int, sig: int) -> bool:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


def _wait_until_armed(proc, timeout: float = 30.0) -> None:
    """Until ms catches SIGTERM: from then on a signal is ms's to handle (before, it is the
    interpreter starting, which nothing can finalise and nothing needs to)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"ms exited early: {proc.returncode}"
        if _catches(proc.pid, signal.SIGTERM):
            return
        time.sleep(0.005)
    raise AssertionError("ms never started catching SIGTERM")


def _events(err: bytes) -> list[dict]:
    return [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]


def _decoded_counts(path) -> dict:
    """Video frames and audio samples in a file; decoding it all must not fail."""
    counts = {"video": 0, "audio": 0, "numbers": []}
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                counts["video"] += 1
                counts["numbers"].append(read_frame_number(frame.to_ndarray(format="gray")))
            else:
                counts["audio"] += frame.samples
    return counts


def _stop_run(ms_env, tmp_path, ext: str, signame: str, moment: str, rng) -> str:
    """One capture stopped by one signal; checks the outcome and returns a summary line."""
    out = tmp_path / f"{moment}-{signame}.{ext}"
    proc = _spawn(ms_env, "--fake", "-c", CONTAINERS[ext], "-o", str(out))
    try:
        _wait_until_armed(proc)
        delay = rng.uniform(*MOMENTS[moment])
        time.sleep(delay)
        proc.send_signal(SIGNALS[signame])
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    where = f"{ext} {signame} {moment} +{delay:.3f}s"
    assert proc.returncode == 0, f"{where}: exit {proc.returncode}: {err.decode()}"
    assert b"Traceback" not in err, f"{where}: {err.decode()}"
    stopped = [e for e in _events(err) if e["event"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["detail"]["reason"] == "signal", where
    written = {t["kind"]: t["frames"] - t["drops"] for t in stopped[0]["detail"]["tracks"]}
    if sum(written.values()) == 0:  # stopped before the first frame: no file left behind
        assert not out.exists(), f"{where}: {out.name} left with no frame in it"
        assert b"nothing recorded" in err, where
        return f"{where}: no frame, no file"
    counts = _decoded_counts(out)
    if "video" in written:
        assert counts["video"] == written["video"], (where, counts, written)
        numbers = counts["numbers"]
        assert None not in numbers and numbers == sorted(set(numbers)), (where, numbers)
    if written.get("audio"):
        assert counts["audio"] > 0, (where, counts)
    return f"{where}: {written}"


def _matrix(ms_env, tmp_path, runs, seed) -> None:
    rng = random.Random(seed)
    for ext, signame, moment in runs:
        print(_stop_run(ms_env, tmp_path, ext, signame, moment, rng))


def test_sighup_finalises_an_mp4_like_sigterm(ms_env, tmp_path):
    """Finding 4: a dropped ssh session (SIGHUP) left a 48-byte mp4 without its moov."""
    _matrix(ms_env, tmp_path, [("mp4", "HUP", "late")], _seed(4))


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_signal_matrix_fast_lane(ms_env, tmp_path, moment):
    """A seeded sample of the matrix below: each moment, a signal and a container each."""
    seed = _seed(10 + list(MOMENTS).index(moment))
    rng = random.Random(seed)
    runs = [(rng.choice(list(CONTAINERS)), rng.choice(list(SIGNALS)), moment)]
    _matrix(ms_env, tmp_path, runs, seed)


@pytest.mark.slow
@pytest.mark.parametrize("ext", list(CONTAINERS))
def test_signal_matrix(ms_env, tmp_path, ext):
    """Every signal at every moment against one container: exit 0, a file that decodes
    with every frame ms counted, or no file at all when no frame came before the stop."""
    seed = _seed(1000 + list(CONTAINERS).index(ext))
    runs = [(ext, signame, moment) for signame in SIGNALS for moment in MOMENTS]
    random.Random(seed).shuffle(runs)
    _matrix(ms_env, tmp_path, runs, seed)


def test_a_stop_before_the_first_frame_leaves_no_file(ms_env, tmp_path):
    """A camera that delivers nothing yet: the stop removes the output it opened (an empty
    Matroska file does not decode) and says so; exit 0."""
    devices = tmp_path / "d.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Cam", "faults": [{"at": 0, "event": "mute",
                                                            "for": 60}]}]}))
    out = tmp_path / "never.mkv"
    proc = _spawn(ms_env, "--devices", str(devices), "-c", VIDEO, "-o", str(out))
    _wait_until_armed(proc)
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert out.exists()  # opened, not one frame in it yet
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err.decode()
    assert not out.exists()
    assert f"ms: warning: {out}: no frame was captured before the stop" in err.decode()
    assert "Traceback" not in err.decode()


def test_sighup_on_a_hung_up_terminal_finalises(ms_env, tmp_path):
    """The ssh case in full: stderr is a terminal (the live view draws on it), the terminal
    goes away (writes to it fail with EIO), then SIGHUP."""
    master, slave = os.openpty()
    out = tmp_path / "ssh.mp4"
    proc = _spawn(ms_env, "--fake", "-c", AV, "-o", str(out), stderr=slave)
    os.close(slave)
    try:
        _wait_until_armed(proc)
        time.sleep(1.0)
    finally:
        os.close(master)  # the hang-up
    time.sleep(0.3)  # the live view meets the dead terminal first, as after a real hang-up
    proc.send_signal(signal.SIGHUP)
    proc.wait(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert _decoded_counts(out)["video"] > 0


def test_sighup_with_reapply_is_not_a_stop(ms_env, tmp_path):
    constraints = tmp_path / "c.json"
    constraints.write_text(VIDEO)
    out = tmp_path / "r.mkv"
    proc = _spawn(ms_env, "--fake", "-c", str(constraints), "--reapply", "-t", "1", "-o",
                  str(out))
    _wait_until_armed(proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGHUP)  # twice: not a second stop either
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err.decode()
    stopped = _events(err)[-1]
    assert stopped["event"] == "stopped" and stopped["detail"]["reason"] == "limit"
    assert _decoded_counts(out)["video"] == 30


# --- a slow reader (finding 6) ------------------------------------------------------------------

WIDTH, HEIGHT, RATE = 640, 480, 30
Y4M_FRAME = len(b"FRAME\n") + WIDTH * HEIGHT * 3 // 2


class Reader(threading.Thread):
    """Reads ms's stdout: nothing until told, then as fast as it comes (or closes it)."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.go = threading.Event()
        self.data = bytearray()

    def run(self) -> None:
        self.go.wait()
        while chunk := os.read(self.pipe.fileno(), 1 << 20):
            self.data += chunk

    def frame_numbers(self) -> list:
        body = bytes(self.data[self.data.index(b"\n") + 1:])
        return [read_frame_number(np.frombuffer(body, np.uint8, WIDTH * HEIGHT, start + 6)
                                  .reshape(HEIGHT, WIDTH))
                for start in range(0, len(body) - Y4M_FRAME + 1, Y4M_FRAME)]


def _blocked_on_its_reader(ms_env, sig=signal.SIGTERM):
    """ms writing y4m to a pipe nobody reads yet, long enough to be blocked in a write (the
    pipe holds 1 MiB, two frames) with a full queue (a second of video) behind it, then
    `sig`. Returns (proc, reader, the latest capture time the signal can have: its wall time
    since ms was started)."""
    started = time.monotonic()
    proc = _spawn(ms_env, "--fake", "-c", VIDEO, "-o", "-", stdout=subprocess.PIPE)
    reader = Reader(proc.stdout)
    proc.stdout = None  # the reader's alone: communicate() must not drain it
    reader.start()
    _wait_until_armed(proc)
    time.sleep(1.5)
    proc.send_signal(sig)
    return proc, reader, time.monotonic() - started


def test_a_stop_with_a_slow_reader_captures_nothing_after_the_signal(ms_env):
    proc, reader, latest = _blocked_on_its_reader(ms_env)
    time.sleep(1.5)  # the reader is still away: capture must not go on meanwhile
    reader.go.set()
    _, err = proc.communicate(timeout=TIMEOUT)
    reader.join(TIMEOUT)
    assert proc.returncode == 0, err.decode()
    numbers = reader.frame_numbers()
    assert numbers and None not in numbers
    # Frame n is captured at n / 30 s on the capture clock, which started after ms did.
    assert max(numbers) / RATE <= latest, (max(numbers) / RATE, latest)
    stopped = _events(err)[-1]
    assert stopped["event"] == "stopped" and stopped["time"] <= latest
    video = stopped["detail"]["tracks"][0]
    assert len(numbers) == video["frames"] - video["drops"]
    # The statistics say the same: what the reader got was delivered, what the full queue
    # dropped while it was away was never delivered.
    stats = video["stats"]
    assert stats["deliveredFrames"] == len(numbers)
    assert stats["totalFrames"] - stats["deliveredFrames"] == video["drops"]


def test_a_second_signal_ends_a_stop_blocked_on_the_reader(ms_env):
    proc, reader, _ = _blocked_on_its_reader(ms_env)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130


def test_the_reader_going_away_ends_a_stop_blocked_on_it(ms_env):
    proc, reader, _ = _blocked_on_its_reader(ms_env)
    time.sleep(0.5)
    reader.pipe.close()
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 141
    assert b"Traceback" not in err


# Each case waits ~2 s for ms to block on its reader; one handler (mscli/stopping.py) takes
# all five. The default lane keeps a repeated system signal and a person's signal after one;
# QUIT alone, TERM then HUP and repeated XCPU run in the slow lane.
@pytest.mark.parametrize("signames", [
    pytest.param(("QUIT",), marks=pytest.mark.slow), ("HUP", "HUP", "HUP"),
    pytest.param(("TERM", "HUP"), marks=pytest.mark.slow),
    pytest.param(("XCPU", "XCPU"), marks=pytest.mark.slow), ("HUP", "INT")])
def test_signals_the_system_repeats_never_force_a_stop(ms_env, signames):
    """SIGQUIT finalises as ffmpeg does. SIGHUP and SIGXCPU come more than once for one event
    (a dropped ssh session: the shell passes its SIGHUP on, the end of the session may bring
    another; systemd follows SIGTERM with SIGHUP; SIGXCPU repeats each second): a stop, never
    the second signal's hard stop, even with a person's signal after them. The reader is away
    meanwhile, so every signal lands while ms is still finishing."""
    first, *more = (getattr(signal, "SIG" + name) for name in signames)
    proc, reader, _ = _blocked_on_its_reader(ms_env, first)
    for sig in more:
        time.sleep(0.1)  # one at a time: the same signal twice at once would be one
        proc.send_signal(sig)
    time.sleep(0.1)
    reader.go.set()
    _, err = proc.communicate(timeout=TIMEOUT)
    reader.join(TIMEOUT)
    assert proc.returncode == 0, err.decode()
    assert reader.frame_numbers()


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_the_wakeup_channel_carries_each_byte_until_the_writer_closes(monkeypatch, platform):
    """What the watcher thread relies on: a byte written to the writer's descriptor (as
    Python's C handler writes a signal's number) is read at once, a closed writer reads as the
    end, and the writer never blocks (the C handler must not wait). Windows' socket pair is
    tried here too: it works on any system, and no Windows machine runs these tests."""
    from mscli import stopping

    monkeypatch.setattr(sys, "platform", platform)
    reader, writer = stopping._wakeup_channel()
    with reader:
        assert not os.get_blocking(writer.fileno())
        os.write(writer.fileno(), bytes([signal.SIGTERM]))
        assert reader.read(64) == bytes([signal.SIGTERM])
        writer.write(b"\0")  # StopSignals.__exit__'s cue
        assert reader.read(64) == b"\0"
        writer.close()
        assert reader.read(64) == b""

"""How a capture ends and what it leaves, tried as a hostile user would (stop 20)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_signals import TIMEOUT, _spawn, _wait_until_armed

VIDEO_10FPS = json.dumps({"video": {"width": 160, "height": 120, "frameRate": 10}})
Y4M_FRAME_BYTES = len(b"FRAME\n") + 160 * 120 * 3 // 2


def _y4m_frames(path) -> int:
    data = path.read_bytes()
    header = data.index(b"\n") + 1
    assert (len(data) - header) % Y4M_FRAME_BYTES == 0, "a partial frame"
    return (len(data) - header) // Y4M_FRAME_BYTES


def test_a_stderr_reader_that_goes_away_does_not_end_the_capture(ms_env, tmp_path):
    """`ms capture … 2>&1 | head -1` or a log shipper that quits: events and messages on
    stderr are best effort, as ffmpeg's log is. The recording goes on to its limit and the
    exit is 0; it was cut at the first event with exit 141, which says stdout's reader went
    away (stdout here is /dev/null)."""
    read, write = os.pipe()
    os.close(read)  # every write to stderr fails with EPIPE from the start
    out, report = tmp_path / "v.y4m", tmp_path / "r.json"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mscli", "capture", "--fake", "-c", VIDEO_10FPS,
             "-o", str(out), "--frames", "10", "--stats", "0.1", "--report", str(report)],
            env=ms_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=write,
            timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 0
    assert json.loads(report.read_text())["tracks"][0]["frames"] == 10
    assert _y4m_frames(out) == 10


def _with_stderr_gone(ms_env, code: str) -> int:
    """Exit status of `python -c code` whose stderr's reader is gone from the start."""
    env = {k: v for k, v in ms_env.items() if k != "PYTHONUNBUFFERED"}  # stderr buffers
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-c", code], env=env, stderr=write,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              timeout=60).returncode
    finally:
        os.close(write)


def test_the_fast_exit_keeps_its_status_when_stderr_cannot_be_flushed(ms_env):
    """Text left in stderr's buffer (a line without its end) meets a gone reader at the
    flush before os._exit: best effort, the status stays the command's; 141 is for stdout."""
    code = ("import sys\nfrom mscli.streams import exit_now\n"
            "sys.stderr.write('no newline')\nexit_now({})\n")
    assert _with_stderr_gone(ms_env, code.format(0)) == 0
    assert _with_stderr_gone(ms_env, code.format(6)) == 6


def test_a_still_with_no_frame_before_the_stop_says_so(ms, tmp_path):
    """-o still.png from a camera that delivers nothing before -t ends: no file, exit 0 as
    for a recording that took no frame, and the same warning; it was silent, and a script
    found no image with nothing on stderr to say why."""
    devices = tmp_path / "d.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Cam", "faults": [{"at": 0, "event": "mute",
                                                            "for": 60}]}]}))
    still = tmp_path / "still.png"
    result = ms("capture", "--devices", str(devices), "-c", '{"video": true}',
                "-o", str(still), "-t", "0.3", "--events", "none")
    assert result.code == 0, result.err
    assert not still.exists()
    assert f"ms: warning: {still}: no frame was captured before the stop" in result.err


# An in-process caller of main (a test, a tool built on ms) with its own collector state.
COLLECTOR_AFTER_CAPTURE = """
import gc, sys
from mscli.cli import main
if sys.argv[1] == "off":
    gc.disable()
try:
    main(sys.argv[2:])
except SystemExit as e:
    print(e.code, gc.isenabled(), gc.get_freeze_count())
"""


def test_a_capture_leaves_the_callers_collector_as_it_was(ms_env, tmp_path):
    """startup.py pauses the collector and freezes what start-up made: afterwards the
    collector is on or off as the caller had it (it was turned on for a caller that had it
    off) and nothing stays frozen (frozen cycles are never freed), whether the capture ran
    or failed before its sources started."""
    out = tmp_path / "v.y4m"
    ran = ["capture", "--fake", "-c", VIDEO_10FPS, "-o", str(out), "--frames", "2",
           "--unpaced", "--events", "none"]
    failed = ran[:-2] + ["--events", str(out)]  # the same file twice: a usage error
    for state, args, code in (("off", ran, "0"), ("on", ran, "0"), ("on", failed, "2"),
                              ("off", failed, "2")):
        out.unlink(missing_ok=True)
        proc = subprocess.run([sys.executable, "-c", COLLECTOR_AFTER_CAPTURE, state, *args],
                              env=ms_env, capture_output=True, text=True, timeout=60)
        assert proc.stdout.split() == [code, str(state == "on"), "0"], (state, proc.stderr)


def _stop_while_a_fifo_waits(ms_env, fifo, outputs, signame, *extra) -> tuple[int, str]:
    os.mkfifo(fifo)
    proc = _spawn(ms_env, "--fake", "-c", VIDEO_10FPS, *outputs, *extra)
    try:
        _wait_until_armed(proc)
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode, err.decode()


@pytest.mark.parametrize("option, signame", [("-o", "SIGTERM"), ("--events", "SIGHUP")])
def test_a_stop_while_an_output_fifo_waits_for_its_reader(ms_env, tmp_path, option,
                                                          signame):
    """`mkfifo v.y4m; ms capture -o v.y4m` and no reader comes (a CI job whose consumer
    failed to start): ms waited in open() where no stop signal reached it, and only a second
    SIGINT/SIGTERM (exit 130) ended it; a SIGHUP never did. Now the stop ends it at once:
    exit 0, nothing written, the FIFO left as it was, and a line saying so."""
    fifo = tmp_path / "v.y4m"
    outputs = ["-o", str(fifo)] if option == "-o" else ["-o", "null", "--events", str(fifo)]
    code, err = _stop_while_a_fifo_waits(ms_env, fifo, outputs, signame)
    assert code == 0, err
    assert f"ms: warning: {fifo}: stopped before a reader opened this FIFO" in err
    assert fifo.is_fifo()


def test_a_stop_while_a_fifo_waits_still_judges_the_expectations(ms_env, tmp_path):
    """As any stop before the first frame: the expectations are evaluated (exit 6 here)
    and the report written."""
    fifo, report = tmp_path / "v.y4m", tmp_path / "r.json"
    code, err = _stop_while_a_fifo_waits(ms_env, fifo, ["-o", str(fifo)], "SIGINT",
                                         "--expect", "video.frames >= 1",
                                         "--report", str(report))
    assert code == 6, err
    assert "ms: expectation failed: video.frames >= 1 (measured 0)" in err
    assert json.loads(report.read_text())["passed"] is False


def test_a_capture_to_a_closed_stdout_says_how_to_fix_it(ms_env):
    """`ms capture -o - >&-`: the same line as every other command with a closed stdout
    (streams.py), not "cannot write <stdout>: Bad file descriptor"."""
    proc = subprocess.run(["sh", "-c", 'exec "$0" -m mscli capture --fake -c "$1" -o - '
                           '-f y4m --frames 2 --unpaced --events none >&-',
                           sys.executable, VIDEO_10FPS],
                          env=ms_env, stdin=subprocess.DEVNULL, capture_output=False,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == ("ms: AbortError: cannot write to stdout: it is closed (>&-); "
                           "redirect it to a file, or to /dev/null to discard the data\n")


def test_a_still_on_a_fifo_the_stop_caught_waiting_leaves_the_other_outputs_whole(
        monkeypatch, tmp_path, capsys):
    """`-o still.png -o v.y4m` with still.png a FIFO no reader opens: the still opens with
    its first frame, inside the capture, and the stop caught it waiting. It is left out (a
    warning) and the other outputs take their frames and finish as usual; before, they were
    closed as they were, a Matroska file with its header only."""
    from mscli.catalog import load_devices
    from mscli.constraints import parse_stream_constraints
    from mscli.events import CaptureClock, EventLog
    from mscli.outputs import OutputPlan
    from mscli.select import resolve_stream
    from mscli.session import CaptureOptions, CaptureSession
    from mscli.stopping import STOP_REQUESTED

    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path))
    still, video = tmp_path / "still.png", tmp_path / "v.y4m"
    os.mkfifo(still)
    constraints = parse_stream_constraints(json.loads(VIDEO_10FPS))
    selections = resolve_stream(constraints, load_devices(None, fake=True))
    plans = [OutputPlan(str(still), ("video",), "png"), OutputPlan(str(video), ("video",), "y4m")]
    session = CaptureSession(selections, constraints, plans,
                             CaptureOptions(paced=False, frames=3), EventLog(CaptureClock()))
    STOP_REQUESTED.set()  # as a stop signal sets it
    try:
        session.open_outputs()
        detail = session.run()
    finally:
        STOP_REQUESTED.clear()
    assert detail["tracks"][0]["frames"] == 3
    assert _y4m_frames(video) == 3
    assert still.is_fifo()
    assert f"{still}: stopped before a reader opened this FIFO" in capsys.readouterr().err


def test_a_capture_that_fails_before_the_first_frame_leaves_no_header_only_file(ms, tmp_path):
    """The events file fails (a full disk) while the camera has delivered nothing yet: exit
    1 naming it, and the recording that took no frame is removed as after a stop; it was
    left as a 543-byte Matroska header that does not decode."""
    devices = tmp_path / "d.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Cam", "faults": [{"at": 0, "event": "mute",
                                                            "for": 60}]}]}))
    out = tmp_path / "v.mkv"
    result = ms("capture", "--devices", str(devices), "-c", '{"video": true}', "-o", str(out),
                "--events", "/dev/full", "--stats", "0.1", "-t", "30")
    assert result.code == 1, result.err
    assert result.err.endswith("ms: AbortError: cannot write /dev/full: No space left on "
                               "device\n")
    assert not out.exists()
    assert f"ms: warning: {out}: no frame was captured before the failure" in result.err


def test_a_report_fifo_after_a_stopped_capture_waits_for_its_reader(ms_env, tmp_path):
    """The stop that ended the capture is over once the outputs are finalised: --report on
    a FIFO still waits for its reader and gets the whole report, exit 0 (not the stop
    carried over into the report: "unexpected StoppedWaiting", exit 1)."""
    report, events = tmp_path / "r.json", tmp_path / "events.ndjson"
    os.mkfifo(report)
    proc = _spawn(ms_env, "--fake", "-c", VIDEO_10FPS, "-o", "null", "--events", str(events),
                  "--report", str(report))
    got = {}

    def read() -> None:
        with open(report, "rb") as reader:  # blocks until a writer opens it
            got["text"] = reader.read()

    reader = threading.Thread(target=read, daemon=True)
    try:
        _wait_until_armed(proc)
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not (
                events.exists() and '"stopped"' in events.read_text()):
            time.sleep(0.01)  # the capture is over; the report comes next
        time.sleep(0.5)  # the reader comes late: ms must wait for it
        reader.start()
        _, err = proc.communicate(timeout=TIMEOUT)
        reader.join(TIMEOUT)
    finally:
        proc.kill()
        proc.wait()
        if reader.is_alive():  # ms never opened it: release the reader's open
            os.close(os.open(report, os.O_WRONLY | os.O_NONBLOCK))
            reader.join()
    assert proc.returncode == 0, err.decode()
    assert json.loads(got["text"])["reason"] == "signal"

"""What users type and give, tried as a hostile or careless user would (the second hostile
pass, after issue 10): every input is used or refused in one line naming where, and none
makes ms wait for ever."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import av
import pytest

from conftest import one_error_line
from mscli import jsoninput
from mscli.errors import ConstraintTypeError, DeviceFileError, quoted

CONSTRAINTS = '{"video": true}'
SHORT_WAIT = 0.5  # STREAM_WAIT for the unit tests: the logic is the same at 10 s
HUNG = 20.0  # seconds after which a load that should have given up is a hang
FRAME_640x480 = 640 * 480 * 3 // 2  # bytes of one y4m frame at the fake camera's default


def load_within(source: str, what: str, error) -> Exception | object:
    """load_json's value or raised error, from a thread given HUNG seconds: a test of a hang
    fails instead of hanging itself."""
    outcome = []

    def load():
        try:
            outcome.append(jsoninput.load_json(source, what, error)[0])
        except Exception as e:  # the error under test, returned to the test
            outcome.append(e)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(HUNG)
    assert outcome, f"loading {source!r} still blocks after {HUNG} s"
    return outcome[0]


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setattr(jsoninput, "STREAM_WAIT", SHORT_WAIT, raising=False)


@pytest.mark.parametrize("what, error", [("constraints", ConstraintTypeError),
                                         ("device", DeviceFileError)])
def test_a_fifo_nobody_writes_is_an_error_naming_it_not_a_hang(tmp_path, short_wait, what,
                                                               error):
    fifo = tmp_path / "in.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    raised = load_within(str(fifo), what, error)
    assert isinstance(raised, error), raised
    # as the message quotes it: a long temporary path is cut (a test worker's is)
    assert quoted(str(fifo)) in str(raised) and "FIFO" in str(raised), raised
    assert time.monotonic() - started < HUNG


def test_a_fifo_whose_writer_never_closes_is_an_error_not_a_hang(tmp_path, short_wait):
    fifo = tmp_path / "in.json"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(
        load_within(str(fifo), "constraints", ConstraintTypeError)), daemon=True)
    reader.start()
    with open(fifo, "w") as writer:  # opens once the reader has: then writes, and stays
        writer.write('{"video": ')
        writer.flush()
        reader.join(HUNG + 1)
    assert outcome and isinstance(outcome[0], ConstraintTypeError), outcome
    assert "did not end" in str(outcome[0])


def test_a_stdin_pipe_that_never_closes_is_an_error_not_a_hang(monkeypatch, short_wait):
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b'{"video": true')
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(open(read_end, "rb", closefd=False)))
        raised = load_within("-", "constraints", ConstraintTypeError)
        assert isinstance(raised, ConstraintTypeError), raised
        assert "<stdin>" in str(raised), raised
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_stdin_pipe_that_closes_is_read_whole(monkeypatch, short_wait):
    read_end, write_end = os.pipe()
    os.write(write_end, CONSTRAINTS.encode())
    os.close(write_end)
    with open(read_end, "rb") as stdin:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stdin))
        assert load_within("-", "constraints", ConstraintTypeError) == {"video": True}


def _write_later(path, text: str) -> threading.Thread:
    def write():
        with open(path, "w") as f:  # blocks until ms opens the FIFO to read
            f.write(text)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_fifo_with_a_writer_is_read_for_constraints_and_devices(ms, tmp_path):
    """Process substitution (-c <(...)) and a named FIFO fed by another program still work."""
    constraints, devices = tmp_path / "c.json", tmp_path / "d.json"
    os.mkfifo(constraints)
    os.mkfifo(devices)
    writers = [_write_later(constraints, CONSTRAINTS), _write_later(
        devices, '{"devices": [{"kind": "videoinput", "label": "Piped"}]}')]
    result = ms("resolve", "--devices", str(devices), "-c", str(constraints), "--json")
    assert result.code == 0, result.err
    assert result.json()["tracks"][0]["label"] == "Piped"
    for writer in writers:
        writer.join(5)


@pytest.mark.slow
def test_a_fifo_nobody_writes_ends_the_command_with_exit_2(ms, tmp_path):
    """The same through the CLI, at the real wait (STREAM_WAIT seconds)."""
    fifo = tmp_path / "devices.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = ms("devices", "--devices", str(fifo), timeout=jsoninput.STREAM_WAIT + HUNG)
    assert result.code == 2, result.err
    assert one_error_line(result).startswith(f"ms: DeviceFileError: '{fifo}': ")
    assert time.monotonic() - started < jsoninput.STREAM_WAIT + HUNG


@pytest.mark.parametrize("text", ["[]", "[1, 2]", "true", '"video"', "42", " null"])
def test_inline_json_that_is_not_an_object_says_so(ms, text):
    result = ms("resolve", "--fake", "-c", text)
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert "inline JSON must be an object, starting with '{'" in line, line


def test_a_missing_file_gets_no_inline_hint(ms, tmp_path):
    result = ms("resolve", "--fake", "-c", str(tmp_path / "nothing.json"))
    assert result.code == 2, result.err
    assert "does not exist" in one_error_line(result)
    assert "inline" not in result.err


@pytest.mark.parametrize("option", ["-o", "--events", "--report", "--junit"])
def test_an_output_name_too_long_is_exit_2_before_anything_opens(ms, tmp_path, option):
    """A name over the file system's NAME_MAX failed only when its file opened: for --report
    and --junit after the whole capture (exit 1, the report lost)."""
    long_name = str(tmp_path / ("r" * 300 + ".json"))
    video = tmp_path / "v.y4m"
    outputs = (["-o", long_name.replace(".json", ".y4m")] if option == "-o"
               else ["-o", str(video), option, long_name])
    result = ms("capture", "--fake", "-c", CONSTRAINTS, *outputs, "--frames", "3",
                "--unpaced", "--expect", "video.frames >= 1")
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert line.startswith("ms: UsageError: cannot write "), line
    assert line.endswith("choose a shorter name"), line
    assert not video.exists()


def test_a_long_message_keeps_its_end_where_it_says_what_is_wrong(ms, tmp_path):
    """A 5,000-character path was cut with the rest of the line: the reason went with it."""
    missing = tmp_path.joinpath(*["d" * 200] * 25)
    result = ms("capture", "--fake", "-c", CONSTRAINTS, "-o", str(missing / "v.y4m"),
                "--frames", "3")
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert line.endswith("' does not exist"), line
    assert "characters cut" in line and len(line) < 400, line


def recording_with_reapply(ms_env, constraints, out, seconds: int) -> subprocess.Popen:
    """`ms capture --fake -c CONSTRAINTS --reapply` into the y4m `out`, once it records."""
    from test_events import wait_until_recording

    constraints.write_text(CONSTRAINTS)
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", "--fake", "-c",
                             str(constraints), "--reapply", "-t", str(seconds), "-o", str(out)],
                            env=ms_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        wait_until_recording(out)
    except AssertionError:
        proc.kill()
        raise
    return proc


def test_reapply_to_a_smaller_size_keeps_recording_at_the_file_size(ms_env, tmp_path):
    """--reapply with a satisfiable smaller size (640x480 to 320x240) ended the capture with
    "unexpected ValueError: cannot scale 320x240 up to 640x480", exit 1: an open file keeps
    its size, so the smaller frames are scaled up to it."""
    constraints, out = tmp_path / "c.json", tmp_path / "v.y4m"
    proc = recording_with_reapply(ms_env, constraints, out, seconds=60)
    try:
        constraints.write_text('{"video": {"width": {"exact": 320}, "height": {"exact": 240}}}')
        proc.send_signal(signal.SIGHUP)
        size = out.stat().st_size
        deadline = time.monotonic() + HUNG
        while out.stat().st_size < size + 45 * FRAME_640x480 and proc.poll() is None:
            assert time.monotonic() < deadline, "no frames written after the SIGHUP"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=HUNG)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode() and "unexpected" not in err.decode()
    with av.open(str(out)) as video:
        sizes = {(f.width, f.height) for f in video.decode(video=0)}
    assert sizes == {(640, 480)}


def test_reapply_of_a_fifo_nobody_writes_does_not_stall_the_capture(ms_env, tmp_path):
    """SIGHUP with a FIFO in place of the constraints file blocked the capture in open() for
    ever (and, with a read deadline alone, for STREAM_WAIT seconds past its -t): a re-read
    takes what is there at once, or warns and keeps the current constraints."""
    constraints, out = tmp_path / "c.json", tmp_path / "v.y4m"
    proc = recording_with_reapply(ms_env, constraints, out, seconds=2)
    try:
        constraints.unlink()
        os.mkfifo(constraints)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=HUNG)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()
    lines = err.decode().splitlines()
    assert any(line.startswith("ms: warning: --reapply: ") and "keeping the current" in line
               for line in lines), lines
    stopped = json.loads(next(line for line in lines if line.startswith("{")))
    assert stopped["event"] == "stopped" and stopped["time"] < jsoninput.STREAM_WAIT, stopped

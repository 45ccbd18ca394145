"""Hostile peers for -o URL: servers that never answer, on 127.0.0.1 sockets the tests open
themselves. What must hold: no hang beyond a documented bound, one error line with the
documented code, no local file left from a run that could not start."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from mscli.network.publish import Destination
from mscli.network.urls import ANSWER_SECONDS, ffmpeg_url
from tests._netsend import ffmpeg_sender, free_port, stop
from tests._receivers import _listening
from tests.conftest import needs_ffmpeg, one_error_line

FAKE = ["--fake", "-c", json.dumps({"video": {"width": 160, "height": 120, "frameRate": 30}})]


@pytest.fixture
def deaf_server():
    """A listening socket nobody accepts on: the kernel completes the TCP handshake (the
    backlog), then nothing answers, as with a hung server."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_ffmpeg_waits_for_a_tcp_server_only_so_long():
    bound = f"timeout={ANSWER_SECONDS * 1_000_000}"
    assert ffmpeg_url("tcp://127.0.0.1:9000", "tcp") == f"tcp://127.0.0.1:9000?{bound}"
    assert ffmpeg_url("tcp://h:9?pkt_size=1316", "tcp") == f"tcp://h:9?pkt_size=1316&{bound}"
    assert ffmpeg_url("tcp://h:9?timeout=1", "tcp") == "tcp://h:9?timeout=1"  # the user's
    assert ffmpeg_url("udp://h:9", "udp") == "udp://h:9"


def test_ffmpeg_waits_for_an_rtsp_servers_answers_only_so_long():
    destination = Destination("rtsp://127.0.0.1:8554/cam", "rtsp")
    assert destination.muxer_options["timeout"] == str(ANSWER_SECONDS * 1_000_000)
    assert destination.name == "rtsp://127.0.0.1:8554/cam"  # messages name the user's URL


@pytest.mark.slow
def test_publishing_to_a_hung_rtsp_server_ends_with_one_line(tmp_path, ms, deaf_server):
    """It waited forever before (PyAV opens outputs holding the GIL, without its interrupt
    callback: SIGTERM and -t could not end it); now exit 1 after ANSWER_SECONDS, saying so,
    and no local file."""
    local = tmp_path / "local.mkv"
    url = f"rtsp://127.0.0.1:{deaf_server}/live/s"
    start = time.monotonic()
    result = ms("capture", *FAKE, "-t", "1", "-o", str(local), "-o", url,
                timeout=ANSWER_SECONDS + 30)
    assert result.code == 1, result.err
    assert time.monotonic() - start < ANSWER_SECONDS + 15  # start-up on a loaded machine
    line = one_error_line(result)
    assert re.fullmatch(rf"ms: AbortError: cannot publish to {re.escape(url)}: no answer within "
                        r"\d+ s \(is the server up, and not hung\?\)", line), line
    assert not local.exists()


def test_a_source_whose_server_never_answers_says_so(deaf_server, monkeypatch):
    """FFmpeg's rtsp demuxer, interrupted at the open bound, says "Invalid data found when
    processing input": the message said the stream was broken when no one had answered."""
    from mscli.network import probe

    monkeypatch.setattr(probe, "OPEN_SECONDS", 0.5)
    spec = {"url": f"rtsp://127.0.0.1:{deaf_server}/cam", "transport": "tcp", "timeout": 1.0}
    with pytest.raises(probe.NetworkUnreachable, match=r"^no answer within 0\.5 s$"):
        probe.open_stream(spec)


@pytest.mark.parametrize("target, says", [
    ("udp://127.0.0.1:99999", "needs a port in 1-65535"),  # FFmpeg sent to port 34463, exit 0
    ("udp://127.0.0.1:0", "needs a port in 1-65535"),
    ("udp://127.0.0.1", "needs a port in 1-65535"),  # "the connection was lost" before
    ("tcp://127.0.0.1:abc", "needs a port in 1-65535"),
    ("rtmp://127.0.0.1:70000/live/s", "needs a port in 1-65535"),
    ("rtmp:///live/s", "names no host"),
    ("tcp://", "names no host"),
    ("tcp://[::1:5000", "not a valid URL"),  # urlsplit's ValueError: "unexpected" before
])
def test_a_url_without_a_usable_address_is_a_usage_error(tmp_path, ms, target, says):
    local = tmp_path / "local.mkv"
    result = ms("capture", *FAKE, "-t", "0.5", "-o", str(local), "-o", target)
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert line.startswith(f"ms: UsageError: -o {target}: ") and says in line, line
    assert "e.g. " in line, line  # what would work
    assert not local.exists()


@pytest.mark.parametrize("target", ["rtmp://127.0.0.1/live/s", "udp://[::1]:5000",
                                    "rtsp://user:pw@127.0.0.1/cam", "tcp://h:1?pkt_size=1316"])
def test_a_usable_address_passes(target):
    from mscli.network.urls import protocol_of

    assert protocol_of(target, target) == target.partition(":")[0]


def _signal_while_listening(tmp_path, ms_env, sig, modes=None, preexec_fn=None):
    """Starts a capture from a source listening on a free port (timeout 30 s), sends `sig`
    once it listens; (exit code, stderr, seconds from the signal to the exit, local.mkv)."""
    port = free_port()
    device = {"kind": "videoinput", "label": "Net", "source": {
        "url": f"tcp://127.0.0.1:{port}", "listen": True, "timeout": 30}}
    if modes is not None:
        device["modes"] = modes
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": [device]}))
    local = tmp_path / "local.mkv"
    process = subprocess.Popen(
        [sys.executable, "-m", "mscli", "capture", "--devices", str(devices), "-c",
         '{"video": true}', "-o", str(local), "-t", "1"], env=ms_env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=preexec_fn)
    try:
        deadline = time.monotonic() + 20
        while not _listening(port, "tcp"):
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.05)
        process.send_signal(sig)
        sent = time.monotonic()
        _, err = process.communicate(timeout=40)
    finally:
        process.kill()
    return process.returncode, err, time.monotonic() - sent, local


def test_ctrl_c_while_a_source_waits_for_its_sender_stops_at_once(tmp_path, ms_env):
    """A listening source waits as long as its timeout (here 30 s) for a sender: FFmpeg's wait
    kept the Ctrl-C from the main thread all that time, and it was lost (exit 5, "Connection
    timed out"). Now it ends ms at once, before anything is recorded."""
    code, err, seconds, local = _signal_while_listening(
        tmp_path, ms_env, signal.SIGINT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    assert seconds < 10, err  # not the 30 s timeout (margin: a loaded machine)
    assert code == 130, err
    assert b"Traceback" not in err
    assert not local.exists()


def test_a_stop_while_a_source_with_declared_modes_waits_for_its_sender(tmp_path, ms_env):
    """With its modes in the device file, a listening source is first contacted while the
    capture opens its devices, its stop signals caught: the stop was held for the source's
    timeout (30 s) and then lost (exit 5). Now it is a stop before the first frame: exit 0,
    one warning, nothing recorded."""
    code, err, seconds, local = _signal_while_listening(
        tmp_path, ms_env, signal.SIGTERM, modes=[{"width": 320, "height": 240, "frameRate": 30}])
    assert seconds < 10, err  # not the 30 s timeout (margin: a loaded machine)
    assert code == 0, err
    assert err.decode().strip().endswith("stopped while waiting for the stream; nothing recorded")
    assert b"Traceback" not in err
    assert not local.exists()


@needs_ffmpeg
def test_the_time_limit_ends_a_wait_for_a_stream_that_never_comes_back(tmp_path, ms):
    """--reconnect -t 3, the sender gone for good after 1.5 s: ms ran until killed, the
    limit never checked while a stream was being reopened. Now it stops at the limit."""
    port = free_port()
    sender = ffmpeg_sender(f"tcp://127.0.0.1:{port}?listen=1", seconds=1.5)
    try:
        deadline = time.monotonic() + 20
        while not _listening(port, "tcp"):
            assert time.monotonic() < deadline, "ffmpeg did not listen"
            time.sleep(0.05)
        devices = tmp_path / "devices.json"
        devices.write_text(json.dumps({"devices": [{"kind": "videoinput", "label": "Net",
                                                    "source": {"url": f"tcp://127.0.0.1:{port}",
                                                               "timeout": 2}}]}))
        start = time.monotonic()
        result = ms("capture", "--devices", str(devices), "-c", '{"video": true}', "-o",
                    str(tmp_path / "out.mkv"), "-t", "3", "--reconnect", timeout=40)
    finally:
        stop(sender)
    assert result.code == 0, result.err
    assert time.monotonic() - start < 3 + 10, result.err  # margin: start-up on a loaded machine
    events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events][-1] == "stopped", result.err
    assert events[-1]["detail"]["reason"] == "limit"
    assert 2.5 <= events[-1]["time"] < 3 + 1, events[-1]  # at the limit, not when killed

"""Hostile peers for -o URL: servers that never answer, on 127.0.0.1 sockets the tests open
themselves. What must hold: no hang beyond a documented bound, one error line with the
documented code, no local file left from a run that could not start."""

from __future__ import annotations

import json
import socket
import time

import pytest

from mscli.network.publish import Destination
from mscli.network.urls import ANSWER_SECONDS, ffmpeg_url
from tests.conftest import one_error_line

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
    assert line == f"ms: AbortError: cannot publish to {url}: no answer within " \
                   f"{ANSWER_SECONDS} s (is the server up, and not hung?)", line
    assert not local.exists()


def test_a_source_whose_server_never_answers_says_so(deaf_server, monkeypatch):
    """FFmpeg's rtsp demuxer, interrupted at the open bound, says "Invalid data found when
    processing input": the message said the stream was broken when no one had answered."""
    from mscli.network import probe

    monkeypatch.setattr(probe, "OPEN_SECONDS", 0.5)
    spec = {"url": f"rtsp://127.0.0.1:{deaf_server}/cam", "transport": "tcp", "timeout": 1.0}
    with pytest.raises(probe.NetworkUnreachable, match=r"^no answer within 0\.5 s$"):
        probe.open_stream(spec)

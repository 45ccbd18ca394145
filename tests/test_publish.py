"""-o URL: ms publishes to a reader or a server on 127.0.0.1 (udp, tcp, rtp, rtmp through nginx,
rtsp), and fails or reconnects as the contract says when the server refuses or goes away."""

from __future__ import annotations

import json
import socket
import threading

import av
import pytest

from tests._nginx import NginxRtmp, available, free_port, wait_until
from tests._receivers import Publisher, receiver_for
from tests._media import video_frames
from tests.conftest import one_error_line
from tests.media_check import decode_audio, decode_video

RATE = 30
FAKE = ["--fake", "-c", json.dumps({"video": {"width": 320, "height": 240, "frameRate": RATE},
                                    "audio": True})]
needs_nginx = pytest.mark.skipif(available() is not None, reason=str(available()))


@pytest.fixture
def nginx(tmp_path):
    with NginxRtmp(tmp_path) as server:
        yield server


def _publish(protocol, env, seconds, server=None):
    receiver, url = receiver_for(protocol, server)
    receiver.start()
    publisher = Publisher(["capture", *FAKE, "-t", str(seconds), "-o", url, "--stats", "0.25"],
                          env)
    assert publisher.wait() == 0, publisher.lines
    return publisher, receiver.result(), url


def _check_stream(got, seconds: float, tail: int = 0):
    """Every frame from the first keyframe the reader decoded to the last one sent (but
    `tail`), and the audio of (nearly) the whole run."""
    numbers = got.decoded()
    assert got.consecutive(), numbers
    assert seconds * RATE - 1 - tail <= numbers[-1] <= seconds * RATE - 1, numbers[-3:]
    assert numbers[0] < 2 * RATE, numbers[:3]  # a keyframe at least every 2 s
    assert got.audio_samples >= 48000 * (seconds - 0.2), got.audio_samples


def _published_for(publisher, seconds: float) -> bool:
    return any(e["event"] == "stats" and e["time"] >= seconds for e in publisher.events)


def test_publish_over_tcp_gives_every_frame_and_the_audio(ms_env):
    publisher, got, url = _publish("tcp", ms_env, 1)
    _check_stream(got, 1)
    assert got.decoded()[0] == 0  # a listening reader has the stream from its start
    stopped = next(e for e in publisher.events if e["event"] == "stopped")
    assert stopped["detail"]["outputs"] == [{"output": url, "frames": RATE + 100,
                                             "dropped": 0, "reconnects": 0}]


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["udp", "tcp", "rtp", "rtsp",
                                      pytest.param("rtmp", marks=needs_nginx)])
def test_publish_three_seconds(protocol, ms_env, request, lateness):
    server = request.getfixturevalue("nginx") if protocol == "rtmp" else None
    publisher, got, _ = _publish(protocol, ms_env, 3, server)
    # FFmpeg's RTP reader, which ends only by timing out, never hands over the last frame or
    # two it holds (ffmpeg -f rtp_mpegts sending the same clip loses them too).
    _check_stream(got, 3, tail=2 if protocol == "rtp" else 0)
    # Live settings: no lookahead, so a frame arrives within a few frame intervals of its
    # capture (~0.1-0.15 s here; x264's defaults hold ~1.1 s): 0.5 s, plus what the machine's
    # load made late in this test.
    latencies = sorted(at - (publisher.anchor + n / RATE)
                       for n, at in zip(got.numbers, got.arrivals) if n is not None)
    assert latencies[len(latencies) // 2] < 0.5 + lateness.margin(), latencies


def test_a_refused_connection_is_one_line_and_leaves_no_file(tmp_path, ms):
    local = tmp_path / "local.mkv"
    url = f"rtmp://127.0.0.1:{free_port()}/live/s"  # nothing listens there
    result = ms("capture", *FAKE, "-t", "1", "-o", str(local), "-o", url)
    assert result.code == 1
    line = one_error_line(result)
    assert line.startswith(f"ms: AbortError: cannot publish to {url}: "), line
    assert "refused" in line
    assert not local.exists()


def test_srt_is_a_usage_error_saying_what_works(tmp_path, ms):
    local = tmp_path / "local.mkv"
    result = ms("capture", *FAKE, "-t", "1", "-o", str(local), "-o", "srt://127.0.0.1:9000")
    assert result.code == 2
    line = one_error_line(result)
    assert "without SRT" in line and "rtmp://" in line, line
    assert not local.exists()


def test_an_unknown_scheme_lists_the_ones_that_work(ms):
    result = ms("capture", *FAKE, "-t", "1", "-o", "gopher://127.0.0.1/x")
    assert result.code == 2
    assert "udp://, tcp://, rtp://, rtmp://, rtsp://" in one_error_line(result)


@needs_nginx
def test_a_server_killed_mid_stream_ends_the_run_and_keeps_the_local_file(tmp_path, ms_env,
                                                                          nginx):
    local = tmp_path / "local.mkv"
    publisher = Publisher(["capture", *FAKE, "-t", "30", "-o", str(local),
                           "-o", nginx.url("s"), "--stats", "0.25"], ms_env)
    wait_until(lambda: _published_for(publisher, 1.0), 20, "a second of publishing")
    nginx.kill()
    assert publisher.wait(30) == 1, publisher.lines
    errors = publisher.errors()
    assert len(errors) == 1 and errors[0].startswith(
        f"ms: AbortError: cannot publish to {nginx.url('s')}: the connection was lost"), errors
    # The local recording is finalised: every frame up to the end of the run decodes.
    numbers = [f["number"] for f in decode_video(local)]
    assert len(numbers) >= RATE * 0.9 and numbers == list(range(len(numbers))), numbers
    samples, _, _ = decode_audio(local)
    assert len(samples) >= 48000 * (len(numbers) / RATE - 0.5)


@pytest.mark.slow
@needs_nginx
def test_reconnect_comes_back_when_the_server_does(tmp_path, ms_env, nginx):
    local = tmp_path / "local.mkv"
    publisher = Publisher(["capture", *FAKE, "-t", "8", "-o", str(local),
                           "-o", nginx.url("s"), "--stats", "0.25", "--reconnect"], ms_env)
    wait_until(lambda: _published_for(publisher, 1.0), 20, "a second of publishing")
    nginx.kill()
    wait_until(lambda: any(e["event"] == "removetrack" for e in publisher.events), 20,
               "removetrack")
    nginx.start()
    receiver, _ = receiver_for("rtmp", nginx, "s")
    receiver.start()
    assert publisher.wait(60) == 0, publisher.lines
    names = [(e["event"], e["target"]) for e in publisher.events
             if e["event"] in ("removetrack", "addtrack")]
    assert names == [("removetrack", "output"), ("addtrack", "output")], publisher.events
    added = next(e for e in publisher.events if e["event"] == "addtrack")
    assert added["detail"]["output"] == nginx.url("s")
    got = receiver.result()
    numbers = got.decoded()
    assert got.consecutive() and numbers[-1] == 8 * RATE - 1, numbers
    stopped = next(e for e in publisher.events if e["event"] == "stopped")
    assert stopped["detail"]["outputs"][0]["reconnects"] == 1
    assert stopped["detail"]["outputs"][0]["dropped"] > 0  # what was captured while away
    local_numbers = [f["number"] for f in decode_video(local)]  # it went on meanwhile
    assert local_numbers == list(range(8 * RATE))


def test_a_server_that_says_no_is_an_abort_not_a_usage_error(tmp_path, ms):
    """An RTSP server answering ANNOUNCE with garbage: FFmpeg's InvalidDataError is also a
    ValueError, which for a file means a bad combination (usage); for a URL it is the
    server's answer."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/live"

        def answer():
            connection, _ = server.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"nonsense\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        result = ms("capture", *FAKE, "-t", "1", "-o", str(tmp_path / "l.mkv"), "-o", url)
        thread.join(10)
    assert result.code == 1, result.err
    assert one_error_line(result).startswith(f"ms: AbortError: cannot publish to {url}: ")
    assert not (tmp_path / "l.mkv").exists()


def test_stream_copy_to_a_url_is_checked_in_its_protocols_container(tmp_path, ms):
    """FLV cannot carry MJPEG: said before anything connects, naming the container."""
    clip = tmp_path / "clip.mkv"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("mjpeg", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for frame in video_frames(64, 48, RATE, 10):
            picture = av.VideoFrame.from_ndarray(frame.data.reshape(-1, 64), format="yuv420p")
            container.mux(stream.encode(picture.reformat(format="yuvj420p")))
        container.mux(stream.encode(None))
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": [{"kind": "videoinput", "label": "clip",
                                                "source": {"file": str(clip)}}]}))
    url = f"rtmp://127.0.0.1:{free_port()}/live/s"
    result = ms("capture", "--devices", str(devices), "-c", '{"video": true}', "-t", "1",
                "--video-codec", "copy", "-o", url)
    assert result.code == 2
    assert f"{url} (flv) cannot take the file's stream" in one_error_line(result)

"""-o whip+http://…: ms publishes over WebRTC to a WHIP endpoint (tests/_whip_endpoint.py,
aiohttp + aiortc in a process of its own on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from _whip_endpoint import WhipEndpoint
from conftest import REPO

CONSTRAINTS = '{"video": {"width": 320, "height": 240}, "audio": true}'
FAKE = ["--fake", "-c", CONSTRAINTS]
RATE = 30
SECONDS = 3


class Publisher:
    """ms capture -o URL as a subprocess whose stderr is read as it comes: `events`, as
    (CLOCK_MONOTONIC arrival, event), and the other `lines`."""

    def __init__(self, ms_env, url, *args, constraints=CONSTRAINTS):
        self.proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", "--fake",
                                      "-c", constraints, "-o", url, *args], env=ms_env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.events, self.lines = [], []
        self.reader = threading.Thread(target=self._read)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            if line.startswith("{"):
                self.events.append((time.monotonic(), json.loads(line)))
            else:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, name: str, seconds: float) -> dict:
        """The first event `name`, waiting up to `seconds` for it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [e for _, e in list(self.events) if e["event"] == name]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {name} event in {seconds} s: {self.lines}")

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self.reader.join(timeout)
        return code


def publish(ms_env, url, *args, constraints=CONSTRAINTS):
    """(exit code, events, other stderr lines) of a capture run to its end."""
    publisher = Publisher(ms_env, url, *args, constraints=constraints)
    return publisher.finish(), publisher.events, publisher.lines


def every_frame_in_order(got, sent: int) -> None:
    """Every frame arrived: one RTP timestamp each (all but the last of the `sent`, which
    the stop may cut), one frame interval apart (3000 at 90 kHz, +-1 for rounding), so none
    is missing or repeated. In order from frame 0 (the first keyframe): the i-th decoded
    picture is frame i wherever its number reads (VP8 at aiortc's 500 kbps blurs the code of
    an odd frame: 88 of 89 read). The endpoint decodes what it can before the DELETE closes
    it (aiortc's receiver decodes a frame once the next one starts)."""
    stamps = got.timestamps["video"]
    assert len(stamps) >= sent - 1
    assert set((np.diff(stamps) % 2 ** 32).tolist()) <= {2999, 3000, 3001}
    read = [(i, f["number"]) for i, f in enumerate(got.video) if f["number"] is not None]
    assert read and read[0] == (0, 0)
    assert all(number == i for i, number in read), read
    assert len(read) >= 0.9 * len(got.video) >= 0.9 * len(stamps) / 2


def capture_epoch(events) -> float:
    """ms's capture time 0 on CLOCK_MONOTONIC: each event is read after ms wrote it at its
    "time" (capture seconds, rounded to 1 ms), so the smallest (read - time) bounds it from
    above, within the pipe's delay (~0.1 ms) and the rounding (0.5 ms)."""
    return min(read - event["time"] for read, event in events)


def test_publishes_every_frame_and_the_audio_in_sync(ms_env, tmp_path):
    with WhipEndpoint(tmp_path) as endpoint:
        code, events, lines = publish(ms_env, endpoint.url, "-t", str(SECONDS),
                                      "--stats", "0.1")
        got = endpoint.stop()
    assert code == 0 and lines == [], lines  # stderr: events only
    assert got.sessions == 1 and got.deleted == 1  # DELETE on the Location at the stop
    stopped = next(e for _, e in events if e["event"] == "stopped")
    [output] = stopped["detail"]["outputs"]  # as the other URL outputs report
    assert output["output"] == endpoint.url and output["dropped"] == output["reconnects"] == 0
    assert output["frames"] > SECONDS * RATE  # video frames and audio chunks

    every_frame_in_order(got, SECONDS * RATE)

    # The audio: its RTP timestamps step by one Opus packet (20 ms) with no gap, and the
    # tone's clicks (one a second) are a second apart on them.
    steps = np.diff([f["rtp"] for f in got.audio_frames]) % 2 ** 32
    assert set(steps.tolist()) == {got.audio_rate // 50}
    assert len(got.audio) >= (SECONDS - 0.2) * got.audio_rate
    clicks = got.click_timestamps()
    assert len(clicks) == SECONDS - 1
    assert (clicks[1] - clicks[0]) % 2 ** 32 == got.audio_rate

    # A/V as a receiver syncs them, on the sender's clock through its RTCP sender reports:
    # flash k against click k. What is left is Opus's own delay: its decoder gives each
    # sample 312 samples (6.5 ms) late. (With aiortc's reports as it makes them, -24 ms:
    # each stream placed late by its capture-to-send delay, whip_reports.py.)
    offsets = got.av_offsets()
    assert len(offsets) == SECONDS - 1
    assert all(abs(o) <= 0.020 for o in offsets), offsets

    # Capture (ms's clock, frame n at n / 30 s) to the last packet's arrival at the endpoint.
    epoch = capture_epoch(events)
    latencies = got.latencies(lambda n: epoch + n / RATE)
    # Positive (else the capture times are wrong), and below what the client's buffer can
    # hold back (a second) plus a second for encoding on a loaded machine: 4-80 ms here, 340
    # ms with two busy loops beside it on two cores.
    assert 0 < np.median(latencies) < 2.0, latencies
    print(f"frames {got.frames_arrived}/{SECONDS * RATE} ({len(got.numbers)} numbers read), "
          f"audio {len(got.audio)} samples, "
          f"A/V {[round(o * 1000, 1) for o in offsets]} ms, "
          f"latency p50 {np.median(latencies) * 1000:.1f} ms")


@pytest.mark.slow  # 2.4 s per codec; the default lane keeps the in-sync publish test
@pytest.mark.parametrize("codec", ["h264", "vp8"])
def test_an_odd_size_goes_as_the_codec_the_endpoint_chose(ms_env, tmp_path, codec):
    """H.264 codes even sizes only: 321x241 goes padded to 322x242 (VP8 too: one path)."""
    with WhipEndpoint(tmp_path, video_codec=codec) as endpoint:
        code, _, lines = publish(ms_env, endpoint.url, "-t", "1", "--events", "none",
                                 constraints='{"video": {"width": {"exact": 321}, '
                                             '"height": {"exact": 241}}}')
        got = endpoint.stop()
    assert code == 0 and lines == [], lines
    assert got.video_codec.lower() == f"video/{codec}"
    assert {tuple(f["size"]) for f in got.video} == {(322, 242)}
    every_frame_in_order(got, RATE)


def test_refused_session_is_one_line_before_recording(ms, tmp_path):
    local = tmp_path / "local.mkv"
    with WhipEndpoint(tmp_path, refuse=503) as endpoint:
        r = ms("capture", *FAKE, "-t", "1", "-o", endpoint.url, "-o", str(local))
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        f"ms: AbortError: -o {endpoint.url}: the WHIP endpoint refused the session: "
        "HTTP 503 Service Unavailable"]
    assert not local.exists()  # nothing was recorded beside it


def test_no_endpoint_is_one_line(ms, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"whip+http://127.0.0.1:{port}/whip"
    r = ms("capture", *FAKE, "-t", "1", "-o", url)
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        f"ms: AbortError: -o {url}: cannot reach the WHIP endpoint: Connection refused"]


def test_no_ice_connection_is_one_line_before_recording(ms, tmp_path):
    """An answer with no candidate ms can reach: the connection fails (ICE), one line."""
    from mscli.network.whip import CONNECT_SECONDS

    local = tmp_path / "local.mkv"
    with WhipEndpoint(tmp_path, candidates=False) as endpoint:
        started = time.monotonic()
        r = ms("capture", *FAKE, "-t", "1", "-o", endpoint.url, "-o", str(local))
    assert r.code == 1
    assert r.err.strip().splitlines() == [
        f"ms: AbortError: -o {endpoint.url}: the WebRTC connection failed (ICE/DTLS with the "
        "endpoint's candidates)"]
    assert time.monotonic() - started < CONNECT_SECONDS + 10
    assert not local.exists()


@pytest.mark.parametrize("url", ["whip+http:///whip", "whip+http://127.0.0.1:port/whip",
                                 "whip+http://127.0.0.1:70000/whip"])
def test_a_url_without_a_usable_host_or_port_is_a_usage_error(ms, url):
    r = ms("capture", *FAKE, "-t", "1", "-o", url)
    assert r.code == 2
    assert r.err.strip().splitlines() == [
        f"ms: UsageError: -o {url}: not a URL with a host and a port ms can use (e.g. "
        "whip+http://127.0.0.1:8889/cam/whip)"]


def test_without_aiortc_a_usage_error_names_the_extra(ms, tmp_path):
    blocked = tmp_path / "blocked"
    (blocked / "aiortc").mkdir(parents=True)
    (blocked / "aiortc" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'aiortc'\", name='aiortc')\n")
    local = tmp_path / "local.mkv"
    r = ms("capture", *FAKE, "-t", "1", "-o", "whip+http://127.0.0.1:9/whip",
           "-o", str(local), env={"PYTHONPATH": f"{blocked}:{REPO}"})
    assert r.code == 2
    assert r.err.strip().splitlines() == [
        "ms: UsageError: -o whip+http://127.0.0.1:9/whip: publishing over WebRTC needs "
        "aiortc: pip install 'mscli[webrtc]'"]
    assert not local.exists()


@pytest.mark.slow  # waits for the loss to show: LOST_SECONDS of silence
def test_endpoint_killed_mid_stream_is_one_line_and_the_file_beside_is_whole(ms_env,
                                                                            tmp_path):
    from _media import decode

    from mscli.network.whip import LOST_SECONDS

    local = tmp_path / "local.mkv"
    with WhipEndpoint(tmp_path) as endpoint:
        proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", *FAKE, "-t", "60",
                                 "-o", endpoint.url, "-o", str(local), "--events", "none"],
                                env=ms_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_for_session(endpoint, deadline=time.monotonic() + 30)
        time.sleep(1.0)  # publishing for a while
        endpoint.kill()
        killed = time.monotonic()
        err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"ms: AbortError: -o {endpoint.url}: the WebRTC connection was lost"), err
    assert time.monotonic() - killed < LOST_SECONDS + 10
    decoded = decode(local)  # finalised: it decodes to the end, every frame in order
    assert len(decoded["numbers"]) >= RATE
    assert decoded["numbers"] == list(range(len(decoded["numbers"])))


def _wait_for_session(endpoint, deadline: float) -> None:
    """Until the endpoint's log says a session was answered."""
    while time.monotonic() < deadline:
        if "session " in (endpoint.directory / "endpoint.log").read_text():
            return
        time.sleep(0.05)
    raise AssertionError("ms never reached the endpoint")


def test_buffer_never_blocks_the_writer_and_drops_the_oldest():
    from mscli.network.whip import _Buffer

    async def scenario():
        buffer = _Buffer(asyncio.get_running_loop(), 3)
        for i in range(5):  # the writer runs ahead of the network
            buffer.put(i)
        buffer.close()
        return [await buffer.get() for _ in range(4)], buffer.dropped

    taken, dropped = asyncio.run(scenario())
    assert taken == [2, 3, 4, None] and dropped == 2


def test_ice_gathers_the_address_that_reaches_the_url_host():
    import aioice.ice

    from mscli.network.whip import allow_route_to, route_address

    assert route_address("127.0.0.1", 9) == "127.0.0.1"
    allow_route_to("127.0.0.1", 9)
    assert "127.0.0.1" in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)


@pytest.mark.slow  # the loss shows after LOST_SECONDS, and a new endpoint is started
def test_reconnect_publishes_again_to_an_endpoint_that_came_back(ms_env, tmp_path):
    from mscli.network.whip import LOST_SECONDS

    first = tmp_path / "first"
    first.mkdir()
    with WhipEndpoint(first) as endpoint:
        publisher = Publisher(ms_env, endpoint.url, "-t", "60", "--reconnect")
        _wait_for_session(endpoint, deadline=time.monotonic() + 30)
        time.sleep(1.0)
        endpoint.kill()
    gone = publisher.wait_for("removetrack", LOST_SECONDS + 10)
    assert gone["target"] == "output" and gone["detail"]["output"] == endpoint.url
    assert gone["detail"]["reason"].startswith("the WebRTC connection was lost")
    second = tmp_path / "second"
    second.mkdir()
    with WhipEndpoint(second, port=int(endpoint.url.rsplit(":", 1)[1].split("/")[0])) as back:
        assert back.url == endpoint.url
        again = publisher.wait_for("addtrack", 30)
        assert again["detail"]["output"] == endpoint.url and again["detail"]["attempts"] >= 1
        time.sleep(1.0)  # publishing to the new endpoint
        publisher.proc.send_signal(signal.SIGTERM)  # the user's stop: finalise, exit 0
        assert publisher.finish() == 0
        got = back.stop()
    stopped = next(e for _, e in publisher.events if e["event"] == "stopped")
    [output] = stopped["detail"]["outputs"]
    assert output["reconnects"] == 1 and output["dropped"] > 0  # what was captured meanwhile
    assert got.sessions == 1 and got.deleted == 1
    # The new session starts on a keyframe at the frame captured then, and goes on in order.
    read = [(i, f["number"]) for i, f in enumerate(got.video) if f["number"] is not None]
    start = read[0][1] - read[0][0]
    assert start > RATE  # after the first second: captured once it came back
    assert all(number == start + i for i, number in read), read
    assert len(got.video) >= RATE // 2


def test_sender_reports_give_the_capture_time_of_their_ntp_time():
    """whip_reports: aiortc's report (NTP send time, RTP of the last packet sent) becomes the
    RTP timestamp of that NTP time on the capture clock; before the origin is known, and while
    a frame is half sent, the report stays as it is."""
    from aiortc.rtp import RtcpSenderInfo, RtcpSrPacket

    from mscli.network.whip_reports import NTP_UNIX, CaptureReports

    origin, sent = 4_000_000_000, []

    class Sender:  # aiortc's two calls: the next encoded frame, and sending RTCP
        def __init__(self):
            self.frames = iter([])

        async def _next_encoded_frame(self, codec):
            return next(self.frames)

        async def _send_rtcp(self, packets):
            sent.extend(packets)

    class Encoded:
        def __init__(self, timestamp):
            self.timestamp = timestamp

    sender = Sender()
    now = time.time()
    # The capture clock reads 10 s at `now`, and runs with the wall clock.
    CaptureReports(sender, lambda: 10.0 + time.time() - now, lambda s: round(s * 90000))

    def report(last):  # sent at `now` - 5 ms, about the packet of frame `last`
        ntp = round((now - 0.005 + NTP_UNIX) * 2 ** 32)
        return RtcpSrPacket(ssrc=1, sender_info=RtcpSenderInfo(
            ntp_timestamp=ntp, rtp_timestamp=(origin + last) % 2 ** 32, packet_count=1,
            octet_count=1))

    async def scenario():
        sender.frames = iter([Encoded(900_000 - 3000), Encoded(900_000)])
        await sender._next_encoded_frame(None)  # frame at 9.9667 s, being sent
        await sender._send_rtcp([report(900_000 - 3000)])  # half sent: origin unknown yet
        await sender._next_encoded_frame(None)  # sent in full; the next is being sent
        await sender._send_rtcp([report(900_000 - 3000)])
        sender.frames = iter([None])
        await sender._next_encoded_frame(None)  # 900_000 sent in full; nothing pending
        await sender._send_rtcp([report(900_000)])

    asyncio.run(scenario())
    first, second, third = (p.sender_info.rtp_timestamp for p in sent)
    assert first == (origin + 900_000 - 3000) % 2 ** 32  # unchanged
    assert second == (origin + 900_000 - 3000) % 2 ** 32  # unchanged: half sent
    # Origin learned: the report's NTP time is capture time 9.995 s (5 ms before now).
    expected = (origin + round(9.995 * 90000)) % 2 ** 32
    assert abs(((third - expected + 2 ** 31) % 2 ** 32) - 2 ** 31) <= 90  # within 1 ms


def test_aiortcs_background_errors_print_nothing(capsys):
    """A task of aiortc's that fails after the connection did (seen under load: 'Task
    exception was never retrieved ... RTCIceTransport is closed', eight lines of it) prints
    nothing on the WHIP client's loop: ms has said what failed in one line."""
    import asyncio
    import gc

    from mscli.network.whip import quiet_loop

    loop = quiet_loop()

    async def fails():
        raise RuntimeError("RTCIceTransport is closed")

    task = loop.create_task(fails())
    loop.run_until_complete(asyncio.sleep(0.01))
    del task
    gc.collect()
    loop.close()
    assert capsys.readouterr().err == ""

"""ms -> ms on 127.0.0.1 over udp, tcp, rtmp (through nginx-rtmp) and rtsp (the receiver
listening): issue 14's matrix. A sending `ms capture` of the pattern camera and the tone
microphone publishes with -o URL; a receiving `ms capture --devices net.json` records what
arrives to mkv, read back here: the burned-in frame numbers, the audio, the flashes against the
clicks. How each protocol is wired, and why tcp and rtsp carry video only: tests/_matrix.py.

Each protocol's run is made once (a module fixture) and checked by several tests, so that one
failing check does not hide the others. Latency: a second run per protocol with the sender's
pattern numbered from the epoch, the receiver's glassToGlass, beside ffmpeg encoding and
sending the same pattern to the same receiver (bench/publish.py matrix prints the table).
"""

from __future__ import annotations

import pytest

from tests._matrix import PROTOCOLS, RATE, Link, run_pair
from tests._nginx import NginxRtmp, available
from tests.media_check import decode_audio, decode_video, sync_offsets

SECONDS = 3
SHORT_SECONDS = 1.5  # the default lane's run
SYNC_SECONDS = 0.020  # the bound on the A/V offset in the receiver's recording
needs_nginx = pytest.mark.skipif(available() is not None, reason=str(available()))

# What the receiving ms loses today, found by this matrix (see the report of issue 14): it
# decodes every frame, but the last few come faster than real time (the sender's muxer
# flushes what it interleaved when it stops), and a frame that comes earlier than the
# timeline's anchor is dated at its arrival (network/timeline.py place), right after the one
# before: less than a frame interval apart, the recorder keeps one per interval (1-3 of the
# last frames lost). Over udp the last frame is held by FFmpeg's reader until the stream times
# out. (The probe that finds a stream's modes also decodes its first frame and does not hand
# it on; before the capture begins, it is not counted as missing here.)
LOSES_BURSTS = pytest.mark.xfail(strict=True, reason="the last frames come in a burst, are "
                                 "dated at their arrival and decimated by the receiver")


def protocol_param(protocol: str):
    return pytest.param(protocol, marks=needs_nginx) if protocol == "rtmp" else protocol


MATRIX = [protocol_param(p) for p in PROTOCOLS]
WITH_AUDIO = [protocol_param(p) for p in PROTOCOLS if p in ("udp", "rtmp")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if available() is not None:
        yield None
        return
    with NginxRtmp(tmp_path_factory.mktemp("nginx")) as nginx:
        yield nginx


@pytest.fixture(scope="module")
def runs(ms_module_env, server, tmp_path_factory):
    """protocol -> its pair of runs (pattern + tone; epoch pattern), made on first use."""
    made: dict = {}
    folder = tmp_path_factory.mktemp("matrix")

    def run(protocol: str, epoch: bool = False, sender: str = "ms", seconds: float = SECONDS):
        key = (protocol, epoch, sender, seconds)
        if key not in made:
            link = Link.make(protocol, server, audio=not epoch)
            made[key] = run_pair(link, ms_module_env, folder / str(len(made)), seconds,
                                 epoch=epoch, sender=sender)
        return made[key]

    return run


def numbers(pair) -> list[int]:
    return [f["number"] for f in decode_video(pair.recording)]


def test_tcp_frames_arrive_in_order_up_to_the_end(runs):
    """The default lane's case: ms -> ms over tcp, what holds today. Every frame recorded
    carries its number, in the order sent, none missing but the last few (LOSES_BURSTS:
    every frame is checked in the slow lane); the sender sent every frame and the stream's
    end ends the receiver's track."""
    pair = runs("tcp", seconds=SHORT_SECONDS)
    got = numbers(pair)
    assert None not in got and got == sorted(set(got)), got
    last = round(SHORT_SECONDS * RATE) - 1
    assert last - RATE // 2 <= got[-1] <= last, got[-5:]
    # consecutive up to the final burst (the last 0.2 s sent)
    whole = [n for n in got if n < last - RATE // 5]
    assert whole == list(range(got[0], got[0] + len(whole))), got
    ended = [e for e in pair.events if e["event"] == "ended"]
    assert [e["detail"]["reason"] for e in ended] == ["end-of-stream"]
    assert pair.sent["outputs"][0]["dropped"] == 0


@pytest.mark.slow
@LOSES_BURSTS
@pytest.mark.parametrize("protocol", MATRIX)
def test_every_frame_arrives(runs, protocol):
    got = numbers(runs(protocol))
    assert None not in got
    # consecutive from the first frame recorded (a keyframe) to the last one sent
    assert got == list(range(got[0], SECONDS * RATE)), got
    assert got[0] < 2 * RATE  # a keyframe at least every 2 s


@pytest.mark.slow
@pytest.mark.parametrize("protocol", WITH_AUDIO)
def test_the_audio_arrives(runs, protocol):
    """The audio covers what the video of the recording covers. (The receiver starts capturing
    once it has opened each device, one after the other, each waiting for its first decoded
    frame: ~1-1.3 s of the 3 s sent go before, for both tracks.)"""
    pair = runs(protocol)
    samples, rate, start = decode_audio(pair.recording)
    times = [f["time"] for f in decode_video(pair.recording)]
    # (over udp FFmpeg's MPEG-TS reader holds the last frame until the stream times out, and
    # it is recorded then, after a mute: the audio is compared with the video before that)
    paced = next((i for i, (a, b) in enumerate(zip(times, times[1:])) if b - a > 0.5),
                 len(times) - 1)
    first, last = times[0], times[paced] + 1 / RATE
    # within a few AAC frames (21 ms each) the encoder and the demuxer hold: 0.1 s
    assert start <= first + 0.1 and start + len(samples) / rate >= last - 0.1, \
        (start, start + len(samples) / rate, first, last)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", [
    pytest.param("udp", marks=pytest.mark.xfail(strict=True, reason=(
        "two connections (one per device), each anchored on its own arrivals: 25-50 ms"))),
    protocol_param("rtmp")])
def test_audio_and_video_in_sync(runs, protocol):
    offsets = sync_offsets(runs(protocol).recording)
    print(f"{protocol}: flash -> click {[round(o * 1000, 1) for o in offsets]} ms")
    assert offsets and all(abs(o) <= SYNC_SECONDS for o in offsets), offsets


@pytest.mark.slow
@pytest.mark.parametrize("protocol", MATRIX)
def test_glass_to_glass_latency_beside_ffmpeg(runs, protocol):
    """The receiver's glassToGlass, from ms sending its epoch pattern and from ffmpeg
    encoding and sending the same pattern (ms's raw frames piped to it) on the same path:
    plausible bounds only, the figures printed."""
    figures = {}
    for sender in ("ms", "ffmpeg"):
        glass = runs(protocol, epoch=True, sender=sender).glass()
        assert glass is not None and glass["frames"] >= RATE, (sender, glass)
        assert 0 < glass["p50"] < 1000 and glass["p50"] <= glass["p99"], (sender, glass)
        figures[sender] = glass
    print(f"{protocol}: glass-to-glass {figures}")

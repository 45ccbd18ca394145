"""Network sources (`"source": {"url": ...}` in a device file): the file's checks, when the
stream is contacted, capture times from a stream's timestamps, glass-to-glass latency from
epoch-numbered patterns, and real streams on 127.0.0.1: a stall mutes, a resume unmutes, the
end is `ended`, --reconnect reopens."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, needs_ffmpeg, one_error_line

from _netsend import ffmpeg_sender, free_port, pattern_sender, stop
from mscli.errors import DeviceFileError
from mscli.network.latency import WRAP, GlassToGlass, epoch_number
from mscli.network.timeline import EARLY_SECONDS, REANCHOR_SECONDS, StreamTimeline
from mscli.virtual import parse_device_file

UNREACHABLE = "tcp://127.0.0.1:9"  # the discard port: nothing listens there on a test machine


def devices_file(tmp_path, *devices, name: str = "devices.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"devices": list(devices)}))
    return str(path)


def net_camera(url: str, **extra) -> dict:
    return {"kind": "videoinput", "label": "Net Cam", "source": {"url": url, **extra}}


# --- the device file ---------------------------------------------------------------------


@pytest.mark.parametrize("source, where, says", [
    ({"url": "ftp://h/x"}, "source.url", "a network source is one of"),
    ({"url": "rtsp:///x"}, "source.url", "names no host"),
    ({"url": "udp://h:99999"}, "source.url", "not a valid URL"),
    ({"url": "tcp://127.0.0.1:"}, "source.url", "names no port"),
    ({"url": "udp://127.0.0.1"}, "source.url", "names no port"),
    ({"url": 5}, "source.url", "expected a URL"),
    ({"url": "rtmp://h/app/key", "transport": "tcp"}, "source.transport", "only an rtsp://"),
    ({"url": "rtsp://h/x", "transport": "http"}, "source.transport", "expected one of tcp, udp"),
    ({"url": "udp://h:5000", "timeout": 0}, "source.timeout", "expected a number > 0"),
    ({"url": "udp://h:5000", "retry": 1}, "source.retry", "unknown key"),
    ({"url": "udp://h:5000", "listen": True}, "source.listen", "always receives"),
    ({"url": "http://h/x", "listen": True}, "source.listen", "rtsp://, rtmp://, tcp:// only"),
    ({"url": "tcp://h:5000", "listen": 1}, "source.listen", "expected true or false"),
    ({"uri": "rtsp://h/x"}, "source.uri", "did you mean 'url'"),
    ({"pattern": {"frameNumbers": "wall"}}, "source.pattern.frameNumbers", "capture, epoch"),
])
def test_bad_network_sources_name_their_path(tmp_path, source, where, says):
    entry = {"kind": "videoinput", "source": source}
    with pytest.raises(DeviceFileError) as e:
        parse_device_file({"devices": [entry]}, tmp_path)
    assert str(e.value).startswith(f"devices[0].{where}:") and says in str(e.value)


@settings(max_examples=100, deadline=None)
@given(url=st.one_of(st.text(max_size=40), st.from_regex(
           r"(rtsp|rtmp|udp|tcp|http|ftp)://[\[\]:a-z0-9.%@]{0,20}(:[0-9a-z]{0,7})?/?.{0,8}",
           fullmatch=True)),
       extra=st.dictionaries(st.sampled_from(["transport", "timeout", "loop"]),
                             st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=5)),
                             max_size=2))
def test_any_url_source_parses_or_names_its_error(url, extra):
    entry = {"kind": "videoinput", "source": {"url": url, **extra}}
    try:
        device = parse_device_file({"devices": [entry]}, REPO)[0]
    except DeviceFileError as e:
        assert str(e).startswith("devices[0].source")
    else:
        assert device.source["url"] == url and device.modes == ()


def test_srt_is_refused_when_ffmpeg_lacks_it(tmp_path):
    import av

    from mscli.network.probe import protocol_available

    entry = net_camera("srt://127.0.0.1:9000")
    if protocol_available("srt"):  # a build with libsrt takes it
        assert parse_device_file({"devices": [entry]}, tmp_path)[0].source["url"]
        return
    with pytest.raises(DeviceFileError, match=r"source.url: this FFmpeg build .* no srt"):
        parse_device_file({"devices": [entry]}, tmp_path)
    with pytest.raises(av.ProtocolNotFoundError):  # what the check stands for
        av.open("srt://127.0.0.1:9000", timeout=0.5)


@pytest.mark.parametrize("key", ["faults", "controls"])
def test_a_network_source_has_no_scripted_faults_or_controls(tmp_path, key):
    value = [] if key == "faults" else {}
    with pytest.raises(DeviceFileError, match=rf"devices\[0\]\.{key}: a network source"):
        parse_device_file({"devices": [{**net_camera(UNREACHABLE), key: value}]}, tmp_path)


def test_rtsp_defaults_to_tcp_and_modes_wait_for_a_probe(tmp_path):
    camera, mic = parse_device_file({"devices": [
        net_camera("rtsp://127.0.0.1:8554/cam"),
        {"kind": "audioinput", "source": {"url": "udp://127.0.0.1:5000"}, "sampleRate": [48000]},
    ]}, tmp_path)
    assert camera.source["transport"] == "tcp" and camera.source["probe"] == ("modes",)
    assert camera.modes == ()
    assert mic.source["probe"] == ("channelCount",)  # sampleRate is declared


def test_devices_never_connects_and_imports_no_media_library(ms_env, tmp_path):
    """`ms devices` runs on every Tab press: a stream that is not there costs it nothing."""
    from test_cli import NO_MEDIA_IMPORTS

    path = devices_file(tmp_path, net_camera(UNREACHABLE))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", NO_MEDIA_IMPORTS, "devices", "--devices", path,
                           "--json"], env=ms_env, capture_output=True, text=True, cwd=REPO,
                          timeout=60)
    assert "LOADED:\n" in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)[0]["label"] == "Net Cam"
    assert time.monotonic() - started < 30  # no connection attempt, no probe timeout


def test_caps_of_an_unreachable_stream_is_not_readable(ms, tmp_path):
    result = ms("caps", "label:Net Cam", "--devices",
                devices_file(tmp_path, net_camera(UNREACHABLE)))
    assert result.code == 5
    line = one_error_line(result)
    assert line.startswith("ms: NotReadableError: 'Net Cam': cannot read 'tcp://127.0.0.1:9'")
    assert "declare the device's modes" in line


def test_declared_modes_are_used_without_connecting(ms, tmp_path):
    camera = {**net_camera(UNREACHABLE), "modes": [{"width": 640, "height": 360,
                                                    "frameRate": 25}]}
    path = devices_file(tmp_path, camera)
    caps = ms("caps", "label:Net Cam", "--devices", path, "--json")
    assert caps.code == 0, caps.err
    assert caps.json()["width"] == {"min": 1, "max": 640}
    resolved = ms("resolve", "--devices", path, "-c", '{"video": {"width": 320}}', "--json")
    assert resolved.code == 0 and resolved.json()["tracks"][0]["settings"]["width"] == 320
    # capture is what connects: the stream is not there
    captured = ms("capture", "--devices", path, "-c", '{"video": true}',
                  "-o", str(tmp_path / "out.mkv"))
    assert captured.code == 5 and "NotReadableError" in one_error_line(captured)
    assert not (tmp_path / "out.mkv").exists()


def test_resolve_probes_only_the_kinds_asked_for(ms, tmp_path):
    path = devices_file(tmp_path, net_camera(UNREACHABLE),
                        {"kind": "audioinput", "label": "Mic", "source": "tone"})
    result = ms("resolve", "--devices", path, "-c", '{"audio": true}', "--json")
    assert result.code == 0, result.err


def test_the_devices_of_one_url_read_one_stream(tmp_path):
    camera, mic, other = parse_device_file({"devices": [
        net_camera("tcp://127.0.0.1:5000", listen=True),
        {"kind": "audioinput", "source": {"url": "tcp://127.0.0.1:5000", "listen": True}},
        net_camera("tcp://127.0.0.1:5001"),
    ]}, tmp_path)
    assert camera.source["shared"] is mic.source["shared"]
    assert other.source["shared"] is not camera.source["shared"]


def test_the_devices_of_one_url_must_open_it_alike(tmp_path):
    with pytest.raises(DeviceFileError) as e:
        parse_device_file({"devices": [
            net_camera("rtsp://h/x", transport="udp"),
            {"kind": "audioinput", "source": {"url": "rtsp://h/x", "timeout": 9}},
        ]}, tmp_path)
    assert str(e.value).startswith("devices[1].source: 'rtsp://h/x' is also devices[0].source's "
                                   "stream, opened otherwise (timeout, transport)")


class FakePacket:
    def __init__(self, stream, frames):
        self.stream, self._frames = stream, frames

    def decode(self):
        return self._frames


def test_probing_a_stream_loses_no_packet():
    """The modes' probe decodes the first frames of the connection the capture goes on
    reading: a packet it read past the first frame was lost, and the H.264 decoder had no
    reference for the frames after it (their burned-in numbers read wrong)."""
    from types import SimpleNamespace

    from mscli.network.stream import Connection

    video, audio = SimpleNamespace(type="video"), SimpleNamespace(type="audio")
    packets = iter([FakePacket(audio, []), FakePacket(audio, ["a0"]), FakePacket(video, ["v0"]),
                    FakePacket(video, ["v1"]), FakePacket(audio, ["a1"])])
    container = SimpleNamespace(streams=SimpleNamespace(video=[video], audio=[audio]),
                                demux=lambda streams: packets)
    connection = Connection(container)
    assert connection.first_frame("video") == (video, "v0")
    assert connection.first_frame("audio") == (audio, "a0")  # decoded on the way
    assert next(packets).decode() == ["v1"]


def test_reconnect_reopens_one_connection_for_a_streams_tracks():
    """The video and audio tracks of one stream ended together: one new connection serves
    both (a sender that takes one connection would not take a second)."""
    from types import SimpleNamespace

    from mscli.network.reconnect import StreamReturns

    class Shared:
        opened = 0

        def reconnect(self):
            self.opened += 1
            return SimpleNamespace(first_frame=lambda kind: (None, None), close=lambda: None)

    shared = Shared()
    device = SimpleNamespace(source={"url": "tcp://h:1", "shared": shared})
    tracks = [SimpleNamespace(kind=kind, id=kind, device=device) for kind in ("video", "audio")]
    wake = threading.Condition()
    returns = StreamReturns(wake)
    for track in tracks:
        returns.watch(track)
    ready: list = []
    deadline = time.monotonic() + 20
    while len(ready) < 2 and time.monotonic() < deadline:
        with wake:
            wake.wait(0.05)
        ready += returns.ready()
    returns.stop()
    assert [t for t, _ in ready] == tracks and ready[0][1] is ready[1][1]
    assert shared.opened == 1 and not returns.pending


def test_opening_options_bound_the_probe_and_carry_rtsp_transport():
    from mscli.network.probe import ANALYZE_MICROSECONDS, PROBE_SIZE, ffmpeg_options

    for url in ("rtsp://h/x", "rtmp://h/app/key", "udp://h:5000", "tcp://h:5000", "http://h/x"):
        options = ffmpeg_options({"url": url})
        assert options["probesize"] == str(PROBE_SIZE)
        assert options["analyzeduration"] == str(ANALYZE_MICROSECONDS)
        assert "fflags" not in options  # nobuffer drops the first GOP (field.md)
    assert ffmpeg_options({"url": "rtsp://h/x", "transport": "udp"})["rtsp_transport"] == "udp"
    assert ffmpeg_options({"url": "rtsp://h/x"})["rtsp_transport"] == "tcp"
    assert ffmpeg_options({"url": "udp://h:5000"})["overrun_nonfatal"] == "1"
    # listening waits as long as the source's timeout, in each protocol's own unit
    listen = {"listen": True, "timeout": 2.5}
    assert ffmpeg_options({"url": "rtsp://h/x", **listen})["listen_timeout"] == "3"
    assert ffmpeg_options({"url": "rtmp://h/a/k", **listen})["timeout"] == "3"
    assert ffmpeg_options({"url": "tcp://h:1", **listen})["listen_timeout"] == "2500"


# --- capture times from the stream's timestamps ----------------------------------------------


def test_a_burst_keeps_the_streams_spacing():
    timeline = StreamTimeline()
    # frames 33 ms apart in the stream, arriving three at a time
    arrivals = [0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3]
    times = [timeline.place(10 + i / 30, a) for i, a in enumerate(arrivals)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == [pytest.approx(1 / 30)] * 8, gaps
    # the frames that came with the one before them are dated on its anchor, a little
    # after their arrival: by less than a burst's length
    assert times[0] == pytest.approx(0.1)
    assert all(t <= a + 2 / 30 + 1e-9 for t, a in zip(times, arrivals))


def test_a_frame_that_came_at_the_pace_and_less_delayed_lowers_a_new_anchor():
    """After a new anchor (here the first frame, delayed 20 ms more than the rest), a frame
    that comes at the stream's pace and earlier than the anchor says moves it down; one that
    came right after the one before it does not (the two were let go together)."""
    timeline = StreamTimeline()
    assert timeline.place(0.0, 0.12) == 0.12
    assert timeline.place(1 / 30, 0.1 + 1 / 30) == pytest.approx(0.12 + 1 / 30)  # 13 ms after
    assert timeline.place(2 / 30, 0.1 + 2 / 30) == pytest.approx(0.1 + 2 / 30)  # 33 ms after
    assert timeline.place(3 / 30, 0.1 + 3 / 30) == pytest.approx(0.1 + 3 / 30)


def test_a_paused_sender_moves_the_anchor_and_times_only_rise():
    timeline = StreamTimeline()
    first = [timeline.place(i / 30, 1 + i / 30) for i in range(30)]
    # the sender paused for 3 s, its timestamps go on from where they were
    resumed = timeline.place(1.0, 5.0)
    assert resumed == pytest.approx(5.0)  # not 2.0: that would date it 3 s in the past
    assert timeline.place(1.0 + 1 / 30, 5.0 + 1 / 30) == pytest.approx(5.0 + 1 / 30)
    # a restarted sender's timestamps start again from 0: still later than all before
    again = timeline.place(0.0, 5.1)
    assert again > resumed and first == sorted(first)
    # late by less than REANCHOR_SECONDS is jitter: the spacing holds
    steady = timeline.place(1 / 30, 5.1 + 1 / 30 + REANCHOR_SECONDS / 2)
    assert steady == pytest.approx(again + 1 / 30)


def test_the_backlog_of_the_open_keeps_its_spacing_and_what_predates_the_capture_is_dropped():
    timeline = StreamTimeline()
    # opening read 0.4 s ahead: at capture time 0.01 the decoder hands over 13 frames at
    # once, then the stream comes at its pace
    burst = [timeline.add(5 + i / 30, 0.01, i) for i in range(13)]
    assert burst == [[]] * 13  # held: no pace yet
    assert timeline.add(5 + 13 / 30, 0.01 + 1 / 30, 13) == []  # one step at the pace
    released = timeline.add(5 + 14 / 30, 0.01 + 2 / 30, 14)
    # the last two came at the stream's pace: they are the anchor; 12 frames before them
    # fall before the capture began
    assert [i for _, i in released] == [12, 13, 14]
    assert [b[0] - a[0] for a, b in zip(released, released[1:])] == \
        [pytest.approx(1 / 30)] * 2
    assert released[2][0] == pytest.approx(0.01 + 2 / 30)
    following = timeline.add(5 + 15 / 30, 0.01 + 3 / 30 + 0.005, 15)  # 5 ms of jitter
    assert following[0][0] == pytest.approx(0.01 + 3 / 30)


def test_a_paced_stream_is_held_for_two_frames_only():
    timeline = StreamTimeline()
    assert timeline.add(0.0, 0.5, "a") == []
    assert timeline.add(1 / 30, 0.5 + 1 / 30, "b") == []
    assert [i for _, i in timeline.add(2 / 30, 0.5 + 2 / 30, "c")] == ["a", "b", "c"]
    assert [i for _, i in timeline.add(3 / 30, 0.5 + 3 / 30, "d")] == ["d"]


def test_one_slow_frame_in_the_backlog_does_not_end_it():
    """What an ms -> ms run over tcp decoded (tests/test_network_matrix.py): the backlog of
    the open came ~5 ms a frame, but its second frame 37 ms after the first (the decoder
    starting). Taken for the stream's pace, the anchor was that frame's, and each later
    backlog frame, earlier than it, was dated at its arrival: 5 ms apart, decimated by the
    recorder. The backlog ends when the pace holds for two frames."""
    timeline = StreamTimeline()
    arrivals = [0.001, 0.038, 0.053, 0.061, 0.069, 0.074, 0.080, 0.086, 0.091, 0.097, 0.102,
                0.107, 0.113, 0.122, 0.129, 0.134, 0.139, 0.145, 0.149, 0.174, 0.194]
    arrivals += [arrivals[-1] + k / 30 for k in range(1, 30)]  # then at the stream's pace
    times = [t for i, a in enumerate(arrivals) for t, _ in timeline.add(0.055 + i / 30, a, i)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(abs(g - 1 / 30) < 1e-9 for g in gaps), [round(g, 3) for g in gaps]
    assert all(t >= 0 for t in times) and len(times) >= 30


def steady(timeline, frames: int, delay: float, rate: int = 30) -> list:
    """Capture times of `frames` frames at `rate`, each arriving `delay` after its stamp."""
    return [t for i in range(frames) for t, _ in timeline.add(i / rate, i / rate + delay, i)]


def test_a_final_burst_keeps_its_spacing():
    """What ms -> ms lost at the end (tests/test_network_matrix.py): the sender's muxer held
    each frame ~0.08 s for the audio it interleaves, then flushed its last frames at once.
    Dated at their early arrival, they came 0.1 ms apart and the recorder kept one."""
    timeline = StreamTimeline()
    times = steady(timeline, 60, 0.08)
    burst = [t for i in range(60, 64) for t, _ in timeline.add(i / 30, 60 / 30 + 0.01, i)]
    gaps = [b - a for a, b in zip(times[-1:] + burst, burst)]
    assert gaps == [pytest.approx(1 / 30)] * 4, gaps
    assert burst[-1] <= 64 / 30 + 0.01 + EARLY_SECONDS  # dated at most that far ahead


def test_a_sender_ahead_by_more_than_jitter_moves_the_anchor():
    """A frame earlier than EARLY_SECONDS ahead of the anchor (the sender's clock jumped
    forward) is dated when it came, not that far in the future."""
    timeline = StreamTimeline()
    steady(timeline, 30, 0.08)
    [(t, _)] = timeline.add(2.0, 1.0 + 0.08, "jumped")
    assert t == pytest.approx(1.08)
    [(t, _)] = timeline.add(2.0 + 1 / 30, 1.08 + 1 / 30, "next")
    assert t == pytest.approx(1.08 + 1 / 30)


def test_video_and_audio_share_one_anchor():
    """A stream's video and audio, its audio coming in packets of 8 AAC frames (each 21 ms
    of stream, the packet sent when full): each kind keeps its offset to the other as the
    stream's timestamps say, whichever kind came least delayed."""
    timeline = StreamTimeline()
    frame = 1024 / 48000
    dated: dict[str, list] = {"video": [], "audio": []}
    events = [(i / 30, i / 30 + 0.04, "video") for i in range(90)]
    events += [(j * frame, (j // 8 + 1) * 8 * frame + 0.005, "audio") for j in range(128)]
    for stamp, arrival, kind in sorted(events, key=lambda e: e[1]):
        for t, item in timeline.add(stamp, arrival, (kind, stamp), kind):
            dated[item[0]].append((item[1], t))
    assert len(dated["video"]) > 60 and len(dated["audio"]) > 80
    offsets = {round(t - stamp, 9) for kind in dated for stamp, t in dated[kind]}
    assert len(offsets) == 1, offsets  # one anchor: capture time - stamp is the same for all


def test_video_frames_fall_on_the_recordings_grid():
    """A recording writes each video frame in the slot of its frame interval its capture
    time falls in: a stream dated between slots had its video recorded up to an interval
    early and its audio not (ms -> ms A/V measured -3 to +30 ms). On the grid, the video's
    capture times are whole intervals, the audio keeps its offset to them."""
    timeline = StreamTimeline()
    timeline.align_to(1 / 30)
    dated = [timeline.add(5 + i / 30, 0.0123 + i / 30, ("video", 5 + i / 30), "video")
             + timeline.add(5 + i / 30, 0.0123 + i / 30, ("audio", 5 + i / 30), "audio")
             for i in range(30)]
    dated = [(t, kind, stamp) for out in dated for t, (kind, stamp) in out]
    video = [t for t, kind, _ in dated if kind == "video"]
    assert len(video) >= 25
    assert all(abs(t * 30 - round(t * 30)) < 1e-6 for t in video), video
    assert len({round(t - stamp, 9) for t, _, stamp in dated}) == 1  # one offset, both kinds
    # dated at most an interval after the arrival
    assert all(0 <= t - (stamp - 5 + 0.0123) < 1 / 30 for t, _, stamp in dated)


def test_the_frame_after_a_stall_is_dated_no_earlier_than_it_came():
    """On the grid too: the frame that ends a mute (0.5 s after the last one) must be dated
    after the mute, or `unmute` would come at the mute's own time."""
    timeline = StreamTimeline()
    timeline.align_to(1 / 30)
    steady(timeline, 30, 0.0123)
    [(t, _)] = timeline.add(1.0, 29 / 30 + 0.0123 + 0.8, "resumed")
    assert t >= 29 / 30 + 0.0123 + 0.8


def test_two_frames_let_go_together_after_a_stall_keep_their_spacing():
    """FFmpeg's udp reader held a stream's last two frames until its read timed out, ~2 s
    later, and let them go 5 ms apart: the second was dated at its arrival, in the first's
    slot, and lost."""
    timeline = StreamTimeline()
    steady(timeline, 60, 0.02)
    late = [timeline.add(s / 30, 4.0 + a, s)[0][0] for s, a in ((60, 0.0), (61, 0.005))]
    assert late[1] - late[0] == pytest.approx(1 / 30)


def test_frames_without_timestamps_take_their_arrival():
    timeline = StreamTimeline()
    assert timeline.place(None, 0.5) == 0.5
    assert timeline.place(None, 0.5) > 0.5  # never twice the same time


# --- glass-to-glass latency --------------------------------------------------------------


def fed(glass, rate, step, latency, frames, start=1_764_000_000.0, jitter=()):
    """Feeds `frames` frames of a sender at native `rate` whose track keeps every `step`th
    frame, each arriving `latency` (+ jitter) seconds after its capture. The fake reader
    reads the number the frame carries."""
    for i in range(frames):
        captured = Fraction(round(start * rate) + i * step) / rate
        extra = jitter[i % len(jitter)] if jitter else 0.0
        glass.observe(epoch_number(float(captured), rate), i * step / float(rate),
                      float(captured) + latency + extra)


def test_latency_is_arrival_minus_the_numbers_capture_time():
    glass = GlassToGlass(reader=lambda number: number)
    fed(glass, Fraction(30), 1, 0.080, 90)
    summary = glass.summary()
    assert summary["frames"] == 90
    assert 80 <= summary["p50"] <= 81 and 80 <= summary["p99"] <= 81  # 1 ms buckets


def test_the_senders_rate_is_learnt_from_the_stream_not_its_frame_rate():
    """A 60 fps pattern decimated to 30: numbers advance 2 a frame; the latency is the same."""
    glass = GlassToGlass(reader=lambda number: number)
    fed(glass, Fraction(60), 2, 0.040, 60, jitter=(0.0, 0.010, 0.020))
    summary = glass.summary()
    assert summary["frames"] == 60 and 40 <= summary["p50"] <= 61 and summary["p99"] <= 61


def test_the_rate_survives_timestamps_rounded_to_milliseconds():
    """FLV (rtmp) carries whole milliseconds: 30 fps measured over 0.5 s read 30.02, and
    every latency of the run came out implausible (glassToGlass null)."""
    glass = GlassToGlass(reader=lambda number: number)
    start = 1_764_000_000.0
    for i in range(60):
        captured = Fraction(round(start * 30) + i, 30)
        stamp = round((2 + i) / 30, 3)  # the first at 67 ms, then 100 ms, 133 ms, ...
        glass.observe(epoch_number(float(captured), Fraction(30)), stamp,
                      float(captured) + 0.003)
    assert glass.summary() is not None and glass.summary()["frames"] == 60
    assert glass.summary()["p50"] == pytest.approx(3, abs=1)


def test_ntsc_rate_and_the_24_bit_wrap():
    rate = Fraction(30000, 1001)
    glass = GlassToGlass(reader=lambda number: number)
    start = float((50 * WRAP - 10) / rate)  # the numbers wrap around 0 during the run
    fed(glass, rate, 1, 0.120, 40, start=start)
    assert 120 <= glass.summary()["p50"] <= 121 and glass.summary()["frames"] == 40


def test_no_readable_number_gives_null_and_stops_reading():
    calls = []
    glass = GlassToGlass(reader=lambda plane: calls.append(plane))
    for i in range(500):
        glass.observe(i, i / 30, 1e9 + i / 30)
    assert glass.summary() is None
    assert len(calls) < 500  # a stream that is not the pattern costs no decoding for long


def test_numbers_from_another_clock_give_no_figure():
    """A pattern counting from its capture start (the default), read as epoch numbers."""
    glass = GlassToGlass(reader=lambda number: number)
    for i in range(60):
        glass.observe(1000 + i, i / 30, 1_764_000_000.0 + i / 30)
    assert glass.summary() is None and glass.implausible == 60


def test_the_epoch_pattern_puts_each_frame_on_its_numbers_time():
    from mscli.sources.synthetic import PatternSource

    rate = Fraction(30)
    epoch = Fraction(1_764_000_000.0123)
    t = PatternSource._align(0.0, rate, epoch)
    assert 0 <= t < 1 / 30
    number = epoch_number(float(epoch + Fraction(t)), rate)
    assert abs(Fraction(number) / rate - (epoch + Fraction(t)) % (WRAP / rate)) < Fraction(1, 10**6)


# --- real streams on 127.0.0.1 -------------------------------------------------------------


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (read from /proc: connecting to ffmpeg's
    one-reader listener to find out would use up its one connection)."""
    needle = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == needle and line.split()[3] == "0A"
                   for line in f.readlines()[1:])


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Capture:
    """`ms capture` as a subprocess; its NDJSON events read as they come."""

    def __init__(self, env, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", *args],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self.other: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                self.other.append(line)
        self.events.put(None)

    def wait_for(self, match, seconds: float = 20.0) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no such event; seen {[e['event'] for e in self.seen]}"
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            assert event is not None, f"ms exited; seen {self.seen}, stderr {self.other}"
            self.seen.append(event)
            if match(event):
                return event

    def finish(self, seconds: float = 30.0) -> int:
        code = self.proc.wait(timeout=seconds)
        while (event := self.events.get(timeout=seconds)) is not None:
            self.seen.append(event)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def named(name):
    return lambda event: event["event"] == name


def runs_to_its_end(capture: Capture) -> None:
    """The stream ends (the sender went away): `ended`, then ms exits 0, its file finalised."""
    ended = capture.wait_for(named("ended"))
    assert ended["detail"]["reason"] in ("end-of-stream", "connection-lost")
    assert capture.finish() == 0


def decoded(path) -> list:
    import av

    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def stop_all(capture, *senders) -> None:
    """The end of a test with senders and a capture: whichever of them were started."""
    for sender in senders:
        if sender is not None:
            stop(sender)
    if capture is not None:
        capture.kill()


@needs_ffmpeg
def test_stall_mutes_within_a_second_resume_unmutes_end_ends(ms_env, tmp_path):
    port = free_port()
    sender = ffmpeg_sender(f"tcp://127.0.0.1:{port}?listen=1", seconds=60)
    capture = None
    try:
        wait_until(lambda: listening(port), 20, "ffmpeg to listen")
        out = tmp_path / "out.mkv"
        # no modes declared: capture probes the stream, and keeps it open (ffmpeg's
        # listener serves one connection)
        path = devices_file(tmp_path, net_camera(f"tcp://127.0.0.1:{port}", timeout=5))
        # --unpaced: a stream, like a camera, ignores it (it cannot run faster than it comes)
        capture = Capture(ms_env, "--devices", path, "-c", '{"video": {"width": 160}}',
                          "-o", str(out), "-t", "40", "--stats", "0.2", "--unpaced")
        going = capture.wait_for(lambda e: e["event"] == "stats"
                                 and e["detail"]["deliveredFrames"] >= 10)
        sender.send_signal(signal.SIGSTOP)
        paused = time.monotonic()
        mute = capture.wait_for(named("mute"))
        # reported while the stall lasts: 0.5 s of silence, the writer's poll (at most 0.5 s),
        # and 2 s for a loaded machine; not only from the timestamps once frames resume
        assert time.monotonic() - paused < 1.0 + 2.0
        # the last frame came before the stats event plus this test's own reaction; ms
        # promises a mute 0.5 s after it; 0.5 s more for a loaded machine
        assert mute["time"] - going["time"] < 1.0 + 0.5
        sender.send_signal(signal.SIGCONT)
        unmute = capture.wait_for(named("unmute"))
        assert unmute["time"] > mute["time"]
        sender.terminate()  # the sender goes away: the stream ends
        runs_to_its_end(capture)
        assert not [e for e in capture.seen if e["event"] == "stopped"]
    finally:
        stop_all(capture, sender)
    frames = decoded(out)
    assert len(frames) >= 10 and frames[0].width == 160


@needs_ffmpeg
def test_video_and_audio_of_a_one_reader_stream(ms_env, tmp_path):
    """ffmpeg's tcp listener serves one connection: a camera and a microphone naming its URL
    (modes probed) both read it, through one connection, to the stream's end."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    # 3 s: the stream runs in real time from the probe's connection, and what comes before
    # the capture begins is dropped; with two test workers and a CPU hog beside them that
    # start-up took over 1 s (11 of 45 frames of a 1.5 s stream were left).
    sender = ffmpeg_sender(f"{url}?listen=1", seconds=3, audio=True)
    capture = None
    try:
        wait_until(lambda: listening(port), 20, "ffmpeg to listen")
        out = tmp_path / "out.mkv"
        path = devices_file(tmp_path, net_camera(url, timeout=5),
                            {"kind": "audioinput", "label": "Net Mic",
                             "source": {"url": url, "timeout": 5}})
        capture = Capture(ms_env, "--devices", path, "-c", '{"video": true, "audio": true}',
                          "-o", str(out), "-t", "30")
        assert capture.finish() == 0, capture.other
    finally:
        stop_all(capture, sender)
    ended = [e["detail"]["reason"] for e in capture.seen if e["event"] == "ended"]
    assert ended == ["end-of-stream"] * 2, capture.seen
    import av

    with av.open(str(out)) as container:
        kinds = {p.stream.type for p in container.demux() if p.size}
    assert kinds == {"video", "audio"}
    assert len(decoded(out)) >= 15  # of 90 sent, less what came before the capture began


@pytest.mark.slow  # a real sender, 2.5-10 s: the default lane keeps the one-reader test
@needs_ffmpeg
def test_rtmp_stream_scaled_and_decimated_until_it_ends(ms_env, tmp_path):
    """ffmpeg serving FLV over rtmp to one player (-listen 1); ms plays it at half the size
    and half the rate, to the stream's end."""
    port = free_port()
    sender = ffmpeg_sender(f"rtmp://127.0.0.1:{port}/live/cam", 2, ("-f", "flv", "-listen", "1"))
    capture = None
    try:
        wait_until(lambda: listening(port), 20, "ffmpeg to listen")
        out = tmp_path / "out.mkv"
        path = devices_file(tmp_path, net_camera(f"rtmp://127.0.0.1:{port}/live/cam"))
        capture = Capture(ms_env, "--devices", path, "-c",
                          '{"video": {"width": 160, "frameRate": 15}}', "-o", str(out),
                          "-t", "30")
        runs_to_its_end(capture)
    finally:
        stop_all(capture, sender)
    frames = decoded(out)
    assert (frames[0].width, frames[0].height) == (160, 120)
    # up to 2 s at 15 fps, less what was sent before the capture began; none missing
    assert 10 <= len(frames) <= 31
    steps = {round(float(b.time - a.time) * 15) for a, b in zip(frames, frames[1:])}  # ms-rounded
    assert steps == {1}, steps


@needs_ffmpeg
@pytest.mark.parametrize("url, muxer", [
    ("rtsp://127.0.0.1:{port}/live", ("-f", "rtsp", "-rtsp_transport", "tcp")),
    ("rtmp://127.0.0.1:{port}/live/cam", ("-f", "flv")),
])
@pytest.mark.slow  # a real sender, 2.5-10 s: the default lane keeps the one-reader test
def test_ms_listens_and_a_sender_pushes_to_it(ms_env, tmp_path, url, muxer):
    """`"listen": true`: ms waits on the port; ffmpeg publishes to it (rtsp RECORD, rtmp)."""
    port = free_port()
    url = url.format(port=port)
    path = devices_file(tmp_path, net_camera(url, listen=True, timeout=20))
    out = tmp_path / "out.mkv"
    capture = Capture(ms_env, "--devices", path, "-c", '{"video": {"width": 160}}',
                      "-o", str(out), "-t", "30")
    sender = None
    try:
        wait_until(lambda: listening(port), 20, "ms to listen")
        sender = ffmpeg_sender(url, 2, muxer)
        runs_to_its_end(capture)
    finally:
        stop_all(capture, sender)
    frames = decoded(out)
    assert len(frames) >= 10 and frames[0].width == 160


@pytest.mark.slow  # a real sender, 2.5-10 s: the default lane keeps the one-reader test
@needs_ffmpeg
def test_reconnect_reopens_a_stream_whose_sender_came_back(ms_env, tmp_path):
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    first = ffmpeg_sender(f"{url}?listen=1", seconds=1.5)
    second = capture = None
    try:
        wait_until(lambda: listening(port), 20, "ffmpeg to listen")
        out = tmp_path / "out.mkv"
        path = devices_file(tmp_path, net_camera(url, timeout=5))
        capture = Capture(ms_env, "--devices", path, "-c", '{"video": true}', "-o", str(out),
                          "-t", "30", "--reconnect", "--stats", "0.2")
        ended = capture.wait_for(named("ended"))
        removed = capture.wait_for(named("removetrack"))
        assert removed["trackId"] == ended["trackId"]
        first.wait(timeout=20)
        second = ffmpeg_sender(f"{url}?listen=1", seconds=60)
        added = capture.wait_for(named("addtrack"), seconds=30)
        assert added["detail"]["replaces"] == ended["trackId"]
        capture.wait_for(lambda e: e["event"] == "stats" and e["trackId"] == added["trackId"]
                         and e["detail"]["deliveredFrames"] >= 5)
        capture.proc.send_signal(signal.SIGINT)
        assert capture.finish() == 0
        stopped = [e for e in capture.seen if e["event"] == "stopped"][-1]
        frames = {t["trackId"]: t["frames"] for t in stopped["detail"]["tracks"]}
        assert frames[ended["trackId"]] > 0 and frames[added["trackId"]] >= 5
    finally:
        stop_all(capture, first, second)


@pytest.mark.slow
@needs_ffmpeg
def test_reconnect_brings_a_streams_video_and_audio_back_on_one_connection(ms_env, tmp_path):
    """A camera and a microphone of one URL from ffmpeg's one-reader listener: the sender
    stops, both tracks end and leave; it comes back, and both return (one connection: the
    listener would not take a second)."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    first = ffmpeg_sender(f"{url}?listen=1", seconds=1.5, audio=True)
    second = capture = None
    try:
        wait_until(lambda: listening(port), 20, "ffmpeg to listen")
        path = devices_file(tmp_path, net_camera(url, timeout=5),
                            {"kind": "audioinput", "label": "Net Mic",
                             "source": {"url": url, "timeout": 5}})
        capture = Capture(ms_env, "--devices", path, "-c", '{"video": true, "audio": true}',
                          "-o", str(tmp_path / "out.mkv"), "-t", "30", "--reconnect",
                          "--stats", "0.2")
        removed = {capture.wait_for(named("removetrack"))["trackId"] for _ in range(2)}
        first.wait(timeout=20)
        second = ffmpeg_sender(f"{url}?listen=1", seconds=60, audio=True)
        added = [capture.wait_for(named("addtrack"), seconds=30) for _ in range(2)]
        assert {a["detail"]["replaces"] for a in added} == removed
        for new in (a["trackId"] for a in added):
            capture.wait_for(lambda e, new=new: e["event"] == "stats" and e["trackId"] == new
                             and e["detail"]["deliveredFrames"] >= 5)
        capture.proc.send_signal(signal.SIGINT)
        assert capture.finish() == 0
    finally:
        stop_all(capture, first, second)


@pytest.mark.slow  # a real sender, 2.5-10 s: the default lane keeps the one-reader test
@needs_ffmpeg
def test_glass_to_glass_latency_of_ms_pattern_over_udp(ms_env, tmp_path):
    """ms's epoch-numbered pattern, encoded live by ffmpeg and sent as MPEG-TS over udp to a
    receiving ms on this machine: its `stopped` has a believable glass-to-glass latency."""
    port = free_port("udp")
    sender_file = devices_file(tmp_path, {
        "kind": "videoinput", "label": "Sender", "source": {"pattern": {"frameNumbers": "epoch"}},
        "modes": [{"width": 320, "height": 240, "frameRate": 30}]}, name="sender.json")
    receiver = devices_file(tmp_path, net_camera(f"udp://127.0.0.1:{port}", timeout=5))
    sender = pattern_sender(f"udp://127.0.0.1:{port}?pkt_size=1316", 30, sender_file, ms_env)
    capture = None
    try:
        capture = Capture(ms_env, "--devices", receiver, "-c", '{"video": true}',
                          "-o", str(tmp_path / "out.mkv"), "-t", "2")
        assert capture.finish(seconds=60) == 0, capture.other
    finally:
        stop_all(capture, sender)
    stopped = next(e for e in capture.seen if e["event"] == "stopped")
    glass = stopped["detail"]["tracks"][0]["glassToGlass"]
    assert glass is not None and glass["frames"] >= 20  # of about 2 s at 30 fps
    assert 0 < glass["p50"] < 1000 and glass["p50"] <= glass["p99"]

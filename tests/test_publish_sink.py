"""The publication's logic with a fake connection and an injected clock: a stalled server does
not stall the writer, a lost connection is an AbortError (never the BrokenPipeError that means
stdout went away), --reconnect retries and says so; and the live encoder settings."""

from __future__ import annotations

import io
import threading
from fractions import Fraction

import av
import pytest
from av.video.frame import PictureType

from mscli.errors import AbortError
from mscli.network import publish
from mscli.network.urls import format_info
from mscli.outputs import OutputPlan
from mscli.sinks.recorder import Recorder, VideoSpec
from tests._media import video_frames

SETTINGS = {"video": {"width": 64, "height": 48, "frameRate": 30}}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Events:
    def __init__(self):
        self.emitted = []

    def emit(self, event, **fields):
        self.emitted.append((event, fields))


class FakeRecorder:
    """A connection: `gate` holds each write (a stalled server) until set; `fail_at` frame
    raises what a dropped connection raises in PyAV."""

    notes = ()

    def __init__(self, gate=None, fail_at=None):
        self.gate, self.fail_at = gate, fail_at
        self.frames = []
        self.closed = False

    def write_video(self, frame):
        if self.gate is not None:
            self.gate.wait()
        if self.fail_at is not None and len(self.frames) == self.fail_at:
            raise BrokenPipeError(32, "Broken pipe")
        self.frames.append(frame.index)

    def close(self):
        self.closed = True


class FakeSink(publish.PublishSink):
    def __init__(self, connections, reconnect=False, clock=None, events=None):
        self.connections = list(connections)  # what each connection attempt gives
        super().__init__(OutputPlan("rtmp://127.0.0.1:1/live/s", ("video",), "url", "rtmp"),
                         SETTINGS, {}, events or Events(), reconnect, clock or Clock())

    def _connect(self):
        made = self.connections.pop(0)
        if isinstance(made, Exception):
            raise made
        return made


def _frames(count, start=0):
    return list(video_frames(64, 48, Fraction(30), count, start))


def test_a_stalled_server_drops_the_oldest_frames_and_never_blocks_the_writer():
    gate, clock = threading.Event(), Clock()
    sink = FakeSink([FakeRecorder(gate)], clock=clock)
    try:
        frames = _frames(150)  # 5 s of frames; the server takes only the first, and stalls
        sink.write(frames[0])
        while sink._queue:
            sink._thread.join(0.01)
        for frame in frames[1:]:
            sink.write(frame)
        # The first frame is stuck in the server; 2 s of the rest wait, the older are dropped.
        assert sink.dropped == 150 - 1 - (round(publish.QUEUE_SECONDS * 30) + 1)
        clock.now += publish.STALL_SECONDS + 1
        with pytest.raises(AbortError, match="the server took nothing for 10 s"):
            sink.write(_frames(1, 150)[0])
    finally:
        gate.set()


def test_a_slow_server_that_takes_frames_is_not_a_stall():
    clock = Clock()
    sink = FakeSink([FakeRecorder()], clock=clock)
    for frame in _frames(60):
        sink.write(frame)
        while sink._queue:  # the server takes it, slowly: 1 s passes per frame
            sink._thread.join(0.01)
        clock.now += 1.0
    sink.close()
    assert sink.recorder.frames == list(range(60))


def test_a_lost_connection_is_an_abort_not_a_broken_stdout():
    sink = FakeSink([FakeRecorder(fail_at=3)])
    with pytest.raises(AbortError) as raised:
        for frame in _frames(100):
            sink.write(frame)
            sink._thread.join(0.01)  # give the worker its turn
    assert not isinstance(raised.value, BrokenPipeError)
    assert raised.value.message == ("cannot publish to rtmp://127.0.0.1:1/live/s: the "
                                    "connection was lost (Broken pipe)")
    sink.close()  # after the failure: releases, raises nothing more


def test_reconnect_retries_with_backoff_and_says_so(monkeypatch):
    monkeypatch.setattr(publish, "BACKOFF", (0.0, 0.0, 0.0))
    events = Events()
    refused = AbortError("cannot record to rtmp://127.0.0.1:1/live/s: Connection refused")
    second = FakeRecorder()
    sink = FakeSink([FakeRecorder(fail_at=2), refused, refused, second], reconnect=True,
                    events=events)
    frames = _frames(20)
    for frame in frames[:5]:
        sink.write(frame)
    deadline = threading.Event()
    while sink.reconnects == 0 and not deadline.wait(0.01):
        sink.write(frames[5])  # frames captured while it is away are not sent
    for frame in _frames(5, 100):
        sink.write(frame)
    sink.close()
    assert [e for e, _ in events.emitted] == ["removetrack", "addtrack"]
    removed, added = (fields for _, fields in events.emitted)
    assert removed["target"] == "output" and removed["detail"] == {
        "output": "rtmp://127.0.0.1:1/live/s",
        "reason": "the connection was lost (Broken pipe)"}
    assert added["detail"]["attempts"] == 3 and added["detail"]["output"] == sink.plan.target
    assert second.frames[-5:] == list(range(100, 105)) and second.closed


def test_the_live_encoder_hands_each_frame_out_at_once_without_b_frames():
    """x264's defaults would hold ~1 s of frames (lookahead, B-frames): live output has every
    packet out as its frame goes in, and a keyframe at least every 2 s."""
    out = io.BytesIO()
    recorder = Recorder(out, format_info("tcp"), VideoSpec(64, 48, Fraction(30)), None,
                        live=True)
    muxed = []
    mux = recorder._mux
    recorder._mux = lambda packets: (muxed.extend(packets), mux(packets))
    for i, frame in enumerate(_frames(150)):
        recorder.write_video(frame)
        assert len(muxed) == i + 1, f"frame {i}: {len(muxed)} packets out"
    recorder.close()
    keyframes = [i for i, p in enumerate(muxed) if p.is_keyframe]
    assert keyframes[0] == 0 and max(b - a for a, b in zip(keyframes, keyframes[1:])) <= 60
    with av.open(io.BytesIO(out.getvalue()), format="mpegts") as container:
        types = {PictureType(f.pict_type) for f in container.decode(video=0)}
    assert PictureType.B not in types and PictureType.P in types

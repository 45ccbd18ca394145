"""The spec's track statistics, counted on tracks driven with frames and times the test
chooses (no threads, no real time): where a frame is delivered, discarded or never delivered,
audio frames as samples, latency capture to delivery, and `stats` events at their period."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mscli.catalog import assign_ids
from mscli.constraints import parse_track_constraints
from mscli.devices import AUDIO_INPUT, VIDEO_INPUT, AudioCaps, Device, ValueSet, VideoMode
from mscli.events import EventLog
from mscli.ids import IdHasher
from mscli.media.frames import AudioFrame, VideoFrame, i420_size
from mscli.select import select_settings
from mscli.track import VIDEO_QUEUE_FRAMES, MediaStreamTrack
from mscli.trackstats import FrameGrid, StatsEvents

RATE = 30
VIDEO_KEYS = {"deliveredFrames", "discardedFrames", "totalFrames"}
AUDIO_KEYS = {"deliveredFrames", "deliveredFramesDuration", "totalFrames", "totalFramesDuration",
              "latency", "averageLatency", "minimumLatency", "maximumLatency"}


class VirtualClock:
    def __init__(self):
        self.time = 0.0

    def now(self) -> float:
        return self.time


def track_of(kind: str, constraints=None, *, live=True, frame_limit=None,
             events=None) -> MediaStreamTrack:
    if kind == "video":
        device = Device(VIDEO_INPUT, "Cam", "virtual:cam", "g", "virtual",
                        modes=(VideoMode(64, 48, float(RATE)),), source="pattern")
    else:
        caps = AudioCaps(sample_rate=ValueSet.of(48000), sample_size=ValueSet.of(16),
                         channel_count=ValueSet.range(1, 1), latency=ValueSet.range(0.01, 0.1),
                         echo_cancellation=(False,), auto_gain_control=(False,),
                         noise_suppression=(False,))
        device = Device(AUDIO_INPUT, "Mic", "virtual:mic", "g", "virtual", audio=caps,
                        source="tone")
    assign_ids([device], IdHasher(b"k" * 32))
    parsed = parse_track_constraints(constraints or {}, kind)
    selection = select_settings(parsed, [device], kind)
    return MediaStreamTrack(kind, device, selection.settings, parsed,
                            events or EventLog(VirtualClock()), threading.Condition(),
                            live=live, mode=selection.mode, frame_limit=frame_limit)


def video(track, n: int) -> None:
    track.deliver(VideoFrame(np.zeros(i420_size(64, 48), np.uint8), 64, 48, n, 1 / RATE,
                             n / RATE, n))


def audio(track, n: int, samples: int = 480) -> None:
    """Chunk n of a 48 kHz microphone, captured at n x its own length."""
    track.deliver(AudioFrame(np.zeros((samples, 1), np.int16), 48000, n * samples,
                             n * samples / 48000))


def test_a_live_source_whose_outputs_stall_loses_the_oldest_frames():
    # Nobody takes frames for 40 frame times: the queue keeps the last 30, the 10 before
    # them were never delivered.
    track = track_of("video")
    for n in range(40):
        video(track, n)
    assert track.stats_snapshot() == {"deliveredFrames": 0, "discardedFrames": 0,
                                      "totalFrames": 10}  # the queued 30 not yet counted
    taken = track.take(now=40 / RATE)
    assert [f.index for f in taken] == list(range(10, 40))
    assert track.stats_snapshot() == {"deliveredFrames": VIDEO_QUEUE_FRAMES,
                                      "discardedFrames": 0, "totalFrames": 40}
    assert track.stats()["drops"] == 10  # the existing count agrees


def test_a_source_that_waits_for_the_outputs_loses_nothing():
    track = track_of("video", live=False)  # a file or an unpaced source: it waits
    for n in range(VIDEO_QUEUE_FRAMES):
        video(track, n)
    track.take()
    assert track.stats_snapshot()["totalFrames"] == track.stats_snapshot()["deliveredFrames"]


def test_frames_decimated_to_the_settings_rate_are_discarded():
    track = track_of("video", {"frameRate": 10})
    assert track.settings["frameRate"] == 10
    for n in range(30):  # a second of the camera's 30 fps
        video(track, n)
    track.take(now=1.0)
    assert track.stats_snapshot() == {"deliveredFrames": 10, "discardedFrames": 20,
                                      "totalFrames": 30}


def test_frames_past_the_users_frame_limit_are_not_counted():
    track = track_of("video", {"frameRate": 10}, frame_limit=3)
    for n in range(30):
        video(track, n)
    track.take(now=1.0)
    # --frames 3 at 10 fps: frames 0, 3, 6 delivered, the 4 decimated between them
    # discarded; what came after the third is not part of the capture.
    assert track.stats_snapshot() == {"deliveredFrames": 3, "discardedFrames": 4,
                                      "totalFrames": 7}


def test_audio_frames_are_samples_and_durations_milliseconds():
    track = track_of("audio")
    for n in range(100):  # a second of 10 ms chunks
        audio(track, n)
    track.take(now=1.0)
    stats = track.stats_snapshot()
    assert set(stats) == AUDIO_KEYS
    assert (stats["deliveredFrames"], stats["deliveredFramesDuration"]) == (48000, 1000.0)
    assert (stats["totalFrames"], stats["totalFramesDuration"]) == (48000, 1000.0)


def test_audio_latency_is_capture_to_delivery_weighted_by_frames():
    track = track_of("audio")
    audio(track, 0, samples=480)  # 0 .. 10 ms
    audio(track, 1, samples=480)  # 10 .. 20 ms
    track.take(now=0.050)  # latencies 50 and 40 ms (from each chunk's first sample)
    audio(track, 3, samples=960)  # 60 .. 80 ms, after a 40 ms gap
    track.take(now=0.070)  # 10 ms
    stats = track.stats_snapshot()
    assert stats["latency"] == 10.0
    assert stats["minimumLatency"] == 10.0 and stats["maximumLatency"] == 50.0
    assert stats["averageLatency"] == pytest.approx((50 * 480 + 40 * 480 + 10 * 960) / 1920)


def test_no_latency_without_real_capture_times():
    track = track_of("audio")
    audio(track, 0)
    track.take(now=None)  # an unpaced virtual source: frame times are nominal
    stats = track.stats_snapshot()
    assert stats["deliveredFrames"] == 480
    assert [stats[k] for k in ("latency", "averageLatency", "minimumLatency",
                               "maximumLatency")] == [None] * 4


def test_audio_the_device_lost_counts_as_never_delivered():
    # PortAudio overflowed twice (two 10 ms blocks) and a third block was dropped from the
    # track's full queue: 30 ms of 48 kHz frames never delivered.
    track = track_of("audio")
    track.frames_lost(480, 48000)
    track.frames_lost(160, 16000)  # a device rate other than the track's: counted at the track's
    for n in range(101):  # one chunk more than the queue holds
        audio(track, n)
    track.take(now=1.1)
    stats = track.stats_snapshot()
    assert stats["deliveredFrames"] == 100 * 480
    assert stats["totalFrames"] - stats["deliveredFrames"] == 3 * 480
    assert stats["totalFramesDuration"] - stats["deliveredFramesDuration"] == \
        pytest.approx(30.0)


def test_nothing_counts_after_the_track_ended():
    track = track_of("video")
    video(track, 0)
    track.source_finished()
    video(track, 1)
    track.frames_lost(5)
    track.take(now=0.1)
    assert track.stats_snapshot()["totalFrames"] == 1


def test_the_stopped_detail_carries_the_stats_beside_the_existing_keys():
    for kind, keys in (("video", VIDEO_KEYS), ("audio", AUDIO_KEYS)):
        track = track_of(kind)
        (video if kind == "video" else audio)(track, 0)
        track.take(now=0.05)
        detail = track.stats()
        assert {"trackId", "kind", "label", "frames", "drops", "duration"} <= set(detail)
        assert set(detail["stats"]) == keys and detail["stats"]["deliveredFrames"] > 0


def test_stats_events_come_at_their_period_of_the_capture_clock():
    clock = VirtualClock()
    events = EventLog(clock)
    tracks = [track_of("video", events=events), track_of("audio", events=events)]
    ticker = StatsEvents(0.5, events)
    n = 0
    for now in (0.0, 0.2, 0.49, 0.5, 0.74, 1.003, 1.2):
        clock.time = now
        while n / RATE <= now:
            video(tracks[0], n)
            n += 1
        tracks[0].take(now)
        ticker.poll(now, tracks)
    clock.time = 2.7  # the writer was held up (a slow reader) past three periods
    ticker.poll(2.7, tracks)
    tracks[1].source_finished()  # an ended track's stats do not change any more
    ticker.poll(3.0, tracks)
    got = [(e["time"], e["kind"]) for e in events.history if e["event"] == "stats"]
    assert got == [(0.5, "video"), (0.5, "audio"), (1.003, "video"), (1.003, "audio"),
                   (2.7, "video"), (2.7, "audio"), (3.0, "video")]
    first = events.history[0]
    assert first["event"] == "stats" and first["detail"] == {
        "deliveredFrames": 16, "discardedFrames": 0, "totalFrames": 16}  # frames 0 .. 15
    assert first["target"] == "track" and first["trackId"] == tracks[0].id


def grid_losses(intervals, stall=3.5) -> int:
    grid, stamp, lost = FrameGrid(stall), 100.0, 0
    lost += grid.lost(stamp)
    for step in intervals:
        stamp += step
        lost += grid.lost(stamp)
    return lost


def test_a_gap_of_whole_frame_intervals_is_frames_the_driver_lost():
    t = 1 / RATE
    assert grid_losses([t] * 10 + [2 * t] + [t] * 10) == 1
    assert grid_losses([t] * 10 + [3 * t] + [t] * 10 + [2 * t] + [t]) == 3


def test_jitter_and_a_slower_camera_are_not_lost_frames():
    t = 1 / 12.5
    jitter = [t + 0.012 * (-1) ** n for n in range(30)]  # vivid's +-12 ms at 12.5 fps
    assert grid_losses(jitter) == 0
    # A webcam in low light halves its rate (exposure priority): nothing was lost.
    assert grid_losses([1 / 30] * 20 + [1 / 15] * 20) == 0


def test_a_stall_is_not_lost_frames():
    t = 1 / RATE
    assert grid_losses([t] * 10 + [1.0] + [t] * 10) == 0  # the track mutes on it instead

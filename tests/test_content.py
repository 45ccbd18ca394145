"""Content conditions (issue 12) without a capture: the runs' bookkeeping, and the watchers
fed hand-made frames on a hand-made timeline (media time, no clock)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from mscli.content import DEFAULTS
from mscli.content.analysis import SAMPLE_COLUMNS, SAMPLE_ROWS, luma_sample, watch
from mscli.content.runs import ConditionRuns
from mscli.events import CaptureClock, EventLog
from mscli.liveview import LiveView
from mscli.media.frames import AudioFrame, VideoFrame
from mscli.media.pattern import PatternGenerator
from mscli.media.tone import ToneGenerator
from mscli.track import FrameTimes, blank

RATE = 30


def runs(after=0.0, hold=0.0):
    edges = []
    return ConditionRuns(after, hold, lambda active, at: edges.append((active, at))), edges


def feed(r, flags, step=0.1, start=0.0):
    for i, holds in enumerate(flags):
        r.observe(round(start + i * step, 6), holds)


# --- the runs -------------------------------------------------------------------------------


def test_a_run_begins_at_its_first_observation_once_it_lasted_the_window():
    r, edges = runs(after=0.5)
    feed(r, [False] * 3 + [True] * 4)  # 0.3 .. 0.6: not yet 0.5 s long
    assert edges == [] and not r.active
    r.observe(0.8, True)
    assert edges == [(True, 0.3)] and r.active
    r.observe(0.9, False)
    assert edges == [(True, 0.3), (False, 0.9)] and r.seconds == pytest.approx(0.6)


def test_a_run_shorter_than_the_window_is_nothing():
    r, edges = runs(after=0.5)
    feed(r, [True] * 4 + [False] * 3)
    r.finish(1.0)
    assert edges == [] and r.seconds == 0.0


def test_sparse_observations_prove_a_run_long_at_its_end():
    """One frame a second: a black frame shows for the whole second until the next."""
    r, edges = runs(after=0.5)
    r.observe(2.0, True)
    r.observe(3.0, False)
    assert edges == [(True, 2.0), (False, 3.0)] and r.seconds == 1.0


def test_hold_joins_runs_with_short_gaps_and_ends_at_the_first_gap():
    r, edges = runs(hold=0.25)
    feed(r, [True, False, True, False, False, False, False], step=0.1)
    assert edges == [(True, 0.0), (False, 0.3)]
    assert r.seconds == pytest.approx(0.3)


def test_finish_counts_an_open_run_without_an_end_event():
    r, edges = runs(after=0.5)
    feed(r, [False, True, True, True, True, True, True, True])
    r.finish(0.8)
    assert edges == [(True, 0.1)] and r.seconds == pytest.approx(0.7)
    assert r.total(5.0) == pytest.approx(0.7)


# --- the watchers ----------------------------------------------------------------------------


class FakeTrack:
    def __init__(self, kind):
        self.kind, self.id, self.label = kind, f"{kind}-id", f"{kind} label"
        self._events = EventLog(CaptureClock())
        self.ready_state = "live"

    def edges(self):
        return [(e["detail"]["condition"], e["detail"]["active"], e["time"])
                for e in self._events.history if e["event"] == "content"]


def video(track, seconds, options=DEFAULTS, black=(), frozen=(), size=(320, 240)):
    """The pattern at 30 fps for `seconds`; frames in a `black` (from, to) span are black,
    frames in a `frozen` span repeat the last frame before it."""
    content = watch(track, options)
    gen = PatternGenerator(*size, RATE)
    still = None
    for i in range(round(seconds * RATE)):
        t = i / RATE
        frame = VideoFrame(gen.frame(i), *size, i, 1 / RATE, t, i)
        if any(a <= t < b for a, b in frozen):
            frame = frame.replace(data=still)
        elif any(a <= t < b for a, b in black):
            frame = blank(frame)
        still = frame.data
        content.observe(frame)
    return content


def test_black_and_frozen_seconds_and_their_edges():
    track = FakeTrack("video")
    content = video(track, 6, black=[(1, 2)], frozen=[(3, 4.5)])
    assert content.summary() == {"black": 1.0, "frozen": 1.5}
    assert track.edges() == [("black", True, 1.0), ("black", False, 2.0),
                             ("frozen", True, 3.0), ("frozen", False, 4.5)]


def test_the_moving_pattern_is_neither_black_nor_frozen_even_at_its_flashes():
    track = FakeTrack("video")
    assert video(track, 4).summary() == {"black": 0.0, "frozen": 0.0}
    assert track.edges() == []


def test_a_black_picture_running_to_the_end_counts_its_last_frame():
    track = FakeTrack("video")
    content = video(track, 3, black=[(2, 99)])
    assert content.summary()["black"] == pytest.approx(1.0, abs=1e-3)
    assert track.edges() == [("black", True, 2.0)]  # the track stopped, not the black


def test_black_level_and_frozen_after_options():
    dark = VideoFrame(np.full(320 * 240 * 3 // 2, 40, np.uint8), 320, 240, 0, 1 / RATE, 0, 0)
    for level, expected in ((32, 0.0), (48, 1.0)):
        track = FakeTrack("video")
        content = watch(track, replace(DEFAULTS, black_level=level))
        for i in range(RATE):
            content.observe(dark.replace(time=i / RATE, data=dark.data + (i % 2)))
        assert content.summary()["black"] == pytest.approx(expected, abs=1e-3), level
    # a 1.5 s freeze is frozen after 0.5 s (the default), not after 2 s
    assert video(FakeTrack("video"), 4, frozen=[(1, 2.5)]).summary()["frozen"] == 1.5
    late = replace(DEFAULTS, frozen_after=2.0)
    assert video(FakeTrack("video"), 4, late, frozen=[(1, 2.5)]).summary()["frozen"] == 0.0


def test_the_luma_sample_is_a_few_thousand_points_of_any_frame():
    for width, height in ((1920, 1080), (640, 480), (33, 17), (1, 1)):
        sample = luma_sample(np.zeros((height, width), np.uint8))
        assert sample.size <= SAMPLE_COLUMNS * SAMPLE_ROWS
        assert sample.size >= min(width * height, SAMPLE_COLUMNS * SAMPLE_ROWS // 2)


def audio(track, seconds, options=DEFAULTS, silent=(), gain=1.0, rate=48000, chunk=480):
    content = watch(track, options)
    gen = ToneGenerator(rate, 2)
    for start in range(0, round(seconds * rate), chunk):
        t = start / rate
        data = gen.samples(start, chunk)
        if any(a <= t < b for a, b in silent):
            data = np.zeros_like(data)
        elif gain != 1.0:
            data = np.clip(data * gain, -32768, 32767).astype(np.int16)
        content.observe(AudioFrame(data, rate, start, t))
    return content


def test_silence_seconds_edges_level_and_peak():
    track = FakeTrack("audio")
    summary = audio(track, 4, silent=[(1, 2.5)]).summary()
    assert summary["silence"] == pytest.approx(1.5, abs=0.02)
    assert summary["clipping"] == 0
    assert summary["peak"] == pytest.approx(-0.92, abs=0.01)  # the tone's clicks at 0.9
    # the -20 dBFS sine (RMS -23 dBFS) over 2.5 s of 4, clicks aside
    assert summary["level"] == pytest.approx(-23 + 10 * np.log10(2.5 / 4), abs=0.5)
    assert track.edges() == [("silence", True, 1.0), ("silence", False, 2.5)]


def test_clipping_counts_samples_at_full_scale_and_is_one_run():
    track = FakeTrack("audio")
    summary = audio(track, 1, gain=20.0).summary()  # 2.0 of full scale: most samples clip
    data = np.clip(ToneGenerator(48000, 2).samples(0, 48000) * 20.0, -32768, 32767)
    assert summary["clipping"] == np.count_nonzero(np.abs(data) >= 32767)
    assert summary["peak"] == 0.0
    assert track.edges() == [("clipping", True, 0.0)]


def test_digital_silence_reports_the_floor_not_minus_infinity():
    summary = audio(FakeTrack("audio"), 1, silent=[(0, 1)]).summary()
    assert summary["level"] == summary["peak"] == -120.0 and summary["silence"] == 1.0


def test_silence_options_set_the_floor_and_the_window():
    loud = replace(DEFAULTS, silence_below=-10.0)  # the tone itself is "silence" now
    assert audio(FakeTrack("audio"), 2, loud).summary()["silence"] == pytest.approx(2.0)
    short = audio(FakeTrack("audio"), 3, silent=[(1, 1.4)]).summary()
    assert short["silence"] == 0.0  # 0.4 s is not 0.5 s
    quick = replace(DEFAULTS, silence_after=0.2)
    assert audio(FakeTrack("audio"), 3, quick, silent=[(1, 1.4)]).summary()["silence"] \
        == pytest.approx(0.4)


def test_the_live_view_names_the_conditions_that_hold_beside_muted():
    camera, mic = FakeTrack("video"), FakeTrack("audio")
    camera.content = video(camera, 2, black=[(1, 99)])
    mic.content = audio(mic, 1, silent=[(0, 99)])
    mic.muted, camera.muted = True, False
    for t in (camera, mic):
        t.frames = t.drops = 0
    session = SimpleNamespace(clock=SimpleNamespace(now=lambda: 2.0), tracks=[camera, mic],
                              outputs=[], audio_level=None, written_video=FrameTimes(1.0))
    status = LiveView(show_events=True)._status(session)
    assert "MUTED: audio label" in status
    assert "BLACK: video label" in status and "SILENT: audio label" in status
    assert "FROZEN" not in status and "CLIPPING" not in status

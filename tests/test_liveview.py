"""What a capture shows on stderr besides errors: the live view's figures (driven here by an
injected capture clock and fake frames, no real time) and what -q leaves out."""

from __future__ import annotations

import json
import random
import re
from types import SimpleNamespace

import pytest

from mscli.liveview import LiveView, stats_line
from mscli.session import WRITTEN_RATE_SECONDS
from mscli.track import FrameTimes


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def now(self) -> float:
        return self.t


def _session(clock) -> SimpleNamespace:
    video = SimpleNamespace(kind="video", label="Cam", frames=0, drops=0, muted=False,
                            ready_state="live", content=None)
    return SimpleNamespace(clock=clock, tracks=[video], outputs=[], audio_level=None,
                           written_video=FrameTimes(WRITTEN_RATE_SECONDS))


def _fps(view: LiveView, session) -> float:
    return float(re.search(r"([\d.]+) fps", view._status(session)).group(1))


def _run(view, session, clock, rate: float, until: float, rng, start: float = 0.0):
    """Frames at `rate` written as the clock passes them, the view drawn at ~10 Hz with the
    jitter of a busy machine; yields (time, fps shown) after each draw."""
    track = session.tracks[0]
    next_frame = start
    while clock.t < until:
        clock.t += rng.uniform(0.07, 0.13)
        while next_frame <= clock.t:
            session.written_video.add(next_frame)
            track.frames += 1
            next_frame += 1 / rate
        yield clock.t, _fps(view, session)


def test_fps_of_a_steady_30fps_source_reads_30():
    """It read 21-32: frames counted between two draws 0.1 s apart (three frames, give or
    take one)."""
    clock, rng = FakeClock(), random.Random(5)
    session, view = _session(clock), LiveView(show_events=True)
    shown = [fps for t, fps in _run(view, session, clock, 30, 10.0, rng)
             if t >= WRITTEN_RATE_SECONDS]
    assert shown and set(shown) == {30.0}, sorted(set(shown))


def test_fps_follows_a_rate_change_and_a_mute():
    clock, rng = FakeClock(), random.Random(6)
    session, view = _session(clock), LiveView(show_events=True)
    list(_run(view, session, clock, 30, 3.0, rng))
    after = [fps for t, fps in _run(view, session, clock, 10, 8.0, rng, start=clock.t)
             if t >= 3.0 + WRITTEN_RATE_SECONDS + 0.2]
    assert after and set(after) == {10.0}, sorted(set(after))
    session.tracks[0].muted = True
    assert _fps(view, session) == 0.0


def test_stats_events_are_one_line_of_the_latest_not_log_entries():
    view = LiveView(show_events=True)
    for delivered in (15, 30):
        view.add_event({"event": "stats", "trackId": "v", "kind": "video", "label": "Cam",
                        "detail": {"deliveredFrames": delivered, "discardedFrames": 2 * delivered,
                                   "totalFrames": 3 * delivered + 1}})
    view.add_event({"event": "stats", "trackId": "a", "kind": "audio", "label": "Mic",
                    "detail": {"deliveredFrames": 48000, "deliveredFramesDuration": 1000.0,
                               "totalFrames": 48480, "totalFramesDuration": 1010.0,
                               "latency": 11.0, "averageLatency": 10.56,
                               "minimumLatency": 10.0, "maximumLatency": 12.0}})
    assert not view._events
    assert stats_line(view._stats.values()) == (
        "stats  Cam: 30 delivered, 60 discarded, 1 lost  |  "
        "Mic: 1.0 s delivered, 10 ms lost, latency 10.6 ms")


def test_quiet_leaves_stderr_to_errors(ms, tmp_path):
    """-q: no warnings, no live view, no events on stderr, terminal or not; an --events FILE
    the user asked for still gets them (stopped included)."""
    c = '{"video": true, "vidoe": true}'  # an unknown name: a warning without -q
    loud = ms("capture", "--fake", "-c", c, "-t", "0.5", "--unpaced", "-o", "null")
    assert loud.code == 0 and "warning" in loud.err and '"stopped"' in loud.err
    quiet = ms("capture", "-q", "--fake", "-c", c, "-t", "0.5", "--unpaced", "-o", "null")
    assert quiet.code == 0 and quiet.err == ""
    events = tmp_path / "events.ndjson"
    to_file = ms("capture", "-q", "--fake", "-c", c, "-t", "0.5", "--unpaced", "-o", "null",
                 "--events", str(events))
    assert to_file.code == 0 and to_file.err == ""
    assert [json.loads(line)["event"] for line in events.read_text().splitlines()] == \
        ["stopped"]


@pytest.mark.parametrize("where", ["-q capture", "capture -q"])
def test_quiet_keeps_the_error_line(ms, where):
    first, second = where.split()
    result = ms(first, second, "--fake", "-c", '{"video": {"width": {"min": 99999}}}',
                "-o", "null")
    assert result.code == 4
    assert result.err.startswith("ms: OverconstrainedError: ")

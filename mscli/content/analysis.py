"""The watchers a track feeds with every frame it delivers (track.py `deliver`, on the
source's thread). Their cost is what keeps them on by default: a video frame is looked at
through a strided view of its Y plane, about SAMPLE_COLUMNS x SAMPLE_ROWS points whatever the
size (3,600 bytes copied of a 3 MB 1080p frame), and an audio chunk through its sum of squares,
minimum and maximum."""

from __future__ import annotations

import math

import numpy as np

from mscli.content import ContentOptions
from mscli.content.runs import ConditionRuns

SAMPLE_COLUMNS, SAMPLE_ROWS = 80, 45
BLACK_SHARE = 0.98  # of the samples at or below the black level: ffmpeg blackdetect's 0.98
FULL_SCALE = 32768.0  # int16: dBFS are relative to this, as the live view's meter
INT16_MAX, INT16_MIN = 32767, -32768
FLOOR_DBFS = -120.0  # what digital silence (no sample above 0) reports: JSON has no -inf


def watch(track, options: ContentOptions):
    """The watcher for the track's kind."""
    return (VideoContent if track.kind == "video" else AudioContent)(track, options)


def dbfs(amplitude: float) -> float:
    """An amplitude (full scale 1.0) in dBFS, FLOOR_DBFS for nothing at all."""
    return round(max(FLOOR_DBFS, 20 * math.log10(amplitude)) if amplitude > 0 else FLOOR_DBFS, 2)


class Watcher:
    """The conditions of one track, each reporting its edges as `content` events."""

    conditions: dict[str, ConditionRuns]

    def __init__(self, track):
        self._track = track
        self._finished = False

    def _runs(self, name: str, after: float, hold: float = 0.0) -> ConditionRuns:
        def report(active: bool, at: float) -> None:
            self._track._events.emit("content", track=self._track, at=at,
                                     detail={"condition": name, "active": active})

        return ConditionRuns(after, hold, report)

    def active(self) -> list[str]:
        """The conditions that hold now (the live view)."""
        return [name for name, runs in self.conditions.items() if runs.active]

    def finish(self, end: float | None) -> None:
        """The track delivers no more: runs still open count up to `end`. Once."""
        if self._finished or end is None:
            return
        self._finished = True
        for runs in self.conditions.values():
            runs.finish(end)


class VideoContent(Watcher):
    def __init__(self, track, options: ContentOptions):
        super().__init__(track)
        self.options = options
        self.conditions = {"black": self._runs("black", options.black_after),
                           "frozen": self._runs("frozen", options.frozen_after)}
        self._previous: np.ndarray | None = None
        self._last: float | None = None  # the last frame's time
        self._interval = 0.0  # between the last two frames: how long the last one shows

    def observe(self, frame) -> None:
        sample = luma_sample(frame.y)
        t = frame.time
        bright = np.count_nonzero(sample > self.options.black_level)
        black = bright <= (1 - BLACK_SHARE) * sample.size
        self.conditions["black"].observe(t, black)
        # A frame the same as the one before: the picture has not changed since that one
        # (the run starts at the first repeat, ends at the first new picture). A black
        # picture is black, not also frozen.
        previous, self._previous = self._previous, sample
        if previous is not None and previous.shape == sample.shape:
            change = np.abs(sample - previous).mean()
            self.conditions["frozen"].observe(t, not black
                                              and change < self.options.frozen_diff)
        if self._last is not None:
            self._interval = t - self._last
        self._last = t

    def summary(self) -> dict:
        self.finish(None if self._last is None else self._last + self._interval)
        return {name: round(runs.seconds, 3) for name, runs in self.conditions.items()}


def luma_sample(y: np.ndarray) -> np.ndarray:
    """At most SAMPLE_COLUMNS x SAMPLE_ROWS points of a Y plane (2-D), evenly spread, as
    int16 (differences of two samples do not wrap). Only the points are copied."""
    height, width = y.shape
    step_x = -(-width // SAMPLE_COLUMNS)  # ceil: never more points than that
    step_y = -(-height // SAMPLE_ROWS)
    return y[step_y // 2::step_y, step_x // 2::step_x].astype(np.int16)


class AudioContent(Watcher):
    def __init__(self, track, options: ContentOptions):
        super().__init__(track)
        self.conditions = {"silence": self._runs("silence", options.silence_after),
                           "clipping": self._runs("clipping", 0.0, options.clipping_hold)}
        self._floor = 10 ** (options.silence_below / 20) * FULL_SCALE  # RMS, in int16 units
        self._squares = 0.0  # of every sample so far, for the level of the whole capture
        self._count = 0
        self._peak = 0
        self.clipped = 0  # samples at full scale
        self._end: float | None = None

    def observe(self, frame) -> None:
        data = frame.data
        if data.size == 0:
            return
        flat = data.reshape(-1).astype(np.float32)
        squares = float(np.dot(flat, flat))
        self._squares += squares
        self._count += flat.size
        high, low = int(data.max()), int(data.min())
        self._peak = max(self._peak, high, -low)
        clipped = 0
        if high >= INT16_MAX or low <= INT16_MIN:
            clipped = int(np.count_nonzero(data >= INT16_MAX)
                          + np.count_nonzero(data <= INT16_MIN))
            self.clipped += clipped
        t = frame.time
        self.conditions["silence"].observe(t, math.sqrt(squares / flat.size) < self._floor)
        self.conditions["clipping"].observe(t, clipped > 0)
        self._end = t + frame.samples / frame.sample_rate

    def summary(self) -> dict:
        self.finish(self._end)
        rms = math.sqrt(self._squares / self._count) if self._count else 0.0
        return {"silence": round(self.conditions["silence"].seconds, 3),
                "clipping": self.clipped,
                "level": dbfs(rms / FULL_SCALE), "peak": dbfs(self._peak / FULL_SCALE)}

"""The spec's track statistics (mediacapture-extensions, MediaStreamTrack.stats), counted
where ms really delivers, discards or loses a frame.

- delivered: the writer took the frame from the track's queue for the outputs (`take`).
- discarded (video): frame-rate decimation chose not to deliver it, as Chrome counts it (the
  web-platform test "discardedFrames increases when frameRate decimation is happening").
- never delivered (counted in totalFrames only): a live source's queue was full and the oldest
  frame made room (the outputs fell behind), or the device lost it before ms saw it (PortAudio
  input overflow; a gap in a V4L2 camera's frame timestamps, see FrameGrid).

A frame counts once it is one of these: the few still waiting in the queue count at the next
snapshot. Audio frames are the spec's: one sample per channel, so a 10 ms chunk at 48 kHz is
480 frames; durations and latencies are in milliseconds. Latency is capture to delivery,
weighted by frames in the average as Chrome does.

Each counter has one writer thread (the source's, PortAudio's callback, or the writer), so no
lock is needed and a PortAudio callback never waits; a snapshot from any thread may be a frame
apart between counters, never wrong for long.
"""

from __future__ import annotations

GRID_INTERVALS = 9  # a camera's frame interval is the median of its last this many


class TrackStats:
    def __init__(self, kind: str, sample_rate: float | None = None):
        self.kind = kind
        self.sample_rate = sample_rate  # audio: the track's rate, frames are counted in it
        self.delivered = 0
        self.delivered_seconds = 0.0
        self.discarded = 0
        self.lost = 0  # never delivered: dropped from a full queue or lost by the device
        self.lost_seconds = 0.0
        self._latency: float | None = None  # seconds, of the last delivered chunk
        self._latency_min = float("inf")
        self._latency_max = 0.0
        self._latency_sum = 0.0  # seconds x frames
        self._latency_frames = 0

    # --- counting ----------------------------------------------------------------------------

    def delivered_frame(self, frame, now: float | None) -> None:
        """The writer took `frame`; `now` is the capture clock's time then, or None when frame
        times are not real capture times (unpaced virtual sources): no latency."""
        if self.kind == "video":
            self.delivered += 1
            return
        self.delivered += frame.samples
        self.delivered_seconds += frame.samples / frame.sample_rate
        if now is not None:
            self._add_latency(max(0.0, now - frame.time), frame.samples)

    def discarded_frame(self) -> None:
        self.discarded += 1

    def lost_frame(self, frame) -> None:
        """A frame (or audio chunk) that was queued for delivery and dropped instead."""
        if self.kind == "video":
            self.lost += 1
        else:
            self.lost_frames(frame.samples, frame.sample_rate)

    def lost_frames(self, count: int, sample_rate: float | None = None) -> None:
        """The device lost `count` frames (audio: samples at `sample_rate`)."""
        if self.kind == "video":
            self.lost += count
            return
        self.lost += round(count * self.sample_rate / sample_rate)
        self.lost_seconds += count / sample_rate

    def _add_latency(self, seconds: float, frames: int) -> None:
        self._latency = seconds
        self._latency_min = min(self._latency_min, seconds)
        self._latency_max = max(self._latency_max, seconds)
        self._latency_sum += seconds * frames
        self._latency_frames += frames

    # --- reading -----------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """MediaStreamTrackVideoStats / MediaStreamTrackAudioStats as JSON (toJSON())."""
        if self.kind == "video":
            return {"deliveredFrames": self.delivered, "discardedFrames": self.discarded,
                    "totalFrames": self.delivered + self.discarded + self.lost}
        measured = self._latency is not None
        return {
            "deliveredFrames": self.delivered,
            "deliveredFramesDuration": _ms(self.delivered_seconds),
            "totalFrames": self.delivered + self.lost,
            "totalFramesDuration": _ms(self.delivered_seconds + self.lost_seconds),
            # null until a latency was measured (and in unpaced runs, where frame times are
            # nominal, not the moment of capture)
            "latency": _ms(self._latency) if measured else None,
            "averageLatency": _ms(self._latency_sum / self._latency_frames) if measured
            else None,
            "minimumLatency": _ms(self._latency_min) if measured else None,
            "maximumLatency": _ms(self._latency_max) if measured else None,
        }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


class FrameGrid:
    """Frames a camera's driver lost, from its buffer timestamps: OpenCV hides the V4L2
    buffer's sequence number, but a frame missing from the sequence leaves a gap of whole
    frame intervals between the timestamps around it.

    The interval is the median of the recent ones, not the mode's nominal rate, and a gap
    counts only once the next interval is back on the grid: a webcam that slows down in low
    light (exposure priority) gives long intervals one after the other and lost nothing. A
    gap as long as `stall_intervals` is a stall (the track mutes), not lost frames: the camera
    may have produced nothing. Two losses in a row look like a change of rate, and count as
    one."""

    def __init__(self, stall_intervals: float):
        # Imported here: only a camera's track has a grid, and statistics is ~1.5 ms of every
        # capture's start-up (with random, which it imports).
        from statistics import median

        self._median = median
        self.stall_intervals = stall_intervals
        self._last: float | None = None
        self._intervals: list[float] = []
        # (frames missing in the last gap, the interval they were measured in): lost if the
        # next interval is one of that
        self._pending: tuple[int, float] | None = None

    def lost(self, stamp: float) -> int:
        """Frames found missing now that a frame stamped `stamp` (seconds) came."""
        last, self._last = self._last, stamp
        if last is None or stamp <= last:
            return 0
        gap = stamp - last
        interval = self._median(self._intervals) if self._intervals else None
        self._intervals = (self._intervals + [gap])[-GRID_INTERVALS:]
        pending, self._pending = self._pending, None
        if pending is not None and round(gap / pending[1]) <= 1:
            return pending[0]  # back on the grid: the gap before it was frames lost
        if interval is None:
            return 0
        steps = round(gap / interval)
        if steps > 1 and gap < self.stall_intervals * interval:
            self._pending = (steps - 1, interval)
        return 0


class StatsEvents:
    """--stats SECONDS: a `stats` event per live track, its detail the snapshot, every period
    of the capture clock. A writer held up past several periods (a slow reader) emits once
    when it is back, not a burst of equal snapshots."""

    def __init__(self, period: float, events):
        self.period = period
        self._events = events
        self._next = period

    @property
    def due(self) -> float:
        """The capture time of the next events."""
        return self._next

    def poll(self, now: float, tracks) -> None:
        if now < self._next:
            return
        self._next = (now // self.period + 1) * self.period
        for track in tracks:
            if track.ready_state == "live":
                self._events.emit("stats", track=track, detail=track.stats_snapshot(),
                                  at=now)

"""Capture times for the frames of a network stream: its own timestamps, anchored on arrival.

One timeline per stream, shared by its video and audio: both kinds are dated on one anchor,
so the offset between them is the sender's (a stream's timestamps share one clock), not the
accident of which frame of each happened to come least delayed.

A frame's capture time is its stream timestamp plus an offset, the smallest (arrival -
timestamp) seen while the anchor settles: the least delayed frame sets it, so a burst of
frames keeps its spacing. It settles over the backlog of the open (below), or over
SETTLE_SECONDS of stream after a new anchor. Three things give a new anchor: a frame later
than REANCHOR_SECONDS behind it (the sender paused, or its clock jumped: following the old
anchor would stamp every later frame that much in the past), one earlier than EARLY_SECONDS
ahead of it (the sender's clock ran ahead), and a timestamp that goes back (a restarted
sender). A frame early by less, once the anchor settled, keeps its place on the timeline,
dated a little after its arrival: a sender's muxer holds video for the audio it interleaves
and flushes its tail at once when it stops, and that burst dated at its arrival would share
one output slot and lose all but one frame. Capture times only ever rise, for each kind.

The anchor is also put on the video track's output grid (align_to): a recording writes one
video frame per interval of its frame rate, each in the slot its capture time falls in (track.py
VideoProcessor), so a frame dated between two slots is recorded up to an interval early, its
audio not: a stream whose frames fall on the grid keeps the sender's A/V offset exactly (within
a slot, ms -> ms measured -3 to +30 ms before). The anchor moves forward by less than an interval
for it (not back: the frame that ends a mute would be dated before the mute).

The first frames are held until the stream runs at its own pace. Opening a stream reads
ahead (probing its format), so a capture starts with a backlog that the decoder hands over
all at once; dated by arrival, those frames would share an instant and be decimated away.
Held, they are dated from the first frames that came at the stream's pace, and those that
fall before the capture began (capture time < 0) are left out: a camera delivers nothing from
before it was opened either.
"""

from __future__ import annotations

import math

# Later than this behind the anchor: a new anchor, not jitter. Below the network source's
# mute threshold (0.5 s): the frame that ends a mute is dated when it came, after the mute.
REANCHOR_SECONDS = 0.25
# Earlier than this ahead of the anchor: a new anchor. A sender's final burst came up to
# ~0.1 s ahead here (ms's MPEG-TS and FLV muxers holding video for the audio beside it).
EARLY_SECONDS = 0.25
SETTLE_SECONDS = 0.5  # of stream after a new anchor, over which it takes the least delayed frame
MIN_STEP = 1e-4  # seconds between two capture times, when timestamps repeat or go back
# Two frames in a row that each took at least this share of their timestamp step to come
# follow the stream's pace: the backlog is drained.
PACED_SHARE = 0.5
HOLD_SECONDS = 2.0  # of stream held at most: a stream read faster than real time is let go
HOLD_FRAMES = 120


class StreamTimeline:
    def __init__(self):
        self._offset: float | None = None
        self._least: float | None = None  # the offset before the grid moved it back
        self._grid: float | None = None  # seconds between the video output's slots
        self._video_stamp: float | None = None  # a video frame's stamp: where the grid falls
        self._settling_until: float | None = None  # stream time; None: settled
        self._last_stamp: dict[str, float] = {}  # per kind
        self._last_time: dict[str, float] = {}
        self._last_arrival: dict[str, float] = {}
        # (kind, stamp, arrival, item) held until the stream is paced; then None
        self._held: list[tuple[str, float, float, object]] | None = []

    def align_to(self, interval: float) -> None:
        """Anchors video frames on multiples of `interval` (the video track's frame interval)."""
        self._grid = interval

    def _anchor(self, offset: float) -> float:
        """`offset` moved forward (by less than an interval) to put the stream's video frames
        on the grid: not back, or a frame that ends a mute could be dated before it."""
        if self._grid is None or self._video_stamp is None:
            return offset
        slots = math.ceil((self._video_stamp + offset) / self._grid - 1e-6)
        return slots * self._grid - self._video_stamp

    def add(self, stamp: float | None, arrival: float, item,
            kind: str = "video") -> list[tuple[float, object]]:
        """(capture time, item) for what can be delivered now, given a frame (`item`, of
        `kind`) with stream timestamp `stamp` (seconds; None when the stream gives none) that
        arrived at capture time `arrival`. Frames of both kinds come through one timeline."""
        if self._held is None:
            return [(self.place(stamp, arrival, kind), item)]
        same = [h for h in self._held if h[0] == kind]
        if stamp is None or (same and stamp < same[-1][1]):
            held, self._held = self._held, None  # no timestamps to pace by
            return [(self.place(s, a, k), i) for k, s, a, i in held] + \
                [(self.place(stamp, arrival, kind), item)]
        self._held.append((kind, stamp, arrival, item))
        if kind == "video":
            self._video_stamp = stamp
        if not self._paced(same + [self._held[-1]]):
            return []
        held, self._held = self._held, None
        self._settle(min(a - s for _, s, a, _ in held))  # settled on the backlog
        return [(self.place(s, a, k), i) for k, s, a, i in held
                if s + self._offset >= 0]  # captured before the capture began: left out

    def _paced(self, same: list) -> bool:
        """Whether the held frames show the stream at its pace, judged on the frames of one
        kind (`same`, the newest frame's): the other kind's frames interleave with their own
        steps (AAC frames come several to a packet)."""
        held = self._held
        stamps = [s for _, s, _, _ in held]
        if len(held) >= HOLD_FRAMES or max(stamps) - min(stamps) >= HOLD_SECONDS:
            return True
        # Two steps at the pace, not one: a single slow frame in a backlog (the decoder
        # starting, a busy moment) is not the end of it.
        return len(same) >= 3 and all(
            s1 > s0 and a1 - a0 >= PACED_SHARE * (s1 - s0)
            for (_, s0, a0, _), (_, s1, a1, _) in zip(same[-3:], same[-2:]))

    def place(self, stamp: float | None, arrival: float, kind: str = "video") -> float:
        """The capture time of a frame of `kind` with stream timestamp `stamp` (seconds; None
        when the stream gives none) that arrived at capture time `arrival`, once the stream
        is paced."""
        if stamp is None:
            t = arrival
        else:
            if kind == "video":
                self._video_stamp = stamp
            # how late against the least delayed frame (the anchor before the grid moved it)
            late = None if self._least is None else arrival - (stamp + self._least)
            last = self._last_stamp.get(kind)
            went_back = last is not None and stamp < last
            if late is None or late > REANCHOR_SECONDS or late < -EARLY_SECONDS or went_back:
                self._settle(arrival - stamp)
                self._settling_until = stamp + SETTLE_SECONDS
            elif late < 0 and self._settling_until is not None and self._paced_after(
                    kind, stamp, arrival):
                self._settle(arrival - stamp)  # the anchor was a delayed frame
            if self._settling_until is not None and stamp >= self._settling_until:
                self._settling_until = None
            self._last_stamp[kind] = stamp
            self._last_arrival[kind] = arrival
            t = stamp + self._offset
        last_time = self._last_time.get(kind)
        if last_time is not None and t <= last_time:
            t = last_time + MIN_STEP
        self._last_time[kind] = t
        return t

    def _settle(self, least: float) -> None:
        self._least = least
        self._offset = self._anchor(least)

    def _paced_after(self, kind: str, stamp: float, arrival: float) -> bool:
        """Whether the frame came at the stream's pace after the one before it of its kind:
        one that came with it (the two held by a reader, let go at once) says nothing of
        the delay of the anchor, and dated at its arrival would share its slot."""
        last = self._last_stamp.get(kind)
        return last is None or arrival - self._last_arrival[kind] >= PACED_SHARE * (stamp - last)

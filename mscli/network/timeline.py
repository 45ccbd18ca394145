"""Capture times for the frames of a network stream: its own timestamps, anchored on arrival.

A frame's capture time is its stream timestamp plus an offset, the smallest (arrival -
timestamp) seen so far: the least delayed frame sets the anchor, so a burst of frames keeps
its spacing and no capture time lies after its frame's arrival. Two things move the anchor
forward: a frame later than REANCHOR_SECONDS behind it (the sender paused, or its clock
jumped: following the old anchor would stamp every later frame that much in the past) and a
timestamp that goes back (a restarted sender). Capture times only ever rise.

The first frames are held until the stream runs at its own pace. Opening a stream reads
ahead (probing its format), so a capture starts with a backlog that the decoder hands over
all at once; dated by arrival, those frames would share an instant and be decimated away.
Held, they are dated from the first frames that came at the stream's pace, and those that
fall before the capture began (capture time < 0) are left out: a camera delivers nothing from
before it was opened either.
"""

from __future__ import annotations

# Later than this behind the anchor: a new anchor, not jitter. Below the network source's
# mute threshold (0.5 s): the frame that ends a mute is dated when it came, after the mute.
REANCHOR_SECONDS = 0.25
MIN_STEP = 1e-4  # seconds between two capture times, when timestamps repeat or go back
# Two frames in a row that each took at least this share of their timestamp step to come
# follow the stream's pace: the backlog is drained.
PACED_SHARE = 0.5
HOLD_SECONDS = 2.0  # of stream held at most: a stream read faster than real time is let go
HOLD_FRAMES = 120


class StreamTimeline:
    def __init__(self):
        self._offset: float | None = None
        self._last_stamp: float | None = None
        self._last_time: float | None = None
        self._held: list[tuple[float, float, object]] | None = []  # None: the stream is paced

    def add(self, stamp: float | None, arrival: float, item) -> list[tuple[float, object]]:
        """(capture time, item) for what can be delivered now, given a frame (`item`) with
        stream timestamp `stamp` (seconds; None when the stream gives none) that arrived at
        capture time `arrival`."""
        if self._held is None:
            return [(self.place(stamp, arrival), item)]
        if stamp is None or (self._held and stamp < self._held[-1][0]):
            held, self._held = self._held, None  # no timestamps to pace by
            return [(self.place(s, a), i) for s, a, i in held] + \
                [(self.place(stamp, arrival), item)]
        self._held.append((stamp, arrival, item))
        if not self._paced():
            return []
        held, self._held = self._held, None
        self._offset = min(a - s for s, a, _ in held)
        out = []
        for s, a, i in held:
            if s + self._offset >= 0:  # captured before the capture began: left out
                out.append((self.place(s, a), i))
        return out

    def _paced(self) -> bool:
        held = self._held
        if len(held) >= HOLD_FRAMES or held[-1][0] - held[0][0] >= HOLD_SECONDS:
            return True
        # Two steps at the pace, not one: a single slow frame in a backlog (the decoder
        # starting, a busy moment) is not the end of it.
        return len(held) >= 3 and all(
            s1 > s0 and a1 - a0 >= PACED_SHARE * (s1 - s0)
            for (s0, a0, _), (s1, a1, _) in zip(held[-3:], held[-2:]))

    def place(self, stamp: float | None, arrival: float) -> float:
        """The capture time of a frame with stream timestamp `stamp` (seconds; None when the
        stream gives none) that arrived at capture time `arrival`, once the stream is paced."""
        if stamp is None:
            t = arrival
        else:
            late = None if self._offset is None else arrival - (stamp + self._offset)
            went_back = self._last_stamp is not None and stamp < self._last_stamp
            if late is None or late > REANCHOR_SECONDS or went_back:
                self._offset = arrival - stamp
            elif late < 0:  # earlier than the anchor said: the anchor was a delayed frame
                self._offset = arrival - stamp
            self._last_stamp = stamp
            t = stamp + self._offset
        if self._last_time is not None and t <= self._last_time:
            t = self._last_time + MIN_STEP
        self._last_time = t
        return t

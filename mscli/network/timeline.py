"""Capture times for the frames of a network stream: its own timestamps, anchored on arrival.

A frame's capture time is its stream timestamp plus an offset, the smallest (arrival -
timestamp) seen so far: the least delayed frame sets the anchor, so a burst of frames keeps
its spacing and no capture time lies after its frame's arrival. Two things move the anchor
forward: a frame later than REANCHOR_SECONDS behind it (the sender paused, or its clock
jumped: following the old anchor would stamp every later frame that much in the past) and a
timestamp that goes back (a restarted sender). Capture times only ever rise.
"""

from __future__ import annotations

# Later than this behind the anchor: a new anchor, not jitter. Below the network source's
# mute threshold (0.5 s): the frame that ends a mute is dated when it came, after the mute.
REANCHOR_SECONDS = 0.25
MIN_STEP = 1e-4  # seconds between two capture times, when timestamps repeat or go back


class StreamTimeline:
    def __init__(self):
        self._offset: float | None = None
        self._last_stamp: float | None = None
        self._last_time: float | None = None

    def place(self, stamp: float | None, arrival: float) -> float:
        """The capture time of a frame with stream timestamp `stamp` (seconds; None when the
        stream gives none) that arrived at capture time `arrival`."""
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

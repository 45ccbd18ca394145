"""A virtual device's scripted faults (contract.md: mute, end, frameRate, disconnect,
control; and for the content conditions black, freeze, silence, clip), as questions the
sources ask about a capture time."""

from __future__ import annotations

from dataclasses import replace

from mscli.devices import Fault

END_REASONS = {"end": "device-ended", "disconnect": "device-disconnected"}


class FaultScript:
    """The device's faults as questions about a capture time. A source started at `start`
    (a reconnected device) is not ended again by the disconnect that preceded it."""

    def __init__(self, faults: tuple[Fault, ...], start: float = 0.0):
        self.faults = faults
        self.start = start
        # control faults not given yet, in time order (the device file sorts faults by time)
        self._controls = [f for f in faults if f.event == "control" and f.at >= start - 1e-9]

    def ending(self, t: float) -> Fault | None:
        return next((f for f in self.faults if f.event in END_REASONS
                     and self.start - 1e-9 <= f.at <= t + 1e-9), None)

    def muted(self, t: float) -> bool:
        return self.during("mute", t)

    def during(self, event: str, t: float) -> bool:
        """A fault of this event with a duration (mute, black, freeze, silence, clip) is on at
        t: from its `at`, for its `for` (or to the end)."""
        return any(f.event == event and f.at <= t + 1e-9
                   and (f.duration is None or t < f.at + f.duration - 1e-9)
                   for f in self.faults)

    def spans(self, event: str, start: float, end: float):
        """(from, to) in seconds of each fault of this event that overlaps [start, end)."""
        for f in self.faults:
            stop = float("inf") if f.duration is None else f.at + f.duration
            if f.event == event and f.at < end and stop > start:
                yield max(f.at, start), min(stop, end)

    def controls_due(self, t: float) -> list[Fault]:
        """The control faults at or before t, each given once: the device changes a control
        by itself then. Those before a reconnected source's start are the old device's."""
        due = 0
        while due < len(self._controls) and self._controls[due].at <= t + 1e-9:
            due += 1
        given, self._controls = self._controls[:due], self._controls[due:]
        return given

    def rate(self, t: float, native: float) -> float:
        rate = native
        for f in self.faults:
            if f.event == "frameRate" and f.at <= t + 1e-9:
                rate = f.value
        return rate


def returns_at(device, t: float) -> float | None:
    """When a virtual device that disconnected at t comes back (None: it does not)."""
    for f in device.faults:
        if f.event == "disconnect" and abs(f.at - t) < 1e-6 and f.duration is not None:
            return f.at + f.duration
    return None


# A clip fault drives the signal this much louder (+36 dB) and saturates it at full scale,
# as an overdriven input does: the tone (-20 dBFS) clips on most of its samples.
CLIP_GAIN = 64


class ContentFaults:
    """black, freeze (a camera) and silence, clip (a microphone) applied to the frames a
    source makes, so that every content condition can be scripted. A freeze repeats the last
    picture delivered before it began."""

    def __init__(self, script: FaultScript):
        self.script = script
        self._still = None  # the last picture delivered while no freeze was on

    def video(self, frame):
        from mscli.track import blank  # numpy: only once a capture runs

        t = frame.time
        still = self._still
        if self.script.during("freeze", t) and still is not None \
                and (still.width, still.height) == (frame.width, frame.height):
            # The still's pixels (as they are: a decoded frame is not copied) at this time.
            return still.replace(pts=frame.pts, time_base=frame.time_base, time=t,
                                 index=frame.index)
        if self.script.during("black", t):
            frame = blank(frame)
        self._still = frame
        return frame

    def audio(self, frame):
        """Samples under a silence fault become 0; under a clip fault, CLIP_GAIN times louder,
        saturated. To the sample, not the chunk: a file's chunks run 20 ms or more."""
        import numpy as np

        rate, start = frame.sample_rate, frame.time
        end = start + frame.samples / rate
        data = None
        for event in ("clip", "silence"):  # silence last: a silent clip is silence
            for lo, hi in self.script.spans(event, start, end):
                if data is None:
                    data = frame.data.copy()
                part = data[round((lo - start) * rate):round((hi - start) * rate)]
                if event == "silence":
                    part[:] = 0
                else:
                    np.clip(part.astype(np.int32) * CLIP_GAIN, -32768, 32767, out=part,
                            casting="unsafe")
        return frame if data is None else replace(frame, data=data)

"""Glass-to-glass latency: from the moment a sending ms captured a pattern frame to the moment
a receiving ms on the same machine decoded it.

The sender's pattern, with `"frameNumbers": "epoch"` (virtual.py), burns into frame N the
number of frame intervals since the Unix epoch at its native rate r, modulo 2**24: N / r
(plus a whole number of 2**24 / r periods, 6.5 days at 30 fps) is its capture time on the
wall clock both processes share. The receiver reads N (pattern.read_frame_number) and learns r
from the stream itself: between two readable frames, the numbers advance by r per second of
stream time, whatever rate the sender's track was decimated to. No container metadata is
needed, so it works over every protocol, through a server, and after a transcode that keeps
the picture and the timestamps (a y4m pipe does not: it numbers frames by count, and a frame
the sender dropped shifts every later timestamp).

Frames whose number cannot be read (another source, a frame torn by packet loss) are not
counted; a stream with none gives null in `stopped`.
"""

from __future__ import annotations

from fractions import Fraction

from mscli.media.pattern import CODE_BITS
from mscli.track import LatencyHistogram

WRAP = 1 << CODE_BITS
RATE_SPAN = 0.5  # seconds of stream between the two frames the rate is learnt from
# A measured rate this close to a whole or NTSC one is that one: two timestamps rounded to
# 1 ms, 0.5 s apart, are off by 0.4 % at most.
RATE_TOLERANCE = 0.005
GIVE_UP_FRAMES = 90  # no readable number in this many frames: not the pattern; stop reading
PENDING = 120  # readings kept until the rate is known
# Seconds of latency that can be true: a little below zero is two clocks' reading of one
# instant; over a minute is no live stream.
PLAUSIBLE = (0.05, 60.0)


def epoch_number(wall: float, rate: Fraction) -> int:
    """The number the sender burns into the frame captured at wall-clock time `wall`."""
    return round(wall * rate) % WRAP


def standard_rate(measured: float) -> Fraction:
    """The frame rate `measured` stands for. A capture time is N / rate with N in the
    millions, so the rate must be exact: FLV's timestamps, in whole milliseconds, measure
    30 fps over 0.5 s as 30.02 (16000/533), and every latency came out implausible. The
    nearest whole or NTSC (x 1000/1001) rate within RATE_TOLERANCE is taken, else the
    measured one."""
    candidates = [Fraction(round(measured)),
                  Fraction(round(measured * 1.001) * 1000, 1001)]
    best = min(candidates, key=lambda r: abs(float(r) - measured))
    if best > 0 and abs(float(best) - measured) <= RATE_TOLERANCE * measured:
        return best
    return Fraction(measured).limit_denominator(1001)


class GlassToGlass:
    """Fed each decoded frame's Y plane; `summary()`: {p50, p99, frames} in ms, or None."""

    def __init__(self, reader=None):
        if reader is None:
            from mscli.media.pattern import read_frame_number as reader
        self._read = reader
        self._seen = 0
        self._first = None  # (number, stream time) of the first readable frame
        self._rate: Fraction | None = None
        self._pending: list[tuple[int, float]] = []  # (number, arrival wall) before the rate
        self.histogram = None
        self.implausible = 0  # readings that gave no believable latency

    def observe(self, y_plane, stream_time: float, arrival_wall: float) -> None:
        """A decoded frame's luma, its timestamp in the stream (seconds) and the wall-clock
        time it arrived."""
        if self._first is None and self._seen >= GIVE_UP_FRAMES:
            return
        self._seen += 1
        number = self._read(y_plane)
        if number is None:
            return
        if self._first is None:
            self._first = (number, stream_time)
        if self._rate is None:
            self._learn_rate(number, stream_time)
            if self._rate is None:
                if len(self._pending) < PENDING:
                    self._pending.append((number, arrival_wall))
                return
            for pending in self._pending:
                self._add(*pending)
            self._pending = []
        self._add(number, arrival_wall)

    def _learn_rate(self, number: int, stream_time: float) -> None:
        first, since = self._first
        span = stream_time - since
        if span >= RATE_SPAN:
            rate = standard_rate((number - first) % WRAP / span)
            self._rate = rate if rate > 0 else None

    def _add(self, number: int, arrival_wall: float) -> None:
        # The capture time: N / r, moved by the whole wraps that bring it nearest the arrival.
        period = WRAP / self._rate
        captured = number / self._rate
        captured += round((Fraction(arrival_wall) - captured) / period) * period
        latency = float(Fraction(arrival_wall) - captured)
        if not -PLAUSIBLE[0] <= latency <= PLAUSIBLE[1]:
            # A number from another clock (the sender counts from its capture, or frames lost
            # their timestamps on the way): no figure rather than a wrong one.
            self.implausible += 1
            return
        if self.histogram is None:
            self.histogram = LatencyHistogram()
        self.histogram.add(latency)

    def summary(self) -> dict | None:
        if self.histogram is None:
            return None
        h = self.histogram
        return {"p50": round(h.percentile(0.5) * 1000, 1),
                "p99": round(h.percentile(0.99) * 1000, 1), "frames": h.count}

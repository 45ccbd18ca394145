"""A condition as runs of observations on the media timeline: when it begins and ends, and
how long it lasted in all. Pure bookkeeping (no numpy), so it is tested without media."""

from __future__ import annotations

from typing import Callable


class ConditionRuns:
    """Observations arrive in media-time order, each `(t, holds)`: the condition holds or not
    from t until the next observation. A run of holding observations becomes the condition
    once it has lasted `after` seconds; it ends at the first observation that does not hold,
    once `hold` seconds have passed without it holding again (0: at once).

    `report(active, at)` is called with the media time of the edge: the run's first
    observation when it begins (even though that is only known `after` seconds later), the
    first observation that did not hold when it ends."""

    def __init__(self, after: float, hold: float, report: Callable[[bool, float], None]):
        self.after = after
        self.hold = hold
        self._report = report
        self.active = False
        self.seconds = 0.0  # of every run that became the condition and ended
        self._start: float | None = None  # the current run's first observation
        self._gap: float | None = None  # the first observation after the run stopped holding

    def observe(self, t: float, holds: bool) -> None:
        if holds:
            if self._start is None:
                self._start = t
            self._gap = None
            if not self.active and t - self._start >= self.after:
                self._begin()
        elif self._start is not None:
            if self._gap is None:
                self._gap = t
            if t - self._gap >= self.hold:
                self._end(self._gap)

    def finish(self, end: float) -> None:
        """The media ends at `end`: a run still open is counted up to there (or to where it
        stopped holding). No `ended` report: the track stopped, not the condition."""
        if self._start is None:
            return
        stop = end if self._gap is None else self._gap
        if not self.active and stop - self._start >= self.after:
            self._begin()  # a run that lasted long enough between two sparse observations
        if self.active:
            self.seconds += max(0.0, stop - self._start)
        self._start = self._gap = None

    def total(self, now: float) -> float:
        """Seconds so far, the open run up to `now` included (the live view, statistics)."""
        if not self.active or self._start is None:
            return self.seconds
        return self.seconds + max(0.0, (now if self._gap is None else self._gap) - self._start)

    def _begin(self) -> None:
        self.active = True
        self._report(True, self._start)

    def _end(self, at: float) -> None:
        if not self.active and at - self._start >= self.after:
            self._begin()  # sparse observations: the run proved long enough only now
        if self.active:
            self.seconds += at - self._start
            self.active = False
            self._report(False, at)
        self._start = self._gap = None

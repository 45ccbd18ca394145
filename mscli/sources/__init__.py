"""Sources: one reader thread per opened device, handing native frames to its track.

Every source has the same shape: `start()`, `stop()`, and a thread that calls
`track.deliver(frame)` per native frame, then `track.source_ended(reason)` when the device goes
away by itself or `track.source_finished()` when the user's limit (-t, --frames) is reached.
"""

from __future__ import annotations

import threading

from mscli.events import CaptureClock


class SourceThread:
    """The thread, pacing and stop handling every source shares."""

    name = "source"

    def __init__(self, track, clock: CaptureClock, *, paced: bool, until: float | None,
                 start: float = 0.0):
        self.track = track
        self.clock = clock
        self.paced = paced
        self.until = until
        self.start_time = start  # capture time of the first frame (later for a reconnected device)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"ms-{self.name}", daemon=True)
        self.error: BaseException | None = None
        # Virtual sources: the capture time they have run to, frame delivered or scripted away.
        # The mute watchdog goes no further than this, so a source thread that ms's own load
        # made late is not a device that stopped delivering. None: a real device's arrivals
        # are the truth.
        self.progress: float | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_until(self, t: float) -> bool:
        """Sleep until capture time t when paced; False if stopped meanwhile."""
        if self.paced:
            delay = t - self.clock.now()
            if delay > 0:
                return not self._stop.wait(delay)
        return not self._stop.is_set()

    def past_limit(self, t: float) -> bool:
        return self.until is not None and t >= self.until - 1e-9

    def still_running(self, script, t: float) -> bool:
        """False when the source stops at capture time t: the user's limit reached (the track
        finishes) or a scripted end or disconnect (the track ends)."""
        if self.past_limit(t):
            self.track.source_finished()
            return False
        return not self.ended_by(script, t)

    def ended_by(self, script, t: float) -> bool:
        """A scripted end or disconnect at or before t: wait for its moment, end the track."""
        fault = script.ending(t)
        if fault is None:
            return False
        if self.wait_until(fault.at):
            from mscli.sources.faults import END_REASONS

            self.track.source_ended(END_REASONS[fault.event], at=fault.at)
        return True

    def _main(self) -> None:
        try:
            self.run()
        except Exception as e:  # a source that breaks ends its track with the reason
            self.error = e
            self.track.source_ended(f"read-error: {e}")

    def apply_controls(self, values: dict) -> dict:
        """Sets camera controls (name -> value) on the device; returns what it reports
        afterwards. A source without controls sets and reports none."""
        return {}

    def run(self) -> None:
        raise NotImplementedError

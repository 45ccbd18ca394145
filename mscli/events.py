"""The one event stream of a capture: mute, unmute, ended, overconstrained,
configurationchange, addtrack, removetrack, devicechange, content and stopped, each written
the moment it happens.

Machines get NDJSON (stderr when it is not a terminal, or --events FILE), flushed per event;
people at a terminal get the live view (mscli/liveview.py). Each record:
{"event", "time", "target", "trackId", "kind", "label", "detail"}, time in seconds on the
capture clock.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from typing import Callable

EVENT_NAMES = ("mute", "unmute", "ended", "overconstrained", "configurationchange",
               "addtrack", "removetrack", "devicechange", "content", "stats", "stopped")


class CaptureClock:
    """Monotonic seconds since the capture started; every timestamp in ms is on this clock."""

    def __init__(self):
        self.start()

    def start(self) -> None:
        """Time 0 is when the sources start, not when ms started opening things."""
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def at(self, monotonic_time: float) -> float:
        return monotonic_time - self._start

    def wall(self, t: float) -> float:
        """Capture time t on the wall clock (Unix seconds), which other processes share."""
        return time.time() - time.monotonic() + self._start + t


class EventLog:
    """Thread-safe: sources, tracks and the session all emit into it."""

    def __init__(self, clock: CaptureClock):
        self.clock = clock
        self._writers: list[Callable[[dict], None]] = []
        self._lock = threading.Lock()
        self.history: list[dict] = []

    def add_writer(self, writer: Callable[[dict], None]) -> None:
        self._writers.append(writer)

    def emit(self, event: str, *, track=None, target: str = "track", detail: dict | None = None,
             at: float | None = None) -> dict:
        record = {"event": event, "time": round(self.clock.now() if at is None else at, 3),
                  "target": target,
                  "trackId": track.id if track is not None else None,
                  "kind": track.kind if track is not None else None,
                  "label": track.label if track is not None else None,
                  "detail": detail or {}}
        with self._lock:
            self.history.append(record)
            for writer in self._writers:
                writer(record)
        return record


class EventFile:
    """--events FILE: NDJSON into a file opened like any output (never replacing one without
    -y). The first failed write is the capture's error: raised at once on the main thread,
    otherwise (a source thread noticed an end) when the file closes; later events are not
    written. An event file ms created and wrote nothing to goes away with a failed start."""

    def __init__(self, path: str, overwrite: bool):
        from mscli.sinks.files import open_target

        self.file = open_target(path, overwrite)  # - is stdout, as for -o and --report
        self.error: BaseException | None = None
        self._written = False
        # A source thread that outlived the capture's wait for it may still emit: once the
        # file is closed its events are dropped, not a "write to closed file" in that thread.
        self._lock = threading.Lock()
        self._closed = False

    def write(self, record: dict) -> None:
        from mscli.sinks.files import write_error

        with self._lock:
            if self.error is not None or self._closed:
                return
            try:
                self.file.write((json.dumps(record) + "\n").encode())
                self.file.flush()  # per event: a CI job tailing the log sees it at once
                self._written = True
            except OSError as e:
                self.error = write_error(self.file.name, e)
        if self.error is not None and threading.current_thread() is threading.main_thread():
            raise self.error from None

    def __enter__(self) -> EventFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        with self._lock:
            self._closed = True
        if exc_type is not None:  # the capture's own error is the one to report
            with contextlib.suppress(Exception):
                self.file.close() if self._written else self.file.discard()
            return
        self.file.close()
        if self.error is not None:
            raise self.error


def attach_event_writers(option: str | None, events: EventLog, stack, live_view: bool,
                         overwrite: bool = False):
    """Where events go: --events FILE (NDJSON; an existing file is replaced only with
    `overwrite`), `none`, or by default stderr: NDJSON when it is not a terminal; on a terminal
    the live view (capture) or readable lines (watch). Returns the live view, if one was
    opened on `stack`."""
    from mscli import messages, streams

    # On stderr events are best effort, like every message (streams.say): a reader of stderr
    # that goes away (`2>&1 | head -1`) must not end the recording. --events FILE is an
    # output: a failed write there is the capture's error.
    view = None
    on_terminal = sys.stderr.isatty()
    if messages.quiet and option is None:
        return None  # -q: stderr is for errors, terminal or not; events only to --events FILE
    if on_terminal and live_view and not messages.quiet:
        from mscli.liveview import LiveView

        view = stack.enter_context(LiveView(show_events=option is None))
    if option == "none":
        return view
    if option is not None:
        events.add_writer(stack.enter_context(EventFile(option, overwrite)).write)
    elif view is not None:
        events.add_writer(view.add_event)
    elif on_terminal:
        from mscli.liveview import event_line

        events.add_writer(lambda record: streams.say(event_line(record)))
    else:  # NDJSON, flushed per event: a CI job tailing the log sees it at once
        events.add_writer(lambda record: streams.say(json.dumps(record)))
    return view

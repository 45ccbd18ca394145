"""`ms devices --watch`: the list, then a `devicechange` event each time it changes, until
Ctrl-C.

Virtual devices change through their `disconnect` faults (timed from the start of the watch)
and through edits to the --devices file; real devices by polling the backends. A device file
caught half-written keeps the last good list and says so once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import threading

from mscli.catalog import load_devices
from mscli.errors import DeviceFileError, MediaError
from mscli.events import CaptureClock, EventLog, attach_event_writers
from mscli.messages import warn
from mscli.stopping import STOP_SIGNALS

POLL_SECONDS = 0.05  # virtual: faults are exact to this; real backends every REAL_POLL
REAL_POLL_SECONDS = 1.0


def present(device, t: float) -> bool:
    """Whether a device is plugged in at time t of the watch (its disconnect windows)."""
    for fault in device.faults:
        if fault.event == "disconnect" and fault.at <= t and (
                fault.duration is None or t < fault.at + fault.duration):
            return False
    return True


class Watcher:
    def __init__(self, devices_file: str | None, fake: bool, events: EventLog):
        self.devices_file = devices_file
        self.fake = fake
        self.events = events
        self.stop = threading.Event()
        self._stamp = self._file_stamp()
        self._all = load_devices(devices_file, fake)
        self._reported_error = False

    def listed(self, t: float) -> list[dict]:
        return [d.info() for d in self._all if present(d, t)]

    def run(self, initial: list[dict]) -> None:
        previous = initial
        virtual = self.devices_file is not None or self.fake
        period = POLL_SECONDS if virtual else REAL_POLL_SECONDS
        while not self.stop.wait(period):
            self._reload(virtual)
            t = self.events.clock.now()
            current = self.listed(t)
            if current != previous:  # content or order: the spec's "list differs"
                self.events.emit("devicechange", target="devices", at=t,
                                 detail=_change(previous, current))
                previous = current

    def _reload(self, virtual: bool) -> None:
        stamp = self._file_stamp()
        if virtual and stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            if stamp is not None and not stat.S_ISREG(stamp[-1]):
                # A FIFO put in its place would hold the watch (and a Ctrl-C) for the 10 s a
                # FIFO is given to deliver: what the watch re-reads is a regular file.
                raise DeviceFileError(f"device file {self.devices_file!r} is not a regular "
                                      "file (the watch re-reads the file it was given when "
                                      "it changes)")
            self._all = load_devices(self.devices_file, self.fake)
            self._reported_error = False
        except MediaError as e:
            if not self._reported_error:
                warn(f"{e.message}; keeping the last list")
                self._reported_error = True

    def _file_stamp(self):
        """What tells an edit: the mtime alone can miss one, as it ticks only every few ms
        on many file systems: a file caught half-written then finished in the same tick
        kept the stale list (and its warning) until the next edit. The size and the inode
        (a file moved into place) change with it."""
        if not self.devices_file:
            return None
        try:
            info = os.stat(self.devices_file)
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size, info.st_ino, info.st_dev, info.st_mode


def _change(before: list[dict], after: list[dict]) -> dict:
    old = {d["deviceId"]: d for d in before}
    new = {d["deviceId"]: d for d in after}
    return {"added": [d for i, d in new.items() if i not in old],
            "removed": [d for i, d in old.items() if i not in new],
            "devices": after}


def watch(devices_file: str | None, fake: bool, events_option: str | None,
          print_list) -> None:
    """Print the list with print_list, then events until a stop signal (exit 0). An
    --events file that exists is refused before anything is printed: watch has no -y."""
    if events_option not in (None, "none", "-"):  # - is stdout (events.EventFile)
        from mscli.sinks.files import check_target

        check_target(events_option, overwrite=False, overwrite_option=None)
    events = EventLog(CaptureClock())
    watcher = Watcher(devices_file, fake, events)
    # The signals that stop a capture, SIGHUP included (the terminal or the ssh session went
    # away): it killed the watch, exit 129.
    for sig in STOP_SIGNALS:
        signal.signal(sig, lambda *_: watcher.stop.set())
    print_list(watcher.listed(0.0))
    with contextlib.ExitStack() as stack:
        attach_event_writers(events_option, events, stack, live_view=False)
        watcher.run(watcher.listed(0.0))

"""Stopping a capture with a signal, the way ffmpeg users expect.

SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGXCPU: the first one asks the capture to stop (the
sources stop at once, the outputs are finalised, exit 0). A second SIGINT, SIGTERM or SIGQUIT
stops ms where it is (exit 130): a person insisting. SIGHUP and SIGXCPU are what the system
sends, and it may send them more than once, or after a SIGTERM, for one event (when an ssh
session drops, the shell passes its SIGHUP on to its jobs and the end of the terminal's
session can bring another; systemd's SendSIGHUP follows SIGTERM with SIGHUP; SIGXCPU repeats
every second past a CPU-time limit): they ask for a stop and never force one, so that a
dropped ssh session does not lose the recording. With --reapply SIGHUP has its own meaning instead
(re-read the constraints; never a stop). SIGQUIT (Ctrl-\\) and SIGXCPU finalise as ffmpeg
does. SIGPIPE stays ignored, as Python leaves it: a reader that goes away is EPIPE on the next
write, which ms turns into exit 141.

The signals are acted on by a thread reading Python's wakeup fd, not by a Python-level
handler: such a handler runs only when the main thread is back in the interpreter, and the main
thread may sit for minutes in a write to a slow reader, or inside FFmpeg. The C-level handler
writes each signal's number to the wakeup pipe at once, wherever the main thread is.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

STOP_SIGNALS = tuple(getattr(signal, name) for name in
                     ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGXCPU")
                     if hasattr(signal, name))
# Sent by the system, possibly repeated: they never force a stop (see above).
SYSTEM_SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGXCPU")
                       if hasattr(signal, name))
HARD_STOP_EXIT = 130
# Set by the first stop signal while a StopSignals is entered (cleared on leaving it): what
# waits with no target to tell (an output FIFO waiting for its reader, sinks/files.py) looks.
STOP_REQUESTED = threading.Event()


class StoppedWaiting(Exception):
    """A stop came while an output waited for something outside ms (a FIFO's reader):
    nothing was written to it. A stop like any other (exit 0); the message says what."""


class StopSignals:
    """A context: while inside, the signals above reach `target.request_stop()` (and with
    reapply, SIGHUP reaches `target.request_reapply()`). A target attached late still hears
    of a stop that came before it."""

    def __init__(self, reapply: bool = False):
        self.reapply = reapply
        self.stop_requested = False
        self._person_stopped = False  # a SIGINT, SIGTERM or SIGQUIT came
        self._target = None
        self._lock = threading.Lock()
        self._previous: dict = {}
        self._previous_fd: int | None = None
        self._wakeup = None  # (reader, writer) of _wakeup_channel while inside

    def attach(self, target) -> None:
        with self._lock:
            self._target = target
            stopped = self.stop_requested
        if stopped:
            target.request_stop()

    # --- the context -------------------------------------------------------------------------

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may install handlers (a library caller's job)
        STOP_REQUESTED.clear()
        reader, writer = self._wakeup = _wakeup_channel()
        for sig in STOP_SIGNALS:
            # A Python-level handler (that does nothing) keeps Python's C handler, which
            # writes to the wakeup fd; it also keeps SIGINT from raising KeyboardInterrupt.
            self._previous[sig] = signal.signal(sig, _ignore)
        self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(reader,), name="ms-signals",
                         daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._wakeup is None:
            return
        reader, writer = self._wakeup
        STOP_REQUESTED.clear()  # a report written after the capture waits for its reader
        for sig, handler in self._previous.items():  # from here a signal does what it did
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        try:
            writer.write(b"\0")  # not a signal number: the watcher's cue to finish
        except OSError:
            pass
        writer.close()

    # --- the watcher thread --------------------------------------------------------------------

    def _watch(self, reader) -> None:
        with reader:
            while True:
                try:
                    data = reader.read(64)
                except OSError:
                    return
                for signum in data:
                    if signum == 0:
                        return
                    self._on_signal(signum)
                if not data:
                    return

    def _on_signal(self, signum: int) -> None:
        if self.reapply and signum == getattr(signal, "SIGHUP", None):
            target = self._target
            if target is not None and not self.stop_requested:
                target.request_reapply()
            return
        with self._lock:
            by_person = signum not in SYSTEM_SIGNALS
            if by_person and self._person_stopped:  # insisting: now, outputs as they are
                os._exit(HARD_STOP_EXIT)
            self._person_stopped = self._person_stopped or by_person
            first = not self.stop_requested
            self.stop_requested = True
            STOP_REQUESTED.set()
            target = self._target
        if first and target is not None:
            target.request_stop()


def _ignore(signum, frame) -> None:
    """The Python-level handler: the watcher thread does the work."""


def _wakeup_channel():
    """(reader, writer): unbuffered binary files, the writer's descriptor non-blocking, for
    signal.set_wakeup_fd. A pipe, not a socket pair: the socket module costs every capture
    ~3 ms of start-up. Windows' set_wakeup_fd takes only a socket."""
    if sys.platform == "win32":
        import socket

        reader, writer = socket.socketpair()
        writer.setblocking(False)
        files = reader.makefile("rb", buffering=0), writer.makefile("wb", buffering=0)
        reader.close()  # each socket stays open until its file closes
        writer.close()
        return files
    reader, writer = os.pipe()
    os.set_blocking(writer, False)
    return open(reader, "rb", buffering=0), open(writer, "wb", buffering=0)

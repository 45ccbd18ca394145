"""The standard streams: safe whatever state the caller left them in, and data written whole.

stdout carries data only and stderr messages only, even when the caller closed one of them
(`ms devices >&-`, `ms capture … 2>&-`). Python starts with sys.stdout or sys.stderr set to
None for a closed descriptor, and `print(file=None)` then writes to stdout; worse, the next file
ms opens would take the free number, and FFmpeg's log lines on fd 2 would land in a recording.

Data goes out through `write_out`, which checks every byte: sys.stdout.write alone drops the
tail of a large write when the reader goes away mid-way under PYTHONUNBUFFERED=1 (its raw
write is partial and the count is ignored), and the interpreter's own flush at exit reports
nothing through the exit code.
"""

from __future__ import annotations

import errno
import io
import os
import select
import sys

from mscli.errors import AbortError

READER_GONE = 141  # as a shell reports a writer killed by SIGPIPE


class StdoutError(AbortError):
    """stdout cannot take data for another reason than its reader going away: closed, full
    (/dev/full), a terminal that hung up. Exit 1 like any other write error (contract.md)."""


def guard_standard_fds() -> None:
    """Call first. A closed fd 0/1/2 gets /dev/null, so that no file opened later takes its
    number: read-only for stdin (reads as empty) and stdout (writing data there still fails,
    EBADF, and is reported), write-only for stderr (the messages the caller discarded)."""
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_RDONLY), (2, os.O_WRONLY)):
        if not _is_open(fd):
            _fill(fd, flags)
    if sys.stdin is None:
        sys.stdin = open(0, closefd=False)
    if sys.stdout is None:  # unbuffered, so that no failed data waits for the flush at exit
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                      write_through=True)
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1,
                          closefd=False)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _fill(fd: int, flags: int) -> None:
    opened = os.open(os.devnull, flags)
    if opened != fd:  # a lower number was free too; cannot happen as we go 0, 1, 2
        os.dup2(opened, fd)
        os.close(opened)


def write_out(text: str) -> None:
    """Write text to stdout, all of it, now. Raise BrokenPipeError if the reader went away
    and StdoutError (message for a person) for any other failure."""
    out = sys.stdout
    try:
        out.flush()  # whatever went through the text layer before goes first
        buffer = getattr(out, "buffer", None)
        if buffer is None:  # a plain text stream, as in tests
            out.write(text)
            return
        _write_all(getattr(buffer, "raw", buffer), text.encode(out.encoding or "utf-8",
                                                               "backslashreplace"))
    except BrokenPipeError:
        raise
    except OSError as e:
        raise StdoutError(stdout_problem(e)) from None


def _write_all(raw, data: bytes) -> None:
    """Past any buffer, so that a failure leaves nothing behind for the flush at exit."""
    view = memoryview(data)
    while view:
        written = raw.write(view)
        if written is None:  # a non-blocking stdout that is full: wait until it drains
            select.select([], [raw], [])
            continue
        view = view[written:]


def stdout_problem(error: OSError) -> str:
    """What to tell a person whose stdout failed with `error`, and how to fix it."""
    if error.errno == errno.EBADF:
        return ("cannot write to stdout: it is closed (>&-); redirect it to a file, or to "
                "/dev/null to discard the data")
    return f"cannot write to stdout: {error.strerror or error}"


def say(line: str) -> None:
    """One line for a person on stderr. Best effort: if stderr is gone there is nowhere left
    to tell, and the exit code still says what happened."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def reader_gone():
    """The reader went away (`ms devices | head -1`): exit 141 like a shell, say nothing.
    fd 1 goes to /dev/null first so that anything still buffered flushes silently."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    os._exit(READER_GONE)


def exit_now(code) -> None:
    """Ends the process with exit status `code` (a SystemExit's) once everything it wrote is
    out, skipping the interpreter's teardown: freeing every module (PyAV's, numpy's) took
    25-45 ms of CPU after a recording was closed, a tenth of a short capture's start-up and
    exit (bench/lean.py). What the teardown did that matters is done here: the atexit
    functions run and stdout and stderr are flushed; files are closed by whoever opened them
    (the outputs, the events file) before main returns. Otherwise, the interpreter's own
    exit: a status that is not a number (printed by it), a thread that is not a daemon still
    running (it waits for that thread), a flush of stdout that fails for another reason
    than the reader going away (it reports that)."""
    import atexit
    import threading

    numeric = code is None or isinstance(code, int)
    waiting = any(not t.daemon and t is not threading.main_thread() and t.is_alive()
                  for t in threading.enumerate())
    if not numeric or waiting:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()
    except (OSError, ValueError):
        sys.exit(code)
    try:  # best effort, as say: stderr's reader gone is not stdout's (no 141)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code or 0)

"""Output files, from the checks before anything opens to what is left when writing fails.

- `check_target`: what a user can fix before anything opens (exit 2): a directory, a missing or
  read-only directory, an existing file or a dangling symlink without -y.
- `file_identity`: what makes two outputs one file (the same resolved path, or the same inode:
  `.`/`..`, symlinks, hard links, `-` and /dev/stdout).
- `write_whole`: a small output made whole before it opens (an image, a report), written at once.
- `OutputFile`: a file ms writes. Created with O_EXCL unless replacing was asked for, so a file
  that appears in the meantime is not clobbered; it remembers the first write error, because
  PyAV drops the errors FFmpeg meets while closing; a file that failed mid-way is renamed
  PATH.partial, so nothing at PATH looks like a finished recording and nothing written is lost.

Free of numpy, PyAV and OpenCV: the checks run for every capture before anything heavy loads.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat

from mscli.errors import AbortError, UsageError, quoted

PARTIAL_SUFFIX = ".partial"
FIFO_POLL_SECONDS = 0.05  # how often an output FIFO with no reader yet is tried again


def _exists_hint(path: str, overwrite_option: str | None, symlink: bool) -> str:
    if overwrite_option is None:
        return "remove it or choose another name"
    return f"give {overwrite_option} to {'write through it' if symlink else 'replace it'}"


def check_target(path: str, overwrite: bool | None, overwrite_option: str | None =
                 "-y/--overwrite") -> None:
    """UsageError when `path` cannot be an output as given. `overwrite=False` refuses an
    existing regular file and a dangling symlink (FIFOs and devices are written, not replaced);
    `overwrite_option` names the option that allows it (None: the command has none)."""
    if os.path.isdir(path):
        raise UsageError(f"output {path!r} is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"cannot write {path!r}: directory {parent!r} does not exist")
    _check_name_length(path, parent)
    if not os.path.lexists(path) and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path!r}: directory {parent!r} is not writable")
    if overwrite is not False:
        return
    if os.path.islink(path) and not os.path.exists(path):
        raise UsageError(f"{path!r} is a symlink to {os.readlink(path)!r}, which does not "
                         f"exist: {_exists_hint(path, overwrite_option, symlink=True)}")
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.stat(path).st_mode):
            raise UsageError(f"{path!r} exists: "
                             f"{_exists_hint(path, overwrite_option, symlink=False)}")


def _check_name_length(path: str, parent: str) -> None:
    """A name the file system cannot hold fails only when the file opens: for a report, after
    the whole capture. Said before anything opens, as the user's argument."""
    name = os.fsencode(os.path.basename(path))
    try:
        most = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        return
    if len(name) > most:
        raise UsageError(f"cannot write {quoted(path)}: its name is {len(name):,} bytes long "
                         f"and this file system takes at most {most}; choose a shorter name")


def file_identity(path_or_dash: str) -> set:
    """Keys two outputs share when they are one file; empty for a character device (two
    outputs may both write /dev/null)."""
    try:
        st = os.fstat(1) if path_or_dash == "-" else os.stat(path_or_dash)
    except (OSError, ValueError):
        st = None
    if st is not None and stat.S_ISCHR(st.st_mode):
        return set()
    keys = set() if path_or_dash == "-" else {("path", os.path.realpath(path_or_dash))}
    if st is not None:
        keys.add(("inode", st.st_dev, st.st_ino))
    return keys


def write_error(name: str, error: OSError) -> OSError | AbortError:
    """What to raise for a failed write: BrokenPipeError as is (the CLI exits 141), any other
    OSError as an AbortError naming the output."""
    if isinstance(error, BrokenPipeError):
        return error
    if name == "<stdout>":  # -o -: closed (>&-) says how to fix it, as for any command
        from mscli.streams import StdoutError, stdout_problem

        return StdoutError(stdout_problem(error))
    return AbortError(f"cannot write {name}: {error.strerror or error}")


def raise_write_error(out, error: OSError):
    """Raises what write_error says for a failed write to the file object `out`."""
    raised = write_error(output_name(out), error)
    if raised is error:
        raise error
    raise raised from error


def write_payload(out, payload: bytes) -> int:
    """Bytes made whole beforehand (an encoded image, a report), written and flushed to the
    file object `out`; returns their size."""
    try:
        out.write(payload)
        out.flush()
    except OSError as e:
        raise_write_error(out, e)
    return len(payload)


def write_whole(target: str, payload: bytes, overwrite: bool) -> int:
    """`payload` as the whole of `target` (a path, or - for stdout), opened as open_target
    does; a failed write removes the file if ms created it. Returns the bytes written."""
    out = open_target(target, overwrite)
    try:
        write_payload(out, payload)
    except BaseException:
        out.discard()
        raise
    out.close()
    return len(payload)


def open_output(path: str, overwrite: bool) -> OutputFile:
    """Opens `path` for writing: a new file exclusively; an existing FIFO or device as it is;
    an existing regular file only with `overwrite` (truncated). AbortError when the system
    refuses, UsageError when the file appeared since check_target."""
    real = os.path.realpath(path)
    base = os.O_WRONLY | os.O_CLOEXEC
    try:
        try:
            fd, created = os.open(path, base | os.O_CREAT | os.O_EXCL, 0o666), True
        except FileExistsError:
            created = not os.path.exists(path)  # a dangling symlink: ms creates its target
            fd = _open_existing(path, base, overwrite)
    except OSError as e:
        raise write_error(path, e) from None
    return OutputFile(os.fdopen(fd, "wb"), path, real, created)


def _open_existing(path: str, flags: int, overwrite: bool) -> int:
    try:
        mode = os.stat(path).st_mode
    except OSError:  # a dangling symlink, found since check_target
        mode = stat.S_IFREG
    if stat.S_ISFIFO(mode):
        return _open_fifo(path, flags)
    if overwrite:
        return os.open(path, flags | os.O_CREAT | os.O_TRUNC, 0o666)
    if stat.S_ISREG(mode):
        raise UsageError(f"{path!r} exists: {_exists_hint(path, '-y/--overwrite', False)}")
    return os.open(path, flags)


def _open_fifo(path: str, flags: int) -> int:
    """Opening a FIFO for writing waits for its reader, and a blocked open() hears no stop
    signal (stopping.py acts on another thread): polled instead, so that a stop while no
    reader has come ends ms (StoppedWaiting) rather than leaving it blocked for good."""
    from mscli.stopping import STOP_REQUESTED, StoppedWaiting

    while True:
        try:
            fd = os.open(path, flags | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            if STOP_REQUESTED.wait(FIFO_POLL_SECONDS):
                raise StoppedWaiting(f"{path}: stopped before a reader opened this FIFO; "
                                     "nothing written to it") from None
            continue
        os.set_blocking(fd, True)
        return fd


def open_target(target: str, overwrite: bool) -> OutputFile:
    """`-` (stdout; the descriptor stays open when the OutputFile closes) or a path."""
    if target == "-":
        return OutputFile(os.fdopen(1, "wb", closefd=False), "<stdout>")
    return open_output(target, overwrite)


def output_name(out) -> str:
    """How messages name a file object: its path, <stdout>, <fd N>."""
    name = getattr(out, "name", None)
    if isinstance(name, str) and name.isdigit():
        name = int(name)
    if isinstance(name, int):
        return {1: "<stdout>", 2: "<stderr>"}.get(name, f"<fd {name}>")
    return str(name) if name else "<output>"


class OutputFile:
    """A binary file object over a file ms writes (or stdout): counts bytes, remembers the
    first OSError, and seeks relative to where it started (stdout may be a regular file that
    already holds something). PyAV writes through it, as do the y4m and WAV writers."""

    def __init__(self, raw, name: str | None = None, real_path: str | None = None,
                 created: bool = False, owned: bool = True):
        self.raw = raw
        self.name = name or output_name(raw)
        self.real_path = real_path  # None for stdout: never removed or renamed
        self.created = created
        self.owned = owned  # False: a caller's stream, flushed but not closed
        self.error: OSError | None = None
        self.bytes_written = 0  # the file's size as written (the furthest position)
        self._position = 0
        self._seekable = _can_seek(raw)
        self._start = raw.tell() if self._seekable else 0

    def _failed(self, error: OSError) -> OSError:
        self.error = self.error or error
        return error

    def write(self, data) -> int:
        try:
            n = self.raw.write(data)
        except OSError as e:
            raise self._failed(e)
        size = len(data) if n is None else n
        self._position += size
        self.bytes_written = max(self.bytes_written, self._position)
        return size

    def flush(self) -> None:
        try:
            self.raw.flush()
        except OSError as e:
            raise self._failed(e)

    def fileno(self) -> int:
        return self.raw.fileno()

    def seekable(self) -> bool:
        return self._seekable

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            offset += self._start
        self._position = self.raw.seek(offset, whence) - self._start
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        """Flushes and closes (only flushes a caller's stream); a failed flush is remembered
        and raised as write_error says."""
        if self.raw.closed:
            return
        try:
            self.raw.close() if self.owned else self.raw.flush()
        except OSError as e:
            raise write_error(self.name, self._failed(e)) from None

    def discard(self) -> None:
        """Closes, and removes the file if ms created it: for a set-up that failed."""
        with contextlib.suppress(OSError):
            self.close()
        self.remove_created()

    def remove_created(self) -> bool:
        """Removes the (closed) file if ms created it; True if it did. A file the user had
        (replaced with -y, a FIFO, stdout) stays."""
        if not self.created or self.real_path is None:
            return False
        with contextlib.suppress(OSError):
            os.unlink(self.real_path)
            return True
        return False

    def keep_partial(self) -> str | None:
        """After a write failed: renames a regular file to PATH.partial (or PATH.partial-2...,
        never over an existing file) so that PATH does not look finished; returns the new
        name, or None."""
        if self.real_path is None or not self._seekable:
            return None
        # Named as the user named the file, unless that was a symlink to elsewhere.
        shown = self.name if os.path.realpath(self.name) == self.real_path else self.real_path
        for n in range(1, 10):
            suffix = PARTIAL_SUFFIX + (f"-{n}" if n > 1 else "")
            if _rename_exclusive(self.real_path, self.real_path + suffix):
                return shown + suffix
        return None


def _rename_exclusive(path: str, new: str) -> bool:
    try:
        os.link(path, new)  # fails rather than replace an existing file
    except FileExistsError:
        return False
    except OSError:  # no hard links here (FAT): rename, after looking
        if os.path.lexists(new):
            return False
        try:
            os.rename(path, new)
        except OSError:
            return False
        return True
    with contextlib.suppress(OSError):
        os.unlink(path)
    return True


def _can_seek(raw) -> bool:
    """Only a regular file not opened for appending: a device may accept lseek and ignore it,
    and appended writes ignore the position. A stream without a descriptor says itself."""
    try:
        fd = raw.fileno()
    except (AttributeError, OSError, ValueError):
        try:
            return bool(raw.seekable())
        except (AttributeError, OSError, ValueError):
            return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and not \
            fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND
    except OSError:
        return False

"""deviceId and groupId: keyed hashes of stable device keys.

A browser's deviceId is stable for one user, unguessable for others and rotated when the user
clears site data. ms does the same with HMAC-SHA256 over a per-user secret kept in the state
directory; `ms devices --reset-ids` replaces the secret. Raw labels and serials never show.

The secret is the only state file ms reads, and it is read with care: never blocking (a FIFO
put in its place would hang every `ms devices`), only as a regular file, and kept private
(0600: anyone who can read it can compute this user's ids).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import stat
import time

from mscli.errors import AbortError

SECRET_NAME = "id-secret"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 16  # shorter: truncated by a crash or by hand, so ids cannot be kept
ID_HEX_CHARS = 32  # 128 bits: unguessable, and short enough to paste
LOCK_WAIT_SECONDS = 2.0  # making a secret takes milliseconds; a holder this slow is stuck
MOVE_HINT = "set MS_STATE_DIR to a writable directory"


def state_dir() -> str:
    # os.path rather than pathlib: this runs on every Tab press, and pathlib costs ~7 ms.
    if os.environ.get("MS_STATE_DIR"):
        return os.environ["MS_STATE_DIR"]
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return os.path.join(base, "mscli")


class IdHasher:
    """Turns stable keys into ids with this user's secret (created on first use)."""

    def __init__(self, secret: bytes):
        self._secret = secret

    @classmethod
    def for_user(cls, warn=None) -> "IdHasher":
        """warn: where to say that the secret had to be fixed or replaced (default: stderr;
        completion passes one that says nothing)."""
        if warn is None:
            from mscli.messages import warn
        return cls(_load_or_create_secret(state_dir(), warn))

    def device_id(self, kind: str, key: str) -> str:
        return self._digest(f"device\0{kind}\0{key}")

    def group_id(self, group_key: str) -> str:
        return self._digest(f"group\0{group_key}")

    def _digest(self, text: str) -> str:
        mac = hmac.new(self._secret, text.encode(), hashlib.sha256)
        return mac.hexdigest()[:ID_HEX_CHARS]


def reset_secret() -> str:
    """Replace the secret atomically, so every id changes; return where it lives.
    AbortError (exit 1) naming the path when the state directory cannot be written."""
    path = os.path.join(state_dir(), SECRET_NAME)
    try:
        _publish_new_secret(path, replace=True)
    except OSError as e:
        raise AbortError(f"cannot write {path}: {e.strerror}; {MOVE_HINT}") from None
    return path


def _make_state_dir(directory: str) -> None:
    """Create the state directory (private) unless it exists; OSError saying why not."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except FileExistsError:
        # Something that is not a directory is in the way: say what, not "File exists".
        os.stat(directory)  # a symlink loop, a dangling link: its own error
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), directory) from None


def _load_or_create_secret(directory: str, warn) -> bytes:
    path = os.path.join(directory, SECRET_NAME)
    try:
        secret = _read_secret(path, warn)
        if secret is None:
            with _one_at_a_time(directory):
                # Another ms may have put a good one there while this one waited.
                secret = _read_secret(path, lambda message: None)
                if secret is None:
                    _publish_new_secret(path, replace=os.path.lexists(path))
                    secret = _read_secret(path, warn)
    except OSError as e:
        # A read-only home must not stop listing; the ids just won't survive this run.
        warn(f"cannot keep device ids stable: {path}: {e.strerror}; {MOVE_HINT}")
        secret = None
    return secret or os.urandom(SECRET_BYTES)


@contextlib.contextmanager
def _one_at_a_time(directory: str):
    """Hold the state directory's lock while a secret is made. Racing runs that each
    replaced an unusable secret (truncated, a FIFO) each hashed with their own, so all but
    the last printed ids that never came back. Bounded: a holder that hangs (stopped with
    Ctrl-Z) must not hang every ms; after LOCK_WAIT_SECONDS this one goes on unlocked."""
    import fcntl

    _make_state_dir(directory)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_secret(path: str, warn) -> bytes | None:
    """The secret, or None when there is none worth keeping (absent, truncated, or not a
    regular file: a FIFO, a directory, a device) and a new one should take its place."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        # No O_NOFOLLOW: a symlinked state file keeps working, and fstat() below judges what
        # was actually opened (a link to /dev/zero is a device, and is replaced).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):  # cannot be replaced by a file: say so, keep going
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(info.st_mode):
            warn(f"{path} is not a regular file ({_file_type(info.st_mode)}); "
                 "a new id secret takes its place, so device ids change")
            return None
        if info.st_mode & 0o077:
            _make_private(fd, path, info.st_mode, warn)
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    return data if len(data) >= MIN_SECRET_BYTES else None


_warned_private: set[str] = set()  # paths already warned about in this process


def _make_private(fd: int, path: str, mode: int, warn) -> None:
    """A secret others can read makes this user's ids computable by them: chmod it 0600."""
    old = f"{stat.S_IMODE(mode):04o}"
    try:
        os.fchmod(fd, 0o600)
        message = f"{path} was readable by others ({old}); made it private (0600)"
    except OSError as e:
        message = (f"{path} is readable by others ({old}) and cannot be made private "
                   f"({e.strerror}); chmod 600 it, or run `ms devices --reset-ids`")
    if path not in _warned_private:
        _warned_private.add(path)
        warn(message)


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _publish_new_secret(path: str, replace: bool) -> None:
    """Write a new secret to a private temporary file, then put it at `path`.

    The temporary file is created O_EXCL with mode 0600, so it is never readable by others,
    even for a moment, and never a FIFO or symlink someone left there. Without `replace`,
    link() fails if another ms got there first; then both use the winner's secret.
    """
    directory = os.path.dirname(path)
    _make_state_dir(directory)
    tmp = os.path.join(directory, f".{SECRET_NAME}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        try:
            os.write(fd, os.urandom(SECRET_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)

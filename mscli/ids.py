"""deviceId and groupId: keyed hashes of stable device keys.

A browser's deviceId is stable for one user, unguessable for others and rotated when the user
clears site data. ms does the same with HMAC-SHA256 over a per-user secret kept in the state
directory; `ms devices --reset-ids` replaces the secret. Raw labels and serials never show.
"""

from __future__ import annotations

import hashlib
import hmac
import os

SECRET_NAME = "id-secret"
ID_HEX_CHARS = 32  # 128 bits: unguessable, and short enough to paste


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
    def for_user(cls) -> "IdHasher":
        return cls(_load_or_create_secret(state_dir()))

    def device_id(self, kind: str, key: str) -> str:
        return self._digest(f"device\0{kind}\0{key}")

    def group_id(self, group_key: str) -> str:
        return self._digest(f"group\0{group_key}")

    def _digest(self, text: str) -> str:
        mac = hmac.new(self._secret, text.encode(), hashlib.sha256)
        return mac.hexdigest()[:ID_HEX_CHARS]


def reset_secret() -> str:
    """Replace the secret atomically, so every id changes; return where it lives."""
    directory = state_dir()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, SECRET_NAME)
    tmp = os.path.join(directory, f".{SECRET_NAME}.{os.getpid()}")
    _write_private(tmp, os.urandom(32))
    os.replace(tmp, path)
    return path


def _load_or_create_secret(directory: str) -> bytes:
    path = os.path.join(directory, SECRET_NAME)
    try:
        if os.path.exists(path):
            return _read_secret(path)
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f".{SECRET_NAME}.{os.getpid()}")
        _write_private(tmp, os.urandom(32))
        try:
            # link() fails if another ms got there first; then both use the winner's secret.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
        return _read_secret(path)
    except OSError as e:
        # A read-only home must not stop listing; the ids just won't survive this run.
        from mscli.messages import warn

        warn(f"cannot keep device ids stable: {directory}: {e.strerror}; "
             "set MS_STATE_DIR to a writable directory")
        return os.urandom(32)


def _read_secret(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 16:  # truncated by a crash or by hand: ids cannot be kept, start anew
        reset_secret()
        return _read_secret(path)
    return data


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())

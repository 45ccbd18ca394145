"""The id secret, the one state file ms keeps: never a hang, never left readable by others,
and a clear line when it cannot be written."""

from __future__ import annotations

import os
import stat

import pytest

from conftest import one_error_line
from mscli import ids

# A listing takes well under a second; a hang is what these bound, so the margin is wide.
LISTING_TIMEOUT = 30


@pytest.fixture
def state(tmp_path, monkeypatch):
    directory = tmp_path / "state"
    monkeypatch.setenv("MS_STATE_DIR", str(directory))
    monkeypatch.setattr(ids, "_warned_private", set())
    return directory


def hasher(warnings: list) -> ids.IdHasher:
    return ids.IdHasher.for_user(warnings.append)


def secret_file(state) -> os.stat_result:
    return os.lstat(state / ids.SECRET_NAME)


def test_first_use_creates_a_private_secret_in_a_private_directory(state):
    old = os.umask(0)  # the mode must not depend on the user's umask
    try:
        warnings = []
        first = hasher(warnings).device_id("videoinput", "k")
    finally:
        os.umask(old)
    assert warnings == []
    assert stat.S_IMODE(secret_file(state).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state).st_mode) & 0o077 == 0
    assert hasher([]).device_id("videoinput", "k") == first  # stable across runs
    assert [p.name for p in state.iterdir()] == [ids.SECRET_NAME]  # no temporary left


@pytest.fixture
def fifo_secret(tmp_path):
    """The state dir the `ms` fixture uses, with a FIFO where the secret should be."""
    state = tmp_path / "state"
    state.mkdir()
    os.mkfifo(state / ids.SECRET_NAME)
    return state


def test_a_fifo_in_place_of_the_secret_does_not_block_listing(ms, fifo_secret):
    state = fifo_secret
    result = ms("devices", "--fake", "--json", timeout=LISTING_TIMEOUT)
    assert result.code == 0, result.err
    assert "not a regular file (a FIFO)" in result.err
    assert stat.S_ISREG(secret_file(state).st_mode)
    assert stat.S_IMODE(secret_file(state).st_mode) == 0o600
    again = ms("devices", "--fake", "--json", timeout=LISTING_TIMEOUT)
    assert again.out == result.out and again.err == ""  # the new secret is kept


@pytest.mark.parametrize("make", [
    lambda path: os.symlink("/dev/zero", path),  # a device: endless bytes
    lambda path: os.symlink("nowhere", path),  # dangling
    lambda path: path.write_bytes(b"short"),  # truncated by a crash
], ids=["device", "dangling-symlink", "truncated"])
def test_an_unusable_secret_is_replaced_by_a_new_regular_one(state, make):
    state.mkdir()
    make(state / ids.SECRET_NAME)
    first = hasher([]).device_id("videoinput", "k")
    assert stat.S_ISREG(secret_file(state).st_mode)
    assert len((state / ids.SECRET_NAME).read_bytes()) == ids.SECRET_BYTES
    assert hasher([]).device_id("videoinput", "k") == first


def test_a_directory_in_place_of_the_secret_still_lists(state):
    (state / ids.SECRET_NAME).mkdir(parents=True)
    warnings = []
    assert len(hasher(warnings).device_id("videoinput", "k")) == ids.ID_HEX_CHARS
    assert len(warnings) == 1 and "cannot keep device ids stable" in warnings[0]
    assert "MS_STATE_DIR" in warnings[0]


@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640])
def test_a_secret_readable_by_others_is_made_private_with_one_warning(state, mode):
    state.mkdir()
    path = state / ids.SECRET_NAME
    path.write_bytes(b"s" * 32)
    os.chmod(path, mode)
    expected = ids.IdHasher(b"s" * 32).device_id("videoinput", "k")
    warnings = []
    assert hasher(warnings).device_id("videoinput", "k") == expected  # same ids
    assert stat.S_IMODE(secret_file(state).st_mode) == 0o600
    assert len(warnings) == 1 and f"({mode:04o}); made it private (0600)" in warnings[0]
    hasher(warnings)
    assert len(warnings) == 1


def test_a_secret_that_cannot_be_made_private_is_warned_about_once(state, monkeypatch):
    state.mkdir()
    path = state / ids.SECRET_NAME
    path.write_bytes(b"s" * 32)
    os.chmod(path, 0o644)

    def refuse(fd, mode):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchmod", refuse)
    warnings = []
    hasher(warnings)
    hasher(warnings)
    assert len(warnings) == 1
    assert "cannot be made private (Operation not permitted)" in warnings[0]
    assert "--reset-ids" in warnings[0]


def test_completion_hears_nothing_about_the_secret(state):
    state.mkdir()
    (state / ids.SECRET_NAME).write_bytes(b"s" * 32)
    os.chmod(state / ids.SECRET_NAME, 0o644)
    from mscli.catalog import load_devices

    silent = []
    load_devices(fake=True, warn=silent.append)
    assert len(silent) == 1  # through the caller's warn, not straight to stderr


def test_reset_ids_into_an_unwritable_state_dir_is_one_clear_line(ms, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where a directory should be: no one can write under it
    state = blocker / "state"
    result = ms("devices", "--fake", "--reset-ids", env={"MS_STATE_DIR": str(state)})
    assert result.code == 1
    line = one_error_line(result)
    assert line == (f"ms: AbortError: cannot write {state / ids.SECRET_NAME}: Not a directory; "
                    "set MS_STATE_DIR to a writable directory")


def test_reset_ids_replaces_a_fifo(ms, fifo_secret):
    result = ms("devices", "--fake", "--reset-ids", timeout=LISTING_TIMEOUT)
    assert result.code == 0, result.err
    assert stat.S_ISREG(secret_file(fifo_secret).st_mode)


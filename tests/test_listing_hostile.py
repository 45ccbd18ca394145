"""Second hostile pass on what does not capture: camera controls at their edges, the id
secret under racing runs, `devices --watch`, and the DEVICE completion of labels a shell
would run."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest
from conftest import one_error_line

from mscli import ids, render
from mscli.controls import NumericControl
from mscli.events import CaptureClock, EventLog
from mscli.watch import Watcher
from test_completion import BASH, SHOW, ZSH, needs, type_tab

# --- camera controls: values on the edges of a fractional step --------------------------------

# 0.1 + 2 * 0.1 is 0.30000000000000004 in floats: a max on a step that float noise overshoots.
FRACTIONAL = {"min": 0.1, "max": 0.3, "step": 0.1}


@pytest.mark.parametrize("wanted", [0.3, 0.31, 5])
def test_a_max_on_a_fractional_step_is_a_value_the_control_takes(wanted):
    assert NumericControl(**FRACTIONAL, value=0.1).settle(wanted) == 0.3
    assert NumericControl(**FRACTIONAL, value=0.1).on_step(0.3)


def fractional_camera(tmp_path, value: float):
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [{
        "kind": "videoinput", "label": "Cam",
        "controls": {"exposureTime": dict(FRACTIONAL, value=value)}}]}))
    return str(path)


def test_a_device_file_may_declare_the_max_of_a_fractional_step(ms, tmp_path):
    got = ms("caps", "label:Cam", "--devices", fractional_camera(tmp_path, 0.3), "--json")
    assert got.code == 0, got.err
    assert got.json()["exposureTime"] == FRACTIONAL


@pytest.mark.parametrize("constraint", [0.3, {"exact": 0.3}, {"min": 0.25}])
def test_resolve_reaches_the_max_of_a_fractional_step(ms, tmp_path, constraint):
    # It was 0.2 for an ideal, and an "unexpected AttributeError" (exit 1) for exact 0.3.
    got = ms("resolve", "--devices", fractional_camera(tmp_path, 0.1), "--json",
             "-c", json.dumps({"video": {"exposureTime": constraint}}))
    assert got.code == 0, got.err
    assert got.json()["tracks"][0]["settings"]["exposureTime"] == 0.3


# --- bash: completing a label never runs it ---------------------------------------------------

# A label a shell would run or split if a completion inserted it as it is.
SHELL_TEXT = 'Cam "q" \'s $(touch PWNED) `touch PWNED` \\ !! $HOME {a,b} ~ * 📷'


@pytest.mark.parametrize("quote", ["", "'", '"'])
def test_bash_tab_inserts_a_label_the_shell_hands_back_unchanged(shell_env, tmp_path, quote):
    # Inside quotes the label was inserted as it is: in "...", its $(...) ran on Enter.
    (tmp_path / "d.json").write_text(json.dumps(
        {"devices": [{"kind": "videoinput", "label": SHELL_TEXT}]}))
    setup = [f"source {shlex.quote(str(BASH))}", "PS1='$ '", SHOW,
             f"cd {shlex.quote(str(tmp_path))}"]
    # Keys after the Tab wait for its completion: "" is enough to wait for.
    words = type_tab(["bash", "--norc", "--noprofile", "-i"], shell_env, setup,
                     f"ms caps --devices d.json {quote}label:C", "")
    assert words == f"<ms><caps><--devices><d.json><label:{SHELL_TEXT}>"
    assert not (tmp_path / "PWNED").exists()


@needs("zsh", "zsh")
@pytest.mark.parametrize("quote", ["", "'", '"'])
def test_zsh_tab_inserts_a_label_the_shell_hands_back_unchanged(shell_env, tmp_path, quote):
    # zsh quoted it, but _describe took the label's backslash for an escape and dropped it.
    (tmp_path / "d.json").write_text(json.dumps(
        {"devices": [{"kind": "videoinput", "label": SHELL_TEXT}]}))
    functions = tmp_path / "zfunc"
    functions.mkdir()
    shutil.copy(ZSH, functions / "_ms")
    setup = [f"fpath=({shlex.quote(str(functions))} $fpath)", "PS1='$ '", SHOW,
             f"autoload -U compinit && compinit -u -d {shlex.quote(str(tmp_path / 'dump'))}",
             f"cd {shlex.quote(str(tmp_path))}"]
    words = type_tab(["zsh", "-f", "-i"], shell_env, setup,
                     f"ms caps --devices d.json {quote}label:C", "")
    assert words == f"<ms><caps><--devices><d.json><label:{SHELL_TEXT}>"
    assert not (tmp_path / "PWNED").exists()


# --- the id secret: racing runs agree ---------------------------------------------------------


@pytest.fixture
def truncated_secret(tmp_path, monkeypatch):
    """A state directory whose secret is too short to keep (a crash cut it): the next run
    replaces it."""
    state = tmp_path / "state"
    state.mkdir()
    (state / ids.SECRET_NAME).write_bytes(b"abc")
    (state / ids.SECRET_NAME).chmod(0o600)
    monkeypatch.setenv("MS_STATE_DIR", str(state))
    return state


def device_id(secret: bytes) -> str:
    return ids.IdHasher(secret).device_id("videoinput", "key")


def test_a_run_that_finds_another_replacing_the_secret_uses_the_other_ones(
        truncated_secret, monkeypatch):
    # Each racer replaced it with its own: runs started together printed different ids,
    # and all but the last printed ids that never came back.
    theirs = b"s" * ids.SECRET_BYTES
    other = os.open(truncated_secret, os.O_RDONLY)
    fcntl.flock(other, fcntl.LOCK_EX)  # another ms, in the middle of replacing it

    def other_run_finishes(seconds):
        fd = os.open(truncated_secret / "new", os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, theirs)
        os.close(fd)
        os.replace(truncated_secret / "new", truncated_secret / ids.SECRET_NAME)
        os.close(other)  # and lets go of the lock

    clock = SimpleNamespace(monotonic=time.monotonic, sleep=other_run_finishes)
    monkeypatch.setattr(ids, "time", clock, raising=False)
    warnings = []
    assert ids.IdHasher.for_user(warnings.append).device_id("videoinput", "key") == \
        device_id(theirs)
    assert warnings == []


def test_a_run_stuck_replacing_the_secret_does_not_hang_the_others(truncated_secret,
                                                                    monkeypatch):
    stuck = os.open(truncated_secret, os.O_RDONLY)
    fcntl.flock(stuck, fcntl.LOCK_EX)  # never let go (stopped with Ctrl-Z)
    now = [0.0]
    clock = SimpleNamespace(monotonic=lambda: now[0],
                            sleep=lambda seconds: now.__setitem__(0, now[0] + seconds))
    monkeypatch.setattr(ids, "time", clock, raising=False)
    try:
        got = ids.IdHasher.for_user(lambda message: None).device_id("videoinput", "key")
    finally:
        os.close(stuck)
    assert 0 < now[0] <= 2 * ids.LOCK_WAIT_SECONDS  # waited, but a bounded (fake) while
    secret = (truncated_secret / ids.SECRET_NAME).read_bytes()
    assert len(secret) == ids.SECRET_BYTES and got == device_id(secret)


# --- devices --watch --------------------------------------------------------------------------


def watch_file(path, *labels) -> None:
    path.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": label} for label in labels]}))


def test_watch_sees_an_edit_that_keeps_the_mtime(tmp_path):
    # File systems whose mtime ticks every few ms: a file caught half-written and finished
    # in the same tick kept the stale list until the next edit.
    path = tmp_path / "w.json"
    watch_file(path, "A")
    watcher = Watcher(str(path), False, EventLog(CaptureClock()))
    tick = path.stat().st_mtime_ns + 10**9  # the edit's tick, after the first
    path.write_text('{"devices": [')  # caught half-written
    os.utime(path, ns=(tick, tick))
    warnings = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mscli.watch.warn", warnings.append)
        watcher._reload(virtual=True)
        watch_file(path, "A", "B")
        os.utime(path, ns=(tick, tick))
        watcher._reload(virtual=True)
    assert len(warnings) == 1
    assert [d["label"] for d in watcher.listed(0.0)] == ["A", "B"]


def test_sighup_ends_the_watch_as_the_other_stop_signals_do(ms_env, tmp_path):
    # It killed it (exit 129), where SIGINT and SIGTERM end it with exit 0.
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"devices": [{"kind": "videoinput", "label": "A", "faults": [
        {"at": 0.05, "event": "disconnect"}]}]}))
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "devices", "--watch",
                             "--devices", str(path)], env=ms_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        event = proc.stderr.readline()  # the watch runs: its handlers are in place
    finally:
        proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=30)
    assert json.loads(event)["event"] == "devicechange", event + err
    assert proc.returncode == 0, err
    assert [d["label"] for d in json.loads(out)] == ["A"]


def state_in_the_way(tmp_path, what: str):
    path = tmp_path / "state"
    if what == "a file":
        path.write_text("")
    else:  # a symlink loop
        os.symlink(tmp_path / "other", path)
        os.symlink(path, tmp_path / "other")
    return path


@pytest.mark.parametrize("what, reason", [("a file", "Not a directory"),
                                          ("a loop", "Too many levels of symbolic links")])
def test_reset_ids_says_what_is_in_the_way_of_the_state_dir(ms, tmp_path, what, reason):
    # It said "cannot write STATE/id-secret: File exists".
    state = state_in_the_way(tmp_path, what)
    got = ms("devices", "--fake", "--reset-ids", env={"MS_STATE_DIR": str(state)})
    assert got.code == 1
    assert one_error_line(got) == (f"ms: AbortError: cannot write {state / ids.SECRET_NAME}: "
                                   f"{reason}; set MS_STATE_DIR to a writable directory")
    listed = ms("devices", "--fake", "--json", env={"MS_STATE_DIR": str(state)})
    assert listed.code == 0 and f"{reason}; set MS_STATE_DIR" in listed.err


def test_the_completion_hook_into_a_full_stdout_is_one_line(ms_env):
    # It was "unexpected OSError: [Errno 28] No space left on device ... report it".
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "mscli", "devices", "--fake", "--complete"],
                              env=ms_env, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == "ms: AbortError: cannot write to stdout: No space left on device\n"


# --- --reapply: constraints that choose another native mode -----------------------------------


def test_reapply_that_chooses_a_larger_native_mode_keeps_the_track(ms_env, tmp_path):
    # The pattern delivered the frame it had made in the old 320x240 mode after the switch:
    # "ended" (read-error: cannot scale 320x240 up to 640x480), and the recording stopped.
    constraints = tmp_path / "c.json"
    constraints.write_text('{"video": {"width": 320}}')
    out = tmp_path / "o.y4m"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mscli", "capture", "--fake", "-c", str(constraints),
         "--reapply", "--no-content", "--stats", "0.1", "-t", "2.5", "-o", str(out)],
        env=ms_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        first = proc.stderr.readline()  # a stats event: capturing, SIGHUP now reapplies
        constraints.write_text('{"video": {"frameRate": 10}}')  # 640x480 by default
        proc.send_signal(signal.SIGHUP)
    finally:
        err = first + proc.communicate(timeout=60)[1]
    events = [json.loads(line) for line in err.splitlines() if line.startswith(b"{")]
    assert proc.returncode == 0, err
    assert "ended" not in [e["event"] for e in events], err
    stopped = next(e for e in events if e["event"] == "stopped")
    assert stopped["detail"]["tracks"][0]["duration"] >= 2.0, err


def test_watch_does_not_wait_on_a_fifo_put_in_place_of_the_device_file(tmp_path):
    # It waited the 10 s a FIFO is given to deliver, and a Ctrl-C with it.
    path = tmp_path / "w.json"
    watch_file(path, "A")
    watcher = Watcher(str(path), False, EventLog(CaptureClock()))
    path.unlink()
    os.mkfifo(path)
    warnings = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mscli.watch.warn", warnings.append)
        reload = threading.Thread(target=watcher._reload, args=(True,), daemon=True)
        reload.start()
        reload.join(5)  # half the FIFO's wait: a reload reads no FIFO at all
        assert not reload.is_alive()
    assert warnings == [f"device file {str(path)!r} is not a regular file (the watch re-reads "
                        "the file it was given when it changes); keeping the last list"]
    assert [d["label"] for d in watcher.listed(0.0)] == ["A"]


# --- the human tables: a device's name is text, never terminal codes --------------------------

# What a USB camera's descriptor may call itself: retitle the terminal, clear it, and turn the
# rest of the row around.
HOSTILE_NAME = "Cam \x1b]0;owned\x07 \x1b[2J \u202e reversed"


@pytest.mark.parametrize("draw", [
    lambda: render.devices_table([{"deviceId": "d", "kind": "videoinput",
                                   "label": HOSTILE_NAME, "groupId": "g"}]),
    lambda: render.caps_tables([{"kind": "videoinput", "label": HOSTILE_NAME,
                                 "capabilities": {"width": {"min": 1, "max": 2}}}]),
    lambda: render.resolve_table({"tracks": [{"kind": "video", "label": HOSTILE_NAME,
                                              "settings": {"width": 2}}]}),
])
def test_a_device_name_reaches_the_table_escaped(capsys, draw):
    draw()
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07" in out and "\\u202e" in out

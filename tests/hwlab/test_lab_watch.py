"""`ms devices --watch` against real hot-plug: unloading and loading vivid and snd-aloop makes
cameras and sound cards go and come back, each a `devicechange` event naming them. (The sound
card is the case PortAudio cannot see without being initialised again.)

Runs last in the lab (modules are reloaded; they come back with the same ids)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from labtools import LAB

pytestmark = LAB


class Watch:
    def __init__(self, tmp_path):
        self.log = tmp_path / "watch.ndjson"  # ms creates it: it refuses to replace a file
        self.proc = subprocess.Popen([sys.executable, "-m", "mscli", "devices", "--watch",
                                      "--json", "--events", str(self.log)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.seen = 0
        text = ""  # the list first (stdout): only then is the watch looking
        while True:
            line = self.proc.stdout.readline()
            assert line, self.proc.stderr.read()
            text += line
            try:
                self.initial = json.loads(text)
                break
            except ValueError:
                continue

    def next_change(self, timeout=30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text() if self.log.exists() else ""
            lines = [line for line in text.splitlines() if line.strip()]
            if len(lines) > self.seen:
                self.seen += 1
                event = json.loads(lines[self.seen - 1])
                assert event["event"] == "devicechange"
                return event["detail"]
            assert self.proc.poll() is None, self.proc.stderr.read()
            time.sleep(0.1)
        raise AssertionError("no devicechange event")

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        _out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


def modprobe(*args: str) -> None:
    """modprobe, again while the watcher happens to hold a node open for its listing."""
    for _ in range(50):
        if subprocess.run(["modprobe", *args], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"modprobe {' '.join(args)} kept failing")


def labels(devices: list[dict]) -> set[tuple[str, str]]:
    return {(d["kind"], d["label"]) for d in devices}


def test_watch_sees_cameras_and_sound_cards_go_and_come_back(tmp_path):
    watch = Watch(tmp_path)
    try:
        assert ("videoinput", "vivid") in labels(watch.initial)
        timings = {}
        for module, args, kind, label in (
                ("vivid", ("vivid", "n_devs=1"), "videoinput", "vivid"),
                ("snd-aloop", ("snd-aloop",), "audioinput", "Loopback: PCM (hw:0,1)")):
            started = time.monotonic()
            modprobe("-r", module)
            gone = watch.next_change()
            timings[f"{module} removed"] = time.monotonic() - started
            assert (kind, label) in labels(gone["removed"]), gone
            assert (kind, label) not in labels(gone["devices"])
            assert not gone["added"]
            started = time.monotonic()
            modprobe(*args)
            back = watch.next_change()
            timings[f"{module} loaded"] = time.monotonic() - started
            assert (kind, label) in labels(back["added"]), back
            assert labels(back["added"]) == labels(gone["removed"])
            # Same ids as before it went: the keys do not depend on load order.
            assert sorted(d["deviceId"] for d in back["added"]) == \
                sorted(d["deviceId"] for d in gone["removed"])
        print("\nwatch: " + ", ".join(f"{k} -> event in {v:.1f} s" for k, v in timings.items()))
    finally:
        code, err = watch.stop()
    assert code == 0, err
    assert err == ""

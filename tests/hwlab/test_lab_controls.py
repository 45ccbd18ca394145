"""vivid's controls (brightness, contrast, saturation 0-255, default 128) through ms.

The ioctl layer against the real driver: what ms reads equals `v4l2-ctl -L`, a value set is
what v4l2-ctl reads back (clamped as the driver clamps it), and a change v4l2-ctl makes from
another process is an event on ms's descriptor while ms's own settings are not. Then end to
end: constraints change the captured pixels (mean luma, luma spread, chroma), `ms caps`
shows what v4l2-ctl lists, a `v4l2-ctl -c` during a capture fires `configurationchange`, and
`--reapply` with a new brightness changes the frames in flight.

Pixel measurements compare means with margins taken from field.md's measured curve (mean luma
18.5 / 57.6 / 164.9 at brightness 0 / 128 / 255): half of each measured step, never an exact
value, since vivid's pattern carries moving text.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import av
import numpy as np
import pytest
from labtools import CAMERA_NODE, LAB, camera, events_in, recording, run_ms

from mscli.backends import v4l2_controls as vc
from mscli.controls import NumericControl

pytestmark = LAB

VIVID = ("brightness", "contrast", "saturation")
DEFAULT = 128
LIST_LINE = re.compile(r"^\s*(\w+) (0x[0-9a-f]{8}) \((\w+)\)\s*:(.*)$")
FRAME_BYTES = 640 * 480 * 3 // 2


def v4l2_ctl_list() -> dict[int, dict]:
    """`v4l2-ctl -L`: control id -> {"name", "type", "min", "max", "step", "default",
    "value", "flags"}."""
    text = subprocess.run(["v4l2-ctl", "-d", CAMERA_NODE, "-L"], check=True,
                          capture_output=True, text=True, timeout=30).stdout
    out = {}
    for line in text.splitlines():
        if m := LIST_LINE.match(line):
            fields = dict(kv.split("=", 1) for kv in m.group(4).split() if "=" in kv)
            entry = {"name": m.group(1), "type": m.group(3), "flags": fields.get("flags", "")}
            entry.update({k: int(v) for k, v in fields.items() if re.fullmatch(r"-?\d+", v)})
            out[int(m.group(2), 16)] = entry
    return out


def v4l2_ctl_get(name: str) -> int:
    text = subprocess.run(["v4l2-ctl", "-d", CAMERA_NODE, "-C", name], check=True,
                          capture_output=True, text=True, timeout=30).stdout
    return int(text.split(":")[1])


def v4l2_ctl_set(**values) -> None:
    pairs = ",".join(f"{k}={v}" for k, v in values.items())
    subprocess.run(["v4l2-ctl", "-d", CAMERA_NODE, "-c", pairs], check=True,
                   capture_output=True, timeout=30)


@pytest.fixture(autouse=True)
def defaults():
    """Every test starts and ends with vivid's defaults."""
    v4l2_ctl_set(**{name: DEFAULT for name in VIVID})
    yield
    v4l2_ctl_set(**{name: DEFAULT for name in VIVID})


@pytest.fixture
def controls():
    fd = os.open(CAMERA_NODE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        yield vc.CameraControls(fd)
    finally:
        os.close(fd)


# --- the ioctl layer ---------------------------------------------------------------------------


def test_what_ms_reads_is_what_v4l2_ctl_lists(controls):
    v4l2_ctl_set(brightness=77)  # a current value other than the default
    listed = v4l2_ctl_list()
    ours = controls.describe()
    mapped = {name for name, cid in vc.NUMERIC.items() if cid in listed}
    assert mapped == set(VIVID), f"vivid lists {sorted(listed)}"
    for name in mapped:
        entry = listed[vc.NUMERIC[name]]
        assert ours[name] == NumericControl(entry["min"], entry["max"], entry["step"],
                                            entry["value"]), name
    assert ours["brightness"].value == 77
    assert set(ours) == set(VIVID)  # no camera-class controls: no modes, no zoom


def test_a_value_set_is_what_the_driver_reads_back_clamped_as_it_clamps(controls):
    got = controls.apply({"brightness": 40, "contrast": 300, "saturation": -5})
    assert got == {"brightness": 40, "contrast": 255, "saturation": 0}
    assert [v4l2_ctl_get(n) for n in VIVID] == [40, 255, 0]


def test_another_programs_change_is_an_event_and_ours_is_not(controls):
    controls.watch()
    controls.apply({"brightness": 90})
    started = time.monotonic()
    assert controls.changes(0.5) == {}
    assert time.monotonic() - started >= 0.45  # poll() really waited: no event, no spinning
    v4l2_ctl_set(brightness=33)
    deadline = time.monotonic() + 10
    seen = {}
    while not seen and time.monotonic() < deadline:
        seen = controls.changes(0.5)
    assert seen == {"brightness": 33}


# --- end to end: constraints, caps, events, --reapply -------------------------------------------


def video(**controls_asked) -> dict:
    """640x480 at 25 fps (an ideal rate: a guest that stalls under a busy host must not turn
    into `overconstrained` here, which test_lab_capture covers)."""
    return {"deviceId": {"exact": camera()["deviceId"]}, "width": {"exact": 640},
            "height": {"exact": 480}, "frameRate": 25, **controls_asked}


def unexpected(events) -> list:
    """Events other than the stop and the mutes a stalled guest causes, with their details."""
    return [(e["event"], e["time"], e["detail"]) for e in events
            if e["event"] not in ("stopped", "mute", "unmute")]


def planes(path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(Y, U, V) of each decoded frame."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            a = frame.reformat(format="yuv420p").to_ndarray()
            h = frame.height
            chroma = a[h:].reshape(-1)
            half = chroma.size // 2
            out.append((a[:h].astype(np.float64), chroma[:half].astype(np.float64),
                        chroma[half:].astype(np.float64)))
    return out


def measure(frames) -> dict:
    """Mean luma, luma spread (standard deviation) and chroma distance from grey."""
    return {"luma": float(np.mean([y.mean() for y, _u, _v in frames])),
            "spread": float(np.mean([y.std() for y, _u, _v in frames])),
            "chroma": float(np.mean([np.abs(u - 128).mean() + np.abs(v - 128).mean()
                                     for _y, u, v in frames]))}


def captured(tmp_path, **asked) -> dict:
    """Twelve frames with these control constraints; measured over the last eight (a frame
    the driver filled before the control was set may come first)."""
    name = "-".join(f"{k}{v}" for k, v in asked.items()) or "defaults"
    out = tmp_path / f"{name}.nut"
    run_ms("capture", "-c", json.dumps({"video": video(**{k: {"exact": v}
                                                          for k, v in asked.items()})}),
           "--frames", "12", "-o", str(out))
    return measure(planes(out)[-8:])


def test_constraints_change_the_pixels(tmp_path):
    # Brightness moves luma only and saturation chroma only (measured in this lab: luma
    # 21.6 / 86.6 / 197.9 at brightness 0 / 128 / 255 with chroma unchanged; saturation 0
    # gives chroma 0 with luma unchanged), so one capture can ask for one of each: four
    # captures instead of six (each costs ~20 s in the emulated guest).
    base = captured(tmp_path)
    dark_grey = captured(tmp_path, brightness=0, saturation=0)
    bright_vivid = captured(tmp_path, brightness=255, saturation=255)
    flat = captured(tmp_path, contrast=0)
    print(f"\nvivid through constraints: default {base}\n brightness 0 saturation 0 "
          f"{dark_grey}\n brightness 255 saturation 255 {bright_vivid}\n contrast 0 {flat}")
    # field.md's curve (18.5 / 57.6 / 164.9): half of each step as the margin
    assert dark_grey["luma"] < base["luma"] - (57.6 - 18.5) / 2
    assert bright_vivid["luma"] > base["luma"] + (164.9 - 57.6) / 2
    assert dark_grey["chroma"] < base["chroma"] / 4  # saturation 0: grey frames
    assert bright_vivid["chroma"] > base["chroma"] * 1.25  # 255/128 of it, less the clipping
    assert flat["spread"] < base["spread"] / 4  # contrast 0 flattens the picture
    assert v4l2_ctl_get("contrast") == 0  # the last capture left its value in the driver


def test_caps_and_settings_show_what_v4l2_ctl_lists():
    v4l2_ctl_set(contrast=99)
    listed = v4l2_ctl_list()
    caps = json.loads(run_ms("caps", camera()["deviceId"], "--json").stdout)
    resolved = json.loads(run_ms("resolve", "-c", json.dumps({"video": video()}),
                                 "--json").stdout)
    [track] = resolved["tracks"]
    for name, cid in vc.NUMERIC.items():
        if cid not in listed:
            assert name not in caps, name
            continue
        entry = listed[cid]
        assert caps[name] == {"min": entry["min"], "max": entry["max"], "step": entry["step"]}
        assert track["settings"][name] == entry["value"], name
    assert track["settings"]["contrast"] == 99


def test_another_programs_change_fires_configurationchange(tmp_path):
    out, log = tmp_path / "c.nut", tmp_path / "events.ndjson"
    with recording("-c", json.dumps({"video": video()}), "-t", "6", "-o", str(out),
                   "--events", str(log), out=out, written=25 * FRAME_BYTES) as proc:
        v4l2_ctl_set(brightness=230)
        _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    changes = [e for e in events_in(log) if e["event"] == "configurationchange"]
    assert len(changes) == 1 and len(unexpected(events_in(log))) == 1, \
        unexpected(events_in(log))
    detail = changes[0]["detail"]
    assert detail["changed"] == ["brightness"] and detail["settings"]["brightness"] == 230
    frames = planes(out)
    at = changes[0]["time"]
    with av.open(str(out)) as container:
        times = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    before = measure([f for f, t in zip(frames, times) if t < at - 0.2])
    after = measure([f for f, t in zip(frames, times) if t > at + 0.5])
    print(f"\nv4l2-ctl -c brightness=230 at {at:.3f} s: before {before}, after {after}")
    assert after["luma"] > before["luma"] + (164.9 - 57.6) / 2 * 0.8


def test_reapply_changes_the_brightness_in_flight(tmp_path):
    file = tmp_path / "c.json"
    file.write_text(json.dumps({"video": video(brightness={"exact": 20})}))
    out, log = tmp_path / "re.nut", tmp_path / "events.ndjson"
    with recording("-c", str(file), "--reapply", "-t", "6", "-o", str(out), "--events",
                   str(log), out=out, written=25 * FRAME_BYTES) as proc:
        file.write_text(json.dumps({"video": video(brightness={"exact": 240})}))
        os.kill(proc.pid, signal.SIGHUP)
        _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    # ms's own setting is not another program's: no configurationchange, nothing ended
    assert unexpected(events_in(log)) == []
    with av.open(str(out)) as container:
        times = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    frames = planes(out)
    first = measure([f for f, t in zip(frames, times) if t < 0.8])
    last = measure([f for f, t in zip(frames, times) if t > times[-1] - 1.0])
    print(f"\nreapply brightness 20 -> 240: first {first}, last {last}")
    assert last["luma"] > first["luma"] + (164.9 - 18.5) / 2
    assert v4l2_ctl_get("brightness") == 240

"""Camera controls end to end: `ms capture` on a virtual camera with controls, its y4m
output (lossless) decoded and measured. Constraints set brightness, contrast, saturation,
zoom, pan and tilt from the first frame; a `control` fault fires one configurationchange and
the frames after it show the new value; --reapply changes brightness in flight, and a
required value the camera cannot take fires overconstrained and keeps the old one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest

from media_check import read_y4m_yuv
from mscli.controls import NumericControl
from mscli.media import adjust
from mscli.media.pattern import PatternGenerator, is_flash, read_frame_number

W, H = 640, 360
CAMERA = {"kind": "videoinput", "label": "PTZ Camera",
          "modes": [{"width": W, "height": H, "frameRate": 30}],
          "controls": {"brightness": {"min": 0, "max": 255, "step": 1, "value": 128},
                       "contrast": {"min": 0, "max": 255, "step": 1, "value": 128},
                       "saturation": {"min": 0, "max": 255, "step": 1, "value": 128},
                       "zoom": {"min": 100, "max": 400, "step": 10, "value": 100},
                       "pan": {"min": -180, "max": 180, "step": 1, "value": 0},
                       "tilt": {"min": -90, "max": 90, "step": 1, "value": 0}}}
# Left of the burned-in digits and frame code (drawn over the scene, whatever the controls).
STRIP = slice(0, W * 3 // 10)


def devices(tmp_path, **extra) -> str:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [{**CAMERA, **extra}]}))
    return str(path)


def record(ms, tmp_path, video: dict, *args: str, **device):
    result = ms("capture", "--devices", devices(tmp_path, **device), "-c",
                json.dumps({"video": video}), "--unpaced", "-o", "-", "-f", "y4m", *args)
    assert result.code == 0, result.err
    _, frames = read_y4m_yuv(result.raw)
    events = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    return frames, events


def bar_edges(row: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(np.diff(row.astype(int))) > 8) + 1


def test_constraints_set_the_controls_and_the_pixels_show_them(ms, tmp_path):
    (plain, *_), _ = record(ms, tmp_path, {}, "--frames", "2")
    (toned, *_), _ = record(ms, tmp_path, {"brightness": 200, "contrast": 64,
                                           "saturation": 0}, "--frames", "2")
    (moved, *_), _ = record(ms, tmp_path, {"zoom": 200, "pan": 180, "tilt": 90},
                            "--frames", "2")
    y, u, v = (p[:, STRIP].astype(float) for p in plain)
    ty, tu, tv = (p[:, STRIP].astype(float) for p in toned)
    # brightness: luma up by 219 * 72 / 255 around mid-grey; contrast 64: half the spread
    assert ty.mean() - (126 + 0.5 * (y.mean() - 126)) == pytest.approx(219 * 72 / 255, abs=3)
    assert ty.std() / y.std() == pytest.approx(0.5, abs=0.05)
    assert np.abs(u - 128).mean() > 20 and (tu == 128).all() and (tv == 128).all()
    # zoom 2x from the top right corner of the scene: the right half of its bars, twice as
    # wide, and (tilted up) only the bars, which fill the scene's top two thirds
    my = moved[0]
    assert np.mean(np.abs(my[0].astype(int) - np.repeat(plain[0][0, W // 2:], 2)) <= 4) > 0.97
    assert np.abs(my[:, STRIP].astype(int) - my[0, STRIP]).max() <= 8
    assert all(abs(d - W // 4) <= 2 for d in np.diff(bar_edges(my[0]))[1:-1])
    assert abs(np.abs(plain[0][:, STRIP].astype(int) - plain[0][0, STRIP]).max(axis=1)
               .argmax() - 2 * H // 3) <= 1  # the plain scene's ramp starts there


def test_a_control_fault_fires_one_configurationchange_and_shows_after_it(ms, tmp_path):
    fault = {"at": 1, "event": "control", "name": "brightness", "value": 200}
    frames, events = record(ms, tmp_path, {}, "-t", "2", faults=[fault])
    change, stopped = events
    assert change["event"] == "configurationchange" and stopped["event"] == "stopped"
    assert change["time"] == 1.0 and change["kind"] == "video"
    assert change["detail"]["changed"] == ["brightness"]
    assert change["detail"]["settings"]["brightness"] == 200
    assert change["detail"]["settings"]["width"] == W
    assert len(frames) == 60
    for index, (y, _, _) in enumerate(frames):
        brightness = 200 if index >= 30 else 128
        assert read_frame_number(y) == index
        assert np.array_equal(y, pattern(index, brightness=brightness)), index
        if index > 30:  # not the flash: the scene is brighter than the plain pattern's
            assert y[:, STRIP].mean() - pattern(index)[:, STRIP].mean() > 40


def test_a_file_camera_shows_its_controls_and_faults_too(ms, tmp_path):
    """A file is the scene (its burned-in numbers included): controls act on all of it."""
    clip = tmp_path / "clip.mkv"
    plain = PatternGenerator(W, H, 30)
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for i in range(30):
            data = plain.frame(i).reshape(H * 3 // 2, W)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(data, format="yuv420p")))
        out.mux(stream.encode())
    fault = {"at": 0.5, "event": "control", "name": "brightness", "value": 200}
    frames, events = record(ms, tmp_path, {"zoom": 200, "pan": -180}, source={"file": str(clip)},
                            faults=[fault])
    change, ended = events
    assert (change["event"], change["time"], change["detail"]["changed"]) == \
        ("configurationchange", 0.5, ["brightness"])
    assert ended["event"] == "ended"
    assert len(frames) == 30
    controls = {name: NumericControl(**spec) for name, spec in CAMERA["controls"].items()}
    for i, (y, _, _) in enumerate(frames):
        values = {"zoom": 200, "pan": -180, **({"brightness": 200} if i >= 15 else {})}
        work = adjust.plan(W, H, controls, values)
        assert np.array_equal(y, adjust.adjust_frame(work, plain.frame(i), W, H)[:W * H]
                              .reshape(H, W)), i
    # measured too: zoomed 2x on the left half, the bars are twice as wide (left of the
    # file's own digits, which the zoom brings to the right of the row)
    edges = [e for e in bar_edges(frames[1][0][0]) if e < W * 2 // 3]
    assert len(edges) >= 2 and all(abs(d - W // 4) <= 2 for d in np.diff(edges))


def pattern(index: int, **values) -> np.ndarray:
    """The Y plane of frame `index` of the camera's pattern with these control values."""
    controls = {name: NumericControl(**spec) for name, spec in CAMERA["controls"].items()}
    generator = PatternGenerator(W, H, 30, controls=controls)
    generator.set_controls(values)
    return generator.frame(index)[:W * H].reshape(H, W)


FRAME_BYTES = len(b"FRAME\n") + W * H * 3 // 2


def frames_so_far(path) -> list:
    """The whole frames of a y4m file ms is still writing."""
    data = path.read_bytes() if path.exists() else b""
    header = data.find(b"\n") + 1
    if header == 0:
        return []
    whole = (len(data) - header) // FRAME_BYTES
    return read_y4m_yuv(data[:header + whole * FRAME_BYTES])[1]


def wait_for(condition, what: str, timeout: float = 30) -> None:
    """Until condition() holds: the capture got there, however loaded the machine is."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def test_reapply_changes_brightness_in_flight_and_keeps_it_when_overconstrained(ms_env,
                                                                                tmp_path):
    constraints = tmp_path / "c.json"
    constraints.write_text('{"video": {"brightness": 128}}')
    out, log = tmp_path / "r.y4m", tmp_path / "events.ndjson"
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", "--devices",
                             devices(tmp_path), "-c", str(constraints), "--reapply",
                             "-o", str(out), "--events", str(log)], env=ms_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        # frames written: ms handles SIGHUP by now (before, it would end the capture)
        wait_for(lambda: len(frames_so_far(out)) >= 5, "5 frames")
        constraints.write_text('{"video": {"brightness": 220}}')
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: brightened(frames_so_far(out)[-1][0]), "a brighter frame")
        constraints.write_text('{"video": {"brightness": {"exact": 300}}}')  # beyond 255
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log.exists() and b"overconstrained" in log.read_bytes(),
                 "overconstrained")
        written = len(frames_so_far(out))
        wait_for(lambda: len(frames_so_far(out)) >= written + 5, "5 frames more")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()
    events = [json.loads(line) for line in log.read_text().splitlines()]
    # ms's own change is no configurationchange
    assert [e["event"] for e in events] == ["overconstrained", "stopped"]
    assert events[0]["detail"]["constraint"] == "brightness"
    _, frames = read_y4m_yuv(out.read_bytes())
    numbers = [read_frame_number(y) for y, _, _ in frames]
    assert numbers == sorted(set(numbers))  # (a loaded machine may drop one, live)
    shown = [(np.array_equal(y, pattern(n)), np.array_equal(y, pattern(n, brightness=220)))
             for n, (y, _, _) in zip(numbers, frames) if not is_flash(y)]
    switch = shown.index((False, True))
    assert switch >= 5 and all(plain for plain, _ in shown[:switch])
    # from the first reapply to the end, through the failed one: brightness 220
    assert all(bright for _, bright in shown[switch:])
    assert numbers[-1] / 30 > events[0]["time"]


def test_reapply_keeps_a_live_control_value_its_new_bounds_allow(ms_env, tmp_path):
    # brightness goes to 200 by a fault (another program, on a real camera); a new file that
    # only bounds it (max 250) must leave 200, not set the value listed at start (128) again.
    constraints = tmp_path / "c.json"
    constraints.write_text('{"video": {}}')
    out = tmp_path / "k.y4m"
    fault = {"at": 0.3, "event": "control", "name": "brightness", "value": 200}
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", "--devices",
                             devices(tmp_path, faults=[fault]), "-c", str(constraints),
                             "--reapply", "-o", str(out), "-q"], env=ms_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)

    def last_shows(**values) -> bool:
        frames = frames_so_far(out)
        if not frames or is_flash(frames[-1][0]):
            return False
        y = frames[-1][0]
        return np.array_equal(y, pattern(read_frame_number(y), **values))

    try:
        wait_for(lambda: last_shows(brightness=200), "the fault's brightness")
        constraints.write_text('{"video": {"brightness": {"max": 250}, "contrast": 200}}')
        proc.send_signal(signal.SIGHUP)
        # the contrast shows that the new file was applied, whatever it did to brightness
        wait_for(lambda: last_shows(brightness=200, contrast=200)
                 or last_shows(brightness=128, contrast=200), "the new contrast")
        assert last_shows(brightness=200, contrast=200)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err.decode()


def brightened(y: np.ndarray) -> bool:
    return not is_flash(y) and np.array_equal(y, pattern(read_frame_number(y), brightness=220))

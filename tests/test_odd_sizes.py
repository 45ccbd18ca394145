"""A track of any size records to every output: odd and tiny sizes from a virtual camera's
native mode or from crop-and-scale, through y4m, the PyAV containers and pipes, decoded back
and compared pixel by pixel with what the camera delivered."""

from __future__ import annotations

import json

import numpy as np

from media_check import read_y4m

ODD_CAMERA = {"devices": [
    {"kind": "videoinput", "label": "Odd Camera",
     "modes": [{"width": 27, "height": 20, "frameRate": 30},
               {"width": 641, "height": 481, "frameRate": 30},
               {"width": 1, "height": 1, "frameRate": 30}]},
]}


def devices_file(tmp_path, devices=ODD_CAMERA) -> str:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(devices))
    return str(path)


def video(width: int, height: int | None = None, **more) -> str:
    constraints = {"width": {"exact": width}, **more}
    if height is not None:
        constraints["height"] = {"exact": height}
    return json.dumps({"video": constraints})


def capture(ms, tmp_path, constraints, *args, frames=3):
    return ms("capture", "--devices", devices_file(tmp_path), "-c", constraints,
              "--frames", str(frames), "--unpaced", "--events", "none", *args)


# ---------------------------------------------------------------------------------------------
# What the camera delivers


def test_a_1x1_camera_delivers_its_frames(ms, tmp_path):
    """A 1x1 native mode is a valid device file: its track delivers 1x1 frames (the pattern
    refused sizes under 2, so the track ended at once and nothing was recorded)."""
    result = capture(ms, tmp_path, video(1), "-o", "-")
    assert result.code == 0, result.err
    tags, planes = read_y4m(result.raw)
    assert (tags["W"], tags["H"]) == ("1", "1")
    assert len(planes) == 3 and all(p.shape == (1, 1) for p in planes)

"""What a virtual camera's controls do to its pixels (contract.md, "Camera controls").

The pattern camera applies the controls its device file declares to the scene (the scrolling
bars and ramp) before the frame number, its digits and the once-a-second flash are drawn over
it: those are a burned-in overlay, like a camera's on-screen display, so that tests can still
read every frame's number and find the flashes whatever the settings.

Each numeric control has a range [min, max] and a default d (its `value` in the device file);
`span` is max - min (a control with an empty range does nothing). On limited-range I420
(luma 16..235, chroma 16..240, mid-grey luma 126, neutral chroma 128):

- brightness v: luma + 219 * (v - d) / span (219 = white - black: the whole range moves the
  picture by at most its full contrast);
- contrast v: a gain of luma around mid-grey, g = max(0, 1 + 2 * (v - d) / span): with the
  default in the middle of the range, the minimum flattens the picture to grey and the
  maximum doubles its contrast;
- saturation v: a gain of chroma around 128, max(0, 1 + 2 * (v - d) / span): the minimum
  gives a grey picture;
- zoom v: a digital zoom of magnification v / min (min > 0; for a range starting at 0 or
  below, 1 at min rising linearly to 4 at max): the window cropped from the scene is
  1 / magnification of its width and height, scaled back up to the frame size;
- pan v / tilt v: where that window sits, across the range: pan = min at the left edge,
  max at the right (V4L2: positive pan turns right); tilt = max at the top, min at the
  bottom (positive tilt looks up). A control absent, or with an empty range, centres it.
  At magnification 1 the window is the whole picture, so pan and tilt show nothing.

Results are clipped to the legal range. Luma and chroma go through 256-entry tables; the
pattern passes the rows its scene is copied from through them when the values change, so
they cost nothing per frame, and a file camera passes each frame through them (about 1 ms
at 1280x720). A crop costs one OpenCV resize per plane and frame (OpenCV is imported only
then). At the defaults nothing is done at all.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mscli.media.frames import i420_planes

BLACK, WHITE, MID_GREY = 16, 235, 126
CHROMA_MIN, CHROMA_MAX, NEUTRAL = 16, 240, 128
LEVELS = WHITE - BLACK
ZERO_BASED_ZOOM = 4.0  # magnification at max of a zoom range that starts at 0 or below
PICTURE = ("brightness", "contrast", "saturation", "zoom", "pan", "tilt")


class Window(NamedTuple):
    """The crop of the scene a zoom shows, in luma pixels (x and y even: chroma lines up)."""

    x: int
    y: int
    width: int
    height: int


class Plan(NamedTuple):
    """What to do to each frame for one set of control values (None: nothing)."""

    luma: np.ndarray | None  # 256-entry lookup table
    chroma: np.ndarray | None
    window: Window | None


def _fraction(control, value: float) -> float | None:
    """(value - default) / span, None without the control or with an empty range."""
    if control is None or control.max <= control.min:
        return None
    return (value - control.value) / (control.max - control.min)


def _position(control, value: float | None) -> float:
    """Where value lies in the control's range, 0 at min and 1 at max (0.5 without one)."""
    if control is None or value is None or control.max <= control.min:
        return 0.5
    return min(1.0, max(0.0, (value - control.min) / (control.max - control.min)))


def magnification(control, value: float) -> float:
    if control is None or control.max <= control.min:
        return 1.0
    if control.min > 0:
        return max(1.0, value / control.min)
    return 1.0 + (ZERO_BASED_ZOOM - 1.0) * _position(control, value)


def _table(gain: float, offset: float, centre: float, lo: int, hi: int) -> np.ndarray:
    levels = centre + gain * (np.arange(256) - centre) + offset
    return np.clip(np.rint(levels), lo, hi).astype(np.uint8)


def crop_window(width: int, height: int, controls: dict, values: dict) -> Window | None:
    """The window of a width x height scene that zoom, pan and tilt show (None: all of it)."""
    zoom = controls.get("zoom")
    mag = magnification(zoom, values.get("zoom", zoom.value if zoom else 0.0))
    w = min(width, max(2, round(width / mag)))
    h = min(height, max(2, round(height / mag)))
    if (w, h) == (width, height):
        return None
    px = _position(controls.get("pan"), values.get("pan"))
    py = 1.0 - _position(controls.get("tilt"), values.get("tilt"))
    return Window(round((width - w) * px) & ~1, round((height - h) * py) & ~1, w, h)


def plan(width: int, height: int, controls: dict, values: dict) -> Plan:
    """The work for `values` (name -> current value) on a device with `controls` (name ->
    an object with min, max and value = the default, such as controls.NumericControl)."""
    def fraction(name):
        control = controls.get(name)
        return None if name not in values else _fraction(control, values[name])

    brightness, contrast, saturation = (fraction(n) for n in PICTURE[:3])
    luma = chroma = None
    if brightness or contrast:
        luma = _table(max(0.0, 1.0 + 2.0 * (contrast or 0.0)), LEVELS * (brightness or 0.0),
                      MID_GREY, BLACK, WHITE)
    if saturation:
        chroma = _table(max(0.0, 1.0 + 2.0 * saturation), 0.0, NEUTRAL, CHROMA_MIN,
                        CHROMA_MAX)
    return Plan(luma, chroma, crop_window(width, height, controls, values))


def is_identity(work: Plan) -> bool:
    return work.luma is None and work.chroma is None and work.window is None


def adjust_frame(work: Plan, data: np.ndarray, width: int, height: int) -> np.ndarray:
    """A whole I420 frame as the controls show it (a camera whose picture is not made here,
    a file's): a new buffer, or `data` itself when there is nothing to do."""
    if is_identity(work):
        return data
    out = np.empty_like(data)
    planes = i420_planes(out, width, height)
    if work.window is None:
        np.copyto(out, data)
    else:
        zoom(work.window, i420_planes(data, width, height), planes)
    for plane, lut in zip(planes, (work.luma, work.chroma, work.chroma)):
        if lut is not None:
            # "clip": bytes are always valid indices, and unlike "raise" it does not buffer
            np.take(lut, plane, out=plane, mode="clip")
    return out


def recolour(table: np.ndarray, lut: np.ndarray | None) -> np.ndarray:
    """An array of luma or chroma levels through a lookup table from plan() (None: as is)."""
    return table if lut is None else np.take(lut, table)


def zoom(window: Window, scene, planes) -> None:
    """The window of the scene's planes (Y, U, V), scaled up into `planes` (other arrays:
    OpenCV does not resize in place)."""
    import cv2  # only a zoomed camera pays for OpenCV's import

    x, y, w, h = window
    sy, su, sv = scene
    dy, du, dv = planes
    cx0, cy0, cx1, cy1 = x // 2, y // 2, (x + w + 1) // 2, (y + h + 1) // 2
    for src, dst in ((sy[y:y + h, x:x + w], dy), (su[cy0:cy1, cx0:cx1], du),
                     (sv[cy0:cy1, cx0:cx1], dv)):
        cv2.resize(src, (dst.shape[1], dst.shape[0]), dst=dst, interpolation=cv2.INTER_LINEAR)

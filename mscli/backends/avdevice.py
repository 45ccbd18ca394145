"""Cameras on macOS and Windows, listed through FFmpeg's capture devices in PyAV.

FFmpeg names the cameras: dshow (Windows) answers avdevice's device-list call with each
camera's DirectShow moniker (`@device_pnp_\\\\?\\usb#vid_046d&pid_0825…`, stable across reboots
and ports) as the name and its friendly name as the description; avfoundation (macOS) only
logs its list, which PyAV parses into an index and a name (screens are listed among the video
devices there and are left out). Neither says what a camera can do, so a camera's native modes
are asked for when a command first needs them (`ms caps`, `resolve`, `capture`), never by
`ms devices`: asking opens the camera, and the system may ask the user for permission.
dshow's `list_options` logs every capture pin's formats; avfoundation logs its "Supported
modes" when asked for a size no camera has. Both logs are parsed here (`dshow_modes`,
`avfoundation_modes`).

Capture goes through OpenCV (mscli.sources.desktop_camera), which opens a camera by its index
among the system's video devices (see there for where FFmpeg's and OpenCV's lists may
differ). Microphones and speakers come from PortAudio, as on Linux
(mscli.backends.portaudio): it is what captures them and the only one that can say their
capabilities; FFmpeg's audio list has names only and would list every microphone twice.

None of this runs on the machines the tests run on (Linux). The parsers are tested against
FFmpeg's log formats, the listing against a stand-in for PyAV's two calls; README's "What is
tested where" says so. The catalog loads this module on macOS and Windows only (elsewhere
`enumerate_devices` returns [] without importing PyAV): `ms devices` on Linux must not pay for
`import av`. On macOS and Windows it must (no camera listing there without native code),
about 0.2 s.
"""

from __future__ import annotations

import math
import re
import sys
import threading

from mscli import messages
from mscli.backends import Found, rates_in_range
from mscli.devices import VIDEO_INPUT, Device, VideoMode

FORMATS = {"darwin": "avfoundation", "win32": "dshow"}  # sys.platform -> FFmpeg input device
SCREEN = re.compile(r"Capture screen \d+$")  # avfoundation's screens, not cameras

# FFmpeg's pixel format or codec names -> the fourcc ms shows (as for V4L2 cameras).
FOURCC = {"yuyv422": "YUYV", "uyvy422": "UYVY", "nv12": "NV12", "yuv420p": "I420",
          "mjpeg": "MJPG", "h264": "H264", "gray": "GREY", "bgr24": "BGR3", "rgb24": "RGB3"}

# libavdevice/dshow.c, one line per media type of a pin (a colour description may follow):
#   "  pixel_format=yuyv422  min s=640x480 fps=5 max s=640x480 fps=30"
#   "  vcodec=mjpeg  min s=1280x720 fps=15 max s=1280x720 fps=30"
DSHOW_LINE = re.compile(r"(?:pixel_format|vcodec)=(\S+)\s+min s=(\d+)x(\d+) fps=([0-9.e+-]+|inf)"
                        r"\s+max s=(\d+)x(\d+) fps=([0-9.e+-]+|inf)")
# libavdevice/avfoundation.m, after "Supported modes:": "  1280x720@[1.000000 30.000000]fps"
AVFOUNDATION_LINE = re.compile(r"(\d+)x(\d+)@\[([0-9.]+) ([0-9.]+)\]fps")

# PyAV's log level is global and its avfoundation listing sets it too: one asker at a time
# (a capture's watcher and reader both look cameras up).
_ASKING = threading.Lock()


class ProbedCamera(Device):
    """A camera whose native modes are asked for once, when something first reads them."""

    def __init__(self, *args, probe, **kwargs):
        self._probe = probe
        self._modes: tuple[VideoMode, ...] | None = None
        super().__init__(*args, **kwargs)

    @property
    def modes(self) -> tuple[VideoMode, ...]:
        if self._modes is None:
            self._modes = self._probe(self)
        return self._modes

    @modes.setter
    def modes(self, value) -> None:
        self._modes = tuple(value) or None  # empty: not asked yet


def enumerate_devices() -> list[Device]:
    """The cameras FFmpeg's capture device for this system lists; [] on other systems."""
    fmt = FORMATS.get(sys.platform)
    if fmt is None:
        return Found()
    try:
        import av
    except ImportError as e:
        from mscli.catalog import BackendUnavailable

        raise BackendUnavailable(f"PyAV cannot load ({e}): cameras are not listed "
                                 "(pip install av)") from None
    try:
        listed = _list(av, fmt)
    except (av.FFmpegError, OSError, ValueError) as e:  # ValueError: a PyAV without `fmt`
        return Found(warnings=[f"{fmt}: cannot list cameras ({e})"])
    return cameras(fmt, listed)


def _list(av, fmt: str) -> list:
    with _ASKING:
        return av.enumerate_input_devices(fmt)


def cameras(fmt: str, listed) -> Found:
    """Devices for the video entries of PyAV's list (DeviceInfo: name, description,
    media_types), in its order: the position among them is OpenCV's index."""
    found = Found()
    seen: dict[str, int] = {}
    videos = [d for d in listed if "video" in (d.media_types or ())
              and not SCREEN.match(d.description or "")]
    for position, info in enumerate(videos):
        label = info.description or info.name
        if fmt == "dshow" and info.name.startswith("@device"):
            key = f"dshow:{info.name}"
        else:  # avfoundation has no unique id in its log: the name, numbered if repeated
            n = seen.get(label, 0)
            seen[label] = n + 1
            key = f"{fmt}:name:{label}" + (f"#{n}" if n else "")
        index = int(info.name) if fmt == "avfoundation" and info.name.isdigit() else position
        found.append(ProbedCamera(
            VIDEO_INPUT, label, key, key, fmt, probe=probe_modes,
            source={"format": fmt, "name": info.name, "index": index}))
    return found


def still_listed(device: Device) -> bool:
    """Whether FFmpeg still lists the camera (a capture asks when frames stop coming)."""
    import av

    fmt = device.source["format"]
    try:
        listed = _list(av, fmt)
    except (av.FFmpegError, OSError, ValueError):
        return True  # cannot tell: not taken as gone
    return any(d.key == device.key for d in cameras(fmt, listed))


def probe_modes(device: Device) -> tuple[VideoMode, ...]:
    """The camera's native modes from FFmpeg's log; () with a warning when it says none."""
    fmt, name = device.source["format"], device.source["name"]
    if fmt == "dshow":
        text = ffmpeg_log(f"video={name}", fmt, {"list_options": "true"})
        modes = dshow_modes(text)
    else:
        text = ffmpeg_log(str(device.source["index"]), fmt, {"video_size": "1x1"})
        modes = avfoundation_modes(text)
    if not modes:
        said = text.strip().splitlines()[-1:] or ["nothing"]
        messages.warn(f"{device.label}: {fmt} did not list its modes (FFmpeg said: "
                      f"{said[0].strip()}); it cannot be captured from")
    return modes


def ffmpeg_log(url: str, fmt: str, options: dict) -> str:
    """What FFmpeg logs while PyAV opens `url` with `options`: the open is expected to fail
    (both ways of asking for modes end it), the log is the answer. PyAV hands over one log
    call at a time and dshow writes a line in two calls, so the pieces are joined as FFmpeg
    would print them."""
    import av
    import av.logging

    with _ASKING:
        before = av.logging.get_level()
        av.logging.set_level(av.logging.INFO)  # dshow lists at INFO; PyAV's default: no log
        try:
            with av.logging.Capture() as logs:
                try:
                    av.open(url, format=fmt, options=options).close()
                except (av.FFmpegError, OSError):
                    pass
        finally:
            av.logging.set_level(before)
    return "".join(message for _level, _name, message in logs)


def dshow_modes(text: str) -> tuple[VideoMode, ...]:
    """Modes of dshow's `list_options` log: each pin type's smallest and largest size, at its
    fastest and slowest rate and the usual rates between."""
    modes: dict[VideoMode, None] = {}
    for match in DSHOW_LINE.finditer(text):
        name, min_w, min_h, slowest, max_w, max_h, fastest = match.groups()
        pixel_format = FOURCC.get(name, name)
        rates = _rates(float(slowest), float(fastest))
        for width, height in dict.fromkeys(((int(min_w), int(min_h)), (int(max_w), int(max_h)))):
            for rate in rates:
                modes[VideoMode(width, height, rate, pixel_format)] = None
    return tuple(modes)


def avfoundation_modes(text: str) -> tuple[VideoMode, ...]:
    """Modes of avfoundation's "Supported modes" log: each size at the top of its rate range,
    the rate OpenCV runs it at (no pixel format: AVFoundation converts to what OpenCV asks)."""
    modes: dict[VideoMode, None] = {}
    _, _, listing = text.partition("Supported modes:")
    for match in AVFOUNDATION_LINE.finditer(listing):
        width, height, _slowest, fastest = match.groups()
        if float(fastest) > 0:
            modes[VideoMode(int(width), int(height), round(float(fastest), 3))] = None
    return tuple(modes)


def _rates(slowest: float, fastest: float) -> list[float]:
    """dshow's rate range: its ends and the usual rates between. A driver that reports no
    shortest frame interval prints fps=inf: its slowest rate is the only one known."""
    slowest, fastest = round(slowest, 3), round(fastest, 3)
    if math.isinf(fastest):
        fastest = slowest
    if not 0 < slowest <= fastest:
        return [fastest] if 0 < fastest < math.inf else []
    return rates_in_range(slowest, fastest)

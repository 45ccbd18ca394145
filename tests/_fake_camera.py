"""A fake V4L2 camera for the camera source's tests: cv2.VideoCapture and the V4L2 syscalls
(open, ioctl, close) are replaced, so the logic runs anywhere."""

from __future__ import annotations

import errno
import threading
import time
from fractions import Fraction

import cv2
import numpy as np

from mscli import events as events_module
from mscli.backends import v4l2
from mscli.catalog import assign_ids
from mscli.constraints import parse_track_constraints
from mscli.devices import VIDEO_INPUT, Device, VideoMode
from mscli.events import CaptureClock, EventLog
from mscli.ids import IdHasher
from mscli.select import select_settings
from mscli.sources import camera
from mscli.track import MediaStreamTrack

NODE = "/dev/video7"
BGR = (40, 120, 200)


class FakeDriver:
    """One V4L2 device: what it gives when asked for a mode, whether it is busy or gone.

    `gone` makes QUERYCAP answer ENODEV; `on_gone` says what OpenCV's grab() does then:
    "false" (returns False), "stale" (returns the last frame again) or "block" (never returns
    while the test runs)."""

    def __init__(self, *, size=None, rate=None, fmt=None, busy=False, denied=False,
                 on_gone="false"):
        self.size, self.rate, self.fmt = size, rate, fmt
        self.busy, self.denied, self.on_gone = busy, denied, on_gone
        self.gone = threading.Event()
        self.unblock = threading.Event()  # lets a blocked grab() return, at the end of a test
        self.failing = False  # grab() fails while the device stays
        self.jitter = 0.0  # grab() returns up to this much later than the frame's time
        self.stamps = False  # buffer timestamps (CAP_PROP_POS_MSEC), a frame ahead as vivid's
        self.lose: dict[int, int] = {}  # with virtual time: before grab N, the driver loses M
        self.open_fds: set[int] = set()
        self.captures: list[FakeCapture] = []
        self._next_fd = 100
        self.virtual: VirtualTime | None = None  # see use_virtual_time
        self.budget = 0  # with virtual time: grab() gives this many frames, then blocks
        self.spent = threading.Event()  # ... and says so here

    def use_virtual_time(self, monkeypatch, frames: int) -> VirtualTime:
        """Frames arrive on a scripted clock (the camera module's and the capture clock's
        time.monotonic), exactly when the fake says, whatever the machine's load; grab()
        returns at once, `frames` times, then blocks until `unblock`."""
        self.virtual = VirtualTime()
        self.budget = frames
        monkeypatch.setattr(camera, "time", self.virtual)
        monkeypatch.setattr(events_module, "time", self.virtual)
        return self.virtual

    def open(self, path, flags):
        assert path == NODE
        if self.denied:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        self._next_fd += 1
        self.open_fds.add(self._next_fd)
        return self._next_fd

    def close(self, fd):
        self.open_fds.remove(fd)

    def ioctl(self, fd, request, buf, mutate):
        assert fd in self.open_fds
        if self.gone.is_set():
            raise OSError(errno.ENODEV, "No such device")
        if request == camera.VIDIOC_S_FMT and self.busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        return 0

    def capture(self, node, api):
        assert (node, api) == (NODE, cv2.CAP_V4L2)
        cap = FakeCapture(self)
        self.captures.append(cap)
        return cap


class VirtualTime:
    """Stands in for the `time` module: monotonic() is a scripted clock that the fake driver's
    grab() moves on; sleep() moves it too (after yielding the GIL for real)."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        time.sleep(0.0005)


class FakeCapture:
    """cv2.VideoCapture on the fake driver: frames paced at the rate the driver gave; raw
    YUYV with the frame number as Y and chroma U=90 V=200, or one BGR colour."""

    def __init__(self, driver: FakeDriver):
        self.driver = driver
        self.props = {cv2.CAP_PROP_CONVERT_RGB: 1.0}
        self.released = False
        self.count = 0
        self._next = None
        self.given: list[bytes] = []  # the raw buffers retrieve() handed over

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.props[prop] = float(value)
        return True  # as OpenCV: True whatever the driver did

    def get(self, prop):
        d = self.driver
        if prop == cv2.CAP_PROP_FOURCC:
            asked = int(self.props.get(prop, 0))
            name = d.fmt or asked.to_bytes(4, "little").decode("latin-1")
            return float(int.from_bytes(name.encode("latin-1"), "little"))
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            return float(d.size[0] if d.size else self.props[prop])
        if prop == cv2.CAP_PROP_FRAME_HEIGHT:
            return float(d.size[1] if d.size else self.props[prop])
        if prop == cv2.CAP_PROP_FPS:
            return float(d.rate or self.props[prop])
        if prop == cv2.CAP_PROP_POS_MSEC and d.stamps:
            return (self._next + 1 / self.get(cv2.CAP_PROP_FPS)) * 1000
        return self.props.get(prop, -1.0)

    def grab(self):
        d = self.driver
        if d.gone.is_set():
            if d.on_gone == "block":
                d.unblock.wait(5)
                return False
            return d.on_gone == "stale"
        if d.failing:
            return False
        if d.virtual is not None:
            return self._grab_virtual()
        now = time.monotonic()
        interval = 1 / self.get(cv2.CAP_PROP_FPS)
        self._next = now + interval if self._next is None else max(self._next + interval, now)
        time.sleep(max(0.0, self._next + self._late() - time.monotonic()))
        self.count += 1
        return True

    def _late(self) -> float:
        return self.driver.jitter * ((self.count * 7919) % 11) / 10  # 0..jitter, irregular

    def _grab_virtual(self) -> bool:
        d, clock = self.driver, self.driver.virtual
        if self.count >= d.budget:
            d.spent.set()
            d.unblock.wait(5)
            return False
        interval = 1 / self.get(cv2.CAP_PROP_FPS)
        self._next = clock.now + interval if self._next is None \
            else max(self._next + interval, clock.now)
        self._next += interval * d.lose.get(self.count, 0)
        clock.now = max(clock.now, self._next + self._late())
        self.count += 1
        return True

    def retrieve(self):
        w, h = int(self.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fmt = int(self.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1")
        if self.props[cv2.CAP_PROP_CONVERT_RGB] == 0 and fmt == "YUYV":
            raw = np.empty((h, w, 2), np.uint8)
            raw[:, :, 0] = self.count % 256
            raw[:, 0::2, 1] = 90
            raw[:, 1::2, 1] = 200
            self.given.append(raw.tobytes())
            return True, raw
        if self.props[cv2.CAP_PROP_CONVERT_RGB] == 0 and fmt == "H264":
            raw = self._h264_unit(w, h)
            self.given.append(raw.tobytes())
            return True, raw
        if self.props[cv2.CAP_PROP_CONVERT_RGB] == 0 and fmt == "MJPG":
            raw = mjpeg_picture(w, h, self.count)[None, :]  # OpenCV: one row of bytesused
            self.given.append(raw.tobytes())
            return True, raw
        return True, np.full((h, w, 3), BGR, np.uint8)

    def _h264_unit(self, width: int, height: int) -> np.ndarray:
        """The camera's H.264 access unit for this frame (Annex B, no B-frames, a key frame
        every 10): a flat grey picture of level mjpeg_grey(count), limited range."""
        import av

        if not hasattr(self, "_encoder"):
            self._encoder = av.CodecContext.create("libx264", "w")
            self._encoder.width, self._encoder.height = width, height
            self._encoder.pix_fmt = "yuv420p"
            self._encoder.time_base = Fraction(1, 30)
            self._encoder.options = {"tune": "zerolatency", "preset": "ultrafast", "g": "10",
                                     "bf": "0"}
        picture = np.full(height * width * 3 // 2, 128, np.uint8)
        picture[:width * height] = mjpeg_grey(self.count)
        frame = av.VideoFrame.from_ndarray(picture.reshape(-1, width), format="yuv420p")
        frame.pts = self.count
        [packet] = self._encoder.encode(frame)
        return np.frombuffer(bytes(packet), np.uint8)

    def release(self):
        self.released = True


def install_driver(monkeypatch, **options) -> FakeDriver:
    """The fake driver in place of OpenCV's capture and the V4L2 syscalls."""
    d = FakeDriver(**options)
    monkeypatch.setattr(camera, "_open", d.open)
    monkeypatch.setattr(camera, "_close", d.close)
    monkeypatch.setattr(camera, "_ioctl", d.ioctl)
    monkeypatch.setattr(v4l2, "_ioctl", d.ioctl)  # the controls' queries (none here)
    monkeypatch.setattr(cv2, "VideoCapture", d.capture)
    return d


MODES = (VideoMode(640, 480, 30.0, "YUYV"), VideoMode(1280, 720, 10.0, "YUYV"))


def mjpeg_grey(count: int) -> int:
    """The grey level of the fake's MJPEG (full range) or H.264 picture `count`."""
    return 20 + (count * 16) % 200


def mjpeg_picture(width: int, height: int, count: int) -> np.ndarray:
    """A webcam's MJPEG buffer: a flat grey picture (mjpeg_grey), 4:2:2 as webcams code it."""
    grey = np.full((height, width, 3), mjpeg_grey(count), np.uint8)
    ok, jpeg = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                                           cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422])
    assert ok
    return jpeg.reshape(-1)


def make_track(constraints=None, modes=MODES, copy=False):
    device = Device(VIDEO_INPUT, "Cam", "v4l2:test", "g", "v4l2", modes=modes,
                    source={"node": NODE})
    assign_ids([device], IdHasher(b"k" * 32))
    parsed = parse_track_constraints(constraints or {}, "video")
    selection = select_settings(parsed, [device], "video")
    events = EventLog(CaptureClock())
    return MediaStreamTrack("video", device, selection.settings, parsed, events,
                            threading.Condition(), live=True, mode=selection.mode,
                            copy=copy)


def run_for(source, seconds):
    source.clock.start()
    source.start()
    time.sleep(seconds)
    source.stop()
    source.join(2)


def wait_for(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def run_virtual(source, driver):
    """Start, take every frame of the driver's budget, stop (see use_virtual_time)."""
    source.clock.start()
    source.start()
    assert driver.spent.wait(10), "the capture thread did not use up the driver's frames"
    source.stop()
    driver.unblock.set()
    source.join(2)



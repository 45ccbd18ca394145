"""A macOS or Windows camera (listed by mscli.backends.avdevice) captured through OpenCV.

Everything but the system's parts is CameraSource's: the mode asked for and read back, the
first frame before the clock starts, capture times, ending. What differs:

- OpenCV opens the camera by its index among the system's video devices, with the backend
  FFmpeg listed it through (CAP_AVFOUNDATION, CAP_DSHOW). Both enumerate the system's video
  devices, but not always the same way (on macOS FFmpeg asks a discovery session for some
  device types, OpenCV the older device list): a camera only one of them sees would shift
  the index.
- OpenCV's DirectShow `grab()` returns at once and `retrieve()` waits for the frame, so frames
  are read whole in `grab()` (`_WholeFrames`): capture times, stalls and failures then mean
  the same as on V4L2.
- DirectShow: OpenCV sets the device up again when the rate changes, keeping the size but
  not the fourcc, so the rate is asked for first; YUYV is "YUY2" there. AVFoundation ignores
  a fourcc (it converts to what OpenCV asks for) and runs a rate range at its top (lower
  rates come from ms's decimation); OpenCV keeps AVFoundation's "medium" session preset and
  scales its frames to the size asked for, so a large size may be upscaled.
- No descriptor to ask whether the camera is still there: a camera that stops delivering
  (STALL_SECONDS without a frame, or FAILED_READS failed reads) is looked up in FFmpeg's list,
  at most once every LOOKUP_SECONDS; not listed any more is `device-disconnected`.
- Frames always come converted by OpenCV (BGR): raw buffers differ per system API.

Written against OpenCV's and FFmpeg's sources and never run on those systems (see README).
"""

from __future__ import annotations

import threading
import time

from mscli.backends import avdevice
from mscli.errors import NotReadableError
from mscli.sources.camera import FAILED_READS, CameraSource

STALL_SECONDS = 1.0
LOOKUP_SECONDS = 1.0
DSHOW_FOURCC = {"YUYV": "YUY2"}
CANNOT_OPEN = {
    "avfoundation": "OpenCV cannot open it (if ms runs in a terminal, allow the terminal to use "
                    "the camera: System Settings > Privacy & Security > Camera)",
    "dshow": "OpenCV cannot open it through DirectShow (in use by another program, or camera "
             "access is off: Settings > Privacy & security > Camera)",
}


class _WholeFrames:
    """An OpenCV capture whose grab() reads the whole frame (see the module docstring)."""

    def __init__(self, cap):
        self._cap = cap
        self._frame = None

    def grab(self) -> bool:
        ok, self._frame = self._cap.read()
        return bool(ok) and self._frame is not None

    def retrieve(self):
        return self._frame is not None, self._frame

    def __getattr__(self, name):  # set, get, release, isOpened: OpenCV's own
        return getattr(self._cap, name)


class DesktopCameraSource(CameraSource):
    RAW_FORMATS = False

    def __init__(self, track, clock, **timing):
        super().__init__(track, clock, **timing)
        source = track.device.source
        self._api, self._index = source["format"], source["index"]
        self.node = f"{self._api} camera {self._index}"
        self._last_lookup = 0.0
        self._lookup_lock = threading.Lock()  # the watcher and the reader both look

    def _open_device(self) -> None:
        pass  # nothing to ask before OpenCV opens it

    def _video_capture(self, cv2):
        api = {"avfoundation": cv2.CAP_AVFOUNDATION, "dshow": cv2.CAP_DSHOW}[self._api]
        cap = cv2.VideoCapture(self._index, api)
        if not cap.isOpened():
            cap.release()
            raise NotReadableError(self._cannot(CANNOT_OPEN[self._api]))
        return _WholeFrames(cap)

    def _ask_for_mode(self, cap, cv2, pixel_format, mode) -> None:
        cap.set(cv2.CAP_PROP_FPS, mode.frame_rate)  # first: see the module docstring
        if self._api == "dshow" and len(pixel_format) == 4:  # AVFoundation ignores a fourcc
            fourcc = DSHOW_FOURCC.get(pixel_format, pixel_format)
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*fourcc))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, mode.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, mode.height)

    def _device_gone(self) -> bool:
        now = time.monotonic()
        if now - self._last_ok < STALL_SECONDS:
            return False
        return self._not_listed(now)

    def _after_failed_read(self, failures: int) -> str | None:
        if failures >= FAILED_READS and self._not_listed(time.monotonic()):
            return "device-disconnected"
        return super()._after_failed_read(failures)

    def _not_listed(self, now: float) -> bool:
        with self._lookup_lock:
            if now - self._last_lookup < LOOKUP_SECONDS:
                return False
            self._last_lookup = now
        return not avdevice.still_listed(self.track.device)

"""A macOS or Windows camera (listed by mscli.backends.avdevice) captured through OpenCV.

Everything but the system's parts is CameraSource's: the mode asked for and read back, the
first frame before the clock starts, capture times, ending. What differs:

- OpenCV opens the camera by its index among the system's video devices, with the backend
  FFmpeg listed it through (CAP_AVFOUNDATION, CAP_DSHOW); both enumerate the same system list.
- No descriptor to ask whether the camera is still there: a camera that stops delivering
  (STALL_SECONDS without a frame, or FAILED_READS failed reads) is looked up in FFmpeg's list,
  at most once every LOOKUP_SECONDS; not listed any more is `device-disconnected`.
- Frames always come converted by OpenCV (BGR): raw buffers differ per system API.
- DirectShow calls YUYV "YUY2"; AVFoundation ignores a fourcc (it converts to what OpenCV
  asks), so none is asked for there.

Written against OpenCV's documented API and never run on those systems (see README).
"""

from __future__ import annotations

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


class DesktopCameraSource(CameraSource):
    RAW_FORMATS = False

    def __init__(self, track, clock, **timing):
        super().__init__(track, clock, **timing)
        source = track.device.source
        self._api, self._index = source["format"], source["index"]
        self.node = f"{self._api} camera {self._index}"
        self._last_lookup = 0.0

    def _open_device(self) -> None:
        pass  # nothing to ask before OpenCV opens it

    def _video_capture(self, cv2):
        api = {"avfoundation": cv2.CAP_AVFOUNDATION, "dshow": cv2.CAP_DSHOW}[self._api]
        cap = cv2.VideoCapture(self._index, api)
        if not cap.isOpened():
            cap.release()
            raise NotReadableError(self._cannot(CANNOT_OPEN[self._api]))
        return cap

    def _fourcc(self, pixel_format: str) -> str | None:
        if self._api != "dshow" or len(pixel_format) != 4:
            return None
        return DSHOW_FOURCC.get(pixel_format, pixel_format)

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
        if now - self._last_lookup < LOOKUP_SECONDS:
            return False
        self._last_lookup = now
        return not avdevice.still_listed(self.track.device)

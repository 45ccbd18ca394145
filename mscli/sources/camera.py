"""A V4L2 camera captured through OpenCV (`cv2.VideoCapture(node, cv2.CAP_V4L2)`).

`open()` runs before the capture clock starts (the session calls it through `open_source`): it
asks the driver for the track's native mode (pixel format, size, rate), reads back what the
driver really gave (OpenCV's `set` says True and keeps another size, opencv#23533), turns a
mismatch with the track's required constraints into OverconstrainedError and an unusable device
into NotReadableError, and grabs one frame so a busy camera fails here, not in the middle.

Capture times come from the driver's buffer timestamps, moved onto the capture clock by the
smallest arrival-minus-timestamp seen (the least delayed frame arrived when its timestamp
says, plus nothing): arrival times alone jitter by several milliseconds, enough to put two
frames in one output slot (VideoProcessor then drops one) when the settings' rate is the
camera's. vivid stamps a frame a frame interval ahead of its arrival, so a timestamp is never
taken as it is. Without usable timestamps (none, or not increasing) the arrival time is used.
The same timestamps show the frames the driver lost (OpenCV hides the buffer's sequence
number): a gap of whole frame intervals between two of them counts in the track's statistics
as frames never delivered (mscli.trackstats.FrameGrid).
Frames are converted to I420:
packed 4:2:2 and planar 4:2:0 formats are taken raw from the driver and rearranged with numpy,
H.264 is taken raw and decoded once by PyAV (camera_formats.py), anything else (MJPEG, whose
OpenCV decode measured cheaper, RGB, grey ...) goes through OpenCV's BGR conversion. With stream copy (`--video-codec copy`) the
raw MJPEG, H.264 or YUYV buffers go to the outputs undecoded (camera_copy.py).

Controls (brightness, exposure, zoom …) are set and read on that descriptor too, through
mscli.backends.v4l2_controls: `apply_controls` sets them and reports what the driver took,
and while capturing the watcher waits on the descriptor's control events, so that a change
made by another program (v4l2-ctl -c) reaches the track as `controls_changed`.

The end of a device: OpenCV's `grab()` on an unplugged camera returns False, or the last frame
again, or blocks (opencv#5746, #14044). So a second thread asks the driver every WATCH_SECONDS,
on a descriptor of our own, whether the device is still there (VIDIOC_QUERYCAP answers ENODEV
once it is gone) and ends the track at once; repeated quick read failures on a device that is
still there end it with `read-error`.
"""

from __future__ import annotations

import errno
import os
import struct
import threading
import time
from fractions import Fraction

from mscli.backends import v4l2, v4l2_controls
from mscli.constraints import numeric_bounds, satisfies
from mscli.devices import VideoMode
from mscli.errors import NotReadableError, OverconstrainedError
from mscli.media.frames import VideoFrame, chroma_size, i420_size
from mscli.sources import SourceThread
from mscli.sources.camera_copy import COPYABLE, HELD, Packets
from mscli.sources.camera_formats import COMPRESSED, CompressedDecoder
from mscli.sources.raw_formats import (PACKED_422, PLANAR_420, packed422_to_i420,
                                       planar420_to_i420)
from mscli.track import MUTE_INTERVALS
from mscli.trackstats import FrameGrid

WATCH_SECONDS = 0.05  # how often the device is asked whether it is still there
SELECT_TIMEOUT_SECONDS = "1"  # OpenCV waits this long for a frame (its default is 10 s)
FAILED_READS = 3  # quick failures in a row on a device that is still there: a read error
STAMP_RESET_SECONDS = 1.0  # arrival this much later than its timestamp says: map afresh
RATE_TOLERANCE = 0.005  # relative: 29.97 read back for 30 is the same rate
OPEN_FRAME_SECONDS = 5.0  # the first frame must come within this (a busy device gives none)
GONE = (errno.ENODEV, errno.ENOENT, errno.ENXIO)


VIDIOC_G_FMT = 0xC0D05604  # struct v4l2_format (type, then a 200-byte union at offset 8)
VIDIOC_S_FMT = 0xC0D05605
FORMAT_SIZE = 208

# The syscall boundary, replaced by the unit tests.
_open = os.open
_close = os.close
_ioctl = v4l2._ioctl


def _query(fd: int) -> None:
    """VIDIOC_QUERYCAP on our own descriptor: OSError(ENODEV) once the device is gone."""
    buf = bytearray(v4l2.CAPABILITY.size)
    _ioctl(fd, v4l2.VIDIOC_QUERYCAP, buf, True)


def _busy(node: str) -> bool:
    """Whether another program is capturing: setting the current format again answers EBUSY
    while its buffers exist. On a descriptor of its own, closed at once (uvcvideo gives the
    descriptor that sets a format the right to configure the camera until it is closed)."""
    buf = bytearray(FORMAT_SIZE)
    struct.pack_into("=I", buf, 0, v4l2.V4L2_BUF_TYPE_VIDEO_CAPTURE)
    try:
        fd = _open(node, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        _ioctl(fd, VIDIOC_G_FMT, buf, True)
        _ioctl(fd, VIDIOC_S_FMT, buf, True)
    except OSError as e:
        return e.errno == errno.EBUSY
    finally:
        _close(fd)
    return False


class CameraSource(SourceThread):
    """A V4L2 camera. The system-specific parts are the methods `_open_device`,
    `_video_capture`, `_ask_for_mode` and `_device_gone` (mscli.sources.desktop_camera has
    the others), and RAW_FORMATS: whether frames may be taken raw."""

    name = "camera"
    RAW_FORMATS = True

    def __init__(self, track, clock, **timing):
        super().__init__(track, clock, **timing)
        self.track.live = True  # a device does not wait for the sinks (even with --unpaced)
        self.node = track.device.source.get("node")  # where it is, for messages
        self._cap = None
        self._fd: int | None = None
        self._raw = False  # frames come raw from the driver (else BGR from OpenCV)
        self._decoder = None  # for a compressed raw format: CompressedDecoder
        self._packets = None  # stream copy: Packets, the raw buffers as they are
        self._format = None  # the driver's pixel format, as read back
        self._size = (0, 0)
        self._rate = 0.0
        self._last_grab = 0.0  # seconds the last grab() took
        self._last_ok = time.monotonic()  # when the last grab() succeeded
        self._mode = None  # the track's mode the capture is open in
        self._stamp_offset: float | None = None  # arrival - driver timestamp, least delayed
        self._last_stamp = 0.0
        self._stamps_ok = True
        self._stamp: float | None = None  # the grabbed frame's driver timestamp, if usable
        self._grid = FrameGrid(MUTE_INTERVALS)  # frames lost between timestamps
        self._lock = threading.Lock()  # deliver vs. the watcher's end
        self._ended = False
        self._watch_stop = threading.Event()
        self._controls: v4l2_controls.CameraControls | None = None  # on our descriptor

    # --- opening --------------------------------------------------------------------------

    def open(self) -> None:
        """Open the camera in the track's mode; NotReadableError / OverconstrainedError."""
        if self._cap is not None:
            return
        self._open_device()
        try:
            self._open_capture()
            self._check_delivered()
        except BaseException:
            self._release()
            raise
        self._mode = self.track.mode

    def _open_device(self) -> None:
        """A descriptor of our own, to ask the driver whether the device is there and free."""
        try:
            self._fd = _open(self.node, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            _query(self._fd)
        except OSError as e:
            self._release()
            raise NotReadableError(self._cannot(_reason(e))) from None
        if _busy(self.node):
            self._release()
            raise NotReadableError(self._cannot("device busy (another program is capturing "
                                                "from it)"))
        self._controls = v4l2_controls.controls_of(self._fd)

    def apply_controls(self, values: dict) -> dict:
        """Set camera controls; what the driver really took (read back), {} without any."""
        self.open()
        if self._controls is None:
            return {}
        try:
            return self._controls.apply(values)
        except OSError as e:
            raise NotReadableError(f"{self.track.label} ({self.node}): cannot set its "
                                   f"controls: {_reason(e)}") from None

    def _video_capture(self, cv2):
        """OpenCV's capture of this camera, or NotReadableError."""
        cap = cv2.VideoCapture(self.node, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise NotReadableError(self._cannot("OpenCV cannot open it as a V4L2 camera"))
        return cap

    def _ask_for_mode(self, cap, cv2, pixel_format: str, mode: VideoMode) -> None:
        """Ask OpenCV for the mode; what the driver gave is read back after."""
        if len(pixel_format) == 4:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*pixel_format))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, mode.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, mode.height)
        cap.set(cv2.CAP_PROP_FPS, mode.frame_rate)

    def _open_capture(self) -> None:
        os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", SELECT_TIMEOUT_SECONDS)
        import cv2

        _quiet_opencv(cv2)
        self._pos_msec = cv2.CAP_PROP_POS_MSEC
        self._stamp_offset, self._last_stamp, self._stamps_ok = None, 0.0, True
        mode = self.track.mode
        cap = self._cap = self._video_capture(cv2)
        wanted = (mode.pixel_format or "").strip()
        self._raw = self.RAW_FORMATS and self._taken_raw(wanted)
        cap.set(cv2.CAP_PROP_CONVERT_RGB, 0 if self._raw else 1)
        self._ask_for_mode(cap, cv2, wanted, mode)
        # What the driver really gave.
        code = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
        self._format = code.to_bytes(4, "little").decode("latin-1") if code else wanted
        self._size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                      int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._rate = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if self._raw and not self._taken_raw(self._format):
            self._raw = False  # the driver chose a format we do not rearrange ourselves
            cap.set(cv2.CAP_PROP_CONVERT_RGB, 1)
        self._decoder = CompressedDecoder(COMPRESSED[self._format]) \
            if self._raw and self._format in COMPRESSED else None
        self._packets = self._copier() if self.track.copy else None
        # The first frame: a busy or broken device fails here, before anything is written.
        started = time.monotonic()
        while not cap.grab():
            if self._device_gone() or time.monotonic() - started > OPEN_FRAME_SECONDS:
                raise NotReadableError(self._cannot(self._no_frames_reason()))
            time.sleep(0.01)
        self._last_ok = time.monotonic()
        ok, raw = cap.retrieve()
        # A decoder takes it too (H.264's first key frame), and may give nothing yet.
        if ok and self._raw and not self.track.copy and self._to_i420(raw) is None and \
                self._format not in COMPRESSED:
            self._raw = False  # an unexpected raw layout (padded rows, say): let OpenCV convert
            cap.set(cv2.CAP_PROP_CONVERT_RGB, 1)

    def _taken_raw(self, fmt: str) -> bool:
        """Whether frames of this pixel format are taken raw from the driver (CONVERT_RGB
        off): to be rearranged or decoded here, or stored as they are."""
        return fmt in PACKED_422 or fmt in PLANAR_420 or fmt in COMPRESSED or \
            self.track.copy and fmt in COPYABLE

    def _copier(self) -> Packets:
        """Stream copy's packets; NotReadableError for a format the driver chose that has no
        stored form (streamcopy.py checked the one asked for)."""
        if self._format not in COPYABLE:
            raise NotReadableError(self._cannot(
                f"asked for {self.track.mode.pixel_format}, the driver gave {self._format}, "
                "which --video-codec copy cannot store; give an encoder"))
        return Packets(self._format, *self._size)

    def _no_frames_reason(self) -> str:
        if self._device_gone():
            return "the device went away"
        return f"no frame within {OPEN_FRAME_SECONDS:g} s"

    def _check_delivered(self, live: bool = False) -> None:
        """The driver's mode against the required constraints; the track follows it.
        Before capture a violation is OverconstrainedError; during it (`live`, after an
        applyConstraints asked for another mode) an `overconstrained` event."""
        mode = self.track.mode
        width, height = self._size
        rate = self._rate or mode.frame_rate
        if (width, height) == (mode.width, mode.height) and \
                abs(rate - mode.frame_rate) <= RATE_TOLERANCE * mode.frame_rate:
            if self._format != mode.pixel_format:
                self.track.mode = mode._replace(pixel_format=self._format)
            return
        settings = dict(self.track.settings)
        if settings.get("resizeMode") != "crop-and-scale" or \
                width < settings["width"] or height < settings["height"]:
            settings["width"], settings["height"] = width, height  # no upscaling
            settings["aspectRatio"] = round(width / height, 10)
        settings["frameRate"] = min(settings["frameRate"], rate)
        asked = f"{mode.width}x{mode.height} at {mode.frame_rate:g} fps"
        gave = f"{width}x{height} at {rate:g} fps ({self._format})"
        for name in ("width", "height", "aspectRatio", "frameRate"):
            c = self.track.constraints.basic.get(name)
            if c is not None and c.required and not satisfies(c, settings[name]):
                message = (f"{self.track.label} ({self.node}): asked the driver for {asked}, "
                           f"it gave {gave}; {name} {settings[name]:g} is outside the "
                           f"required {_describe_bounds(numeric_bounds(c))}")
                if not live:
                    raise OverconstrainedError(name, message)
                self.track._events.emit("overconstrained", track=self.track,
                                        detail={"constraint": name, "message": message,
                                                "cause": "driver"})
                break
        self.track.apply_settings(settings, self.track.constraints,
                                  VideoMode(width, height, rate, self._format))

    def _cannot(self, reason: str) -> str:
        return f"{self.track.label} ({self.node}): cannot open the camera: {reason}"

    # --- capturing ----------------------------------------------------------------------------

    def run(self) -> None:
        self.open()
        if self._controls is not None:
            self._controls.watch()
        watcher = threading.Thread(target=self._watch, name="ms-camera-watch", daemon=True)
        watcher.start()
        try:
            self._capture()
        finally:
            self._watch_stop.set()
            watcher.join()
            self._release()

    def _capture(self) -> None:
        index = 0
        failures = 0
        ok = self._grab_fresh()
        while not self.stopped and not self._ended:
            arrival = time.monotonic()
            t = self._capture_time(arrival) if ok else self.clock.at(arrival)
            if self.track.mode != self._mode:  # applyConstraints chose another native mode
                ok = self._reopen()
                continue
            if self.past_limit(t):
                return self._finish()
            if not ok:
                failures += 1
                reason = self._after_failed_read(failures)
                if reason is not None:
                    return self._end(reason)
            elif t >= self.start_time:
                failures = 0
                got, raw = self._cap.retrieve()
                item = self._item(raw, index, t) if got else None
                if item is HELD:
                    self.track.counters.discarded_frame()
                elif item is None:
                    failures += 1
                    if failures >= FAILED_READS:
                        return self._end("read-error: frames that cannot be decoded")
                else:
                    with self._lock:
                        if self._ended:
                            return
                        if self.track.mode != self._mode:
                            continue  # taken in the old mode: reopen first
                        if self._stamp is not None:
                            self.track.frames_lost(self._grid.lost(self._stamp))
                        try:
                            self.track.deliver(item)
                        except ValueError:  # the settings changed while it was delivered
                            if self.track.mode == self._mode:
                                raise
                    index += 1
            started = time.monotonic()
            ok = self._cap.grab()
            self._last_grab = time.monotonic() - started
            if ok:
                self._last_ok = time.monotonic()

    def _capture_time(self, arrival: float) -> float:
        """The grabbed frame's time on the capture clock (see the module's docstring)."""
        if self._stamps_ok:
            stamp = self._cap.get(self._pos_msec) / 1000.0
            # None, or not increasing: not a clock (for as long as this capture is open).
            self._stamps_ok = stamp > self._last_stamp
        if not self._stamps_ok:
            self._stamp = None
            return self.clock.at(arrival)
        self._last_stamp = self._stamp = stamp
        lag = arrival - stamp
        if self._stamp_offset is None or lag < self._stamp_offset or \
                lag - self._stamp_offset > STAMP_RESET_SECONDS:
            self._stamp_offset = lag
        return self.clock.at(stamp + self._stamp_offset)

    def _reopen(self) -> bool:
        """Open the capture again in the track's new mode (the probe descriptor stays)."""
        cap, self._cap = self._cap, None
        cap.release()
        self._open_capture()
        self._check_delivered(live=True)
        self._mode = self.track.mode
        self._grid = FrameGrid(MUTE_INTERVALS)  # another rate
        return self._grab_fresh()

    def _time_base(self) -> Fraction:
        return 1 / Fraction(self._rate or self.track.mode.frame_rate).limit_denominator(1001)

    def _grab_fresh(self) -> bool:
        """Skip the frames the driver queued since open(): the first one we keep is new."""
        interval = 1.0 / (self._rate or self.track.mode.frame_rate)
        for _ in range(8):  # OpenCV queues 4 buffers
            started = time.monotonic()
            ok = self._cap.grab()
            self._last_grab = time.monotonic() - started
            if not ok or self._last_grab > interval / 4:
                return ok
        return True

    def _after_failed_read(self, failures: int) -> str | None:
        """Why the track ends after a failed read, or None to go on reading."""
        if self._device_gone():
            return "device-disconnected"
        if self._last_grab >= 0.5:
            return None  # a timeout: the camera stalled (the track mutes), it did not fail
        if failures >= FAILED_READS:
            return f"read-error: {failures} reads failed in a row on {self.node}"
        time.sleep(0.005)
        return None

    def _watch(self) -> None:
        while not self._wait_watching():
            if self._device_gone():
                self._end("device-disconnected")
                return
            if not self._ended and self.past_limit(self.clock.now() - 0.5):
                self._finish()  # the reader is stuck in a grab past the user's limit
                return

    def _wait_watching(self) -> bool:
        """WATCH_SECONDS between looks at the device, woken early by a control another
        program changed (passed on to the track); True once the watch is to stop."""
        if self._controls is None:
            return self._watch_stop.wait(WATCH_SECONDS)
        changed = self._controls.changes(WATCH_SECONDS)
        if changed and not self._ended:
            self.track.controls_changed(changed, at=self.clock.now())
        return self._watch_stop.is_set()

    def _device_gone(self) -> bool:
        if self._fd is None:
            return False
        try:
            _query(self._fd)
        except OSError as e:
            return e.errno in GONE
        return False

    def _end(self, reason: str) -> None:
        with self._lock:
            if self._ended or self.stopped:
                return
            self._ended = True
            self.track.source_ended(reason, at=self.clock.now())

    def _finish(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self.track.source_finished()

    def stop(self) -> None:
        super().stop()
        if self._thread.ident is None:
            self._release()  # opened but never started (a later source or output failed)

    def _release(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()
        fd, self._fd = self._fd, None
        self._controls = None
        if fd is not None:
            _close(fd)

    # --- conversion ---------------------------------------------------------------------------

    def _item(self, raw, index: int, t: float):
        """What the track gets for a retrieved buffer: a VideoFrame, the stored packet
        (stream copy; HELD before H.264's first key frame), or None for a buffer that is not
        a picture."""
        if self._packets is not None:
            return self._packets(raw, t, index)
        data = self._to_i420(raw)
        if data is None:
            return None
        width, height = self._size
        return VideoFrame(data, width, height, index, self._time_base(), t, index)

    def _to_i420(self, raw):
        width, height = self._size
        if raw is None:
            return None
        if not self._raw:
            if raw.ndim == 3 and raw.shape[:2] == (height, width) and raw.shape[2] == 3:
                return bgr_to_i420(raw)
            if raw.ndim == 2 and raw.shape == (height, width):
                return grey_to_i420(raw)
            return None
        flat = raw.reshape(-1)
        if self._decoder is not None:
            return self._decoder(flat, width, height)
        if self._format in PACKED_422 and flat.size == width * height * 2:
            return packed422_to_i420(flat, width, height, self._format)
        if self._format in PLANAR_420 and flat.size == i420_size(width, height):
            return planar420_to_i420(flat, width, height, self._format)
        return None


def _describe_bounds(bounds: tuple[float, float]) -> str:
    lo, hi = bounds
    if lo == hi:
        return f"exact {lo:g}"
    parts = [f"min {lo:g}"] if lo != float("-inf") else []
    parts += [f"max {hi:g}"] if hi != float("inf") else []
    return " ".join(parts) or "range"


def _reason(e: OSError) -> str:
    if e.errno in (errno.EACCES, errno.EPERM):
        return ("permission denied (add yourself to the 'video' group: "
                "sudo usermod -aG video $USER, then log in again)")
    if e.errno in GONE:
        return "the device is not there any more"
    if e.errno == errno.EBUSY:
        return "device busy"
    return os.strerror(e.errno) if e.errno else str(e)


def _quiet_opencv(cv2) -> None:
    """OpenCV logs warnings (select timeouts, failed ioctls) on stderr: ms reports what they
    mean itself; MS_VERBOSE=1 lets them through."""
    if os.environ.get("MS_VERBOSE") == "1":
        return
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:
        pass


# --- other pixel formats -> I420 (1-D Y, U, V planes; raw_formats.py has the raw ones) -------


def bgr_to_i420(image):
    """OpenCV's BGR picture as I420; odd sizes are padded for the conversion, then cropped."""
    import cv2
    import numpy as np

    height, width = image.shape[:2]
    even_h, even_w = height + height % 2, width + width % 2
    if (even_h, even_w) != (height, width):
        image = cv2.copyMakeBorder(image, 0, even_h - height, 0, even_w - width,
                                   cv2.BORDER_REPLICATE)
    planes = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).reshape(-1)
    if (even_h, even_w) == (height, width):
        return planes
    y = planes[:even_w * even_h].reshape(even_h, even_w)[:height, :width]
    return np.concatenate([y.reshape(-1), planes[even_w * even_h:]])


def grey_to_i420(image):
    import numpy as np

    height, width = image.shape
    cw, ch = chroma_size(width, height)
    return np.concatenate([image.reshape(-1), np.full(2 * cw * ch, 128, np.uint8)])

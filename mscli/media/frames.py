"""The frames that flow from sources through tracks to sinks.

Video is I420 (yuv420p) in one contiguous 1-D uint8 array: the Y plane (width x height), then
U, then V (each ceil(width/2) x ceil(height/2)), with no padding between rows: the layout y4m
writes as is. Any size is valid, odd ones included (a native mode, or a rescaled size: the
engine rounds to the nearest pixel as Chromium does, 27x20 from a 40x30 mode); what needs
even sizes pads (pad_i420, sinks/geometry.py).
A decoded frame (a file's, an av.VideoFrame in the decoder's own pixel format) travels as it
is, and `data` is made from it only when something reads the pixels (a scale, the controls,
content checks, y4m, an image): an encoder that takes it as it is gets the decoder's frame,
with no copy into numpy and none back out.
Audio is interleaved signed 16-bit, shape (samples, channels).

Every frame carries its presentation time twice: `pts` in `time_base` units for muxers, and
`time` in seconds on the capture clock, from which pts was derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a function needs it: a stream copy never loads numpy
    import numpy as np


class VideoFrame:
    """A picture and its times. Its pixels are `data`, or `decoded`, the av.VideoFrame they
    were decoded into, from which `data` is made (and kept) the first time it is read."""

    __slots__ = ("_data", "decoded", "width", "height", "pts", "time_base", "time", "index")

    def __init__(self, data: np.ndarray | None, width: int, height: int, pts: int,
                 time_base: Fraction, time: float, index: int, decoded=None):
        if data is None and decoded is None:
            raise ValueError("a VideoFrame needs its pixels: data or a decoded frame")
        self._data = data  # uint8, 1-D, I420: Y then U then V, rows unpadded
        self.decoded = decoded  # the av.VideoFrame `data` is (or will be) made from
        self.width = width
        self.height = height
        self.pts = pts
        self.time_base = time_base  # 1 / frame rate for synthetic sources
        self.time = time  # seconds since capture start, capture clock
        self.index = index  # the source's frame number (burned into the pattern)

    @property
    def data(self) -> np.ndarray:
        if self._data is None:
            self._data = decoded_i420(self.decoded)
        return self._data

    def replace(self, **changes) -> VideoFrame:
        """A copy with `changes` (as dataclasses.replace): new `data` is the picture, the
        decoded frame no longer."""
        fields = {name: getattr(self, name) for name in
                  ("width", "height", "pts", "time_base", "time", "index")}
        fields["data"], fields["decoded"] = self._data, self.decoded
        if "data" in changes:
            fields["decoded"] = None
        fields.update(changes)
        return VideoFrame(**fields)

    @property
    def y(self) -> np.ndarray:
        """The Y plane, 2-D. Of a decoded yuv420p frame, a view of the decoder's own plane:
        looking at a few points of it (the content watcher) copies nothing else."""
        decoded = self.decoded
        if self._data is None and decoded.format.name == "yuv420p" \
                and decoded.color_range != FULL_RANGE_FLAG:
            import numpy as np

            plane = decoded.planes[0]
            rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            return rows[:self.height, :self.width]
        return i420_planes(self.data, self.width, self.height)[0]

    @property
    def u(self) -> np.ndarray:
        return i420_planes(self.data, self.width, self.height)[1]

    @property
    def v(self) -> np.ndarray:
        return i420_planes(self.data, self.width, self.height)[2]


# Decoders' pixel formats that are full-range (JPEG) YUV; a yuv420p picture may say it is too.
FULL_RANGE_FORMATS = ("yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "yuvj411p")
FULL_RANGE_FLAG = 2  # AVCOL_RANGE_JPEG


def is_full_range(frame) -> bool:
    """Whether a decoded av.VideoFrame holds full-range (JPEG) YUV: an MJPEG clip or camera,
    an H.264 stream flagged full-range."""
    return frame.format.name in FULL_RANGE_FORMATS or frame.color_range == FULL_RANGE_FLAG


def limited_yuv420p(frame):
    """A decoded av.VideoFrame as limited-range yuv420p (the range ms's I420 is, and what y4m
    and encoders are told), converted once by libswscale: itself when it already is. The
    source range is named: PyAV otherwise hands a frame's full range on to the converted one
    (blacks and whites too deep), where FFmpeg's own conversion would scale it."""
    full = is_full_range(frame)
    if frame.format.name == "yuv420p" and not full:
        return frame
    return frame.reformat(format="yuv420p", src_color_range="JPEG" if full else "MPEG",
                          dst_color_range="MPEG")


def decoded_i420(frame) -> np.ndarray:
    """A decoded av.VideoFrame as one 1-D limited-range I420 buffer: its planes copied without
    their row padding (odd sizes included, which PyAV's to_ndarray refuses)."""
    import numpy as np

    frame = limited_yuv420p(frame)
    return np.concatenate([np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
                           [:plane.height, :plane.width].reshape(-1) for plane in frame.planes])


def chroma_size(width: int, height: int) -> tuple[int, int]:
    return (width + 1) // 2, (height + 1) // 2


def i420_size(width: int, height: int) -> int:
    cw, ch = chroma_size(width, height)
    return width * height + 2 * cw * ch


def i420_planes(data: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Y, U and V of a 1-D I420 buffer, as 2-D views."""
    cw, ch = chroma_size(width, height)
    ysz, csz = width * height, cw * ch
    return (data[:ysz].reshape(height, width), data[ysz:ysz + csz].reshape(ch, cw),
            data[ysz + csz:ysz + 2 * csz].reshape(ch, cw))


def pad_i420(data: np.ndarray, width: int, height: int, to_width: int,
             to_height: int) -> np.ndarray:
    """A width x height I420 buffer grown to to_width x to_height by repeating the last
    column and row of each plane (an edge, where black would show as a line); `data` itself
    when the sizes are equal. For an encoder or converter that takes even sizes only."""
    if (to_width, to_height) == (width, height):
        return data
    if to_width < width or to_height < height:
        raise ValueError(f"cannot pad {width}x{height} to {to_width}x{to_height}")
    import numpy as np

    out = np.empty(i420_size(to_width, to_height), np.uint8)
    for src, dst in zip(i420_planes(data, width, height),
                        i420_planes(out, to_width, to_height)):
        dst[:] = np.pad(src, ((0, dst.shape[0] - src.shape[0]), (0, dst.shape[1] - src.shape[1])),
                        mode="edge")
    return out


@dataclass
class AudioFrame:
    data: np.ndarray  # int16, (samples, channels), interleaved
    sample_rate: int
    pts: int  # in samples since capture start (time_base 1 / sample_rate)
    time: float  # seconds since capture start, capture clock

    @property
    def channels(self) -> int:
        return self.data.shape[1]

    @property
    def samples(self) -> int:
        return self.data.shape[0]

    @property
    def time_base(self) -> Fraction:
        return Fraction(1, self.sample_rate)


@dataclass
class EncodedPacket:
    """A packet of a file's stream that goes to the outputs as it is stored (stream copy):
    an av.Packet whose pts and dts are already on the capture timeline, in the file stream's
    time base. Packets come in decode order, so `time` is the decode time: pts may run ahead
    of it (B-frames)."""

    packet: object  # av.Packet (PyAV is imported only once a capture runs)
    kind: str  # "video" or "audio"
    time: float  # decode time, seconds on the capture clock
    index: int  # the source's packet number
    samples: int = 0  # audio: the samples it codes, for the track statistics
    sample_rate: int = 0

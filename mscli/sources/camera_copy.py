"""Stream copy from a V4L2 camera (`--video-codec copy`): the driver's buffers, as OpenCV hands
them over with CAP_PROP_CONVERT_RGB off, go to the outputs as packets, undecoded.

MJPEG buffers are one JPEG picture each and H.264 buffers one access unit: both are stored as
they are. Raw YUYV is stored as rawvideo (yuyv422), the frame's bytes as the driver wrote them;
containers that take rawvideo are nut and Matroska. Other raw formats are not copied (their
stored form would be a format players seldom read; give an encoder).

Packets carry the capture times the camera source computes (driver timestamps on the capture
clock), in TIME_BASE units, and never fall back in time (a muxer refuses that). Nothing here
imports PyAV or numpy until a capture runs.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

# The driver's fourcc -> FFmpeg's codec for its buffers as they are.
COPYABLE = {"MJPG": "mjpeg", "JPEG": "mjpeg", "H264": "h264", "YUYV": "rawvideo"}
RAW_PIXEL_FORMATS = {"YUYV": "yuyv422"}  # rawvideo's pixel format for a raw fourcc
TIME_BASE = Fraction(1, 90000)  # fine enough for any camera's timestamps
H264_KEY_NALS = (5, 7)  # an IDR slice, or the sequence parameters that precede one
HELD = "held"  # Packets' answer for a picture that cannot be stored yet


class NativeStream(NamedTuple):
    """A camera's stream as the driver delivers it: what the recorder's copied stream is
    made from (sinks/recorder.py, in place of a file's stream)."""

    fourcc: str
    width: int
    height: int
    rate: float

    def add_to(self, container):
        """A stream of `container` for this camera's packets as they are."""
        rate = Fraction(self.rate).limit_denominator(1001)
        codec = COPYABLE[self.fourcc]
        if codec == "h264" and container.format.name == "matroska":
            # Its header needs the parameter sets, which a camera sends inside its stream.
            raise ValueError("a camera's H.264 goes to .mp4 or .nut, not Matroska (whose "
                             "header needs the parameter sets before the first frame)")
        if codec == "rawvideo":  # its pixel format lives on a codec context
            stream = container.add_stream(codec, rate=rate)
            stream.pix_fmt = RAW_PIXEL_FORMATS[self.fourcc]
            stream.width, stream.height = self.width, self.height
        else:
            stream = container.add_mux_stream(codec, rate=rate, width=self.width,
                                               height=self.height)
        stream.time_base = TIME_BASE
        return stream


def native_stream(mode) -> NativeStream:
    return NativeStream(mode.pixel_format, mode.width, mode.height, mode.frame_rate)


class Packets:
    """The driver's buffers as EncodedPackets on the capture timeline. H.264 is stored from
    its first key frame on: the pictures before it refer to one that is not in the file."""

    def __init__(self, fourcc: str, width: int, height: int):
        import av

        self._packet = av.Packet
        self._h264 = COPYABLE[fourcc] == "h264"
        # A raw frame is whole or not a frame (a compressed one's size varies).
        self._size = width * height * 2 if fourcc in RAW_PIXEL_FORMATS else None
        self._last_pts: int | None = None

    def __call__(self, raw, t: float, index: int):
        """The EncodedPacket for a retrieved buffer, None for one that is no frame, HELD
        for an H.264 picture before the first key frame."""
        from mscli.media.frames import EncodedPacket

        data = raw.reshape(-1)
        if not data.size or self._size not in (None, data.size):
            return None
        key = not self._h264 or h264_key(data.tobytes())
        if self._last_pts is None and not key:
            return HELD
        packet = self._packet(data)
        pts = round(t / TIME_BASE)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        packet.pts = packet.dts = self._last_pts = pts
        packet.time_base = TIME_BASE
        packet.is_keyframe = key
        return EncodedPacket(packet, "video", t, index)


def h264_key(data: bytes) -> bool:
    """Whether an Annex B access unit starts a picture that decodes by itself (an IDR slice,
    or the SPS a camera sends before one)."""
    at = data.find(b"\x00\x00\x01")
    while at >= 0 and at + 3 < len(data):
        if data[at + 3] & 0x1F in H264_KEY_NALS:
            return True
        at = data.find(b"\x00\x00\x01", at + 3)
    return False

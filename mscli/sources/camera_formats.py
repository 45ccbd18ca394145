"""A camera's compressed formats taken raw from the driver and decoded once by PyAV, where
that is the faster way (or the only one).

With CAP_PROP_CONVERT_RGB off, OpenCV's retrieve() hands over the driver's buffer as it is
(its `bytesused` bytes): for H.264 one access unit, which OpenCV's V4L2 capture cannot decode
at all. PyAV's decoder gives the decoder's own YUV and libswscale makes that I420 in one step
(nothing at all for the usual yuv420p).
MJPEG stays with OpenCV (imdecode to BGR, then BGR -> I420): measured, libjpeg-turbo's decode
and OpenCV's SIMD conversion take 1.3x (1280x720) to 1.5x (640x480) less CPU per frame than
FFmpeg's MJPEG decoder plus libswscale's 4:2:2 -> 4:2:0 (`python bench/camera_decode.py`).
Its raw buffers are taken only to be stored as they are (camera_copy.py).

A full-range picture (H.264 flagged full-range) is made limited range, as every decoded
frame is (media/frames.py, decoded_i420).
"""

from __future__ import annotations

from mscli.media.frames import decoded_i420

# The driver's fourcc -> FFmpeg's decoder for it, for the formats decoded here.
COMPRESSED = {"H264": "h264"}


class CompressedDecoder:
    """Buffers of one compressed format -> 1-D I420 numpy arrays, or None for a buffer that
    gives no picture (damaged, or an H.264 decoder still waiting for a key frame)."""

    def __init__(self, codec: str):
        import av

        self._av = av
        self._context = av.CodecContext.create(codec, "r")  # FFmpeg's name: COMPRESSED
        # One thread: a frame thread holds a picture back, and a camera delivers one at a
        # time at its own rate (measured: no faster per frame with more).
        self._context.thread_count = 1

    def __call__(self, buffer, width: int, height: int):
        try:
            frames = self._context.decode(self._av.Packet(buffer))
        except (self._av.FFmpegError, ValueError):
            return None
        if not frames or (frames[-1].width, frames[-1].height) != (width, height):
            return None
        return decoded_i420(frames[-1])

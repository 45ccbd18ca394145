"""One frame as a PNG or JPEG image (OpenCV: I420 -> BGR, BT.601 limited range, encode)."""

from __future__ import annotations

import os
from typing import BinaryIO

import cv2
import numpy as np

from mscli.errors import AbortError, UsageError
from mscli.media.frames import VideoFrame, chroma_size, pad_i420
from mscli.sinks.files import write_payload, write_whole

_EXT = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg"}


def i420_to_bgr(data: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 BGR from a 1-D I420 buffer; OpenCV converts even sizes only,
    so an odd one is padded to even and the result cropped."""
    cw, ch = chroma_size(width, height)
    ew, eh = 2 * cw, 2 * ch
    even = pad_i420(data, width, height, ew, eh)
    return cv2.cvtColor(even.reshape(eh * 3 // 2, ew), cv2.COLOR_YUV2BGR_I420)[:height, :width]


def encode_image(frame: VideoFrame, image_format: str = "png", quality: int = 92) -> bytes:
    ext = _EXT.get(image_format.lower())
    if ext is None:
        raise UsageError(f"unknown image format {image_format!r} (png or jpg)")
    bgr = i420_to_bgr(frame.data, frame.width, frame.height)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext == ".jpg" else []
    ok, encoded = cv2.imencode(ext, bgr, params)
    if not ok:
        raise AbortError(f"cannot encode a {frame.width}x{frame.height} frame as {ext[1:]}")
    return encoded.tobytes()


def write_image(frame: VideoFrame, target: str | BinaryIO, image_format: str | None = None,
                quality: int = 92, overwrite: bool = True) -> int:
    """Writes `frame` as an image to a path ("-" is stdout) or a binary stream (not closed);
    the format comes from `image_format` or the path's extension. A path is replaced only
    with `overwrite`, and removed again if ms created it and the write failed. Returns the
    bytes written."""
    if image_format is None:
        if not isinstance(target, str) or target == "-":
            raise UsageError("an image written to a stream needs its format (png or jpg)")
        image_format = os.path.splitext(target)[1].lstrip(".") or "?"
    payload = encode_image(frame, image_format, quality)
    if not isinstance(target, str):
        return write_payload(target, payload)
    return write_whole(target, payload, overwrite)

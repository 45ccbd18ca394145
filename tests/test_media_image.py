"""Single frames as PNG / JPEG."""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
import pytest

from mscli.errors import AbortError, UsageError
from mscli.media.pattern import read_frame_number
from mscli.sinks.image import encode_image, i420_to_bgr, write_image

from _media import video_frames


def first_frame(w, h, index=42):
    return next(video_frames(w, h, 30, 1, start=index))


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_image_decodes_with_the_code_readable(tmp_path, ext):
    path = tmp_path / f"shot.{ext}"
    n = write_image(first_frame(640, 360), str(path))
    assert n == path.stat().st_size > 0
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        assert (frame.width, frame.height) == (640, 360)
        gray = frame.to_ndarray(format="gray")
    assert read_frame_number(gray) == 42


def test_png_is_lossless_against_the_colour_conversion():
    frame = first_frame(320, 240)
    png = encode_image(frame, "png")
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, i420_to_bgr(frame.data, 320, 240))


def test_odd_sizes_and_streams():
    out = io.BytesIO()
    write_image(first_frame(321, 241), out, "png")
    img = cv2.imdecode(np.frombuffer(out.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img.shape == (241, 321)


def test_bad_format_or_target(tmp_path):
    with pytest.raises(UsageError):
        write_image(first_frame(64, 48), str(tmp_path / "x.gif"))
    with pytest.raises(UsageError):
        write_image(first_frame(64, 48), io.BytesIO())
    with pytest.raises(AbortError):
        write_image(first_frame(64, 48), str(tmp_path / "missing" / "x.png"))

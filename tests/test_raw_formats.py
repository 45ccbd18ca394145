"""A camera's raw formats to I420 (mscli/sources/raw_formats.py): the same pixels as the plain
definition, and no more memory than the output needs (bench/lab_capture.py --micro has the
CPU: fresh temporaries cost page faults, which the emulated lab pays most for)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mscli.media.frames import i420_size
from mscli.sources import raw_formats

SIZES = [(1280, 720), (8, 6), (6, 5), (2, 1), (4, 3), (640, 481)]


def reference_422(flat, width, height, fmt):
    """The definition: luma as it is; chroma of each pair of rows averaged, rounding up."""
    y_at, u_at, v_at = raw_formats.PACKED_422[fmt]
    rows = flat.reshape(height, width * 2).astype(np.uint16)
    padded = np.concatenate([rows, rows[-1:]]) if height % 2 else rows
    planes = [rows[:, y_at::2]]
    for at in (u_at, v_at):
        c = padded[:, at::4]
        planes.append((c[0::2] + c[1::2] + 1) >> 1)
    return np.concatenate([p.reshape(-1) for p in planes]).astype(np.uint8)


@pytest.mark.parametrize("fmt", sorted(raw_formats.PACKED_422))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_packed_422_gives_the_pixels_of_the_definition(fmt, size):
    width, height = size
    flat = np.random.default_rng(width * height).integers(0, 256, width * height * 2, np.uint8)
    out = raw_formats.packed422_to_i420(flat, width, height, fmt)
    assert out.dtype == np.uint8 and out.shape == (i420_size(width, height),)
    assert np.array_equal(out, reference_422(flat, width, height, fmt))


def test_packed_422_rounds_every_pair_of_chroma_values_up():
    """Every pair of byte values (a above, b below), in every byte lane of the pixel pairs."""
    values = np.arange(256 * 256)
    a, b = (values % 256).astype(np.uint8), (values // 256).astype(np.uint8)
    rows = np.stack([np.repeat(a, 4), np.repeat(b, 4)])  # each pixel pair all a, or all b
    width = 2 * values.size
    out = raw_formats.packed422_to_i420(rows.reshape(-1), width, 2, "YUYV")
    expected = ((a.astype(np.uint16) + b + 1) >> 1).astype(np.uint8)
    luma = 2 * width
    assert np.array_equal(out[luma:luma + a.size], expected)  # U
    assert np.array_equal(out[luma + a.size:], expected)  # V


@pytest.mark.parametrize("fmt", ["YUYV", "UYVY"])
def test_packed_422_allocates_little_beyond_its_output(fmt):
    """One temporary of two thirds of the output (the averaged chroma words, 4 bytes for 2
    pixels of 2 rows); before, 2.3x the output was allocated every frame."""
    width, height = 1280, 720
    flat = np.zeros(width * height * 2, np.uint8)
    tracemalloc.start()
    try:
        raw_formats.packed422_to_i420(flat, width, height, fmt)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 2 * i420_size(width, height), peak / i420_size(width, height)

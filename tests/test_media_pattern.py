"""The pattern camera's frames: layout, motion, flashes, and both burned-in frame numbers,
including after crop-and-scale and lossy codecs."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from mscli.media.convert import scale_i420
from mscli.media.frames import i420_size
from mscli.media.pattern import (
    FLASH_THRESHOLD,
    PatternGenerator,
    code_cells,
    crc8,
    find_flashes,
    is_flash,
    read_frame_number,
)

from _media import y_plane


def y_of(data: np.ndarray, w: int, h: int) -> np.ndarray:
    return data[:w * h].reshape(h, w)


def test_frame_is_a_1d_i420_buffer_of_the_right_size():
    for w, h in ((1280, 720), (640, 480), (321, 241)):
        gen = PatternGenerator(w, h, 30)
        f = gen.frame(3)
        assert f.dtype == np.uint8 and f.ndim == 1 and f.size == i420_size(w, h)


def test_frames_are_new_buffers_and_deterministic():
    gen = PatternGenerator(320, 240, 30)
    a, b = gen.frame(5), gen.frame(5)
    assert a is not b and np.array_equal(a, b)
    out = np.zeros(i420_size(320, 240), np.uint8)
    assert gen.frame(5, out=out) is out and np.array_equal(out, a)


def test_the_picture_moves_from_frame_to_frame():
    gen = PatternGenerator(640, 360, 30)
    frames = [gen.frame(i) for i in range(1, 6)]
    for a, b in zip(frames, frames[1:]):
        # more differs than the digits and the code
        assert np.count_nonzero(y_of(a, 640, 360) != y_of(b, 640, 360)) > 640 * 360 // 10


def test_chroma_is_coloured_outside_flashes():
    gen = PatternGenerator(320, 240, 30)
    f = gen.frame(1)
    chroma = f[320 * 240:]
    assert chroma.min() < 80 and chroma.max() > 180


@pytest.mark.parametrize("rate, period", [(30, 30), (25, 25), (Fraction(30000, 1001), 30),
                                          (60, 60), (7.5, 8)])
def test_flash_once_a_second_from_the_first_on(rate, period):
    gen = PatternGenerator(320, 180, rate)
    planes = [y_of(gen.frame(i), 320, 180) for i in range(3 * period + 1)]
    assert find_flashes(planes) == [period, 2 * period, 3 * period]


def test_frame_0_is_the_pattern_not_a_flash():
    """A single frame (`-o still.png`) is frame 0: it must show the pattern."""
    gen = PatternGenerator(1280, 720, 30)
    assert not is_flash(y_of(gen.frame(0), 1280, 720))
    assert read_frame_number(y_of(gen.frame(0), 1280, 720)) == 0


def test_flash_and_normal_frames_are_far_from_the_threshold():
    gen = PatternGenerator(1280, 720, 30)
    flash = y_of(gen.frame(30), 1280, 720).mean()
    normal = max(y_of(gen.frame(i), 1280, 720).mean() for i in range(1, 30))
    assert flash > FLASH_THRESHOLD + 30 and normal < FLASH_THRESHOLD - 30
    assert is_flash(y_of(gen.frame(60), 1280, 720))


@pytest.mark.parametrize("index", [0, 1, 2, 29, 30, 31, 1000, 65535, 123456, 2**24 - 1])
def test_code_reads_back_the_index(index):
    gen = PatternGenerator(1280, 720, 30)
    assert read_frame_number(y_of(gen.frame(index), 1280, 720)) == index


def test_code_wraps_modulo_2_24():
    gen = PatternGenerator(640, 360, 30)
    assert read_frame_number(y_of(gen.frame(2**24 + 5), 640, 360)) == 5


def test_code_cells_fixed_pattern_and_crc():
    grid = code_cells(0x123456)
    assert grid.shape == (4, 10)
    assert list(grid[:, 0]) == [True, False, True, False]
    assert list(grid[:, -1]) == [False, True, False, True]
    assert crc8(0) == 0 and crc8(0x123456) != crc8(0x123457)


@pytest.mark.parametrize("w, h", [(1280, 720), (640, 480), (1920, 1080), (320, 240),
                                  (720, 1280), (322, 242), (321, 241), (176, 144)])
def test_code_reads_at_every_size(w, h):
    gen = PatternGenerator(w, h, 30)
    for i in (7, 30, 4097):
        assert read_frame_number(y_of(gen.frame(i), w, h)) == i


@pytest.mark.parametrize("src, dst", [
    ((1280, 720), (960, 720)),   # 16:9 -> 4:3 crop
    ((1280, 720), (320, 180)),   # quarter size
    ((1280, 720), (240, 180)),   # crop to 4:3 and quarter size
    ((1280, 720), (160, 120)),
    ((1280, 720), (90, 160)),    # landscape to portrait
    ((640, 480), (640, 360)),    # 4:3 -> 16:9 crop
    ((640, 480), (160, 90)),
    ((640, 480), (120, 90)),
    ((720, 1280), (320, 180)),   # portrait to landscape
    ((1920, 1080), (480, 270)),
    ((1920, 1080), (1000, 562)),
])
def test_code_survives_centred_crop_and_scale(src, dst):
    gen = PatternGenerator(*src, 30)
    for i in (11, 30, 777):
        scaled = scale_i420(gen.frame(i), *src, *dst)
        assert read_frame_number(y_of(scaled, *dst)) == i


def _through_codec(codec: str, options: dict, src, dst, count: int) -> list[int | None]:
    gen = PatternGenerator(*src, 30)
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as container:
        stream = container.add_stream(codec, rate=30, options=options)
        stream.width, stream.height, stream.pix_fmt = dst[0], dst[1], "yuv420p"
        for i in range(count):
            data = scale_i420(gen.frame(i), *src, *dst)
            frame = av.VideoFrame.from_numpy_buffer(data.reshape(dst[1] * 3 // 2, dst[0]),
                                                    format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as container:
        return [read_frame_number(y_plane(f)) for f in container.decode(video=0)]


@pytest.mark.parametrize("codec, options", [
    ("libx264", {"crf": "23", "preset": "veryfast"}),
    ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"}),
])
@pytest.mark.parametrize("src, dst", [((1280, 720), (1280, 720)), ((1280, 720), (240, 180)),
                                      ((640, 480), (160, 90))])
def test_code_survives_lossy_codecs(codec, options, src, dst):
    assert _through_codec(codec, options, src, dst, 35) == list(range(35))


def test_no_number_where_there_is_no_code():
    rng = np.random.default_rng(1)
    assert read_frame_number(rng.integers(0, 256, (720, 1280), dtype=np.uint8)) is None
    assert read_frame_number(np.full((480, 640), 128, np.uint8)) is None
    assert read_frame_number(np.zeros((4, 4), np.uint8)) is None
    # the pattern with its code greyed out
    gen = PatternGenerator(640, 360, 30)
    for i in range(1, 40):
        y = y_of(gen.frame(i), 640, 360).copy()
        bx0, by0, bx1, by1 = gen._code_box
        y[by0:by1, bx0:bx1] = 126
        assert read_frame_number(y) is None
    # blocky noise at the scale of the code
    for seed in range(20):
        rng = np.random.default_rng(seed)
        blocks = rng.choice(np.array([16, 235], np.uint8), (12, 20))
        y = np.repeat(np.repeat(blocks, 30, 0), 30, 1)
        assert read_frame_number(y) is None


# Seven-segment reading: segment -> sample point as fractions of the glyph (x, y).
_POINTS = {"a": (0.5, 0.04), "b": (0.96, 0.25), "c": (0.96, 0.75), "d": (0.5, 0.96),
           "e": (0.04, 0.75), "f": (0.04, 0.25), "g": (0.5, 0.5)}
_DIGITS = {frozenset(v): k for k, v in {
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg",
    "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg"}.items()}


def _read_digits(gen: PatternGenerator, y: np.ndarray, count: int) -> str:
    gw, gh, gap = gen._glyph_w, gen._glyph_h, gen._glyph_gap
    total = count * gw + (count - 1) * gap + 2 * gap
    x = (gen.width - total) // 2 + gap
    top = gen._digits_y0 + gap
    text = ""
    for _ in range(count):
        lit = frozenset(s for s, (fx, fy) in _POINTS.items()
                        if y[top + int(fy * (gh - 1)), x + int(fx * (gw - 1))] > 128)
        text += _DIGITS.get(lit, "?")
        x += gw + gap
    return text


@pytest.mark.parametrize("index", [0, 9, 1234, 567890, 1234567])
def test_digits_show_the_frame_number(index):
    gen = PatternGenerator(1280, 720, 30)
    text = str(index).zfill(6)
    assert _read_digits(gen, y_of(gen.frame(index), 1280, 720), len(text)) == text


def test_generation_is_fast():
    gen = PatternGenerator(1280, 720, 30)
    import time

    start = time.perf_counter()
    for i in range(300):
        gen.frame(i)
    fps = 300 / (time.perf_counter() - start)
    assert fps > 1200, f"{fps:.0f} frames/s"


def test_generator_keeps_no_memory_per_frame():
    """Bench (d) needs a flat resident size: nothing may be cached per index."""
    def rss_kib() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 // 1024

    gen = PatternGenerator(1280, 720, 30)
    for i in range(50):
        gen.frame(i)
    before = rss_kib()
    for i in range(50, 1050):
        gen.frame(i)
    assert rss_kib() - before < 10_000

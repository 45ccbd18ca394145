"""The `pattern` camera: a moving test card that carries its own frame number.

Each frame shows scrolling colour bars over a scrolling diagonal ramp, so that a repeated or
dropped frame is visible, and burns in its index twice:

- as seven-segment digits (for a person), centred above the middle of the picture;
- as a code (for tests): a grid of ROWS x COLS black/white cells around the exact centre of the
  picture, inside a grey quiet border, within the central 30 % of each axis. Eight cells are fixed
  (they give polarity, contrast and scale), 24 carry the index modulo 2**24 and 8 a CRC-8 of it.
  Because the code is centred and small, a centred crop to another aspect ratio followed by a
  uniform downscale (what crop-and-scale does) keeps it whole; `read_frame_number` finds its
  scale by itself, so it reads any such Y plane, after x264 or VP9 too.

On every whole second from the first on (index % round(frame_rate) == 0, index > 0) the frame is
a white flash, still carrying the code (on its grey border) and the digits; `is_flash`/
`find_flashes` detect it by mean luma. The tone microphone clicks at the same instants (see
tone.py). Frame 0 is never a flash: a single frame (`-o still.png`) shows the pattern.

A camera with controls (brightness, contrast, saturation, zoom, pan, tilt in its device file)
shows them on the scene, the bars and the ramp: see adjust.py. The digits, the code and the
flashes are drawn over the adjusted scene, so they read the same at any setting.

Speed: everything is precomputed at construction; a frame is a few broadcast copies and small
slice writes (well over 1000 frames/s at 1280x720 on two cores). Brightness, contrast and
saturation cost nothing per frame; a zoom adds one resize (about 0.4 ms at 1280x720).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from mscli.media import adjust
from mscli.media.frames import chroma_size, i420_planes, i420_size

ROWS, COLS = 4, 10
CODE_BITS = 24
CRC_BITS = 8
BLACK, WHITE, GREY = 16, 235, 126  # limited-range luma
FLASH_LUMA = 235
FLASH_THRESHOLD = 170.0  # mean luma above this is a flash (normal frames are ~110)

# Fixed cells: (row, col) -> is white. The first column reads white, black, white, black from
# the top, the last one the opposite.
_FIXED = {**{(r, 0): r % 2 == 0 for r in range(ROWS)},
          **{(r, COLS - 1): r % 2 == 1 for r in range(ROWS)}}
# Data cells in reading order: row-major over the remaining columns.
_DATA = [(r, c) for r in range(ROWS) for c in range(COLS) if (r, c) not in _FIXED]
assert len(_DATA) == CODE_BITS + CRC_BITS

# 75 % colour bars, BT.601 limited range: white, yellow, cyan, green, magenta, red, blue, black.
_BARS = np.array([(180, 128, 128), (162, 44, 142), (131, 156, 44), (112, 72, 58),
                  (84, 184, 198), (65, 100, 212), (35, 212, 114), (16, 128, 128)], np.uint8)


class Scene(NamedTuple):
    """The rows the scene is copied from: bars (one row each plane), ramp (whole planes)."""

    bars_y: np.ndarray
    bars_u: np.ndarray
    bars_v: np.ndarray
    ramp_y: np.ndarray
    ramp_u: np.ndarray
    ramp_v: np.ndarray


def _crc8_table() -> np.ndarray:
    table = np.zeros(256, np.uint8)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table[byte] = crc
    return table


_CRC8 = _crc8_table()


def crc8(value: int) -> int:
    """CRC-8 (polynomial 0x07) of the three bytes of a 24-bit value, high byte first."""
    crc = 0
    for shift in (16, 8, 0):
        crc = int(_CRC8[crc ^ ((value >> shift) & 0xFF)])
    return crc


def code_cells(index: int) -> np.ndarray:
    """The ROWS x COLS grid of booleans (True = white) that encodes `index`."""
    value = index % (1 << CODE_BITS)
    word = (value << CRC_BITS) | crc8(value)
    grid = np.zeros((ROWS, COLS), bool)
    for (r, c), white in _FIXED.items():
        grid[r, c] = white
    for i, (r, c) in enumerate(_DATA):
        grid[r, c] = bool((word >> (CODE_BITS + CRC_BITS - 1 - i)) & 1)
    return grid


# Seven-segment digits. Segments: a top, b upper right, c lower right, d bottom, e lower left,
# f upper left, g middle.
_SEGMENTS = {"0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg",
             "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg"}


def _glyph(digit: str, gw: int, gh: int) -> np.ndarray:
    g = np.full((gh, gw), BLACK, np.uint8)
    t = max(1, gh // 9)
    mid = gh // 2
    for seg in _SEGMENTS[digit]:
        if seg == "a":
            g[:t, :] = WHITE
        elif seg == "d":
            g[gh - t:, :] = WHITE
        elif seg == "g":
            g[mid - t // 2: mid - t // 2 + t, :] = WHITE
        elif seg == "f":
            g[:mid + 1, :t] = WHITE
        elif seg == "b":
            g[:mid + 1, gw - t:] = WHITE
        elif seg == "e":
            g[mid:, :t] = WHITE
        elif seg == "c":
            g[mid:, gw - t:] = WHITE
    return g


def cell_size(width: int, height: int) -> int:
    """Side in pixels of one code cell in a width x height pattern: border included, the code
    spans at most 30 % of the width and of the height, so it survives a centred crop from
    16:9 to 9:16 and the other way round."""
    return max(1, min((3 * width) // (10 * (COLS + 1)), (3 * height) // (10 * (ROWS + 1))))


class PatternGenerator:
    """Frames of the moving test pattern, as 1-D I420 buffers (see frames.py)."""

    def __init__(self, width: int, height: int, frame_rate: Fraction | float | int,
                 controls: dict | None = None):
        if width < 1 or height < 1:  # any real size draws: 1x1 is a grey-level camera
            raise ValueError(f"invalid pattern size {width}x{height}")
        self.width, self.height = int(width), int(height)
        self.frame_rate = frame_rate
        self.flash_period = max(1, round(float(frame_rate)))
        w, h = self.width, self.height
        cw, ch = chroma_size(w, h)
        self.size = i420_size(w, h)
        self._cw, self._ch = cw, ch

        # Scrolling background: colour bars on top (one row, broadcast down), diagonal ramp below.
        self._bars_h = min(h, 2 * round(h / 3))  # even, so chroma rows line up
        self._bars_ch = (self._bars_h + 1) // 2
        self._speed = max(2, 2 * round(w / 240))  # even: chroma moves by whole samples
        xs = np.arange(2 * w)
        bar = (xs % w) * 8 // w
        bars_y = _BARS[bar, 0].copy()
        cxs = np.arange(w // 2 + cw + 1) * 2
        cbar = (cxs % w) * 8 // w
        bars_u = _BARS[cbar, 1].copy()
        bars_v = _BARS[cbar, 2].copy()

        # Row r of the ramp is its first row shifted by r: one row of levels, then a view of
        # every shift of it (a uint8 copy, no full-size float arrays: ~1 ms rather than
        # ~40-100 ms at 1080p, time the first frames of a paced capture would be late by).
        levels = (BLACK + (WHITE - BLACK) * (np.arange(w) / w)).astype(np.uint8)
        shifts = np.lib.stride_tricks.sliding_window_view(np.tile(levels, 3), 2 * w)
        ramp_y = shifts[np.arange(self._bars_h, h) % w]
        # chroma: U follows x (scrolls with the ramp), V follows y
        shape = (ch - self._bars_ch, len(cxs))
        u_row = (128 + 90 * np.cos(2 * np.pi * (cxs % w) / w)).astype(np.uint8)
        v_col = (128 + 90 * np.sin(2 * np.pi * np.arange(self._bars_ch, ch) * 2 / h))
        ramp_u = np.broadcast_to(u_row[None, :], shape).copy()
        ramp_v = np.broadcast_to(v_col.astype(np.uint8)[:, None], shape).copy()
        self._plain = Scene(bars_y, bars_u, bars_v, ramp_y, ramp_u, ramp_v)

        # Code: centred grid of s x s cells inside a grey border half a cell wide.
        s = cell_size(w, h)
        self.cell = s
        b = max(1, s // 2)
        self._code_x0 = (w - COLS * s) // 2
        self._code_y0 = (h - ROWS * s) // 2
        self._code_box = (max(0, self._code_x0 - b), max(0, self._code_y0 - b),
                          min(w, self._code_x0 + COLS * s + b),
                          min(h, self._code_y0 + ROWS * s + b))

        # Digits: centred horizontally, between the top and the code.
        gh = max(7, h // 8)
        gw = max(4, (gh * 5) // 9)
        self._glyph_w, self._glyph_h = gw, gh
        self._glyph_gap = max(1, gw // 4)
        self._glyphs = {d: _glyph(d, gw, gh) for d in _SEGMENTS}
        self._digits_y0 = max(0, min(self._code_box[1] - gh - max(2, gh // 4), h // 5))

        # Camera controls (adjust.py): the device's ranges and defaults. Their tables recolour
        # the rows the scene is copied from; a zoom crops the scene, drawn into _zoomed_from.
        self._controls = dict(controls or {})
        self._zoomed_from: np.ndarray | None = None
        self.set_controls({})

    def set_controls(self, values: dict) -> None:
        """The current control values (name -> value): the next frames show them. Called by
        the thread that makes the frames, between two of them."""
        work = adjust.plan(self.width, self.height, self._controls, values)
        self._shown = Scene(*(adjust.recolour(table, work.luma if name.endswith("y")
                                              else work.chroma)
                              for name, table in zip(Scene._fields, self._plain)))
        self._window = work.window

    # ----------------------------------------------------------------------------------------

    def is_flash_index(self, index: int) -> bool:
        return index > 0 and index % self.flash_period == 0

    def frame(self, index: int, out: np.ndarray | None = None) -> np.ndarray:
        """Frame number `index` as a new (or the given `out`) 1-D uint8 I420 buffer."""
        buf = np.empty(self.size, np.uint8) if out is None else out
        Y, U, V = i420_planes(buf, self.width, self.height)
        if self.is_flash_index(index):
            Y.fill(FLASH_LUMA)
            U.fill(128)
            V.fill(128)
        elif self._window is None:
            self._draw_scene(Y, U, V, index)
        else:
            if self._zoomed_from is None:
                self._zoomed_from = np.empty(self.size, np.uint8)
            scene = i420_planes(self._zoomed_from, self.width, self.height)
            self._draw_scene(*scene, index)
            adjust.zoom(self._window, scene, (Y, U, V))
        self._draw_digits(Y, U, V, index)
        self._draw_code(Y, U, V, index)
        return buf

    def _draw_scene(self, Y, U, V, index: int) -> None:
        """The scrolling bars and ramp, in the controls' colours: what the camera sees."""
        w, cw = self.width, self._cw
        bars_y, bars_u, bars_v, ramp_y, ramp_u, ramp_v = self._shown
        off = (index * self._speed) % w & ~1
        coff = off // 2
        bh, bch = self._bars_h, self._bars_ch
        np.copyto(Y[:bh], bars_y[off:off + w])
        np.copyto(U[:bch], bars_u[coff:coff + cw])
        np.copyto(V[:bch], bars_v[coff:coff + cw])
        roff = (w - off) % w & ~1
        rcoff = roff // 2
        np.copyto(Y[bh:], ramp_y[:, roff:roff + w])
        np.copyto(U[bch:], ramp_u[:, rcoff:rcoff + cw])
        np.copyto(V[bch:], ramp_v[:, rcoff:rcoff + cw])

    def _draw_digits(self, Y, U, V, index: int) -> None:
        text = f"{index:06d}"
        gw, gh, gap = self._glyph_w, self._glyph_h, self._glyph_gap
        pad = gap
        total = len(text) * gw + (len(text) - 1) * gap + 2 * pad
        x0 = (self.width - total) // 2
        y0 = self._digits_y0
        bx0, by0 = max(0, x0), y0
        bx1, by1 = min(self.width, x0 + total), min(self.height, y0 + gh + 2 * pad)
        Y[by0:by1, bx0:bx1] = BLACK
        U[by0 // 2:(by1 + 1) // 2, bx0 // 2:(bx1 + 1) // 2] = 128
        V[by0 // 2:(by1 + 1) // 2, bx0 // 2:(bx1 + 1) // 2] = 128
        x = x0 + pad
        gy0 = y0 + pad
        for ch in text:
            gx0, gx1 = max(0, x), min(self.width, x + gw)
            gy1 = min(self.height, gy0 + gh)
            if gx1 > gx0 and gy1 > gy0:
                Y[gy0:gy1, gx0:gx1] = self._glyphs[ch][:gy1 - gy0, gx0 - x:gx1 - x]
            x += gw + gap

    def _draw_code(self, Y, U, V, index: int) -> None:
        bx0, by0, bx1, by1 = self._code_box
        Y[by0:by1, bx0:bx1] = GREY
        U[by0 // 2:(by1 + 1) // 2, bx0 // 2:(bx1 + 1) // 2] = 128
        V[by0 // 2:(by1 + 1) // 2, bx0 // 2:(bx1 + 1) // 2] = 128
        levels = np.where(code_cells(index), WHITE, BLACK).astype(np.uint8)
        s, x0, y0 = self.cell, self._code_x0, self._code_y0
        if x0 >= 0 and y0 >= 0:
            # (ROWS * s, COLS * s) region seen as (ROWS, s, COLS, s): one broadcast assignment
            region = Y[y0:y0 + ROWS * s, x0:x0 + COLS * s].reshape(ROWS, s, COLS, s)
            region[...] = levels[:, None, :, None]
            return
        # A picture too small for the whole code: draw what fits.
        img = np.repeat(np.repeat(levels, s, axis=0), s, axis=1)
        ix0, iy0 = max(0, -x0), max(0, -y0)
        dx0, dy0 = max(0, x0), max(0, y0)
        hh = min(img.shape[0] - iy0, self.height - dy0)
        ww = min(img.shape[1] - ix0, self.width - dx0)
        if hh > 0 and ww > 0:
            Y[dy0:dy0 + hh, dx0:dx0 + ww] = img[iy0:iy0 + hh, ix0:ix0 + ww]


# --------------------------------------------------------------------------------------------
# Reading the code back


def _cell_offsets() -> tuple[np.ndarray, np.ndarray]:
    rs, cs = np.meshgrid(np.arange(ROWS), np.arange(COLS), indexing="ij")
    return (cs.ravel() - COLS / 2 + 0.5), (rs.ravel() - ROWS / 2 + 0.5)


_COL_OFF, _ROW_OFF = _cell_offsets()
_FLAT = {(r, c): r * COLS + c for r in range(ROWS) for c in range(COLS)}
_WHITE_IDX = np.array([_FLAT[k] for k, v in _FIXED.items() if v])
_BLACK_IDX = np.array([_FLAT[k] for k, v in _FIXED.items() if not v])
_DATA_IDX = np.array([_FLAT[k] for k in _DATA])
_SHIFTS = np.array([(0.0, 0.0), (-0.5, 0.0), (0.5, 0.0), (0.0, -0.5), (0.0, 0.5),
                    (-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)])
_WEIGHTS = (1 << np.arange(CODE_BITS + CRC_BITS - 1, -1, -1, dtype=np.int64))


def read_frame_number(y_plane: np.ndarray) -> int | None:
    """The frame number (modulo 2**24) coded in a Y plane of the pattern, or None.

    The plane may be the original or any centred crop + uniform scale of it, and may have been
    through a lossy codec. The code's scale is found by trying cell sizes from 1.5 px up and
    keeping those whose fixed cells and CRC agree; the value most of them read wins.
    """
    y = np.asarray(y_plane)
    if y.ndim != 2:
        raise ValueError("read_frame_number wants a 2-D Y plane")
    h, w = y.shape
    s_max = min(w / (COLS + 1), h / (ROWS + 1))
    s_min = 1.5
    if s_max < s_min:
        return None
    scales = np.exp(np.arange(np.log(s_min), np.log(s_max) + 1e-9, np.log(1.02)))
    cx, cy = w / 2, h / 2
    # Only the rows the code can occupy.
    r0 = max(0, int(cy - (ROWS / 2) * s_max) - 2)
    r1 = min(h, int(cy + (ROWS / 2) * s_max) + 3)
    rh = r1 - r0
    region = np.ascontiguousarray(y[r0:r1], np.uint8)
    import cv2  # here, not at the top: making frames needs only numpy (cv2 costs ~0.1-0.2 s)

    sdepth = cv2.CV_32S if rh * w * 255 < 2**31 else cv2.CV_64F
    flat = cv2.integral(region, sdepth=sdepth).ravel()

    # Small cells also try sub-pixel shifts of the centre (crop offsets round to whole pixels).
    small = scales[scales < 6]
    s = np.concatenate([np.repeat(small, len(_SHIFTS)), scales[scales >= 6]])[:, None]
    rest = np.zeros(len(s) - len(small) * len(_SHIFTS))
    dx = np.concatenate([np.tile(_SHIFTS[:, 0], len(small)), rest])[:, None]
    dy = np.concatenate([np.tile(_SHIFTS[:, 1], len(small)), rest])[:, None]
    xs = np.floor(cx + dx + s * _COL_OFF[None, :]).astype(np.intp)
    ys = np.floor(cy + dy + s * _ROW_OFF[None, :]).astype(np.intp) - r0
    hb = np.maximum(0, ((s - 2) * 0.4).astype(np.intp))
    x0 = np.clip(xs - hb, 0, w)
    x1 = np.clip(xs + hb + 1, 0, w)
    y0 = np.clip(ys - hb, 0, rh) * (w + 1)
    y1 = np.clip(ys + hb + 1, 0, rh) * (w + 1)
    area = np.maximum(1, (x1 - x0) * (y1 - y0) // (w + 1))
    sums = (flat.take(y1 + x1).astype(np.int64) - flat.take(y0 + x1) - flat.take(y1 + x0)
            + flat.take(y0 + x0))
    means = sums / area

    white = means[:, _WHITE_IDX]
    black = means[:, _BLACK_IDX]
    lo, hi = black.mean(axis=1), white.mean(axis=1)
    span = hi - lo
    ok = (white.min(axis=1) - black.max(axis=1) > 25) & (span > 40)
    thr = (lo + hi) / 2
    data = means[:, _DATA_IDX]
    bits = data > thr[:, None]
    margin = np.abs(data - thr[:, None]).min(axis=1) / np.maximum(span, 1)
    ok &= margin > 0.08
    if not ok.any():
        return None
    words = bits[ok].astype(np.int64) @ _WEIGHTS
    values = words >> CRC_BITS
    crcs = words & 0xFF
    crc = np.zeros_like(values)
    for shift in (16, 8, 0):
        crc = _CRC8[(crc ^ ((values >> shift) & 0xFF)).astype(np.intp)].astype(np.int64)
    good = crc == crcs
    if not good.any():
        return None
    candidates, counts = np.unique(values[good], return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] < 2:
        return None
    return int(candidates[best])


# --------------------------------------------------------------------------------------------
# Flashes


def is_flash(y_plane: np.ndarray, threshold: float = FLASH_THRESHOLD) -> bool:
    """Whether a Y plane is one of the once-a-second white flashes."""
    return float(np.asarray(y_plane).mean()) > threshold


def find_flashes(y_planes: Iterable[np.ndarray], threshold: float = FLASH_THRESHOLD) -> list[int]:
    """Positions (0-based, in iteration order) of the flash frames among `y_planes`."""
    return [i for i, plane in enumerate(y_planes) if is_flash(plane, threshold)]

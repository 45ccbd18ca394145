"""Where a rescaled video track's size lands inside one native mode, as Chromium places it.

With crop-and-scale, a native mode of W x H can deliver any real (width, height) of a convex
polygon: the box [w_lo, w_hi] x [h_lo, h_hi] (the required ranges cut to [1, W] and [1, H])
cut by the wedge a_lo <= width / height <= a_hi. Chromium (ResolutionSet::
SelectClosestPointToIdeal in blink's media_stream_constraints_util_sets.cc) does not search
that polygon for the smallest fitness distance: it picks one point from the ideals by
geometry, rounds each side to the nearest integer (std::round, halves away from zero), and
only then measures the fitness distance. Its rules, which `target_size` follows:

- no ideal size: as for an ideal aspect ratio equal to the native one;
- an ideal aspect ratio A alone: where the line width = A * height crosses the polygon, the
  point of that crossing nearest to (H * A, H) or the one nearest to (W, W / A), whichever
  has the larger area; where it misses, the vertex (or side) whose aspect ratio is nearest A,
  and on it the same two points for that vertex's aspect ratio;
- an ideal height alone: where the line height = ideal crosses the polygon, its point nearest
  to the native aspect ratio at that height; else the vertex (or side) nearest in height and
  on it the point nearest to the native aspect ratio there. An ideal width alike;
- two or three ideals: the ideal point (a missing side from the ideal aspect ratio), or the
  polygon's point nearest to it (Euclidean).

So an ideal height of 1079 on 1920x1080 gives 1918x1079 (1079 * 16/9 = 1918.2), a maximum
height of 20 on 40x30 gives 27x20 (26.67 rounded), and an ideal aspect ratio of 1500 on
1920x1080 gives 1920x1 (the crossing is 1920 x 1.28, which rounds to 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

TOLERANCE = 1e-5  # Chromium's for comparing aspect ratios here (not constraints.EPSILON)
MAX_DIMENSION = 2**31 - 1  # a C++ int: ideals beyond it are taken as it


def _near(a: float, b: float) -> bool:
    if abs(a - b) <= TOLERANCE or a == b:
        return True
    if a == 0 or b == 0:
        return False
    return abs((a - b) / a) <= TOLERANCE and abs((a - b) / b) <= TOLERANCE


def _below(a: float, b: float) -> bool:
    return a < b and not _near(a, b)


def _above(a: float, b: float) -> bool:
    return a > b and not _near(a, b)


class Point(NamedTuple):
    w: float
    h: float

    @property
    def aspect(self) -> float:
        return self.w / self.h if self.h else math.inf

    @property
    def area(self) -> float:
        return self.w * self.h


def _square_distance(p: Point, q: Point) -> float:
    dw, dh = p.w - q.w, p.h - q.h
    return dw * dw + dh * dh  # inf for ideals near 1e300, where ** raised OverflowError


def _nearest_on_segment(p: Point, a: Point, b: Point) -> Point:
    """The point of the segment a-b nearest to p."""
    dw, dh = b.w - a.w, b.h - a.h
    length = dw * dw + dh * dh
    if length == 0:
        return a
    m = ((p.w - a.w) * dw + (p.h - a.h) * dh) / length
    if m < 0:
        return a
    if m > 1:
        return b
    return Point(a.w + m * dw, a.h + m * dh)


class Sizes(NamedTuple):
    """The polygon of sizes a rescaled mode may deliver."""

    w_lo: float
    w_hi: float
    h_lo: float
    h_hi: float
    a_lo: float
    a_hi: float

    def empty(self) -> bool:
        if self.w_lo > self.w_hi or self.h_lo > self.h_hi or self.w_hi <= 0 or self.h_hi <= 0:
            return True
        widest = self.w_hi / self.h_lo if self.h_lo else math.inf
        return (_above(self.a_lo, self.a_hi) or _below(widest, self.a_lo)
                or _above(self.w_lo / self.h_hi, self.a_hi)
                or not math.isfinite(self.a_lo) or self.a_hi <= 0)

    def contains(self, p: Point) -> bool:
        if not (self.h_lo <= p.h <= self.h_hi and self.w_lo <= p.w <= self.w_hi):
            return False
        if p.w == 0 and p.h == 0:
            return True
        a = p.aspect
        return ((a > self.a_lo or _near(a, self.a_lo))
                and (a < self.a_hi or _near(a, self.a_hi)))

    def cut(self, w=None, h=None, a=None) -> "Sizes":
        """The part of the polygon on the line width = w, height = h or aspect ratio = a."""
        w_lo, w_hi = (self.w_lo, self.w_hi) if w is None else (max(self.w_lo, w),
                                                               min(self.w_hi, w))
        h_lo, h_hi = (self.h_lo, self.h_hi) if h is None else (max(self.h_lo, h),
                                                               min(self.h_hi, h))
        a_lo, a_hi = (self.a_lo, self.a_hi) if a is None else (max(self.a_lo, a),
                                                               min(self.a_hi, a))
        return Sizes(w_lo, w_hi, h_lo, h_hi, a_lo, a_hi)

    def vertices(self) -> list[Point]:
        """The corners, counterclockwise from (w_lo, h_lo) along the low-width side, each
        once: the box's corners and where the wedge's two rays cross the box's sides.
        The order decides between equally near sides, as in Chromium."""
        lo = self.a_lo if 0 < self.a_lo < math.inf else None
        hi = self.a_hi if 0 < self.a_hi < math.inf else None
        walk = [Point(self.w_lo, self.h_lo)]
        walk += [Point(self.w_lo, self.w_lo / a) for a in (hi, lo) if a]
        walk.append(Point(self.w_lo, self.h_hi))
        walk += [Point(self.h_hi * a, self.h_hi) for a in (lo, hi) if a]
        walk.append(Point(self.w_hi, self.h_hi))
        walk += [Point(self.w_hi, self.w_hi / a) for a in (lo, hi) if a]
        walk.append(Point(self.w_hi, self.h_lo))
        walk += [Point(self.h_lo * a, self.h_lo) for a in (hi, lo) if a]
        out: list[Point] = []
        for p in walk:
            if self.contains(p) and (not out or (p != out[-1] and p != out[0])):
                out.append(p)
        return out

    def nearest(self, p: Point) -> Point:
        """The polygon's point nearest to p: p itself, or the nearest of each side's."""
        if self.contains(p):
            return p
        corners = self.vertices()
        if not corners:  # only when the polygon is empty up to the tolerance
            return Point(min(max(p.w, self.w_lo), self.w_hi), min(max(p.h, self.h_lo), self.h_hi))
        best, best_distance = corners[0], math.inf
        for i, corner in enumerate(corners):
            candidate = _nearest_on_segment(p, corner, corners[(i + 1) % len(corners)])
            distance = _square_distance(p, candidate)
            if distance < best_distance:
                best, best_distance = candidate, distance
        return best

    def nearest_corners(self, measure, value: float) -> list[Point]:
        """The vertex, or the two ends of the side, whose `measure` is nearest `value`."""
        found, best = [], math.inf
        for corner in self.vertices():
            got = measure(corner)
            diff = abs(got - value) if math.isfinite(value) else (0.0 if got == value
                                                                  else math.inf)
            if diff < best:
                found, best = [corner], diff
            elif diff == best:
                found.append(corner)
        return found[:2]


def _on_corner_or_side(corners: list[Point], p: Point) -> Point:
    if len(corners) == 1:
        return corners[0]
    return _nearest_on_segment(p, corners[0], corners[1])


def _larger(p: Point, q: Point) -> Point:
    return p if p.area > q.area else q


def _for_aspect(sizes: Sizes, aspect: float, native: Point) -> Point:
    line = sizes.cut(a=aspect)
    if not line.empty():
        return _larger(line.nearest(Point(native.h * aspect, native.h)),
                       line.nearest(Point(native.w, native.w / aspect)))
    corners = sizes.nearest_corners(lambda p: p.aspect, aspect)
    if not corners:
        return sizes.nearest(native)
    actual = corners[0].aspect
    return _larger(_on_corner_or_side(corners, Point(native.h * actual, native.h)),
                   _on_corner_or_side(corners, Point(native.w, native.w / actual)))


def _for_height(sizes: Sizes, height: float, aspect: float) -> Point:
    line = sizes.cut(h=height)
    if not line.empty():
        return line.nearest(Point(height * aspect, height))
    corners = sizes.nearest_corners(lambda p: p.h, height)
    if not corners:
        return sizes.nearest(Point(height * aspect, height))
    return _on_corner_or_side(corners, Point(corners[0].h * aspect, corners[0].h))


def _for_width(sizes: Sizes, width: float, aspect: float) -> Point:
    line = sizes.cut(w=width)
    if not line.empty():
        return line.nearest(Point(width, width / aspect))
    corners = sizes.nearest_corners(lambda p: p.w, width)
    if not corners:
        return sizes.nearest(Point(width, width / aspect))
    return _on_corner_or_side(corners, Point(corners[0].w, corners[0].w / aspect))


def _dimension(ideal: float) -> float:
    return min(max(ideal, 0), MAX_DIMENSION)


def target_point(sizes: Sizes, native: Point, width=None, height=None,
                 aspect=None) -> Point:
    """Chromium's real-valued size for the ideals given (None: no ideal); see the module."""
    native_aspect = native.w / native.h
    if aspect is not None:
        aspect = max(aspect, 0.0)
    given = sum(ideal is not None for ideal in (width, height, aspect))
    if given == 0:
        return _for_aspect(sizes, native_aspect, native)
    if given == 1:
        if height is not None:
            return _for_height(sizes, _dimension(height), native_aspect)
        if width is not None:
            return _for_width(sizes, _dimension(width), native_aspect)
        return _for_aspect(sizes, aspect, native)
    if height is not None:
        h = _dimension(height)
        w = _dimension(width) if width is not None else h * aspect
    else:
        w = _dimension(width)
        h = w / aspect if aspect else MAX_DIMENSION  # an ideal ratio of 0: as tall as can be
    return sizes.nearest(Point(w, h))


def round_half_up(x: float) -> int:
    """std::round for the positive sizes here: 26.5 gives 27 (Python's round() gives 26)."""
    return math.floor(x + 0.5)


def target_size(sizes: Sizes, native: Point, width=None, height=None,
                aspect=None) -> tuple[int, int]:
    """The rescaled track's whole-pixel size: target_point rounded to the nearest."""
    p = target_point(sizes, native, width, height, aspect)
    if not (math.isfinite(p.w) and math.isfinite(p.h)):  # ideals near 0 or 2^31 overflow
        p = sizes.nearest(native)
    return max(1, round_half_up(p.w)), max(1, round_half_up(p.h))

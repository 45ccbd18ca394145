"""SelectSettings: choosing a device and its settings for one track, as getUserMedia does.

The spec describes candidates as every possible settings dictionary of every device. ms groups
them into *regions* whose points differ only in continuous settings:

- a camera gives one region per (native mode, resizeMode): with "none" the size is the native
  size; with "crop-and-scale" it is any (width, height) in [1, native] (downscale and crop, never
  upscale, as Chromium). In both, the frame rate may be decimated to anything in
  [MIN_FRAME_RATE, native] (0.001 fps: see devices.py).
- a microphone is one region: each audio property independently takes any supported value.

A region can answer two questions exactly: is any of its points inside a set of required
constraints, and which of its points has the smallest fitness distance for the basic set. The
spec's algorithm (basic set, then each advanced set all-or-nothing, then the smallest distance)
runs over regions with those two answers.

Choices the spec leaves open follow Chromium, and each is named where it is made:
- ties between regions: native fitness, then a native mode over a rescaled one, then
  enumeration order, then the native size closest to 640x480 and the rate closest to 30;
- ties inside a region: keep the native aspect ratio when only one dimension is asked, crop
  to an asked aspect ratio, and otherwise stay as close to the native size as allowed;
- width and height are solved as real numbers and rounded at the end, so an exact aspect ratio
  such as 1.3333 is met by 640x480 (Chromium's ResolutionSet works the same way);
- with resizeMode "none" the frame rate may still be decimated (resizeMode is about resolution).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from mscli.catalog import why_none
from mscli.controlchoice import CONTROL_NAMES, ControlChooser, offers, universe
from mscli.constraints import (
    EPSILON,
    PROPERTIES,
    Constraint,
    ConstraintSet,
    TrackConstraints,
    fitness_distance,
)
from mscli.devices import (
    AUDIO_INPUT,
    MIN_FRAME_RATE,
    VIDEO_INPUT,
    AudioCaps,
    Device,
    ValueSet,
    VideoMode,
)
from mscli.errors import NotFoundError, OverconstrainedError, shown
from mscli.regionindex import RegionIndex
from mscli.requirements import Requirements

DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_FRAME_RATE = 640, 480, 30.0
# Latency: 20 ms rather than the lowest a device offers; 8 ms on ALSA overflowed dozens of
# times a second in the hardware lab.
AUDIO_DEFAULTS = {"sampleRate": 48000, "sampleSize": 16, "channelCount": 1, "latency": 0.02}
INPUT_KIND = {"video": VIDEO_INPUT, "audio": AUDIO_INPUT}


class Selection(NamedTuple):
    """What getUserMedia would open for one track."""

    kind: str
    device: Device
    settings: dict
    mode: VideoMode | None = None

    def to_json(self) -> dict:
        out = {"kind": self.kind, "label": self.device.label, "deviceId": self.device.device_id,
               "groupId": self.device.group_id, "settings": self.settings}
        if self.mode is not None:
            out["mode"] = self.mode.to_json()
        return out


def select_settings(track: TrackConstraints, devices: list[Device], kind: str) -> Selection:
    """Run SelectSettings for a track of `kind` over `devices` (enumeration order)."""
    inputs = _inputs(devices, kind)
    regions = [r for order, d in enumerate(inputs) for r in _regions(d, order)]
    if not regions:
        raise NotFoundError(f"no {kind} input device found{why_none(devices, kind)}")
    nothing = Requirements.none(_universe(inputs))
    basic = _required(track.basic, kind)
    required = nothing.plus(basic)
    live = [r for r in regions if r.feasible(required)]
    if not live:
        raise _overconstrained(kind, regions, basic, nothing)
    required = _with_advanced(track.advanced, kind, live, required)
    return _best([r for r in live if r.feasible(required)], track.basic, required)


def _with_advanced(sets: list[ConstraintSet], kind: str, live: list["Region"],
                   required: Requirements) -> Requirements:
    """Spec step 3: each advanced set in turn joins the requirements when some candidate meets
    them all, and is skipped whole otherwise. Only whether such a candidate exists matters, so
    the search stops at the first one, trying first the one that met the last accepted set,
    then only those the index leaves (regionindex.py: a set that no mode of 24,800 meets was
    a check of 49,600 regions, 40 such sets 3.5 s). Requirements only tighten, so a set seen
    before cannot change the answer: met, it is already in them; skipped, it is still unmet.
    Linear in the number of sets: 80,000 sets in a 1 MiB file took over a minute when every
    check walked every member accepted so far."""
    witness, seen, index = live[0], set(), RegionIndex(live)
    for advanced in sets:
        members = _required(advanced, kind)
        key = frozenset(members)
        if key in seen:
            continue
        seen.add(key)
        trial = required.plus(members)
        if trial.key == required.key or index.out_of_reach(trial):
            continue
        found = witness if witness.feasible(trial) else index.first_meeting(trial)
        if found is not None:
            required, witness = trial, found
    return required


def _best(live: list["Region"], basic: ConstraintSet, required: Requirements) -> Selection:
    """The region whose best() key is smallest, the earliest on a tie (spec step 4 with
    Chromium's tie-breaks), without searching most regions: they are taken in the order of
    a lower bound of their key (`key_bound`), and once the next bound is above the best key
    found no region left can win. A camera with thousands of native modes (vivid has 3,486)
    took half a second to resolve, and starved a running capture during --reapply."""
    order = sorted(((r.key_bound(basic, required), i, r) for i, r in enumerate(live)),
                   key=lambda entry: entry[:2])
    best_key, best = None, None
    for bound, i, region in order:
        if best_key is not None and (bound, i) > best_key:
            break
        key, selection = region.best(basic, required)
        if best_key is None or (key, i) < best_key:
            best_key, best = (key, i), selection
    return best


def _inputs(devices: list[Device], kind: str) -> list[Device]:
    return [d for d in devices if d.kind == INPUT_KIND[kind]]


def _regions(device: Device, order: int) -> list["Region"]:
    if device.kind == VIDEO_INPUT:
        chooser = ControlChooser(device)  # the controls are the same in every region
        return [VideoRegion(device, order, mode, resize, chooser)
                for mode in device.modes for resize in ("none", "crop-and-scale")]
    return [AudioRegion(device, order)]


def _required(constraints: ConstraintSet, kind: str) -> list[Constraint]:
    return [c for c in constraints.values() if c.required and kind in PROPERTIES[c.name].kinds]


def _universe(devices: list[Device]) -> dict:
    """Every value a candidate may have for each discrete name, for Requirements to check
    discrete members against once rather than at every candidate."""
    values: dict[str, set] = {"deviceId": {d.device_id for d in devices},
                              "groupId": {d.group_id for d in devices}}
    for d in devices:
        if d.kind == VIDEO_INPUT:
            values.setdefault("facingMode", set()).add(d.facing_mode)
            values["resizeMode"] = {"none", "crop-and-scale"}
        for name in AudioCaps.BOOLEAN if d.audio is not None else ():
            values.setdefault(name, set()).update(d.audio.boolean(name))
    for name, found in universe(devices).items():  # camera controls' modes and torch
        values.setdefault(name, set()).update(found)
    return {name: tuple(v for v in found if v is not None) for name, found in values.items()}


def _overconstrained(kind, regions, required, nothing) -> OverconstrainedError:
    """Name a required constraint no candidate can meet even alone, or "" (spec step 5)."""
    for c in required:
        alone = nothing.plus([c])
        if not any(r.feasible(alone) for r in regions):
            offered = _describe_offer(c.name, regions)
            return OverconstrainedError(
                c.name, f"{kind}.{c.name}: no {kind} device can satisfy {_describe(c)}"
                        f"{offered}")
    return OverconstrainedError(
        "", f"{kind}: the required constraints {', '.join(c.name for c in required)} "
            "cannot all be met by any one device and mode (each alone can)")


def _describe(c: Constraint) -> str:
    parts = {k: getattr(c, k) for k in ("exact", "min", "max") if getattr(c, k) is not None}
    if c.exists is not None:
        parts["exists"] = c.exists
    return ", ".join(f"{k} {_show_value(v)}" for k, v in parts.items())


def _show_value(v) -> str:
    if isinstance(v, tuple):  # 5,000 deviceIds made a 59 KB line
        more = f" or {len(v) - 5:,} more" if len(v) > 5 else ""
        return " or ".join(_show_value(x) for x in v[:5]) + more
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{shown(v, 60)}"'
    return f"{v:g}"


def _describe_offer(name: str, regions: list["Region"]) -> str:
    values = [v for r in regions for v in r.offers(name)]
    if not values:
        return f" (no device has a {name} setting)"
    numeric = [v for v in values if isinstance(v, tuple)]
    if numeric:
        lo, hi = min(v[0] for v in numeric), max(v[1] for v in numeric)
        return f" (devices offer {lo:g} to {hi:g})"
    distinct = list(dict.fromkeys(_show_value(v) for v in values))
    return f" (devices offer {', '.join(distinct)})"


def _number(x: float):
    """JSON-friendly: 30 rather than 30.0, as a browser's getSettings() shows it."""
    return int(x) if float(x).is_integer() else x


def _ideal(basic: ConstraintSet, name: str) -> float | None:
    c = basic.get(name)
    return c.ideal if c is not None and c.exists is None else None


def _relative(a: float, b: float) -> float:
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


class Region:
    device: Device
    order: int
    fixed: dict  # the settings that are the same at every point of the region

    def fixed_ok(self, required: Requirements) -> bool:
        """Required constraints this region meets at every point or at none: those on
        settings it does not vary (ids, facingMode, resizeMode) and existence constraints."""
        if required.impossible:
            return False
        for name, wanted in required.presence.items():
            if self.has_setting(name) != wanted:
                return False
        return all(self.varies(name) or self.fixed.get(name) in allowed
                   for name, allowed in required.allowed.items())

    def varies(self, name: str) -> bool:
        raise NotImplementedError

    def has_setting(self, name: str) -> bool:
        raise NotImplementedError

    def offers(self, name: str) -> list:
        """For error messages: (lo, hi) ranges or discrete values this region offers."""
        if name in self.fixed:
            return [self.fixed[name]]
        return []

    def key_bound(self, basic: ConstraintSet, required: Requirements) -> tuple:
        """A tuple no greater than best()'s key: its distance part bounded below, the rest
        exact (see _best)."""
        raise NotImplementedError


class VideoRegion(Region):
    NUMERIC = ("width", "height", "aspectRatio", "frameRate")

    def __init__(self, device: Device, order: int, mode: VideoMode, resize: str,
                 controls: ControlChooser):
        self.device, self.order, self.mode, self.resize = device, order, mode, resize
        self.controls = controls
        self.fixed = {"deviceId": device.device_id, "groupId": device.group_id,
                      "resizeMode": resize}
        if device.facing_mode:
            self.fixed["facingMode"] = device.facing_mode

    def varies(self, name: str) -> bool:
        return name in self.NUMERIC or name in self.device.controls

    def has_setting(self, name: str) -> bool:
        return name in self.NUMERIC or name in self.fixed or name in self.device.controls

    def offers(self, name: str) -> list:
        m = self.mode
        cropped = self.resize == "crop-and-scale"
        ranges = {"width": (1 if cropped else m.width, m.width),
                  "height": (1 if cropped else m.height, m.height),
                  "aspectRatio": (1 / m.height if cropped else m.width / m.height,
                                  m.width if cropped else m.width / m.height),
                  "frameRate": (MIN_FRAME_RATE, m.frame_rate)}
        if name in CONTROL_NAMES:
            return offers(self.device, name)
        return [ranges[name]] if name in ranges else super().offers(name)

    def _box(self, required):
        """The allowed (w, h, aspect, frame rate) intervals; None when one is empty.
        Checked at every region for every advanced set: each test stops at the first
        empty interval (a camera with 24,800 modes has 49,600 regions)."""
        m = self.mode
        least = 1 if self.resize == "crop-and-scale" else None
        w_lo, w_hi = required.bound("width")
        w = (max(w_lo, least or m.width), min(w_hi, m.width))
        if not _nonempty(*w):
            return None
        h_lo, h_hi = required.bound("height")
        h = (max(h_lo, least or m.height), min(h_hi, m.height))
        if not _nonempty(*h):
            return None
        f_lo, f_hi = required.bound("frameRate")
        f = (max(f_lo, MIN_FRAME_RATE), min(f_hi, m.frame_rate))
        a_lo, a_hi = required.bound("aspectRatio")
        a = (max(a_lo, 0.0), a_hi)
        if not (_nonempty(*f) and _nonempty(*a)):
            return None
        # Some point of the box has an aspect ratio inside [a_lo, a_hi].
        if not _nonempty(max(a[0], w[0] / h[1]), min(a[1], w[1] / h[0])):
            return None
        return w, h, a, f

    def feasible(self, required: Requirements) -> bool:
        return (self.fixed_ok(required) and self._box(required) is not None
                and self.controls.feasible(required))

    def best(self, basic: ConstraintSet, required: Requirements):
        controls = self.controls.choose(basic, required)
        basic = _without_controls(basic)  # their distance is the same at every point
        (w_lo, w_hi), (h_lo, h_hi), (a_lo, a_hi), (f_lo, f_hi) = self._box(required)
        ideal_rate = _ideal(basic, "frameRate")
        # Not below the floor, also when a maximum just under it is met within tolerance.
        frame_rate = max(MIN_FRAME_RATE, _closest(ideal_rate, f_lo, f_hi, default=f_hi))
        if ideal_rate is not None and ideal_rate <= 0 and required.bound("frameRate")[0] <= 0:
            # Fix: an ideal of 0 or below gave a frame rate of 0. Every rate is as far from
            # an ideal of 0, and for a negative one only the floor above is nearer: take the
            # default, the native (or highest allowed) rate, unless a required minimum above
            # 0 makes that minimum the closest.
            frame_rate = max(MIN_FRAME_RATE, f_hi)
        default_w, default_h = self._default_point(basic)
        best_key, best_point = None, None
        for w, h in self._candidate_points(basic, (w_lo, w_hi, h_lo, h_hi, a_lo, a_hi),
                                           (default_w, default_h)):
            settings = self._settings(w, h, w / h, frame_rate)
            distance = fitness_distance(basic, settings, "video")
            tie = (_relative(w / h, default_w / default_h), _relative(h, default_h))
            key = (distance, tie)
            if best_key is None or key < best_key:
                best_key, best_point = key, (w, h)
        w, h = best_point
        if self.resize == "crop-and-scale":
            # Fix: each side used to be rounded to even on its own, which could lose the ideal
            # aspect ratio (aspectRatio 1 on a 3x4 mode gave 3x4, not 2x2) or break a required
            # one that the nearest integers meet (exact 1 on 641x479 gave 480x479). Now the
            # even sizes next to the real optimum are tried in pairs: the pair that keeps the
            # required aspect ratio with the smallest distance wins (then the closest, then the
            # largest); the nearest integers when no even pair keeps it.
            pairs = [(a, b) for a in _even_options(w, w_lo, w_hi)
                     for b in _even_options(h, h_lo, h_hi) if _within(a / b, a_lo, a_hi)]
            width, height = min(
                pairs or [(max(1, round(w)), max(1, round(h)))],
                key=lambda p: (fitness_distance(basic, self._settings(*p, p[0] / p[1],
                                                                      frame_rate), "video"),
                               abs(p[0] - w) + abs(p[1] - h), -p[0] * p[1]))
        else:
            width, height = round(w), round(h)
        settings = self._settings(width, height, round(width / height, 10), frame_rate)
        settings.update(controls.values)
        key = (best_key[0] + controls.distance, *self._tie_key(basic, required))
        return key, Selection("video", self.device, settings, self.mode)

    def _tie_key(self, basic: ConstraintSet, required: Requirements) -> tuple:
        """What decides between regions at the same distance (Chromium's tie-breaks)."""
        return (self._native_fitness(basic, required), self.resize != "none", self.order,
                _relative(self.mode.width, DEFAULT_WIDTH)
                + _relative(self.mode.height, DEFAULT_HEIGHT),
                _relative(self.mode.frame_rate, DEFAULT_FRAME_RATE))

    def key_bound(self, basic: ConstraintSet, required: Requirements) -> tuple:
        # The distance is a sum of per-member terms, each at least that member's distance
        # at the value of the box nearest its ideal (the relative distance grows away from
        # a positive ideal); the other members count 0. Lowered by the comparison tolerance,
        # which lets best() reach a hair outside the box.
        (w_lo, w_hi), (h_lo, h_hi), (a_lo, a_hi), (f_lo, f_hi) = self._box(required)
        a_lo, a_hi = max(a_lo, w_lo / h_hi), min(a_hi, w_hi / h_lo)
        bound = self.controls.choose(basic, required).distance  # exact, and one per camera
        for name, lo, hi in (("width", w_lo, w_hi), ("height", h_lo, h_hi),
                             ("aspectRatio", a_lo, a_hi), ("frameRate", f_lo, f_hi)):
            ideal = _ideal(basic, name)
            if ideal is not None and ideal > 0:
                bound += _relative(min(max(ideal, lo), hi), ideal)
        return (max(0.0, bound - 4 * EPSILON), *self._tie_key(basic, required))

    def _settings(self, w, h, aspect, frame_rate) -> dict:
        out = {"deviceId": self.device.device_id, "groupId": self.device.group_id,
               "width": w, "height": h, "aspectRatio": aspect,
               "frameRate": _number(frame_rate), "resizeMode": self.resize}
        if self.device.facing_mode:
            out["facingMode"] = self.device.facing_mode
        return out

    def _default_point(self, basic: ConstraintSet) -> tuple[float, float]:
        """Where ties inside the region go: Chromium keeps the native aspect ratio for one
        asked dimension, crops to an asked aspect ratio, else stays at the native size."""
        m = self.mode
        iw, ih, ia = (_ideal(basic, n) for n in ("width", "height", "aspectRatio"))
        aspect = ia if ia else m.width / m.height
        if iw and ih:
            return iw, ih
        if iw:
            return iw, iw / aspect
        if ih:
            return ih * aspect, ih
        if aspect >= m.width / m.height:
            return m.width, m.width / aspect
        return m.height * aspect, m.height

    @staticmethod
    def _candidate_points(basic, box, default):
        """Every point where the minimum can be.

        Inside the cells cut by the lines w = ideal width, h = ideal height and w/h = ideal
        aspect, each distance term is linear or concave along rays from the origin and along
        the cell edges, so a minimum of their sum lies on a vertex: an intersection of two of
        those lines or of the box's edges. Lines through the default point carry the ties.
        """
        w_lo, w_hi, h_lo, h_hi, a_lo, a_hi = box
        iw, ih, ia = (_ideal(basic, n) for n in ("width", "height", "aspectRatio"))
        verticals = [v for v in (w_lo, w_hi, iw, default[0]) if v]
        horizontals = [v for v in (h_lo, h_hi, ih, default[1]) if v]
        rays = [r for r in (a_lo, a_hi, ia, default[0] / default[1])
                if r and math.isfinite(r)]
        points = [(w, h) for w in verticals for h in horizontals]
        points += [(w, w / r) for w in verticals for r in rays]
        points += [(h * r, h) for h in horizontals for r in rays]

        def inside(w, h):
            return (w_lo - _slack(w_lo) <= w <= w_hi + _slack(w_hi)
                    and h_lo - _slack(h_lo) <= h <= h_hi + _slack(h_hi)
                    and a_lo - _slack(a_lo) <= w / h <= a_hi + _slack(a_hi))

        return [p for p in points if p[1] > 0 and inside(*p)]

    def _native_fitness(self, basic: ConstraintSet, required: Requirements) -> float:
        """Chromium: how far the native mode is from the ideal (clamped to what is allowed),
        or from the required maximum when there is no ideal; prefers modes needing no work."""
        total = 0.0
        for name, native in (("width", self.mode.width), ("height", self.mode.height),
                             ("frameRate", self.mode.frame_rate)):
            lo, hi = required.bound(name)
            ideal = _ideal(basic, name)
            target = min(max(ideal, lo), hi) if ideal is not None else hi
            if math.isfinite(target):
                total += _relative(native, target)
        return total


def _without_controls(basic: ConstraintSet) -> ConstraintSet:
    return {name: c for name, c in basic.items() if name not in CONTROL_NAMES}


def _even_options(x: float, lo: float, hi: float) -> list[int]:
    """The even sizes on either side of a rescaled dimension that [lo, hi] allows: 4:2:0
    video, which every encoder ms uses takes, has no odd sizes. Else the nearest integer."""
    evens = {2 * math.floor(x / 2), 2 * math.ceil(x / 2)}
    options = sorted(v for v in evens if v >= 2 and _within(v, lo, hi))
    return options or [max(1, round(x))]


def _within(x: float, lo: float, hi: float) -> bool:
    return lo - _slack(lo) <= x <= hi + _slack(hi)


def _nonempty(lo: float, hi: float) -> bool:
    return lo <= hi + _slack(hi)


def _slack(bound: float) -> float:
    return 0.0 if math.isinf(bound) else EPSILON * max(1.0, abs(bound))


def _closest(ideal: float | None, lo: float, hi: float, default: float) -> float:
    if ideal is None:
        return default
    return min(max(ideal, lo), hi)


class AudioRegion(Region):
    """A microphone: every audio property is chosen on its own (they do not interact)."""

    NUMERIC = tuple(AudioCaps.NUMERIC)

    def __init__(self, device: Device, order: int):
        self.device, self.order = device, order
        self.caps = device.audio or AudioCaps()
        self.fixed = {"deviceId": device.device_id, "groupId": device.group_id}

    def varies(self, name: str) -> bool:
        return name in AudioCaps.NUMERIC or name in AudioCaps.BOOLEAN

    def has_setting(self, name: str) -> bool:
        if name in AudioCaps.NUMERIC:
            return self.caps.numeric(name) is not None
        if name in AudioCaps.BOOLEAN:
            return bool(self.caps.boolean(name))
        return name in self.fixed

    def offers(self, name: str) -> list:
        if name in AudioCaps.NUMERIC:
            values = self.caps.numeric(name)
            return [values.bounds()] if values is not None else []
        if name in AudioCaps.BOOLEAN:
            return list(self.caps.boolean(name))
        return super().offers(name)

    def _options(self, name: str, required: Requirements, ideal) -> list:
        """The values of one property that meet every required constraint on it."""
        if name in AudioCaps.BOOLEAN:
            return [v for v in self.caps.boolean(name) if required.admits(name, v)]
        values = self.caps.numeric(name)
        lo, hi = bounds = required.bound(name)
        if values is None:
            return []
        if values.is_range:
            options = _range_options(values, bounds, ideal, AUDIO_DEFAULTS[name],
                                     PROPERTIES[name].type)
        else:
            options = list(values.values)
        return [v for v in options if _within(v, lo, hi)]

    def feasible(self, required: Requirements) -> bool:
        if not self.fixed_ok(required):
            return False
        names = [n for n in (*required.bounds, *required.allowed) if self.varies(n)]
        return all(self._options(name, required, None) for name in names)

    def best(self, basic: ConstraintSet, required: Requirements):
        settings = {"deviceId": self.device.device_id, "groupId": self.device.group_id}
        for name in (*AudioCaps.NUMERIC, *AudioCaps.BOOLEAN):
            options = self._options(name, required, _ideal(basic, name))
            if options:
                settings[name] = min(options, key=lambda v: self._value_key(name, v, basic))
        distance = fitness_distance(basic, settings, "audio")
        return (distance, self.order), Selection("audio", self.device, _ordered(settings))

    def key_bound(self, basic: ConstraintSet, required: Requirements) -> tuple:
        return (0.0, self.order)  # few regions: no bound worth computing

    @staticmethod
    def _value_key(name, value, basic):
        """Smallest distance first; ties go to the defaults (48 kHz, 16 bit, mono, 20 ms
        latency, processing on) as a browser's microphone defaults do."""
        c = basic.get(name)
        distance = fitness_distance({name: c}, {name: value}, "audio") if c else 0.0
        if isinstance(value, bool):
            return distance, value is not True
        return distance, abs(value - AUDIO_DEFAULTS[name])


def _range_options(values: ValueSet, bounds, ideal, default, kind) -> list:
    """Candidate points of a continuous range: the ideal and the default clamped into it."""
    lo, hi = max(values.lo, bounds[0]), min(values.hi, bounds[1])
    if kind != "double":
        lo, hi = math.ceil(lo - _slack(lo)), math.floor(hi + _slack(hi))
    if not _nonempty(lo, hi):
        return []
    if lo > hi:
        # Fix: a double range missed by less than the comparison tolerance (latency exact
        # 0.1 + 0.2 on a device reaching 0.3) was empty here although satisfies() accepts
        # it and video frame rates allow it: take the device's value at the edge.
        lo = hi = min(max(hi, values.lo), values.hi)
    points = {lo, hi, min(max(default, lo), hi)}
    if ideal is not None:
        points.add(min(max(ideal, lo), hi))
    if kind != "double":
        points = {int(round(p)) for p in points}
    return sorted(points)


def _ordered(settings: dict) -> dict:
    order = ("deviceId", "groupId", "sampleRate", "sampleSize", "channelCount", "latency",
             "echoCancellation", "autoGainControl", "noiseSuppression")
    return {k: _number(settings[k]) if k in AudioCaps.NUMERIC and k != "latency"
            else settings[k] for k in order if k in settings}


def resolve_stream(constraints, devices: list[Device]) -> list[Selection]:
    """getUserMedia without the opening: one Selection per requested track, audio first."""
    return [select_settings(track, devices, kind) for kind, track in constraints.tracks()]

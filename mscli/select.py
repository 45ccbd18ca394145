"""SelectSettings: choosing a device and its settings for one track, as getUserMedia does.

The spec describes candidates as every possible settings dictionary of every device. ms groups
them into *regions* whose points differ only in continuous settings:

- a camera gives one region per (native mode, resizeMode): with "none" the size is the native
  size; with "crop-and-scale" it is any (width, height) in [1, native] (downscale and crop, never
  upscale, as Chromium). In both, the frame rate may be decimated to anything in
  [MIN_FRAME_RATE, native] (0.001 fps: see devices.py).
- a microphone is one region: each audio property independently takes any supported value.

A region answers two questions: is any of its points inside a set of required constraints
(exactly), and which settings it delivers for the basic set, with their distance vector. The
spec's algorithm (basic set, then each advanced set all-or-nothing, then the smallest distance)
runs over regions with those two answers.

Choices the spec leaves open follow Chromium's SelectSettingsVideoDeviceCapture (blink's
media_stream_constraints_util_video_device.cc); its tests are ported in
tests/test_select_chromium.py. Each candidate (a region) gets a distance vector, compared
element by element, the earliest candidate (enumeration order, then mode order, "none"
before "crop-and-scale") winning an exact tie. Chromium scores a mode by the lower of its
without- and with-rescale distances, without winning a tie; the two regions of a mode share
every other entry, so taking the smaller region is the same choice:
1. one entry per advanced set, 0 if met, infinite if not (the spec's step 3: _with_advanced
   keeps the regions that meet the accepted sets, which is the same thing);
2. the fitness distance of the basic set, measured on the settings the region delivers: the
   native size, or with crop-and-scale the size rescale.py places (Chromium's geometry,
   rounded to the nearest whole pixel, odd sizes included), and the frame rate: the ideal
   clamped into [required minimum, min(required maximum, native)], else that maximum. An
   ideal resizeMode costs 1 to the region of the other mode like any ideal string;
3. native fitness: for width, height and frame rate, the distance of the native value from
   the ideal clamped into what the mode allows, or from the top of that with no ideal
   (the top being min(required maximum, native): a minimum alone costs nothing);
4. the device's enumeration index; the squared distance of the native (height, width) from
   (480, 640); the distance of the native rate from 30.
So a camera met first in enumeration order crops before another camera's native mode is
taken, and a native 30 fps mode beats decimating a 40 fps one to 30.
Camera controls do not vary with the native mode: controlchoice.py chooses them once per
camera (the step settle() gives for the ideal), and they are among the settings entry 2
measures.
With resizeMode "none" the frame rate may still be decimated (resizeMode is about
resolution), as in Chromium. Width and height are solved as real numbers and rounded at the
end, so an exact aspect ratio such as 1.3333 is met by 640x480.

Microphones follow SelectSettingsAudioCapture (media_stream_constraints_util_audio.cc;
tests/test_select_chromium_audio.py): the smallest distance, then the first device. Each
setting is the ideal when allowed, else the allowed value nearest it by fitness distance
(the first listed on a tie); with no ideal, AUDIO_DEFAULTS or the value nearest it.
Chromium has no default sample rate or latency (it opens the device's own): ms's 48 kHz and
20 ms are its own choice. The processing settings differ from Chromium on purpose: Chromium
turns echoCancellation on by default and autoGainControl and noiseSuppression with it
(UpdateDefaultValues); ms records raw audio unless asked, so each of the three is off without
a constraint and on only where its own constraint asks (echoCancellation: true does not turn
the others on). Chromium's "echo cancellation off turns the others off" holds trivially.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from mscli.catalog import why_none
from mscli.constraints import (
    EPSILON,
    PROPERTIES,
    Constraint,
    ConstraintSet,
    TrackConstraints,
    fitness_distance,
    member_distance,
    relative_distance,
)
from mscli.controlchoice import (
    CONTROL_NAMES,
    ControlChooser,
    describe_offer,
    offers,
    universe,
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
from mscli.rescale import Point, Sizes, target_size
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
            offered = describe_offer(c.name, [r.device for r in regions]) \
                if c.name in CONTROL_NAMES else _describe_offer(c.name, regions)
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
        """The settings this region delivers and their distance vector (Chromium's, after
        the advanced-set entries: see the module's docstring)."""
        box = self._box(required)
        frame_rate = self._frame_rate(basic, box[3])
        if self.resize == "none":
            width, height = self.mode.width, self.mode.height
        else:
            (w_lo, w_hi), (h_lo, h_hi), (a_lo, a_hi), _ = box
            width, height = target_size(
                Sizes(w_lo, w_hi, h_lo, h_hi, a_lo, a_hi),
                Point(self.mode.width, self.mode.height),
                *(_ideal(basic, name) for name in ("width", "height", "aspectRatio")))
        settings = self._settings(width, height, width / height, frame_rate)
        settings.update(self.controls.choose(basic, required).values)
        # The basic set's distance on what the region delivers: every member of the set is
        # measured here, on these settings (key_bound must stay below it).
        key = (fitness_distance(basic, settings, "video"), *self._tie_key(basic, required))
        settings["aspectRatio"] = round(width / height, 10)
        return key, Selection("video", self.device, settings, self.mode)

    def _frame_rate(self, basic: ConstraintSet, allowed: tuple[float, float]) -> float:
        """Chromium: the ideal clamped into the allowed range, else its top: the native rate
        or a lower required maximum (decimation)."""
        f_lo, f_hi = allowed
        ideal = _ideal(basic, "frameRate")
        if ideal is None or (ideal <= 0 and f_lo <= MIN_FRAME_RATE):
            # Fix: an ideal of 0 or below gave a frame rate of 0. Every rate is as far from
            # an ideal of 0, and for a negative one only the floor above is nearer: take the
            # default, the native (or highest allowed) rate, unless a required minimum above
            # 0 makes that minimum the closest.
            return max(MIN_FRAME_RATE, f_hi)
        # Not below the floor, also when a maximum just under it is met within tolerance.
        return max(MIN_FRAME_RATE, min(max(ideal, f_lo), f_hi))

    def _tie_key(self, basic: ConstraintSet, required: Requirements) -> tuple:
        """The distance vector after the basic-set distance: native fitness, then the
        defaults (enumeration order, native size nearest 640x480, native rate nearest 30)."""
        m = self.mode
        return (self._native_fitness(basic, required), self.order,
                (m.height - DEFAULT_HEIGHT) ** 2 + (m.width - DEFAULT_WIDTH) ** 2,
                relative_distance(m.frame_rate, DEFAULT_FRAME_RATE))

    def key_bound(self, basic: ConstraintSet, required: Requirements) -> tuple:
        # The distance is a sum of per-member terms, each at least that member's distance
        # at the value of the allowed range nearest its ideal (the relative distance grows
        # away from a positive ideal); the other members count 0. The rounded size stays
        # within the whole-number width and height ranges, but its aspect ratio may leave a
        # required one: the aspect ratio's range is the box's. Lowered by the comparison
        # tolerance.
        (w_lo, w_hi), (h_lo, h_hi), _, (f_lo, f_hi) = self._box(required)
        bound = self.controls.choose(basic, required).distance  # exact, and one per camera
        for name, lo, hi in (("width", w_lo, w_hi), ("height", h_lo, h_hi),
                             ("aspectRatio", w_lo / h_hi, w_hi / h_lo),
                             ("frameRate", f_lo, f_hi)):
            ideal = _ideal(basic, name)
            if ideal is not None and ideal > 0:
                bound += relative_distance(min(max(ideal, lo), hi), ideal)
        return (max(0.0, bound - 4 * EPSILON), *self._tie_key(basic, required))

    def _settings(self, w, h, aspect, frame_rate) -> dict:
        out = {"deviceId": self.device.device_id, "groupId": self.device.group_id,
               "width": w, "height": h, "aspectRatio": aspect,
               "frameRate": _number(frame_rate), "resizeMode": self.resize}
        if self.device.facing_mode:
            out["facingMode"] = self.device.facing_mode
        return out

    def _native_fitness(self, basic: ConstraintSet, required: Requirements) -> float:
        """Chromium's native fitness: how far the native width, height and frame rate are
        from the ideal clamped into what the mode allows, or from the top of that when there
        is no ideal. What the mode allows is the same for both regions of a mode: with
        crop-and-scale allowed, [max(min, 1), min(max, native)]; without, the native size.
        So a required minimum alone costs nothing, a native value above a maximum does."""
        m = self.mode
        rescalable = required.admits("resizeMode", "crop-and-scale")
        total = 0.0
        for name, native, least in (("width", m.width, 1), ("height", m.height, 1),
                                    ("frameRate", m.frame_rate, MIN_FRAME_RATE)):
            lo, hi = required.bound(name)
            if name != "frameRate" and not rescalable:
                lo = hi = native
            lo, hi = max(lo, least), min(hi, native)
            ideal = _ideal(basic, name)
            target = hi if ideal is None else max(min(ideal, hi), lo)
            total += relative_distance(native, target)
        return total


def _within(x: float, lo: float, hi: float) -> bool:
    return lo - _slack(lo) <= x <= hi + _slack(hi)


def _nonempty(lo: float, hi: float) -> bool:
    return lo <= hi + _slack(hi)


def _slack(bound: float) -> float:
    return 0.0 if math.isinf(bound) else EPSILON * max(1.0, abs(bound))


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
    def _value_key(name, value, basic) -> tuple:
        """Chromium's choice of one audio setting (media_stream_constraints_util_audio.cc):
        the ideal when allowed, else the allowed value nearest it by fitness distance, the
        first listed on a tie; with no ideal, the default or the value nearest it (by the
        same distance): 48 kHz, 16 bit, mono, 20 ms latency, and no processing (ms's raw
        audio, where Chromium's default is on: see the module's docstring). min() keeps the
        first of equal keys, the device's order."""
        c = basic.get(name)
        distance = member_distance(c, value, "audio") if c else 0.0
        if isinstance(value, bool):
            return distance, value
        if _ideal(basic, name) is not None:
            return distance, 0.0
        return distance, relative_distance(value, AUDIO_DEFAULTS[name])


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

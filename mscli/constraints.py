"""MediaStreamConstraints: parsing with WebIDL-style type checks, and the fitness distance.

Pure: no I/O, no media libraries. Parsing turns user JSON into `TrackConstraints` (a basic set
and advanced sets of `Constraint`s) or raises ConstraintTypeError naming the JSON path. Unknown
names are dropped as WebIDL drops unknown dictionary members, with a warning for the user.

Where ms is stricter than WebIDL's JavaScript conversions, it is on purpose: JavaScript would
turn `"x"` into NaN and then 0 for a width, which hides a mistake in a file; ms says
`video.width: expected a number or a range object, got "x"` instead.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

from mscli.controls import BOOLEAN_CONTROLS, MODE_CONTROLS, MODES, NUMERIC_CONTROLS
from mscli.errors import ConstraintTypeError, did_you_mean, shown
from mscli.jsoninput import show_json as _show

ULONG, DOUBLE, BOOLEAN, STRING, BOOL_OR_STRING = "ulong", "double", "boolean", "string", "bool|str"
ULONG_MAX = 2**32 - 1
EPSILON = 1e-6  # Chromium's tolerance when comparing doubles (aspect ratios, frame rates)


class Property(NamedTuple):
    type: str
    kinds: tuple[str, ...]  # track kinds it applies to
    values: tuple[str, ...] = ()  # enum values, for the schema and did-you-mean hints


PROPERTIES: dict[str, Property] = {
    "width": Property(ULONG, ("video",)),
    "height": Property(ULONG, ("video",)),
    "aspectRatio": Property(DOUBLE, ("video",)),
    "frameRate": Property(DOUBLE, ("video",)),
    "facingMode": Property(STRING, ("video",), ("user", "environment", "left", "right")),
    "resizeMode": Property(STRING, ("video",), ("none", "crop-and-scale")),
    "sampleRate": Property(ULONG, ("audio",)),
    "sampleSize": Property(ULONG, ("audio",)),
    "echoCancellation": Property(BOOL_OR_STRING, ("audio",), ("all", "remote-only")),
    "autoGainControl": Property(BOOLEAN, ("audio",)),
    "noiseSuppression": Property(BOOLEAN, ("audio",)),
    "latency": Property(DOUBLE, ("audio",)),
    "channelCount": Property(ULONG, ("audio",)),
    "deviceId": Property(STRING, ("audio", "video")),
    "groupId": Property(STRING, ("audio", "video")),
    # Camera controls (Media Capture Image; controls.py). A boolean for a numeric or mode one
    # is the spec's "does the setting exist" form: {"pan": true} asks for a camera with pan.
    **{name: Property(DOUBLE, ("video",)) for name in NUMERIC_CONTROLS},
    **{name: Property(STRING, ("video",), MODES) for name in MODE_CONTROLS},
    **{name: Property(BOOLEAN, ("video",)) for name in BOOLEAN_CONTROLS},
}
NUMERIC_TYPES = (ULONG, DOUBLE)


class Constraint(NamedTuple):
    """One member of a constraint set, normalised.

    Numeric: exact/ideal are numbers, min/max bounds. Strings: exact/ideal are tuples of
    acceptable values ("any of these"). Booleans: exact/ideal are bools. `exists` is the
    spec's boolean-for-a-non-boolean-property form: it asks whether the setting exists.
    """

    name: str
    exact: object = None
    ideal: object = None
    min: float | None = None
    max: float | None = None
    exists: bool | None = None  # the boolean form, required or ideal per `exists_required`
    exists_required: bool = False

    @property
    def required(self) -> bool:
        return (self.exact is not None or self.min is not None or self.max is not None
                or (self.exists is not None and self.exists_required))

    @property
    def is_empty(self) -> bool:
        return not self.required and self.ideal is None and self.exists is None


ConstraintSet = dict  # name -> Constraint, in the order the user wrote them


class TrackConstraints:
    def __init__(self, basic: ConstraintSet | None = None,
                 advanced: list[ConstraintSet] | None = None, raw: dict | None = None):
        self.basic = basic or {}
        self.advanced = advanced or []
        self.raw = raw or {}  # what getConstraints() returns


class Warnings:
    """What parsing tells the user: the first few in full, the rest only counted. 20,000
    unknown keys printed 20,000 lines, each worked out with a did-you-mean search."""

    MOST = 5

    def __init__(self):
        self.lines: list[str] = []
        self.more = 0

    def add(self, make: Callable[[], str]) -> None:
        if len(self.lines) < self.MOST:
            self.lines.append(make())
        else:
            self.more += 1

    def all(self) -> list[str]:
        if not self.more:
            return self.lines
        return [*self.lines, f"… and {self.more:,} more warnings like these"]


class StreamConstraints:
    def __init__(self):
        self.audio: TrackConstraints | None = None
        self.video: TrackConstraints | None = None
        self.warnings: list[str] = []

    def tracks(self) -> list[tuple[str, TrackConstraints]]:
        """The requested tracks in the order getUserMedia returns them: audio, then video."""
        return [(k, c) for k, c in (("audio", self.audio), ("video", self.video)) if c]


def parse_stream_constraints(value: object) -> StreamConstraints:
    """MediaStreamConstraints from parsed JSON, or ConstraintTypeError naming the path."""
    if not isinstance(value, dict):
        raise ConstraintTypeError(
            f"constraints must be an object like {{\"video\": true}}, got {_show(value)}")
    out, warnings = StreamConstraints(), Warnings()
    unknown = [key for key in value if key not in ("audio", "video")]
    for key in unknown:
        warnings.add(lambda key=key: _unknown(key, key, ("audio", "video")))
    for key in ("audio", "video"):
        member = value.get(key, False)
        if isinstance(member, bool):
            setattr(out, key, TrackConstraints() if member else None)
        elif isinstance(member, dict):
            setattr(out, key, _parse_track(member, key, key, warnings))
        else:
            raise ConstraintTypeError(
                f"{key}: expected true, false or a constraints object, got {_show(member)}")
    if out.audio is None and out.video is None:
        # Warnings are not printed when parsing fails: the likely typo goes in the error.
        hints = [(did_you_mean(key, ("audio", "video")), key) for key in unknown[:20]]
        hint, key = max(hints, default=("", ""))
        typo = f"; {shown(repr(key), 60)} is neither{hint}" if key else ""
        raise ConstraintTypeError(
            f'no track requested: give "audio" and/or "video" as true or an object{typo}')
    out.warnings = warnings.all()
    return out


def parse_track_constraints(value: object, kind: str, path: str = "") -> TrackConstraints:
    """MediaTrackConstraints for one track (applyConstraints), warnings dropped."""
    if not isinstance(value, dict):
        raise ConstraintTypeError(f"{path or kind}: expected an object, got {_show(value)}")
    return _parse_track(value, kind, path or kind, Warnings())


def _parse_track(value: dict, kind: str, path: str, warnings: Warnings) -> TrackConstraints:
    track = TrackConstraints(raw=value)
    track.basic = _parse_set(value, kind, path, warnings, advanced=False)
    if "advanced" in value:
        advanced = value["advanced"]
        if not isinstance(advanced, list):
            raise ConstraintTypeError(
                f"{path}.advanced: expected a list of constraint sets, got {_show(advanced)}")
        for i, member in enumerate(advanced):
            where = f"{path}.advanced[{i}]"
            if not isinstance(member, dict):
                raise ConstraintTypeError(f"{where}: expected an object, got {_show(member)}")
            if "advanced" in member:
                warnings.add(lambda where=where: f"{where}.advanced: advanced sets do not nest; "
                                                 "ignored")
            track.advanced.append(_parse_set(member, kind, where, warnings, advanced=True))
    return track


def _parse_set(value: dict, kind: str, path: str, warnings: Warnings, advanced: bool) -> dict:
    out: dict[str, Constraint] = {}
    for name, member in value.items():
        if name == "advanced":
            continue
        prop = PROPERTIES.get(name)
        if prop is None:
            warnings.add(lambda name=name: _unknown(f"{path}.{shown(name, 40)}", name,
                                                    PROPERTIES))
            continue
        where = f"{path}.{name}"
        constraint = _parse_member(name, prop, member, where, advanced, warnings)
        if kind not in prop.kinds:
            # Spec: a constraint that does not apply to this kind of track has distance 0.
            warnings.add(lambda where=where, prop=prop:
                         f"{where}: applies to {prop.kinds[0]} tracks only; ignored")
        if not constraint.is_empty:
            out[name] = constraint
    return out


def _parse_member(name: str, prop: Property, value: object, path: str,
                  bare_is_exact: bool, warnings: Warnings) -> Constraint:
    if isinstance(value, bool) and prop.type not in (BOOLEAN, BOOL_OR_STRING):
        # The spec's rule 4: `{"facingMode": true}` asks for a device that has the setting.
        return Constraint(name, exists=value, exists_required=bare_is_exact)
    if prop.type in NUMERIC_TYPES:
        return _parse_numeric(name, prop.type, value, path, bare_is_exact, warnings)
    return _parse_discrete(name, prop.type, value, path, bare_is_exact, warnings)


def _members(value: dict, path: str, known: tuple[str, ...], warnings: Warnings) -> dict:
    """The members of a constraint object ms knows. WebIDL ignores the others, as it does
    unknown constraint names: `{"width": {"mni": 5}}` is a warning, and no constraint."""
    for key in value:
        if key not in known:
            warnings.add(lambda key=key: _unknown(f"{path}.{shown(key, 40)}", key, known))
    return {key: member for key, member in value.items() if key in known}


def _parse_numeric(name: str, kind: str, value: object, path: str, bare_is_exact: bool,
                   warnings: Warnings):
    if isinstance(value, dict):
        members = _members(value, path, ("min", "max", "exact", "ideal"), warnings)
        return Constraint(name, **{key: _number(kind, member, f"{path}.{key}")
                                   for key, member in members.items()})
    if _is_number(value):
        number = _number(kind, value, path)
        return Constraint(name, exact=number) if bare_is_exact else Constraint(name, ideal=number)
    raise ConstraintTypeError(
        f"{path}: expected a number or a range object like {{\"min\": 1}}, got {_show(value)}")


def _parse_discrete(name: str, kind: str, value: object, path: str, bare_is_exact: bool,
                    warnings: Warnings):
    if isinstance(value, dict):
        members = _members(value, path, ("exact", "ideal"), warnings)
        return Constraint(name, **{key: _discrete_value(kind, member, f"{path}.{key}")
                                   for key, member in members.items()})
    parsed = _discrete_value(kind, value, path)
    return Constraint(name, exact=parsed) if bare_is_exact else Constraint(name, ideal=parsed)


def _discrete_value(kind: str, value: object, path: str):
    """A bool for booleans; a tuple of acceptable values for strings (None when empty)."""
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return value
        raise ConstraintTypeError(f"{path}: expected true or false, got {_show(value)}")
    allowed = (str, bool) if kind == BOOL_OR_STRING else (str,)
    expected = "true, false or a string" if kind == BOOL_OR_STRING else "a string or a list"
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        if not isinstance(item, allowed):
            where = f"{path}[{i}]" if isinstance(value, list) else path
            raise ConstraintTypeError(f"{where}: expected {expected}, got {_show(item)}")
    return tuple(items) or None  # spec: an empty list is no constraint


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(kind: str, value: object, path: str) -> float:
    if not _is_number(value):
        raise ConstraintTypeError(f"{path}: expected a number, got {_show(value)}")
    if kind == DOUBLE:
        # Fix: a JSON integer too large for a float (e.g. 400 digits) is Infinity as a
        # JavaScript number, which `double` refuses; math.isfinite() raised OverflowError on it.
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
        if not math.isfinite(number):
            raise ConstraintTypeError(f"{path}: expected a finite number, got {_show(value)}")
        return number
    # [Clamp] unsigned long: clamp into [0, 2^32-1], round half to even.
    if isinstance(value, float) and math.isnan(value):
        return 0
    if value <= 0:
        return 0
    if value >= ULONG_MAX:
        return ULONG_MAX
    return round(value)


def _unknown(path: str, name: str, known) -> str:
    return f"{path}: unknown name {shown(repr(name), 60)} ignored{did_you_mean(name, known)}"


# ---------------------------------------------------------------------------------------------
# Satisfaction and fitness distance (spec: "fitness distance", steps numbered as in spec.md)


def satisfies(constraint: Constraint, setting: object) -> bool:
    """Whether a setting value (None: the setting does not exist) meets the required parts."""
    if constraint.exists is not None and constraint.exists_required:
        return (setting is not None) == constraint.exists
    if not constraint.required:
        return True
    if setting is None:
        return False
    prop = PROPERTIES[constraint.name]
    if prop.type in NUMERIC_TYPES:
        lo, hi = numeric_bounds(constraint)
        return lo - tolerance(lo) <= setting <= hi + tolerance(hi)
    if constraint.exact is None:
        return True
    return matches(constraint.name, constraint.exact, setting)


def numeric_bounds(constraint: Constraint) -> tuple[float, float]:
    """The required interval of a numeric constraint (possibly empty: lo > hi)."""
    lo, hi = -math.inf, math.inf
    if constraint.min is not None:
        lo = constraint.min
    if constraint.max is not None:
        hi = constraint.max
    if constraint.exact is not None:
        lo, hi = max(lo, constraint.exact), min(hi, constraint.exact)
    return lo, hi


def tolerance(bound: float) -> float:
    return 0.0 if math.isinf(bound) else EPSILON * max(1.0, abs(bound))


def matches(name: str, wanted, setting) -> bool:
    """Whether a discrete setting equals the wanted value (or any of a tuple of them).

    echoCancellation settings are booleans for every device ms knows, while constraints may
    also say "all" or "remote-only": a device that cancels echo cancels all of it, so `true`
    stands for "all", and "remote-only" matches no device.
    """
    options = wanted if isinstance(wanted, tuple) else (wanted,)
    if name == "echoCancellation" and setting is True:
        return any(o is True or o == "all" for o in options)
    return any(o == setting and type(o) is type(setting) for o in options)


def fitness_distance(constraints: ConstraintSet, settings: dict, kind: str) -> float:
    """Sum of the spec's per-member distances between a settings dictionary and a set."""
    return sum(member_distance(c, settings.get(c.name), kind) for c in constraints.values())


def member_distance(c: Constraint, setting: object, kind: str) -> float:
    prop = PROPERTIES[c.name]  # step 1 (unsupported names) happened at parse time
    if kind not in prop.kinds:
        return 0.0  # step 3, taken before step 2 as Chromium does: other kinds are ignored
    if c.required and not satisfies(c, setting):
        return math.inf  # step 2
    if c.exists is not None:
        return 0.0 if (setting is not None) == c.exists else 1.0  # step 4
    if setting is None:
        return 1.0  # step 5
    if c.ideal is None:
        return 0.0  # step 6
    if prop.type in NUMERIC_TYPES:  # step 7
        return relative_distance(setting, c.ideal)
    return 0.0 if matches(c.name, c.ideal, setting) else 1.0  # step 8


def relative_distance(a: float, b: float) -> float:
    """Step 7's |a - b| / max(|a|, |b|), 0 within EPSILON as Chromium has it
    (NumericConstraintFitnessDistance): 1280/720 is at distance 0 from an ideal of 16/9."""
    if abs(a - b) <= EPSILON:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))

"""SelectSettings for camera controls: which value each control of a camera takes, and the
fitness distance of the control members of the basic set.

Controls do not depend on the native mode, so a camera's choice is the same for all its
regions (select.py): `ControlChooser` makes it once per camera and set of requirements.

- Numeric: the step of the control's range nearest the ideal (settle() of the ideal, as the
  device would take it), else the current value, kept inside the required range. A required
  range must hold a step of the control's range.
- Modes and torch: the ideal if offered and allowed, else the current value if allowed, else
  the first allowed value.
- A camera without the control: distance 1 for an ideal; a required member fails it.
- Auto/manual coupling (controls.COUPLED_MODE): an asked absolute value (exposureTime,
  focusDistance, colorTemperature) applies only with its mode "manual"; when the mode is
  constrained too, both ways are weighed (apply the value, or keep the mode and the current
  value), applying on a tie, as Chrome switches the mode when it sets the value.
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

from mscli.constraints import Constraint, ConstraintSet, matches, member_distance, tolerance
from mscli.controls import (
    CONTROLS,
    COUPLED_MODE,
    MANUAL,
    ChoiceControl,
    NumericControl,
    same,
    tidy,
)
from mscli.errors import listed

CONTROL_NAMES = frozenset(CONTROLS)


class Choice(NamedTuple):
    values: dict  # every control of the camera -> the value the track uses
    distance: float  # fitness distance of the basic set's control members


class ControlChooser:
    """One camera's choice, remembered per requirements: select.py asks at each of its
    regions (vivid has 3,486 native modes, so 6,972 regions) and for each advanced set."""

    def __init__(self, device):
        self.device = device
        self._basic: ConstraintSet | None = None
        self._chosen: dict = {}
        self._feasible: dict = {}

    def feasible(self, required) -> bool:
        """Whether the camera can meet the required control members."""
        if required.key not in self._feasible:
            self._feasible[required.key] = choose(self.device, {}, required) is not None
        return self._feasible[required.key]

    def choose(self, basic: ConstraintSet, required) -> Choice:
        """For requirements the camera can meet (feasible())."""
        if basic is not self._basic:  # one selection asks with one basic set
            self._basic, self._chosen = basic, {}
        if required.key not in self._chosen:
            self._chosen[required.key] = choose(self.device, basic, required)
        return self._chosen[required.key]


def choose(device, basic: ConstraintSet, required) -> Choice | None:
    controls = device.controls
    if ({*required.bounds, *required.allowed} & CONTROL_NAMES) - controls.keys():
        return None  # a required value of a control the camera does not have
    values: dict = {}
    coupled = {*COUPLED_MODE, *COUPLED_MODE.values()}
    for name, control in controls.items():
        if name not in coupled:
            values[name] = _pick(name, control, control.value, basic.get(name), required)
    for absolute, mode in COUPLED_MODE.items():
        values.update(_pick_coupled(absolute, mode, controls, basic, required))
    if any(v is _NONE for v in values.values()):
        return None
    distance = sum(member_distance(c, values.get(name), "video")
                   for name, c in basic.items() if name in CONTROL_NAMES)
    if math.isinf(distance):
        return None
    return Choice({name: values[name] for name in CONTROLS if name in values}, distance)


_NONE = object()  # no value meets the requirements (None and False are values)


def _pick(name: str, control, current, c: Constraint | None, required):
    ideal = c.ideal if c is not None and c.exists is None else None
    if isinstance(control, NumericControl):
        span = _span(control, *required.bound(name))
        if span is None:
            return _NONE
        target = ideal if ideal is not None else current
        return control.settle(min(max(target, span[0]), span[1]))
    allowed = [v for v in control.values if required.admits(name, v)]
    if not allowed:
        return _NONE
    if ideal is not None:
        for wanted in ideal if isinstance(ideal, tuple) else (ideal,):  # the user's order
            found = [v for v in allowed if matches(name, wanted, v)]
            if found:
                return found[0]
    return current if any(same(current, v) for v in allowed) else allowed[0]


def _pick_coupled(absolute: str, mode: str, controls: dict, basic: ConstraintSet, required):
    if absolute not in controls or mode not in controls:  # nothing to couple
        return {name: _pick(name, controls[name], controls[name].value, basic.get(name),
                            required) for name in (absolute, mode) if name in controls}
    a, m = controls[absolute], controls[mode]
    options = []
    c = basic.get(absolute)
    asked = (c is not None and c.ideal is not None) or absolute in required.bounds
    if asked and MANUAL in m.values and required.admits(mode, MANUAL):
        options.append({absolute: _pick(absolute, a, a.value, c, required), mode: MANUAL})
    lo, hi = required.bound(absolute)
    if lo - tolerance(lo) <= a.value <= hi + tolerance(hi):  # keep the mode and the current value
        options.append({absolute: a.value,
                        mode: _pick(mode, m, m.value, basic.get(mode), required)})
    options = [o for o in options if _NONE not in o.values()]
    if not options:
        return {absolute: _NONE}

    def distance(option):
        return sum(member_distance(basic[n], v, "video") for n, v in option.items()
                   if n in basic)

    return min(options, key=distance)  # the first (applying the value) on a tie


def _span(control: NumericControl, lo: float, hi: float):
    """The lowest and highest values the control can take inside [lo, hi], within the
    comparison tolerance constraints.satisfies() allows; None when there is none."""
    a, b = max(control.min, lo - tolerance(lo)), min(control.max, hi + tolerance(hi))
    if a > b:
        return None
    if control.step <= 0:  # continuous: the exact bounds where they fit
        return max(a, min(lo, b)), min(b, max(hi, a))
    first = math.ceil((a - control.min) / control.step - 1e-9)
    last = math.floor((b - control.min) / control.step + 1e-9)
    if first > last:
        return None
    return tidy(control.min + first * control.step), tidy(control.min + last * control.step)


def offers(device, name: str) -> list:
    """For error messages and the region index: the control's (min, max) or its values."""
    control = device.controls.get(name)
    if isinstance(control, NumericControl):
        return [(control.min, control.max)]
    if isinstance(control, ChoiceControl):
        return list(control.values)
    return []


def describe_offer(name: str, devices) -> str:
    """For OverconstrainedError: what the cameras offer for a control, steps included (a
    required 101 to 109 misses a zoom of 100 to 400 in steps of 10)."""
    offered = list(dict.fromkeys(d.controls[name] for d in devices if name in d.controls))
    if not offered:
        return f" (no camera has {name})"
    if isinstance(offered[0], NumericControl):
        ranges = dict.fromkeys(f"{c.min:g} to {c.max:g} in steps of {c.step:g}"
                               for c in offered)
        return f" (cameras offer {listed(list(ranges), most=3)})"
    values = dict.fromkeys(json.dumps(v) for c in offered for v in c.values)
    return f" (cameras offer {', '.join(values)})"


def universe(devices) -> dict[str, set]:
    """Every value a mode or torch control of these cameras may take (see Requirements)."""
    values: dict[str, set] = {}
    for device in devices:
        for name, control in device.controls.items():
            if isinstance(control, ChoiceControl):
                values.setdefault(name, set()).update(control.values)
    return values

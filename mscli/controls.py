"""Camera controls (Media Capture Image, as Chrome exposes them): brightness, zoom, focus, ...

A camera's controls are a dict on its `Device`: name -> `NumericControl` (a range with a
step, like V4L2's integer controls) or `ChoiceControl` (modes and torch: a list of values).
Each carries the device's current value, which is what a track gets when no constraint asks
for another one.

`settle()` is the model of what a driver does with asked values: clamp into the range, snap
to the step, turn the auto mode off for an absolute value. Selection uses it to know the
value a candidate would really deliver, and virtual cameras use it when a fault or
--reapply changes a control, so all of them agree with each other.

Pure: loaded on every Tab press, so no numpy/av/cv2 here.
"""

from __future__ import annotations

import math
from typing import NamedTuple

NUMERIC_CONTROLS = ("brightness", "contrast", "saturation", "sharpness", "colorTemperature",
                    "exposureCompensation", "exposureTime", "focusDistance", "iso", "pan",
                    "tilt", "zoom")
MODE_CONTROLS = ("whiteBalanceMode", "exposureMode", "focusMode")
MODES = ("none", "manual", "single-shot", "continuous")
BOOLEAN_CONTROLS = ("torch",)
PTZ = ("pan", "tilt", "zoom")  # also constrained by `true`/`false`: "a camera that has it"
CONTROLS = NUMERIC_CONTROLS + MODE_CONTROLS + BOOLEAN_CONTROLS

# An absolute value applies only with its auto mode off: asking for one switches the mode to
# manual, as Chrome does (an exposureTime is meaningless while auto-exposure drives it).
COUPLED_MODE = {"exposureTime": "exposureMode", "focusDistance": "focusMode",
                "colorTemperature": "whiteBalanceMode"}
MANUAL = "manual"


class NumericControl(NamedTuple):
    """A range the device accepts at `step`s from `min`; `value` is the current value (on
    open, the device's default)."""

    min: float
    max: float
    step: float
    value: float

    def to_json(self) -> dict:
        """The capability: {min, max, step}."""
        return {"min": self.min, "max": self.max, "step": self.step}

    def settle(self, wanted: float) -> float:
        """The value the device takes for `wanted`: clamped into range, on the nearest step."""
        x = min(max(wanted, self.min), self.max)
        if self.step > 0:  # a half step goes up, as the V4L2 core rounds
            x = self.min + math.floor((x - self.min) / self.step + 0.5) * self.step
            # The last step may overshoot a max that is not on a step; float noise alone
            # (0.1 + 2 * 0.1 > 0.3) is no overshoot, or a max on a step could not be had.
            if tidy(x) > self.max:
                x -= self.step
        return tidy(x)

    def on_step(self, x: float) -> bool:
        """Whether x is a value the device can take exactly (within float noise)."""
        return self.min <= x <= self.max and (
            self.step <= 0 or abs(self.settle(x) - x) <= 1e-9 * max(1.0, abs(x)))


class ChoiceControl(NamedTuple):
    """A mode (strings from MODES) or torch (booleans): the values offered, the current one."""

    values: tuple
    value: object

    def to_json(self) -> list:
        """The capability: the list of values."""
        return list(self.values)

    def settle(self, wanted, current=None):
        """A value the device does not offer is refused: it keeps its current one."""
        if any(same(wanted, v) for v in self.values):
            return wanted
        return self.value if current is None else current


Control = NumericControl | ChoiceControl


def control_capabilities(controls: dict) -> dict:
    """getCapabilities()'s controls: numeric {min, max, step}, modes and torch as lists."""
    return {name: controls[name].to_json() for name in CONTROLS if name in controls}


def current_values(controls: dict) -> dict:
    """Each control's current value, in the same order."""
    return {name: controls[name].value for name in CONTROLS if name in controls}


def same(a, b) -> bool:
    """Equal and of one type: a torch value True is not the number 1."""
    return a == b and type(a) is type(b)


def tidy(x: float):
    """30 rather than 30.0, 0.3 rather than 0.30000000000000004: steps add float noise."""
    x = round(float(x), 9)
    return int(x) if x.is_integer() else x


def settle(device, values: dict, current: dict | None = None) -> dict:
    """The values `device` would really take for the asked ones (names it lacks are left
    out), plus the modes the auto/manual coupling changes. `current`: the values in force
    (a live track's settings), where the device's own current values are not."""
    controls = device.controls
    now = {name: c.value for name, c in controls.items()}
    now.update({k: v for k, v in (current or {}).items() if k in controls})
    out = {}
    for name, wanted in values.items():
        control = controls.get(name)
        if control is None:
            continue
        if isinstance(control, NumericControl):
            number = isinstance(wanted, (int, float)) and not isinstance(wanted, bool)
            out[name] = control.settle(wanted) if number else now[name]
        else:
            out[name] = control.settle(wanted, now[name])
    for absolute, mode in COUPLED_MODE.items():
        if absolute not in out or mode not in controls:
            continue
        if MANUAL in controls[mode].values:
            out[mode] = MANUAL
        elif out.get(mode, now[mode]) != MANUAL:
            out[absolute] = now[absolute]  # auto cannot be turned off: the value cannot apply
    return out

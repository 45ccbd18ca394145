"""A live track's camera controls: set on the device when the track starts, changed by
--reapply, and always reported as the device reads them back (never the request echoed).

A source sets controls with `apply_controls(values) -> dict` (what the device reports
afterwards; `{}` for a source without controls). Changes the device makes by itself, or
another program makes, come the other way, through `MediaStreamTrack.controls_changed`.
"""

from __future__ import annotations

import copy

from mscli.constraints import TrackConstraints, satisfies
from mscli.controls import COUPLED_MODE, MANUAL
from mscli.errors import OverconstrainedError


def open_controls(track) -> None:
    """Sets the selection's control values (in the track's settings) on the device as the
    track starts; the settings then hold exactly what the device reports back (a source that
    cannot set controls reports none). OverconstrainedError when the device took another
    value than a required constraint allows."""
    controls = track.device.controls
    asked = _asked(track.settings, controls, controls)
    if not asked:
        return
    reported = track.source.apply_controls(asked)
    kept = {k: v for k, v in track.settings.items() if k not in controls}
    track.settings = {**kept, **reported}
    missed = unmet(track.constraints, reported)
    if missed is not None:
        raise OverconstrainedError(missed, _message(track, missed, asked, reported))


def reapply_controls(track, settings: dict, constraints: TrackConstraints) -> dict:
    """applyConstraints' controls: sets those the new constraints give a value to (the
    others keep their current values, as Chrome leaves a control nobody asked about alone)
    and returns `settings` with the controls as the device reports them. If the device
    misses a required one, the old values are set again and OverconstrainedError raised."""
    controls = track.device.controls
    if not controls:
        return settings
    named = {name for c_set in (constraints.basic, *constraints.advanced)
             for name, c in c_set.items() if _has_value(c)}
    asked = _asked(settings, named, controls)
    current = {k: v for k, v in track.settings.items() if k in controls}
    reported = track.source.apply_controls(asked) if asked else {}
    missed = unmet(constraints, {**current, **reported})
    if missed is not None:
        track.source.apply_controls({k: current[k] for k in reported if k in current})
        raise OverconstrainedError(missed, _message(track, missed, asked, reported))
    kept = {k: v for k, v in settings.items() if k not in controls}
    return {**kept, **current, **reported}


def live_device(track):
    """The track's device with its controls at their live values (as the track's settings
    say), for applyConstraints' selection: a control the new constraints only bound keeps a
    live value inside the bounds, rather than going back to the value listed at start (which
    would undo, unreported, a change another program made and configurationchange showed)."""
    controls = track.device.controls
    if not controls:
        return track.device
    device = copy.copy(track.device)
    device.controls = {name: c._replace(value=track.settings.get(name, c.value))
                       for name, c in controls.items()}
    return device


def unmet(constraints: TrackConstraints, values: dict) -> str | None:
    """The first required control constraint of the basic set `values` do not meet."""
    for name, constraint in constraints.basic.items():
        if name in values and constraint.required and not satisfies(constraint, values[name]):
            return name
    return None


def _asked(settings: dict, names, controls: dict) -> dict:
    """What to ask the device for, from the chosen `settings`: the `names` it has, with the
    mode an absolute value needs (the selection turned it to manual, and a driver sets no
    absolute value in auto), less an absolute value whose mode stays auto (exposureTime
    unconstrained beside exposureMode continuous: asking for it would switch auto off)."""
    names = set(names) | {COUPLED_MODE[name] for name in names if name in COUPLED_MODE}
    asked = {name: settings[name] for name in settings if name in names and name in controls}
    return {name: value for name, value in asked.items()
            if name not in COUPLED_MODE or asked.get(COUPLED_MODE[name], MANUAL) == MANUAL}


def _has_value(constraint) -> bool:
    """A value to set: `{"pan": true}` only asks for a camera that has pan."""
    return any(v is not None for v in (constraint.exact, constraint.ideal, constraint.min,
                                       constraint.max))


def _message(track, name: str, asked: dict, reported: dict) -> str:
    return (f"{track.label}: asked the device for {name} {asked.get(name)!r}, it reports "
            f"{reported.get(name)!r}, outside the required constraint")

"""JSON Schemas of the two files users write: the constraints file and the virtual device
file (`ms schema constraints|devices`), so editors can check them while people type.

Both are built from the same tables the parsers use (constraints.PROPERTIES, virtual.KEYS),
so a schema cannot drift from what ms accepts.
"""

from __future__ import annotations

from mscli.constraints import BOOL_OR_STRING, BOOLEAN, DOUBLE, PROPERTIES, STRING, ULONG
from mscli.controls import CONTROLS

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def constraints_schema() -> dict:
    track = {"type": "object", "properties": {}, "additionalProperties": True}
    constraint_set = {"type": "object", "properties": {}}
    for name, prop in PROPERTIES.items():
        constraint_set["properties"][name] = _constraint(prop.type, prop.values)
    track["properties"] = dict(constraint_set["properties"])
    track["properties"]["advanced"] = {"type": "array", "items": {"$ref": "#/$defs/set"}}
    return {
        "$schema": DRAFT,
        "$id": "https://mscli.invalid/schema/constraints.json",
        "title": "MediaStreamConstraints for ms",
        "description": "What getUserMedia() takes: audio and/or video, true or constraints. "
                       "Unknown constraint names are ignored with a warning, as WebIDL does.",
        "type": "object",
        "properties": {"audio": {"$ref": "#/$defs/track"}, "video": {"$ref": "#/$defs/track"}},
        "$defs": {
            "track": {"anyOf": [{"type": "boolean"}, track]},
            "set": constraint_set,
        },
    }


def _constraint(kind: str, values: tuple) -> dict:
    if kind in (ULONG, DOUBLE):
        number = {"type": "number"}  # also for ULong: WebIDL clamps and rounds 640.4 to 640
        return {"anyOf": [number, {"type": "object", "additionalProperties": False,
                                   "properties": {k: number for k in
                                                  ("min", "max", "exact", "ideal")}},
                          {"type": "boolean"}]}  # the spec's "does the setting exist" form
    if kind == BOOLEAN:
        value = {"type": "boolean"}
    else:
        single = {"type": "string"}
        if values:
            single = {"type": "string", "examples": list(values)}
        if kind == BOOL_OR_STRING:
            single = {"anyOf": [{"type": "boolean"}, single]}
        value = {"anyOf": [single, {"type": "array", "items": single}]}
    forms = [value, {"type": "object", "additionalProperties": False,
                     "properties": {"exact": value, "ideal": value}}]
    if kind == STRING:
        forms.append({"type": "boolean"})  # the spec's "does the setting exist" form
    return {"anyOf": forms}


def _when_event(event: str, properties: dict, description: str = "",
                required: list | None = None) -> dict:
    """A fault of this event needs its value (and for a control, its name)."""
    then = {"required": ["value", *(required or [])], "properties": properties}
    if description:
        then["description"] = description
    return {"if": {"properties": {"event": {"const": event}}}, "then": then}


def _controls_schema() -> dict:
    """A camera's controls (controls.py): numeric {min, max, step, value}; modes and torch
    {values, value}, value being the current one (the default on open)."""
    from mscli.controls import BOOLEAN_CONTROLS, MODE_CONTROLS, MODES, NUMERIC_CONTROLS
    from mscli.virtual import MAX_CONTROL

    number = {"type": "number", "minimum": -MAX_CONTROL, "maximum": MAX_CONTROL}
    numeric = {"type": "object", "additionalProperties": False,
               "required": ["min", "max", "step", "value"],
               "description": "value must lie in [min, max] on a step from min",
               "properties": {"min": number, "max": number, "value": number,
                              "step": {**number, "exclusiveMinimum": 0}}}

    def choice(item: dict) -> dict:
        return {"type": "object", "additionalProperties": False,
                "required": ["values", "value"],
                "description": "value must be one of values",
                "properties": {"values": {"type": "array", "minItems": 1, "items": item},
                               "value": item}}

    properties = {**{name: numeric for name in NUMERIC_CONTROLS},
                  **{name: choice({"enum": list(MODES)}) for name in MODE_CONTROLS},
                  **{name: choice({"type": "boolean"}) for name in BOOLEAN_CONTROLS}}
    return {"type": "object", "additionalProperties": False, "properties": properties}


def devices_schema() -> dict:
    from mscli.devices import AUDIO_INPUT, AUDIO_OUTPUT, VIDEO_INPUT, AudioCaps
    from mscli.devices import MAX_FRAME_RATE, MIN_FRAME_RATE
    from mscli.virtual import FACING_MODES, FAULT_EVENTS, KEYS, LASTING_FAULTS, MAX_TEXT
    from mscli.virtual import MAX_ECHO_DELAY, MAX_ECHO_GAIN

    positive = {"type": "number", "exclusiveMinimum": 0}
    frame_rate = {"type": "number", "minimum": MIN_FRAME_RATE,
                  "maximum": MAX_FRAME_RATE}
    text = {"type": "string", "maxLength": MAX_TEXT}
    value_set = {"anyOf": [
        {"type": "array", "minItems": 1, "items": {"type": "number", "minimum": 0}},
        {"type": "object", "additionalProperties": False, "required": ["min", "max"],
         "properties": {"min": {"type": "number", "minimum": 0},
                        "max": {"type": "number", "minimum": 0}}}]}
    booleans = {"type": "array", "minItems": 1, "items": {"type": "boolean"}}
    common = {
        "label": {**text, "minLength": 1},
        "group": text,
        "faults": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["at", "event"],
            "properties": {"at": {"type": "number", "minimum": 0},
                           "event": {"enum": list(FAULT_EVENTS)},
                           "for": {**positive, "description": "how long a lasting fault "
                                   f"({', '.join(LASTING_FAULTS)}) lasts; absent: to the end"},
                           "value": {"type": ["number", "string", "boolean"]},
                           "name": {"enum": list(CONTROLS)}},
            "allOf": [_when_event("frameRate", {"value": frame_rate}),
                      _when_event("control", {"value": {"type": ["number", "string",
                                                                 "boolean"]}},
                                  "the new value of a control of this camera", ["name"])]}},
    }
    file_source = {"type": "object", "additionalProperties": False, "required": ["file"],
                   "properties": {"file": {"type": "string", "minLength": 1},
                                  "loop": {"type": "boolean"}}}
    echo_source = {"type": "object", "additionalProperties": False, "required": ["echo"],
                   "properties": {
                       "echo": {"type": "object", "additionalProperties": False,
                                "required": ["speaker"],
                                "properties": {"speaker": {**text, "minLength": 1,
                                                           "description": "the label of a "
                                                           "speaker in this file"},
                                               "delay": {"type": "number", "minimum": 0,
                                                         "maximum": MAX_ECHO_DELAY},
                                               "gain": {"type": "number", "minimum": 0,
                                                        "maximum": MAX_ECHO_GAIN}}},
                       "plus": {"anyOf": [{"const": "tone"}, file_source]}}}
    specific = {
        VIDEO_INPUT: {
            "facingMode": {"enum": list(FACING_MODES)},
            "modes": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["width", "height", "frameRate"],
                "properties": {"width": {"type": "integer", "minimum": 1},
                               "height": {"type": "integer", "minimum": 1},
                               "frameRate": frame_rate, "pixelFormat": text}}},
            "source": {"anyOf": [{"const": "pattern"}, file_source]},
            "controls": _controls_schema(),
        },
        AUDIO_INPUT: {
            **{name: value_set for name in AudioCaps.NUMERIC},
            **{name: booleans for name in AudioCaps.BOOLEAN},
            "source": {"anyOf": [{"const": "tone"}, file_source, echo_source]},
        },
        AUDIO_OUTPUT: {
            "sampleRate": value_set, "channelCount": value_set,
            "sink": {"type": "object", "additionalProperties": False, "required": ["file"],
                     "properties": {"file": {"type": "string", "minLength": 1,
                                             "description": "a WAV of what it plays"}}},
        },
    }
    variants = []
    for kind, extra in specific.items():
        properties = {"kind": {"const": kind}, **common, **extra}
        assert set(properties) == set(KEYS[kind]), kind  # the parser's own key table
        variants.append({"type": "object", "additionalProperties": False,
                         "required": ["kind"], "properties": properties})
    return {
        "$schema": DRAFT,
        "$id": "https://mscli.invalid/schema/devices.json",
        "title": "Virtual devices for ms (--devices FILE)",
        "type": "object", "additionalProperties": False, "required": ["devices"],
        "properties": {"devices": {"type": "array", "items": {"oneOf": variants}}},
    }

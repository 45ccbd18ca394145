"""Devices as the spec sees them: MediaDeviceInfo, native modes and capabilities.

NamedTuples and a plain class rather than dataclasses: this module loads on every Tab press,
and importing dataclasses plus building each class costs milliseconds there.

A backend (virtual, v4l2, portaudio) describes each device it finds as a `Device`: a kind, a
label, a stable key, and what the hardware can natively do. Everything above the backends
(constraint selection, `ms caps`, capture) works from these descriptions only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mscli.controls import control_capabilities

VIDEO_INPUT = "videoinput"
AUDIO_INPUT = "audioinput"
AUDIO_OUTPUT = "audiooutput"
KINDS = (AUDIO_INPUT, VIDEO_INPUT, AUDIO_OUTPUT)  # the spec's enumeration order
TRACK_KIND = {VIDEO_INPUT: "video", AUDIO_INPUT: "audio"}


# The slowest frame rate ms records. Rates become fractions with a denominator of at most 1001
# (29.97 is 30000/1001), so anything below 1/2002 became 0: a ZeroDivisionError at capture.
# Selection never decimates below it; a device file cannot declare a mode below it.
MIN_FRAME_RATE = 0.001
MAX_FRAME_RATE = 1000.0  # what a device file may declare


class VideoMode(NamedTuple):
    """One native mode: what the camera delivers without any processing."""

    width: int
    height: int
    frame_rate: float
    pixel_format: str | None = None

    def to_json(self) -> dict:
        out = {"width": self.width, "height": self.height, "frameRate": self.frame_rate}
        if self.pixel_format:
            out["pixelFormat"] = self.pixel_format
        return out


class ValueSet(NamedTuple):
    """Values an audio property may take: a discrete list, or a continuous range."""

    values: tuple | None = None  # discrete, in the order the device gave them
    lo: float | None = None
    hi: float | None = None

    @classmethod
    def of(cls, *values) -> "ValueSet":
        return cls(values=tuple(values))

    @classmethod
    def range(cls, lo: float, hi: float) -> "ValueSet":
        return cls(lo=lo, hi=hi)

    @property
    def is_range(self) -> bool:
        return self.values is None

    def bounds(self) -> tuple[float, float]:
        if self.is_range:
            return self.lo, self.hi
        return min(self.values), max(self.values)

    def to_json(self):
        """`ms caps --modes` shape: the list itself, or {min, max}."""
        if self.is_range:
            return {"min": self.lo, "max": self.hi}
        return list(self.values)


class AudioCaps(NamedTuple):
    """What a microphone supports, per constrainable property; absent means unsupported."""

    sample_rate: ValueSet | None = None
    sample_size: ValueSet | None = None
    channel_count: ValueSet | None = None
    latency: ValueSet | None = None
    echo_cancellation: tuple = ()
    auto_gain_control: tuple = ()
    noise_suppression: tuple = ()

    # constraint name -> attribute, for the numeric and the boolean properties
    NUMERIC = {"sampleRate": "sample_rate", "sampleSize": "sample_size",
               "channelCount": "channel_count", "latency": "latency"}
    BOOLEAN = {"echoCancellation": "echo_cancellation", "autoGainControl": "auto_gain_control",
               "noiseSuppression": "noise_suppression"}

    def numeric(self, name: str) -> ValueSet | None:
        return getattr(self, self.NUMERIC[name])

    def boolean(self, name: str) -> tuple:
        return getattr(self, self.BOOLEAN[name])


class Fault(NamedTuple):
    """A scripted event of a virtual device, `at` seconds after capture starts."""

    at: float
    event: str  # mute | end | frameRate | disconnect | control | black | freeze | silence | clip
    duration: float | None = None  # a lasting fault (mute, black, ...): how long; None: to the end
    value: object = None  # frameRate: the new rate; control: the control's new value
    name: str | None = None  # control: which control (controls.CONTROLS)


class Device:
    """One device as a backend found it; deviceId/groupId are filled in by the catalog."""

    def __init__(self, kind: str, label: str, key: str, group_key: str, backend: str, *,
                 facing_mode: str | None = None, modes: tuple[VideoMode, ...] = (),
                 audio: AudioCaps | None = None, source: Any = None,
                 faults: tuple[Fault, ...] = (), controls: dict | None = None):
        self.kind = kind
        self.label = label
        self.key = key  # stable across runs and replugs; hashed into deviceId, never shown
        self.group_key = group_key
        self.backend = backend  # "virtual", "v4l2", "portaudio", ...
        self.device_id = ""
        self.group_id = ""
        self.facing_mode = facing_mode
        self.modes = modes
        self.audio = audio
        self.source = source  # what the backend needs to open it (pattern, file, node, index)
        self.faults = faults
        # camera controls: name -> controls.NumericControl | ChoiceControl; empty if none
        self.controls = dict(controls or {})

    def __repr__(self) -> str:
        return f"Device({self.kind!r}, {self.label!r}, backend={self.backend!r})"

    @property
    def track_kind(self) -> str | None:
        return TRACK_KIND.get(self.kind)

    def info(self) -> dict:
        """MediaDeviceInfo.toJSON(): exactly these four keys."""
        return {"deviceId": self.device_id, "kind": self.kind, "label": self.label,
                "groupId": self.group_id}


def capabilities(device: Device) -> dict:
    """getCapabilities() in the spec's shapes: ranges are {min, max}, enums are lists."""
    caps: dict[str, Any] = {"deviceId": device.device_id, "groupId": device.group_id}
    if device.kind == VIDEO_INPUT:
        caps.update(_video_capabilities(device))
        caps.update(control_capabilities(device.controls))
    elif device.audio is not None:  # a microphone, or what a speaker takes
        caps.update(_audio_capabilities(device.audio))
    return caps


def _video_capabilities(device: Device) -> dict:
    # Chromium's shape: crop-and-scale can reach any size from 1 up to the largest native one.
    if not device.modes:
        return {}  # a camera that would not say its modes (see backends.avdevice)
    max_w = max(m.width for m in device.modes)
    max_h = max(m.height for m in device.modes)
    return {
        "width": {"min": 1, "max": max_w},
        "height": {"min": 1, "max": max_h},
        "aspectRatio": {"min": round(1 / max_h, 10), "max": float(max_w)},
        "frameRate": {"min": MIN_FRAME_RATE,
                      "max": max(m.frame_rate for m in device.modes)},
        "facingMode": [device.facing_mode] if device.facing_mode else [],
        "resizeMode": ["none", "crop-and-scale"],
    }


def _audio_capabilities(audio: AudioCaps) -> dict:
    caps: dict[str, Any] = {}
    for name in AudioCaps.NUMERIC:
        values = audio.numeric(name)
        if values is not None:
            lo, hi = values.bounds()
            caps[name] = {"min": lo, "max": hi}
    for name in AudioCaps.BOOLEAN:
        if audio.boolean(name):
            caps[name] = list(audio.boolean(name))
    return caps


def native_modes(device: Device) -> dict | list:
    """`ms caps --modes`: the native modes behind the capability ranges."""
    if device.kind == VIDEO_INPUT:
        return [m.to_json() for m in device.modes]
    if device.audio is not None:
        return {name: device.audio.numeric(name).to_json()
                for name in AudioCaps.NUMERIC if device.audio.numeric(name) is not None}
    return []

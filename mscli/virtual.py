"""Virtual devices: the built-in `--fake` set and sets described in JSON (`--devices FILE`).

The file format is contract.md's. Validation is strict (an unknown key is an error naming its
JSON path) because a typo in a CI device file should fail loudly, not capture from defaults.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mscli.audioproc import PACKAGE, processing_capabilities
from mscli.controls import (
    BOOLEAN_CONTROLS,
    CONTROLS,
    MODES,
    NUMERIC_CONTROLS,
    ChoiceControl,
    NumericControl,
    same,
)
from mscli.devices import (
    AUDIO_INPUT,
    AUDIO_OUTPUT,
    KINDS,
    MAX_FRAME_RATE,
    MIN_FRAME_RATE,
    VIDEO_INPUT,
    AudioCaps,
    Device,
    Fault,
    ValueSet,
    VideoMode,
)
from mscli.errors import DeviceFileError, did_you_mean, quoted
from mscli.jsoninput import load_json
from mscli.jsoninput import show_json as _show
from mscli.speakers import VIRTUAL_SPEAKER

FAKE_MODES = (VideoMode(320, 240, 30.0), VideoMode(640, 480, 30.0),
              VideoMode(1280, 720, 30.0), VideoMode(1920, 1080, 30.0))
# The processing capabilities (echoCancellation...) are ms's own: audioproc's, added per run.
FAKE_AUDIO = AudioCaps(
    sample_rate=ValueSet.of(48000), sample_size=ValueSet.of(16),
    channel_count=ValueSet.range(1, 2), latency=ValueSet.range(0.01, 0.01))
# vivid's picture controls (field.md): the kernel's own virtual camera, where ms's hardware
# lab runs, so --fake and vivid answer `ms caps` and a brightness constraint alike.
FAKE_CONTROLS = {name: NumericControl(0, 255, 1, 128)
                 for name in ("brightness", "contrast", "saturation")}
SYNTHETIC = {VIDEO_INPUT: "pattern", AUDIO_INPUT: "tone"}
# Keys of a source object, for naming an unknown one
SOURCE_KEYS = {VIDEO_INPUT: ("file", "loop", "url", "transport", "timeout", "pattern"),
               AUDIO_INPUT: ("file", "loop", "url", "transport", "timeout", "echo", "plus")}
FRAME_NUMBERS = ("capture", "epoch")  # what a pattern's burned-in numbers count
FACING_MODES = ("user", "environment", "left", "right")
FAULT_EVENTS = ("mute", "end", "frameRate", "disconnect", "control", "black", "freeze",
                "silence", "clip")
VIDEO_ONLY_FAULTS = ("frameRate", "control", "black", "freeze")
AUDIO_ONLY_FAULTS = ("silence", "clip")
# Faults that last: `for` seconds, or to the end without it (a disconnect: until it comes back)
LASTING_FAULTS = ("mute", "disconnect", "black", "freeze", "silence", "clip")
MAX_CONTROL = 1e9  # a control's numbers: V4L2's are 32-bit, and JSON allows 1e308
MAX_CONTROL_STEPS = 1e12  # V4L2's 32-bit ranges have at most 2^32 steps
MAX_TEXT = 256  # a label is a name for people to read: longer is a mistake, not a name
COMMON_KEYS = ("kind", "label", "group", "faults")
KEYS = {
    VIDEO_INPUT: COMMON_KEYS + ("facingMode", "modes", "source", "controls"),
    AUDIO_INPUT: COMMON_KEYS + ("source", *AudioCaps.NUMERIC, *AudioCaps.BOOLEAN),
    AUDIO_OUTPUT: COMMON_KEYS + ("sink", "sampleRate", "channelCount"),
}
# An echo: what a virtual speaker played, heard by a virtual microphone.
MAX_ECHO_DELAY = 10.0  # seconds: farend.HISTORY keeps 30 s of what played
MAX_ECHO_GAIN = 10.0


def fake_devices() -> list[Device]:
    """The built-in set: like a browser's fake-device flag."""
    return [
        Device(AUDIO_INPUT, "Fake Microphone", "fake:audioinput", "fake:desk", "virtual",
               audio=FAKE_AUDIO._replace(**processing_capabilities()), source="tone"),
        Device(VIDEO_INPUT, "Fake Camera", "fake:videoinput", "fake:desk", "virtual",
               facing_mode="user", modes=FAKE_MODES, source="pattern",
               controls=FAKE_CONTROLS),
        Device(AUDIO_OUTPUT, "Fake Speaker", "fake:audiooutput", "fake:speaker", "virtual",
               audio=VIRTUAL_SPEAKER),
    ]


def load_device_file(path: str) -> list[Device]:
    value, name = load_json(path, "device", DeviceFileError)
    base = Path(path).parent if name == path else Path.cwd()
    return parse_device_file(value, base)


def parse_device_file(value: object, base: Path) -> list[Device]:
    _expect_object(value, "(top level)", ("devices",), required=("devices",))
    entries = value["devices"]
    if not isinstance(entries, list):
        raise DeviceFileError(f"devices: expected a list of devices, got {_show(entries)}")
    devices: list[Device] = []
    seen: dict[tuple[str, str], int] = {}
    streams: list[tuple[str, dict]] = []  # (path, spec) of the network sources
    for i, entry in enumerate(entries):
        device = _parse_device(entry, f"devices[{i}]", base)
        if isinstance(device.source, dict) and "url" in device.source:
            streams.append((f"devices[{i}].source", device.source))
        # Two devices of one kind may share a label; a counter keeps their keys distinct.
        n = seen.get((device.kind, device.label), 0)
        seen[(device.kind, device.label)] = n + 1
        device.key = f"virtual:{device.kind}:{device.label}" + (f"#{n}" if n else "")
        if not device.group_key:
            device.group_key = "virtual-own:" + device.key
        devices.append(device)
    if streams:
        from mscli.network.spec import share_streams

        share_streams(streams)
    _find_echo_speakers(devices)
    return devices


def _parse_device(entry: object, path: str, base: Path) -> Device:
    if not isinstance(entry, dict):
        raise DeviceFileError(f"{path}: expected an object, got {_show(entry)}")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise DeviceFileError(f"{path}.kind: expected one of {', '.join(KINDS)}, "
                              f"got {_show(kind)}")
    _expect_object(entry, path, KEYS[kind], required=("kind",))
    label = _text(entry.get("label", f"Virtual {kind}"), f"{path}.label")
    group = entry.get("group")
    if group is not None:
        group = _text(group, f"{path}.group", empty_ok=True)  # "": a group of its own
    device = Device(kind, label, key="", group_key=f"virtual-group:{group}" if group else "",
                    backend="virtual")
    if "controls" in entry:
        device.controls = _parse_controls(entry["controls"], f"{path}.controls")
    device.faults = _parse_faults(entry.get("faults", []), f"{path}.faults", kind,
                                  device.controls)
    if kind == AUDIO_OUTPUT:
        return _parse_speaker(entry, path, base, device)
    device.source = _parse_source(entry.get("source", SYNTHETIC[kind]), f"{path}.source",
                                  kind, base)
    if isinstance(device.source, dict) and "url" in device.source:
        for key in ("faults", "controls"):
            if key in entry:
                raise DeviceFileError(f"{path}.{key}: a network source has no scripted "
                                      f"{key}: the stream's own are what ms sees")
    if kind == VIDEO_INPUT:
        device.facing_mode = _parse_facing(entry.get("facingMode"), f"{path}.facingMode")
        device.modes = _video_modes(entry, path, device.source)
    else:
        device.audio = _parse_audio(entry, path, device.source)
    return device


def _video_modes(entry: dict, path: str, source) -> tuple[VideoMode, ...]:
    """A camera's modes: declared, or a file's (probed even under declared modes: one FFmpeg
    cannot decode must fail here, before any output opens, not record an empty file), or a
    network stream's, probed later by the commands that need them (network/probe.py)."""
    if isinstance(source, dict) and "url" in source:
        if "modes" not in entry:
            source["probe"] = ("modes",)
            return ()
    elif isinstance(source, dict) and "file" in source:
        from_file = _file_modes(source["file"], f"{path}.source.file")
        if "modes" not in entry:
            return from_file
    return _parse_modes(entry["modes"], f"{path}.modes") if "modes" in entry else FAKE_MODES


def _parse_source(value: object, path: str, kind: str, base: Path):
    if kind == AUDIO_INPUT and isinstance(value, dict) and "echo" in value:
        return _parse_echo(value, path, base)
    if isinstance(value, str):
        if value != SYNTHETIC[kind]:
            raise DeviceFileError(f'{path}: a {kind} source is "{SYNTHETIC[kind]}", '
                                  f'{{"file": PATH}} or {{"url": URL}}, got {_show(value)}')
        return value
    if isinstance(value, dict) and "url" in value:
        from mscli.network.spec import parse_network

        return parse_network(value, path)
    if kind == VIDEO_INPUT and isinstance(value, dict) and "pattern" in value:
        return _parse_pattern(value, path)
    if not (isinstance(value, dict) and "file" in value):
        _expect_object(value, path, SOURCE_KEYS[kind])  # an unknown key: named
        raise DeviceFileError(f'{path}: a source object has "file" or "url"'
                              + (' or "pattern"' if kind == VIDEO_INPUT else ""))
    _expect_object(value, path, ("file", "loop"), required=("file",))
    loop = value.get("loop", False)
    if not isinstance(loop, bool):
        raise DeviceFileError(f"{path}.loop: expected true or false, got {_show(loop)}")
    return {"file": _media_file(value["file"], base, f"{path}.file"), "loop": loop}


def _parse_pattern(value: dict, path: str) -> dict:
    """`{"pattern": {"frameNumbers": "capture" | "epoch"}}`: the pattern, its burned-in
    numbers counting frames of the capture (default) or frames since the Unix epoch, so that
    a receiving ms on this machine knows when each frame was captured (glass-to-glass)."""
    _expect_object(value, path, ("pattern",), required=("pattern",))
    where = f"{path}.pattern"
    _expect_object(value["pattern"], where, ("frameNumbers",))
    numbers = value["pattern"].get("frameNumbers", "capture")
    if numbers not in FRAME_NUMBERS:
        raise DeviceFileError(f"{where}.frameNumbers: expected one of "
                              f"{', '.join(FRAME_NUMBERS)}, got {_show(numbers)}")
    return {"pattern": {"frameNumbers": numbers}}


def _media_file(file: object, base: Path, path: str) -> str:
    """The absolute path of a source file that exists and is a regular file: a directory,
    a FIFO (opening it would wait for a writer) or a device is not a media file."""
    full = _absolute_path(file, base, path)
    try:
        info = os.stat(full)
    except FileNotFoundError:
        raise DeviceFileError(f"{path}: no such file {quoted(full)}") from None
    except OSError as e:  # too long, a loop of symlinks, not a directory on the way, ...
        raise DeviceFileError(f"{path}: cannot use {quoted(full)}: {e.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise DeviceFileError(f"{path}: {quoted(full)} is {what}; give a media file")
    return os.path.realpath(full)


def _text(value: object, path: str, empty_ok: bool = False) -> str:
    """A name ms prints (label, group, pixel format): printable, encodable, short."""
    if not isinstance(value, str) or not (value or empty_ok):
        what = "a string" if empty_ok else "a non-empty string"
        raise DeviceFileError(f"{path}: expected {what}, got {_show(value)}")
    _encodable(value, path)
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise DeviceFileError(f"{path}: control characters are not allowed in a name, "
                              f"got {quoted(value)}")
    if len(value) > MAX_TEXT:
        raise DeviceFileError(f"{path}: at most {MAX_TEXT} characters, got {len(value):,}")
    return value


def _encodable(value: str, path: str) -> None:
    # JSON may spell a lone surrogate (\ud800); it is no character, and no output can
    # encode it: printing it as a label would crash.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DeviceFileError(f"{path}: not valid Unicode text (a lone surrogate), "
                              f"got {quoted(value)}") from None


def _parse_facing(value: object, path: str) -> str | None:
    if value is None or value in FACING_MODES:
        return value
    raise DeviceFileError(f"{path}: expected one of {', '.join(FACING_MODES)}, "
                          f"got {_show(value)}")


def _parse_modes(value: object, path: str) -> tuple[VideoMode, ...]:
    if not isinstance(value, list) or not value:
        raise DeviceFileError(f"{path}: expected a non-empty list of modes, got {_show(value)}")
    modes = []
    for i, mode in enumerate(value):
        where = f"{path}[{i}]"
        _expect_object(mode, where, ("width", "height", "frameRate", "pixelFormat"),
                       required=("width", "height", "frameRate"))
        width = _positive(mode["width"], f"{where}.width", integer=True, most=16384)
        height = _positive(mode["height"], f"{where}.height", integer=True, most=16384)
        rate = _frame_rate(mode["frameRate"], f"{where}.frameRate")
        pixel_format = mode.get("pixelFormat")
        if pixel_format is not None:
            pixel_format = _text(pixel_format, f"{where}.pixelFormat")
        modes.append(VideoMode(width, height, float(rate), pixel_format))
    return tuple(modes)


def _parse_audio(entry: dict, path: str, source) -> AudioCaps:
    fields = {}
    if isinstance(source, dict) and "url" in source:  # what is not declared: from the stream
        source["probe"] = tuple(n for n in ("sampleRate", "channelCount") if n not in entry)
    file, where = _audio_file(source, f"{path}.source")
    from_file = _file_audio(file, where) if file else {}
    for name, attr in AudioCaps.NUMERIC.items():
        if name in from_file and name not in entry:
            fields[attr] = from_file[name]
        elif name in entry:
            fields[attr] = _parse_value_set(entry[name], f"{path}.{name}",
                                            integer=name != "latency")
        else:
            fields[attr] = FAKE_AUDIO.numeric(name)
    processing = processing_capabilities()
    for name, attr in AudioCaps.BOOLEAN.items():
        value = entry.get(name, list(processing[attr]))
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, bool) for v in value)):
            raise DeviceFileError(f"{path}.{name}: expected a list like [true, false], "
                                  f"got {_show(value)}")
        fields[attr] = _processing_values(value, processing[attr], f"{path}.{name}")
    return AudioCaps(**fields)


def _processing_values(value: list, runnable: tuple, path: str) -> tuple:
    """What the file allows of what ms can run: true needs the processing installed."""
    allowed = tuple(v for v in dict.fromkeys(value) if v in runnable)
    if not allowed:
        raise DeviceFileError(f"{path}: {_show(value)} needs ms's audio processing, which is "
                              f"not installed (pip install {PACKAGE}), or say [false]")
    return allowed


# --- speakers and echo (mscli/speakers) ---------------------------------------------------


def _parse_speaker(entry: dict, path: str, base: Path, device: Device) -> Device:
    """A virtual speaker: the formats it takes, and the WAV it records what it plays into."""
    caps = {name: _parse_value_set(entry[name], f"{path}.{name}", integer=True)
            for name in ("sampleRate", "channelCount") if name in entry}
    device.audio = VIRTUAL_SPEAKER._replace(
        **{AudioCaps.NUMERIC[name]: values for name, values in caps.items()})
    if "sink" in entry:
        where = f"{path}.sink"
        _expect_object(entry["sink"], where, ("file",), required=("file",))
        device.source = {"sink": _absolute_path(entry["sink"]["file"], base, f"{where}.file")}
    return device


def _absolute_path(file: object, base: Path, path: str) -> str:
    """A path given in the file, made absolute from the file's directory. A file ms will
    write: whether it may be (exists, -y) is checked when a capture uses it, as for -o."""
    if not isinstance(file, str) or not file:
        raise DeviceFileError(f"{path}: expected a path, got {_show(file)}")
    if "\0" in file:
        raise DeviceFileError(f"{path}: a path cannot contain a NUL character, "
                              f"got {quoted(file)}")
    _encodable(file, path)
    return os.path.abspath(os.path.join(base, os.path.expanduser(file)))


def _parse_echo(value: dict, path: str, base: Path) -> dict:
    """`{"echo": {"speaker": LABEL, "delay": S, "gain": G}, "plus": SOURCE}`: what a speaker
    of this file played, `delay` seconds later and scaled by `gain`, mixed with the
    microphone's own source (`plus`: "tone" or {"file": ...}; absent: the echo alone)."""
    _expect_object(value, path, ("echo", "plus"), required=("echo",))
    echo, where = value["echo"], f"{path}.echo"
    _expect_object(echo, where, ("speaker", "delay", "gain"), required=("speaker",))
    delay = _positive(echo.get("delay", 0.0), f"{where}.delay", integer=False, zero_ok=True,
                      most=MAX_ECHO_DELAY)
    gain = _positive(echo.get("gain", 1.0), f"{where}.gain", integer=False, zero_ok=True,
                     most=MAX_ECHO_GAIN)
    plus = _parse_source(value["plus"], f"{path}.plus", AUDIO_INPUT, base) \
        if "plus" in value else None
    if isinstance(plus, dict) and ("echo" in plus or "url" in plus):
        raise DeviceFileError(f"{path}.plus: the microphone's own source is "
                              f'"{SYNTHETIC[AUDIO_INPUT]}" or {{"file": PATH}}, not another echo')
    return {"echo": {"speaker": _text(echo["speaker"], f"{where}.speaker"),
                     "delay": float(delay), "gain": float(gain), "path": f"{where}.speaker"},
            "plus": plus}


def _find_echo_speakers(devices: list[Device]) -> None:
    """Each echo's speaker, by label among this file's speakers (its Device, whose deviceId
    is assigned later, is what the microphone listens to)."""
    speakers = [d for d in devices if d.kind == AUDIO_OUTPUT]
    for device in devices:
        echo = device.source.get("echo") if isinstance(device.source, dict) else None
        if echo is None:
            continue
        named = [d for d in speakers if d.label == echo["speaker"]]
        if len(named) != 1:
            labels = ", ".join(quoted(d.label, 40) for d in speakers) or "none"
            what = "no speaker (audiooutput) is" if not named else \
                f"{len(named)} speakers (audiooutput) are"
            raise DeviceFileError(f"{echo['path']}: {what} labelled {quoted(echo['speaker'])} "
                                  f"in this file (speakers: {labels})")
        echo["device"] = named[0]


def _audio_file(source, where: str) -> tuple[str | None, str]:
    """The media file behind a microphone's source (its own, or an echo's `plus`), and its
    JSON path."""
    if isinstance(source, dict) and "echo" in source:
        source, where = source["plus"], f"{where}.plus"
    if isinstance(source, dict) and "file" in source:
        return source["file"], f"{where}.file"
    return None, where


def _parse_value_set(value: object, path: str, integer: bool) -> ValueSet:
    """A list is the discrete set of supported values; {min, max} a continuous range."""
    if isinstance(value, list):
        if not value:
            raise DeviceFileError(f"{path}: an empty list supports nothing; give at least one")
        return ValueSet.of(*(_positive(v, f"{path}[{i}]", integer, zero_ok=not integer)
                             for i, v in enumerate(value)))
    if isinstance(value, dict):
        _expect_object(value, path, ("min", "max"), required=("min", "max"))
        lo = _positive(value["min"], f"{path}.min", integer, zero_ok=not integer)
        hi = _positive(value["max"], f"{path}.max", integer, zero_ok=not integer)
        if lo > hi:
            raise DeviceFileError(f"{path}: min {lo} is larger than max {hi}")
        return ValueSet.range(lo, hi)
    raise DeviceFileError(f"{path}: expected a list of values or {{\"min\", \"max\"}}, "
                          f"got {_show(value)}")


def _parse_controls(value: object, path: str) -> dict:
    """A camera's controls, contract.md's shape: numeric {min, max, step, value}, modes and
    torch {values, value}; `value` is the current one (the default on open)."""
    _expect_object(value, path, CONTROLS)
    controls = {}
    for name, spec in value.items():
        where = f"{path}.{name}"
        if name in NUMERIC_CONTROLS:
            _expect_object(spec, where, ("min", "max", "step", "value"),
                           required=("min", "max", "step", "value"))
            lo, hi, step = (_control_number(spec[k], f"{where}.{k}")
                            for k in ("min", "max", "step"))
            if lo > hi:
                raise DeviceFileError(f"{where}: min {lo:g} is larger than max {hi:g}")
            if step <= 0:
                raise DeviceFileError(f"{where}.step: expected a number > 0, got {step:g}")
            if (hi - lo) / step > MAX_CONTROL_STEPS:  # float steps past this are no steps
                raise DeviceFileError(f"{where}.step: {step:g} is too small for {lo:g} to "
                                      f"{hi:g}: at most {MAX_CONTROL_STEPS:g} steps")
            control = NumericControl(lo, hi, step, lo)
        else:
            _expect_object(spec, where, ("values", "value"), required=("values", "value"))
            values = spec["values"]
            if not isinstance(values, list) or not values:
                raise DeviceFileError(f"{where}.values: expected a non-empty list of the "
                                      f"values the camera offers, got {_show(values)}")
            for i, item in enumerate(values):
                _choice(name, item, f"{where}.values[{i}]")
            control = ChoiceControl(tuple(dict.fromkeys(values)), values[0])
        controls[name] = control._replace(value=_control_value(control, name, spec["value"],
                                                               f"{where}.value"))
    return controls


def _control_number(value: object, path: str):
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not abs(value) <= MAX_CONTROL):
        raise DeviceFileError(f"{path}: expected a number from {-MAX_CONTROL:g} to "
                              f"{MAX_CONTROL:g}, got {_show(value)}")
    return value


def _choice(name: str, value: object, path: str):
    """A value a mode or torch control may have at all: a mode name, or a boolean."""
    if name in BOOLEAN_CONTROLS:
        if not isinstance(value, bool):
            raise DeviceFileError(f"{path}: expected true or false, got {_show(value)}")
    elif value not in MODES or not isinstance(value, str):
        raise DeviceFileError(f"{path}: expected one of {', '.join(MODES)}, "
                              f"got {_show(value)}")
    return value


def _control_value(control, name: str, value: object, path: str):
    """A value the control can have: on a step of its range, or one of its values."""
    if isinstance(control, ChoiceControl):
        _choice(name, value, path)
        if not any(same(value, v) for v in control.values):
            raise DeviceFileError(f"{path}: {_show(value)} is not one of the control's values "
                                  f"({', '.join(map(_show, control.values))})")
        return value
    x = _control_number(value, path)
    if not control.min <= x <= control.max:
        raise DeviceFileError(f"{path}: {x:g} is outside the control's range "
                              f"{control.min:g} to {control.max:g}")
    if not control.on_step(x):
        raise DeviceFileError(f"{path}: {x:g} is not on a step of {control.step:g} from "
                              f"{control.min:g} (the nearest is {control.settle(x):g})")
    return x


def _parse_faults(value: object, path: str, kind: str, controls: dict) -> tuple[Fault, ...]:
    if not isinstance(value, list):
        raise DeviceFileError(f"{path}: expected a list of faults, got {_show(value)}")
    other = AUDIO_ONLY_FAULTS if kind == VIDEO_INPUT else VIDEO_ONLY_FAULTS
    allowed = ("disconnect",) if kind == AUDIO_OUTPUT else tuple(
        e for e in FAULT_EVENTS if e not in other)
    faults = []
    for i, fault in enumerate(value):
        where = f"{path}[{i}]"
        _expect_object(fault, where, ("at", "event", "for", "value", "name"),
                       required=("at", "event"))
        at = _positive(fault["at"], f"{where}.at", integer=False, zero_ok=True)
        event = fault["event"]
        if event not in allowed:
            raise DeviceFileError(f"{where}.event: a {kind} fault is one of "
                                  f"{', '.join(allowed)}, got {_show(event)}")
        duration = value_ = name = None
        if "for" in fault:
            if event not in LASTING_FAULTS:
                raise DeviceFileError(f"{where}.for: only {', '.join(LASTING_FAULTS)} faults "
                                      "have a duration (a disconnected device comes back "
                                      "after it)")
            duration = _positive(fault["for"], f"{where}.for", integer=False)
        if event in ("frameRate", "control") and "value" not in fault:
            what = "rate" if event == "frameRate" else "value of the control"
            raise DeviceFileError(f"{where}.value: a {event} fault needs the new {what}")
        if event == "frameRate":
            value_ = _frame_rate(fault["value"], f"{where}.value")
        elif event == "control":
            name, value_ = _control_fault(fault, controls, where)
        elif "value" in fault:
            raise DeviceFileError(f"{where}.value: only frameRate and control faults have a "
                                  "value")
        if "name" in fault and event != "control":
            raise DeviceFileError(f"{where}.name: only a control fault names a control")
        faults.append(Fault(float(at), event, duration, value_, name))
    return tuple(sorted(faults, key=lambda f: f.at))


def _control_fault(fault: dict, controls: dict, where: str):
    """A control fault's name (a control this camera declares) and its new value."""
    name = fault.get("name")
    if not isinstance(name, str) or name not in controls:
        declared = ", ".join(controls) or "none"
        hint = did_you_mean(name, controls) if isinstance(name, str) else ""
        raise DeviceFileError(f"{where}.name: expected a control of this camera's controls "
                              f"(declared: {declared}), got {_show(name)}{hint}")
    return name, _control_value(controls[name], name, fault["value"], f"{where}.value")


def _frame_rate(value: object, path: str) -> float:
    """A mode's or a frameRate fault's rate: what ms can record (1e-300 once passed, and
    capture divided by zero)."""
    rate = _positive(value, path, integer=False, most=MAX_FRAME_RATE)
    if rate < MIN_FRAME_RATE:
        raise DeviceFileError(f"{path}: at least {MIN_FRAME_RATE:g}, the slowest rate ms "
                              f"records; got {_show(rate)}")
    return rate


def _positive(value: object, path: str, integer: bool, zero_ok: bool = False,
              most: float = 1e9):
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if not ok or not (value >= 0 if zero_ok else value > 0) or value > most:
        what = "an integer" if integer else "a number"
        sign = ">= 0" if zero_ok else "> 0"
        raise DeviceFileError(f"{path}: expected {what} {sign} and at most {most:g}, "
                              f"got {_show(value)}")
    return value


def _expect_object(value: object, path: str, allowed, required=()) -> None:
    if not isinstance(value, dict):
        raise DeviceFileError(f"{path}: expected an object, got {_show(value)}")
    for key in value:
        if key not in allowed:
            more = did_you_mean(key, allowed) or f" (allowed: {', '.join(allowed)})"
            top = path == "(top level)"
            if key.isidentifier():
                where = key if top else f"{path}.{key}"
            else:  # quoted and cut: a key may hold escape codes or run to 5,000 characters
                where = ("" if top else path) + f"[{quoted(key)}]"
            raise DeviceFileError(f"{where}: unknown key{more}")
    for key in required:
        if key not in value:
            raise DeviceFileError(f"{path}: missing {key!r}")


def _file_modes(path: str, where: str) -> tuple[VideoMode, ...]:
    """A file-backed camera takes its one mode from the file (unless modes are declared).

    This is the only non-capture path that imports PyAV, and only for such a device.
    """
    from mscli.media.probe import probe_video_mode

    try:
        return (probe_video_mode(path),)
    except ValueError as e:
        raise DeviceFileError(f"{where}: {quoted(path)}: {e}") from None


def _file_audio(path: str, where: str) -> dict[str, ValueSet]:
    """A file-backed microphone offers the file's own rate and channel count."""
    from mscli.media.probe import probe_audio

    try:
        rate, channels = probe_audio(path)
    except ValueError as e:
        raise DeviceFileError(f"{where}: {quoted(path)}: {e}") from None
    return {"sampleRate": ValueSet.of(rate), "channelCount": ValueSet.range(1, channels)}

"""Which devices exist: the virtual sets or the machine's real backends, with ids assigned.

This is `enumerateDevices()`: microphones, then cameras, then outputs, each kind in the order
its backend gave (the system default first), every device with a keyed-hash deviceId/groupId.
"""

from __future__ import annotations

import sys
from importlib import import_module

from mscli import messages
from mscli.backends import Found
from mscli.devices import AUDIO_INPUT, AUDIO_OUTPUT, KINDS, TRACK_KIND, VIDEO_INPUT, Device
from mscli.errors import NotFoundError, UsageError, listed, quoted
from mscli.ids import IdHasher

# Real backends, imported only when asked for real devices. Each module has
# enumerate_devices() -> list[Device] and raises BackendUnavailable when it cannot load.
# Cameras come from V4L2 on Linux, from FFmpeg's capture devices (PyAV) on macOS and Windows.
CAMERAS = "mscli.backends.v4l2" if sys.platform.startswith("linux") else "mscli.backends.avdevice"
REAL_BACKENDS = (CAMERAS, "mscli.backends.portaudio")
MAX_LISTED = 10  # labels named in a "no such label" error; the rest are counted
BACKEND_KINDS = {"v4l2": (VIDEO_INPUT,), "avdevice": (VIDEO_INPUT,),
                 "portaudio": (AUDIO_INPUT, AUDIO_OUTPUT)}  # what each lists (or, failing, hides)
NAMES = {VIDEO_INPUT: "camera", AUDIO_INPUT: "microphone"}
TRY_VIRTUAL = ("to try ms without hardware: --fake (built-in virtual devices) or "
               "--devices FILE (your own; see `ms schema devices`)")


class BackendUnavailable(Exception):
    """A backend that cannot load: the message says what to install. Others still list.
    `reason`: why its kinds are missing, shortly, for the note on an empty list."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


def load_devices(devices_file: str | None = None, fake: bool = False, warn=None,
                 kinds: set[str] | None = None) -> list[Device]:
    """The devices of --devices FILE, of --fake, or (neither) of the machine, with ids.
    Real devices come as a `Found` whose `absent` says why a kind has none. `kinds`: the
    kinds wanted (None: all); a real backend serving none of them is not even imported.
    Virtual devices cost nothing to list and all of them are."""
    if devices_file:
        from mscli.virtual import load_device_file

        return assign_ids(load_device_file(devices_file), IdHasher.for_user(warn))
    if fake:
        from mscli.virtual import fake_devices

        return assign_ids(fake_devices(), IdHasher.for_user(warn))
    found = real_devices(warn or messages.warn, kinds)
    return Found(assign_ids(found, IdHasher.for_user(warn)), absent=found.absent)


def real_devices(warn, kinds: set[str] | None = None) -> Found:
    """What the real backends list; only those serving one of `kinds` (None: all) are asked:
    a video-only capture has no use for PortAudio probing every ALSA device. A device's ids
    hash its own keys only, so they do not depend on which backends were asked."""
    found = Found()
    for name in REAL_BACKENDS:
        serves = BACKEND_KINDS[name.rsplit(".", 1)[1]]
        if kinds is not None and kinds.isdisjoint(serves):
            continue
        try:
            module = import_module(name)
            listed = module.enumerate_devices()
            found.extend(listed)
            for message in getattr(listed, "warnings", ()):  # devices it had to leave out
                warn(message)
            found.absent.update(getattr(listed, "absent", {}))
        except ModuleNotFoundError as e:
            if not e.name or not e.name.startswith("mscli."):
                raise
        except BackendUnavailable as e:
            warn(str(e))
            found.absent.update(dict.fromkeys(serves, e.reason))
    return found


def kinds_to_list(constraints, speakers: set[str] | None) -> set[str] | None:
    """The device kinds `ms resolve`/`ms capture` need listed: the inputs of the tracks the
    constraints request, and `speakers` (speakers.plan.speaker_kinds; None: every kind)."""
    if speakers is None:
        return None
    tracks = {kind for kind, _ in constraints.tracks()}
    return {device for device, track in TRACK_KIND.items() if track in tracks} | speakers


def absent_notes(devices: list[Device]) -> list[str]:
    """For an empty `ms devices` or `ms caps`, on stderr, a line each: why there is no camera,
    why no microphone, and how to try ms without them. None when there is an input device (a
    microphone-only machine is not nagged on every listing; capturing video from it says
    why in its NotFoundError), or when the devices are virtual: exactly what was asked for."""
    absent = getattr(devices, "absent", {})
    if any(d.kind in NAMES for d in devices):
        return []
    missing = [f"no {NAMES[kind]}: {absent[kind]}" for kind in NAMES if kind in absent]
    return missing + [TRY_VIRTUAL] if missing else []


def why_none(devices: list[Device], track_kind: str) -> str:
    """The end of "no video input device found…": the reason a backend gave, or a pointer."""
    kind = VIDEO_INPUT if track_kind == "video" else AUDIO_INPUT
    reason = getattr(devices, "absent", {}).get(kind)
    return f": {reason}; {TRY_VIRTUAL}" if reason else " (`ms devices` lists what there is)"


def assign_ids(devices: list[Device], hasher: IdHasher) -> list[Device]:
    for device in devices:
        device.device_id = hasher.device_id(device.kind, device.key)
        device.group_id = hasher.group_id(device.group_key)
    # sorted() is stable: within a kind the backend's order (default first) stays.
    return sorted(devices, key=lambda d: KINDS.index(d.kind))


def find_device(devices: list[Device], selector: str) -> Device:
    """DEVICE on the command line: a deviceId, `label:TEXT` or `index:N` (ms devices order)."""
    if not selector:  # `ms caps "$CAM"` with CAM unset must not mean every device
        raise UsageError("DEVICE is empty: give a deviceId from `ms devices`, label:TEXT or "
                         "index:N, or leave it out")
    if selector.startswith("index:"):
        return devices[_index(selector, len(devices))]
    if selector.startswith("label:"):
        label = selector[len("label:"):]
        matches = [d for d in devices if d.label == label]
        if len(matches) > 1:
            kinds = ", ".join(d.kind for d in matches)
            raise UsageError(f"{quoted(selector)} matches {len(matches)} devices ({kinds}); "
                             "use a deviceId from `ms devices`")
        if matches:
            return matches[0]
        labels = listed([quoted(d.label, 40) for d in devices], MAX_LISTED) or "none"
        raise NotFoundError(f"no device is labelled {quoted(label)} (labels: {labels})")
    for device in devices:
        if device.device_id == selector:
            return device
    raise NotFoundError(f"no device has deviceId {quoted(selector)}; give a deviceId from "
                        "`ms devices`, label:TEXT or index:N")


def _index(selector: str, count: int) -> int:
    """N of index:N. ASCII digits only: str.isdigit() also takes '²' and '٣', which int()
    refuses or reads as another number."""
    text = selector[len("index:"):]
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{quoted(selector)}: index: takes a number, e.g. index:0")
    if len(text.lstrip("0")) > len(str(count)) or int(text) >= count:
        last = f"index:0 to index:{count - 1}" if count else "none to pick"
        raise NotFoundError(f"{quoted(selector)}: there are {count} devices ({last})")
    return int(text)

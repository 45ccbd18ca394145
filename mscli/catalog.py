"""Which devices exist: the virtual sets or the machine's real backends, with ids assigned.

This is `enumerateDevices()`: microphones, then cameras, then outputs, each kind in the order
its backend gave (the system default first), every device with a keyed-hash deviceId/groupId.
"""

from __future__ import annotations

import sys
from importlib import import_module

from mscli import messages
from mscli.devices import KINDS, Device
from mscli.errors import NotFoundError, UsageError, shown
from mscli.ids import IdHasher

# Real backends, imported only when asked for real devices. Each module has
# enumerate_devices() -> list[Device] and raises BackendUnavailable when it cannot load.
# Cameras come from V4L2 on Linux, from FFmpeg's capture devices (PyAV) on macOS and Windows.
CAMERAS = "mscli.backends.v4l2" if sys.platform.startswith("linux") else "mscli.backends.avdevice"
REAL_BACKENDS = (CAMERAS, "mscli.backends.portaudio")
MAX_LISTED = 10  # labels named in a "no such label" error; the rest are counted


class BackendUnavailable(Exception):
    """A backend that cannot load: the message says what to install. Others still list."""


def load_devices(devices_file: str | None = None, fake: bool = False, warn=None) -> list[Device]:
    """The devices of --devices FILE, of --fake, or (neither) of the machine, with ids."""
    if devices_file:
        from mscli.virtual import load_device_file

        found = load_device_file(devices_file)
    elif fake:
        from mscli.virtual import fake_devices

        found = fake_devices()
    else:
        found = real_devices(warn or messages.warn)
    return assign_ids(found, IdHasher.for_user(warn))


def real_devices(warn) -> list[Device]:
    found: list[Device] = []
    for name in REAL_BACKENDS:
        try:
            module = import_module(name)
            listed = module.enumerate_devices()
            found.extend(listed)
            for message in getattr(listed, "warnings", ()):  # devices it had to leave out
                warn(message)
        except ModuleNotFoundError as e:
            if not e.name or not e.name.startswith("mscli."):
                raise
        except BackendUnavailable as e:
            warn(str(e))
    return found


def assign_ids(devices: list[Device], hasher: IdHasher) -> list[Device]:
    for device in devices:
        device.device_id = hasher.device_id(device.kind, device.key)
        device.group_id = hasher.group_id(device.group_key)
    # sorted() is stable: within a kind the backend's order (default first) stays.
    return sorted(devices, key=lambda d: KINDS.index(d.kind))


def find_device(devices: list[Device], selector: str) -> Device:
    """DEVICE on the command line: a deviceId, `label:TEXT` or `index:N` (ms devices order)."""
    if selector.startswith("index:"):
        return devices[_index(selector, len(devices))]
    if selector.startswith("label:"):
        label = selector[len("label:"):]
        matches = [d for d in devices if d.label == label]
        if len(matches) > 1:
            kinds = ", ".join(d.kind for d in matches)
            raise UsageError(f"{shown(selector)} matches {len(matches)} devices ({kinds}); "
                             "use a deviceId from `ms devices`")
        if matches:
            return matches[0]
        labels = ", ".join(shown(d.label, 40) for d in devices[:MAX_LISTED]) or "none"
        more = f" and {len(devices) - MAX_LISTED:,} more" if len(devices) > MAX_LISTED else ""
        raise NotFoundError(f"no device is labelled {shown(label)} (labels: {labels}{more})")
    for device in devices:
        if device.device_id == selector:
            return device
    raise NotFoundError(f"no device has deviceId {shown(selector)}; give a deviceId from "
                        "`ms devices`, label:TEXT or index:N")


def _index(selector: str, count: int) -> int:
    """N of index:N. ASCII digits only: str.isdigit() also takes '²' and '٣', which int()
    refuses or reads as another number."""
    text = selector[len("index:"):]
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{shown(selector)}: index: takes a number, e.g. index:0")
    if len(text.lstrip("0")) > len(str(count)) or int(text) >= count:
        last = f"index:0 to index:{count - 1}" if count else "none to pick"
        raise NotFoundError(f"{shown(selector)}: there are {count} devices ({last})")
    return int(text)

"""Real device backends: one module per operating-system API.

Each module has `enumerate_devices() -> list[Device]` (see mscli.catalog.REAL_BACKENDS) and
raises `mscli.catalog.BackendUnavailable` when it cannot load at all. A backend that loads but
cannot read some of its devices (permission denied on a camera node, say) returns a `Found`
list: a plain list of devices that also carries `warnings` for the user, one line each, and
the reason it found no device of a kind, when it can tell (no /dev/video* nodes, no sound card).

Nothing here imports av, cv2 or numpy: listing devices must stay cheap.
"""

from __future__ import annotations

import os

# Rates offered from a continuous or stepwise range besides its fastest and slowest.
COMMON_RATES = (5, 10, 15, 20, 24, 25, 30, 50, 60, 90, 120)


def rates_in_range(slowest: float, fastest: float) -> list[float]:
    """A device that takes any rate in [slowest, fastest]: the ends and the usual rates
    between, fastest first (SelectSettings then picks among real options)."""
    between = [float(r) for r in COMMON_RATES if slowest < r < fastest]
    return sorted({fastest, slowest, *between}, reverse=True)


class Found(list):
    """Devices a backend found, plus warnings about the ones it had to leave out, and for a
    kind it found none of, why (`absent`: kind -> reason), so that an empty machine can say
    what is missing instead of printing an empty list."""

    def __init__(self, devices=(), warnings=(), absent=None):
        super().__init__(devices)
        self.warnings: list[str] = list(warnings)
        self.absent: dict[str, str] = dict(absent or {})


def physical_device(sysfs_device: str) -> str | None:
    """The physical device behind a sysfs device link, as a path under /sys/devices.

    A USB webcam's video node hangs off one USB interface (…/1-1/1-1:1.0) and its microphone
    off another (…/1-1/1-1:1.3); both belong to the USB device (…/1-1). Returning that device
    lets a camera and a microphone of one product share a groupId. For anything that is not
    USB (a PCI card, a platform driver such as vivid or snd-aloop) the device itself is the
    physical device. None when the link does not exist.
    """
    try:
        path = os.path.realpath(sysfs_device, strict=True)
    except OSError:
        return None
    probe = path
    while probe not in ("/", "") and "/devices/" in probe + "/":
        if _is_usb_device(probe):
            return probe
        probe = os.path.dirname(probe)
    return path


def _is_usb_device(path: str) -> bool:
    # A USB device directory (not an interface) has idVendor; its uevent says DEVTYPE=usb_device.
    return os.path.exists(os.path.join(path, "idVendor"))

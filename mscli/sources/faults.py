"""A virtual device's scripted faults (contract.md: mute, end, frameRate, disconnect,
control), as questions the sources ask about a capture time."""

from __future__ import annotations

from mscli.devices import Fault

END_REASONS = {"end": "device-ended", "disconnect": "device-disconnected"}


class FaultScript:
    """The device's faults as questions about a capture time. A source started at `start`
    (a reconnected device) is not ended again by the disconnect that preceded it."""

    def __init__(self, faults: tuple[Fault, ...], start: float = 0.0):
        self.faults = faults
        self.start = start
        # control faults not given yet, in time order (the device file sorts faults by time)
        self._controls = [f for f in faults if f.event == "control" and f.at >= start - 1e-9]

    def ending(self, t: float) -> Fault | None:
        return next((f for f in self.faults if f.event in END_REASONS
                     and self.start - 1e-9 <= f.at <= t + 1e-9), None)

    def muted(self, t: float) -> bool:
        return any(f.event == "mute" and f.at <= t + 1e-9
                   and (f.duration is None or t < f.at + f.duration - 1e-9)
                   for f in self.faults)

    def controls_due(self, t: float) -> list[Fault]:
        """The control faults at or before t, each given once: the device changes a control
        by itself then. Those before a reconnected source's start are the old device's."""
        due = 0
        while due < len(self._controls) and self._controls[due].at <= t + 1e-9:
            due += 1
        given, self._controls = self._controls[:due], self._controls[due:]
        return given

    def rate(self, t: float, native: float) -> float:
        rate = native
        for f in self.faults:
            if f.event == "frameRate" and f.at <= t + 1e-9:
                rate = f.value
        return rate


def returns_at(device, t: float) -> float | None:
    """When a virtual device that disconnected at t comes back (None: it does not)."""
    for f in device.faults:
        if f.event == "disconnect" and abs(f.at - t) < 1e-6 and f.duration is not None:
            return f.at + f.duration
    return None

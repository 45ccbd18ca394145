"""What every virtual camera (the pattern, a file) does with the controls of its device file:
keeps their current values, sets them when ms asks (`apply_controls`, any thread) as a
driver would (controls.settle: clamped, on a step, the auto/manual coupling), and changes
them at the times of its `control` faults, which the track reports as configurationchange.
The picture shows them: media/adjust.py."""

from __future__ import annotations

import threading

from mscli.controls import settle
from mscli.sources import SourceThread


class VirtualCameraSource(SourceThread):
    def __init__(self, track, clock, **timing):
        super().__init__(track, clock, **timing)
        self._controls_lock = threading.Lock()
        # The device's current values: replaced whole, so the frame thread reads one set.
        self.control_values = {name: c.value for name, c in track.device.controls.items()}

    def apply_controls(self, values: dict) -> dict:
        return self._set_controls(values)[1]

    def controls_at(self, script, t: float) -> dict:
        """The control values at capture time t, after the control faults due by then (each
        fires configurationchange, at its own time)."""
        for fault in script.controls_due(t):
            taken, _ = self._set_controls({fault.name: fault.value})
            self.track.controls_changed(taken, at=fault.at)
        return self.control_values

    def _set_controls(self, values: dict) -> tuple[dict, dict]:
        """(the values the device took, every control's value afterwards)."""
        with self._controls_lock:
            taken = settle(self.track.device, values, self.control_values)
            self.control_values = {**self.control_values, **taken}
            return taken, self.control_values

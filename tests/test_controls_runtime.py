"""Camera controls at capture time, on a virtual camera driven in virtual time (an unpaced
pattern source: frame n at n / rate exactly): what the source reports is what the settings
say, a `control` fault gives one configurationchange at its time and the pixels after it,
--reapply's controls go through the device and a missed required one keeps the old values."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mscli.catalog import assign_ids
from mscli.constraints import parse_track_constraints
from mscli.controls import ChoiceControl, NumericControl
from mscli.devices import VIDEO_INPUT, Device, Fault, VideoMode
from mscli.errors import OverconstrainedError
from mscli.events import CaptureClock, EventLog
from mscli.ids import IdHasher
from mscli.liveview import event_line
from mscli.media.pattern import PatternGenerator
from mscli.sources import SourceThread
from mscli.sources.synthetic import PatternSource
from mscli.track import MediaStreamTrack
from mscli.select import select_settings
from mscli.trackcontrols import live_device, open_controls, reapply_controls

W, H, RATE = 64, 48, 30
CONTROLS = {"brightness": NumericControl(0, 255, 1, 128),
            "zoom": NumericControl(100, 400, 10, 100),
            "exposureTime": NumericControl(1, 1000, 1, 100),
            "exposureMode": ChoiceControl(("manual", "continuous"), "continuous")}


def camera(*faults: Fault, controls=CONTROLS) -> Device:
    device = Device(VIDEO_INPUT, "Cam", "virtual:cam", "g", "virtual",
                    modes=(VideoMode(W, H, float(RATE)),), source="pattern",
                    faults=faults, controls=controls)
    assign_ids([device], IdHasher(b"k" * 32))
    return device


def track_on(device: Device, constraints: dict | None = None, settings: dict | None = None,
             until: float = 2.0, source=PatternSource) -> MediaStreamTrack:
    """A track on `device` in its one mode, with control settings as a selection gives them
    (every control: the asked value, else the device's own)."""
    parsed = parse_track_constraints(constraints or {}, "video")
    base = {"width": W, "height": H, "frameRate": float(RATE), "resizeMode": "none",
            "deviceId": device.device_id, "groupId": device.group_id}
    controls = {name: c.value for name, c in device.controls.items()}
    track = MediaStreamTrack("video", device, {**base, **controls, **(settings or {})},
                             parsed, EventLog(CaptureClock()), threading.Condition(),
                             live=False, mode=device.modes[0])
    track.source = source(track, track._events.clock, paced=False, until=until)
    return track


def run(track) -> list:
    """Every frame the track delivers until its source stops (unpaced: virtual time)."""
    open_controls(track)
    track.source.start()
    frames = []
    while not track.done:
        with track._wake:
            track._wake.wait(0.01)
        frames += track.take()
    track.source.join(5)
    return frames


def scene(values: dict, index: int) -> np.ndarray:
    gen = PatternGenerator(W, H, RATE, controls=CONTROLS)
    gen.set_controls(values)
    return gen.frame(index)


def changes(track) -> list[dict]:
    return [e for e in track._events.history if e["event"] == "configurationchange"]


def test_a_control_fault_fires_one_configurationchange_at_its_time_and_shows_after_it():
    device = camera(Fault(1.0, "control", value=200, name="brightness"),
                    Fault(1.5, "control", value=200, name="brightness"))  # no change: no event
    track = track_on(device)
    frames = run(track)
    (event,) = changes(track)
    assert event["time"] == 1.0
    assert event["detail"]["changed"] == ["brightness"]
    assert event["detail"]["settings"]["brightness"] == 200
    assert event["detail"]["settings"]["width"] == W  # the whole settings
    assert track.settings["brightness"] == 200
    assert len(frames) == 2 * RATE
    for frame in frames:
        values = {"brightness": 200} if frame.time >= 1.0 else {}
        assert np.array_equal(frame.data, scene(values, frame.index)), frame.time


def test_a_fault_value_is_what_the_device_takes():
    """Out of range and off the step: clamped and snapped (controls.settle), as a driver."""
    track = track_on(camera(Fault(0.5, "control", value=1000, name="zoom"),
                            Fault(1.0, "control", value=5, name="exposureTime")))
    run(track)
    first, second = changes(track)
    assert (first["time"], first["detail"]["changed"]) == (0.5, ["zoom"])
    assert first["detail"]["settings"]["zoom"] == 400
    # an absolute exposure turns auto-exposure off: both changed, in one event
    assert (second["time"], sorted(second["detail"]["changed"])) == \
        (1.0, ["exposureMode", "exposureTime"])
    assert second["detail"]["settings"]["exposureMode"] == "manual"


def test_the_selection_values_are_set_on_the_device_and_read_back():
    """The settings say what the source reported: a value the device cannot take exactly
    comes back as what it took, and the pixels show it from the first frame."""
    track = track_on(camera(), settings={"brightness": 300.4, "zoom": 200})
    frames = run(track)
    assert track.settings["brightness"] == 255 and track.settings["zoom"] == 200
    assert np.array_equal(frames[0].data, scene({"brightness": 255, "zoom": 200},
                                                 frames[0].index))


class NoControls(SourceThread):
    """A source that cannot set controls (a file, say): it reports none."""

    def run(self):
        self.track.source_finished()


def test_a_source_without_controls_reports_none_and_the_settings_say_so():
    track = track_on(camera(), source=NoControls)
    open_controls(track)
    assert not set(CONTROLS) & set(track.settings)
    assert track.settings["width"] == W


class Clamping(NoControls):
    """A driver that takes at most 150 for any brightness asked (what a real one may do)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = []

    def apply_controls(self, values):
        self.asked.append(values)
        return {k: min(v, 150) if k == "brightness" else v for k, v in values.items()}


def test_a_required_control_the_device_does_not_take_fails_the_start():
    track = track_on(camera(), {"brightness": {"exact": 200}}, settings={"brightness": 200},
                     source=Clamping)
    with pytest.raises(OverconstrainedError) as error:
        open_controls(track)
    assert error.value.constraint == "brightness"
    assert "150" in error.value.message


def test_reapply_sets_only_the_controls_the_constraints_give_a_value_to():
    """A control nobody asks about keeps its current value (here one a fault changed), and
    `{"zoom": true}` asks for a camera with zoom, not for a zoom value."""
    track = track_on(camera(), source=Clamping)
    track.settings["zoom"] = 250
    new = parse_track_constraints({"brightness": 100, "zoom": True}, "video")
    selected = {**track.settings, "brightness": 100, "zoom": 100}  # the selection's values
    settings = reapply_controls(track, selected, new)
    assert track.source.asked == [{"brightness": 100}]
    assert settings["brightness"] == 100 and settings["zoom"] == 250


def test_reapply_keeps_a_live_value_the_new_bounds_allow():
    """applyConstraints selects from the live values: brightness 200 (set by another program
    since the start) meets a new max of 250 and stays, where the value listed at start (128)
    would have been set again, unreported."""
    track = track_on(camera())
    track.settings["brightness"] = 200
    new = parse_track_constraints({"brightness": {"max": 250}}, "video")
    selection = select_settings(new, [live_device(track)], "video")
    settings = reapply_controls(track, selection.settings, new)
    assert settings["brightness"] == 200
    assert track.device.controls["brightness"].value == 128  # the listing is not changed


def test_reapply_missing_a_required_control_restores_the_old_values():
    track = track_on(camera(), source=Clamping)
    new = parse_track_constraints({"brightness": {"min": 180}}, "video")
    with pytest.raises(OverconstrainedError) as error:
        reapply_controls(track, {**track.settings, "brightness": 180}, new)
    assert error.value.constraint == "brightness"
    assert track.source.asked == [{"brightness": 180}, {"brightness": 128}]
    assert track.settings["brightness"] == 128


def test_controls_changed_ignores_no_change_other_names_and_ended_tracks():
    track = track_on(camera())
    open_controls(track)
    track.controls_changed({"brightness": 128, "hue": 3}, at=0.2)
    assert changes(track) == []
    track.controls_changed({"brightness": 129}, at=0.3)
    assert [e["detail"]["changed"] for e in changes(track)] == [["brightness"]]
    track.stop()
    track.controls_changed({"brightness": 10}, at=0.4)
    assert len(changes(track)) == 1


def test_a_change_that_leaves_a_required_range_is_overconstrained_too():
    track = track_on(camera(), {"brightness": {"min": 100, "max": 150}})
    open_controls(track)
    track.controls_changed({"brightness": 140}, at=0.2)  # inside: a change only
    track.controls_changed({"brightness": 200}, at=0.5)
    events = [(e["event"], e["time"], e["detail"].get("constraint"))
              for e in track._events.history]
    assert events == [("configurationchange", 0.2, None), ("configurationchange", 0.5, None),
                      ("overconstrained", 0.5, "brightness")]
    assert track._events.history[-1]["detail"]["cause"] == "configurationchange"


def test_a_person_reads_the_new_values_of_a_configurationchange():
    track = track_on(camera())
    open_controls(track)
    track.controls_changed({"brightness": 200, "zoom": 150}, at=1.25)
    line = event_line(changes(track)[0])
    assert "configurationchange" in line and "brightness=200, zoom=150" in line
    assert "width" not in line  # the full settings are for machines (NDJSON)

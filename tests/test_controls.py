"""Camera controls (Media Capture Image): the model (settle), selection (fitness distance,
required controls, PTZ `true`, the auto/manual coupling), device files, `ms caps` and
`ms supported`. The pixels and capture-time behaviour are tested with the sources."""

from __future__ import annotations

import itertools
import json
import math
import re

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mscli.catalog import assign_ids
from mscli.constraints import member_distance, parse_stream_constraints
from mscli.controls import (
    CONTROLS,
    COUPLED_MODE,
    MANUAL,
    MODES,
    ChoiceControl,
    NumericControl,
    control_capabilities,
    settle,
)
from mscli.devices import VIDEO_INPUT, Device, Fault, VideoMode, capabilities
from mscli.errors import DeviceFileError, OverconstrainedError
from mscli.ids import IdHasher
from mscli.select import select_settings
from mscli.virtual import fake_devices, parse_device_file

HASHER = IdHasher(b"c" * 32)
VGA = VideoMode(640, 480, 30.0)
BRIGHTNESS = NumericControl(0, 255, 1, 128)
ZOOM = NumericControl(100, 400, 10, 100)
PTZ_CONTROLS = {"pan": NumericControl(-180, 180, 1, 0), "tilt": NumericControl(-90, 90, 1, 0),
                "zoom": ZOOM}


def cam(label: str, **controls) -> Device:
    return Device(VIDEO_INPUT, label, f"test:{label}", f"own:{label}", "test", modes=(VGA,),
                  controls=controls)


def pick(video, *cams: Device):
    devs = assign_ids(list(cams), HASHER)
    return select_settings(parse_stream_constraints({"video": video}).video, devs, "video")


def overconstrained(video, *cams: Device) -> OverconstrainedError:
    with pytest.raises(OverconstrainedError) as info:
        pick(video, *cams)
    return info.value


# ---------------------------------------------------------------------------------------------
# settle(): what a device takes for asked values


def test_settle_clamps_into_range_and_snaps_to_the_step():
    d = cam("A", brightness=BRIGHTNESS, zoom=ZOOM)
    assert settle(d, {"brightness": 300, "zoom": 123}) == {"brightness": 255, "zoom": 120}
    assert settle(d, {"brightness": -5, "zoom": 126}) == {"brightness": 0, "zoom": 130}


def test_settle_rounds_a_half_step_up_as_v4l2_does():
    assert ZOOM.settle(105) == 110 and ZOOM.settle(115) == 120  # not to the even step


def test_settle_never_passes_a_max_that_is_not_on_a_step():
    assert NumericControl(0, 10, 3, 0).settle(10) == 9
    assert NumericControl(0, 1, 0.1, 0).settle(0.3) == 0.3  # no 0.30000000000000004


def test_settle_leaves_out_controls_the_device_lacks():
    assert settle(cam("A", brightness=BRIGHTNESS), {"zoom": 200, "torch": True}) == {}


def test_settle_refuses_a_mode_the_device_does_not_offer():
    d = cam("A", focusMode=ChoiceControl(("continuous", "manual"), "continuous"))
    assert settle(d, {"focusMode": "single-shot"}) == {"focusMode": "continuous"}
    assert settle(d, {"focusMode": "single-shot"},
                  current={"focusMode": "manual"}) == {"focusMode": "manual"}
    assert settle(d, {"focusMode": "manual"}) == {"focusMode": "manual"}


def test_settle_keeps_torch_a_boolean():
    d = cam("A", torch=ChoiceControl((False, True), False))
    assert settle(d, {"torch": 1}) == {"torch": False}  # 1 is not true for a torch
    assert settle(d, {"torch": True}) == {"torch": True}


@pytest.mark.parametrize("absolute,mode", COUPLED_MODE.items())
def test_settle_an_absolute_value_switches_its_mode_to_manual(absolute, mode):
    d = cam("A", **{absolute: NumericControl(0, 10000, 1, 50),
                    mode: ChoiceControl(("manual", "continuous"), "continuous")})
    assert settle(d, {absolute: 70.4}) == {absolute: 70, mode: MANUAL}
    # Both asked: the absolute value wins, as Chrome sets the mode when it sets the value.
    assert settle(d, {absolute: 70, mode: "continuous"}) == {absolute: 70, mode: MANUAL}


def test_settle_an_absolute_value_cannot_apply_while_auto_cannot_be_turned_off():
    d = cam("A", exposureTime=NumericControl(1, 1000, 1, 100),
            exposureMode=ChoiceControl(("continuous",), "continuous"))
    assert settle(d, {"exposureTime": 5}) == {"exposureTime": 100}
    assert settle(d, {"exposureTime": 5}, current={"exposureTime": 300}) == \
        {"exposureTime": 300}


# ---------------------------------------------------------------------------------------------
# Selection: fitness distance, required controls


def test_settings_carry_every_control_at_its_current_value_when_unconstrained():
    chosen = pick(True, cam("A", zoom=ZOOM, brightness=BRIGHTNESS,
                            torch=ChoiceControl((False, True), False)))
    controls = {k: v for k, v in chosen.settings.items() if k in CONTROLS}
    assert list(controls.items()) == [("brightness", 128), ("zoom", 100), ("torch", False)]


def test_an_ideal_numeric_control_takes_the_value_the_device_would_settle_on():
    chosen = pick({"zoom": 123, "brightness": {"ideal": 999}}, cam("A", zoom=ZOOM,
                                                                   brightness=BRIGHTNESS))
    assert chosen.settings["zoom"] == 120 and chosen.settings["brightness"] == 255


def test_fitness_of_a_control_is_measured_on_the_settled_value():
    # A is first (the default) but zoom 123 settles to 120 there; B's step reaches 123.
    a = cam("A", zoom=ZOOM)
    b = cam("B", zoom=NumericControl(100, 400, 1, 100))
    assert pick({"zoom": 123}, a, b).device is b
    assert pick({"zoom": 120}, a, b).device is a  # both exact: the default camera


def test_a_camera_without_the_control_is_one_away_from_an_ideal():
    plain, bright = cam("Plain"), cam("Bright", brightness=BRIGHTNESS)
    assert pick({"brightness": 128}, plain, bright).device is bright
    assert pick({"brightness": 10**6}, plain, bright).device is bright  # 255: 0.99975 away
    # 0 is as far from -100 as a missing control is (1): the tie goes to the default camera.
    assert pick({"brightness": -100}, plain, bright).device is plain
    # Further than that (50 is 1.5 away): the camera without the control is nearer.
    far = cam("Far", brightness=NumericControl(50, 255, 1, 128))
    assert pick({"brightness": -100}, far, plain).device is plain


def test_a_required_control_no_camera_has_names_it():
    error = overconstrained({"iso": {"min": 100}}, cam("A", brightness=BRIGHTNESS))
    assert error.constraint == "iso"
    assert error.message == "video.iso: no video device can satisfy min 100 (no camera has iso)"


def test_a_required_value_outside_every_range_names_the_control():
    error = overconstrained({"brightness": {"exact": 300}}, cam("A", brightness=BRIGHTNESS))
    assert error.constraint == "brightness"
    assert error.message.endswith("exact 300 (cameras offer 0 to 255 in steps of 1)")


def test_a_required_range_must_hold_a_step_of_the_control():
    a = cam("A", zoom=ZOOM)
    error = overconstrained({"zoom": {"min": 101, "max": 109}}, a,
                            cam("B", zoom=NumericControl(0, 100, 0.5, 0)))
    assert error.constraint == "zoom" and error.message == (
        "video.zoom: no video device can satisfy min 101, max 109 (cameras offer 100 to 400 "
        "in steps of 10, 0 to 100 in steps of 0.5)")
    chosen = pick({"zoom": {"min": 101, "max": 119, "ideal": 100}}, a)
    assert chosen.settings["zoom"] == 110


def test_a_required_control_picks_the_camera_that_has_it_over_the_default():
    plain, ptz = cam("Plain"), cam("PTZ", **PTZ_CONTROLS)
    assert pick({"zoom": {"min": 200}}, plain, ptz).settings["zoom"] == 200
    assert pick({"advanced": [{"zoom": 300}]}, plain, ptz).device is ptz


def test_an_advanced_control_no_camera_has_is_skipped_not_fatal():
    chosen = pick({"advanced": [{"torch": True}]}, cam("A", brightness=BRIGHTNESS))
    assert "torch" not in chosen.settings


def test_a_required_mode_must_be_offered():
    a = cam("A", focusMode=ChoiceControl(("continuous",), "continuous"))
    error = overconstrained({"focusMode": {"exact": "manual"}}, a)
    assert error.constraint == "focusMode"
    assert error.message.endswith('exact "manual" (cameras offer "continuous")')
    assert pick({"focusMode": {"exact": ["manual", "continuous"]}}, a) \
        .settings["focusMode"] == "continuous"


def test_an_ideal_mode_list_takes_the_first_the_camera_offers():
    a = cam("A", whiteBalanceMode=ChoiceControl(("manual", "continuous", "single-shot"),
                                                "continuous"))
    assert pick({"whiteBalanceMode": ["none", "single-shot", "manual"]}, a) \
        .settings["whiteBalanceMode"] == "single-shot"


# PTZ: `true` means "a camera that has it" ------------------------------------------------


@pytest.mark.parametrize("name", ["pan", "tilt", "zoom"])
def test_ptz_true_prefers_a_camera_that_has_it(name):
    plain, ptz = cam("Plain"), cam("PTZ", **PTZ_CONTROLS)
    chosen = pick({name: True}, plain, ptz)
    assert chosen.device is ptz and chosen.settings[name] == PTZ_CONTROLS[name].value
    assert pick({name: False}, ptz, plain).device is plain
    assert pick(True, plain, ptz).device is plain  # no constraint: the default camera


def test_ptz_true_in_an_advanced_set_is_required():
    plain, ptz = cam("Plain"), cam("PTZ", **PTZ_CONTROLS)
    assert pick({"advanced": [{"pan": True}]}, plain, ptz).device is ptz
    assert pick({"advanced": [{"pan": False}]}, ptz, plain).device is plain
    # No camera has it: the set is skipped, the default camera chosen.
    assert pick({"advanced": [{"pan": True}]}, plain, cam("Other")).device is plain


# The auto/manual coupling -------------------------------------------------------------------


def coupled(absolute: str, mode: str, modes=("manual", "continuous")) -> Device:
    return cam("A", **{absolute: NumericControl(0, 10000, 1, 50),
                       mode: ChoiceControl(modes, "continuous")})


@pytest.mark.parametrize("absolute,mode", COUPLED_MODE.items())
def test_an_absolute_value_chosen_switches_its_mode_to_manual(absolute, mode):
    s = pick({absolute: 200}, coupled(absolute, mode)).settings
    assert (s[absolute], s[mode]) == (200, MANUAL)
    s = pick({absolute: {"min": 10}}, coupled(absolute, mode)).settings
    assert (s[absolute], s[mode]) == (50, MANUAL)  # the current value, now held manually
    s = pick(True, coupled(absolute, mode)).settings
    assert (s[absolute], s[mode]) == (50, "continuous")  # unconstrained: untouched


@pytest.mark.parametrize("absolute,mode", COUPLED_MODE.items())
def test_a_required_auto_mode_keeps_the_current_absolute_value(absolute, mode):
    s = pick({absolute: 200, mode: {"exact": "continuous"}}, coupled(absolute, mode)).settings
    assert (s[absolute], s[mode]) == (50, "continuous")


@pytest.mark.parametrize("absolute,mode", COUPLED_MODE.items())
def test_a_required_absolute_value_and_a_required_auto_mode_fail_together(absolute, mode):
    device = coupled(absolute, mode)
    error = overconstrained({absolute: {"exact": 200}, mode: {"exact": "continuous"}}, device)
    assert error.constraint == ""  # each alone can be met
    assert absolute in error.message and mode in error.message
    # Unless the current value already meets it: then auto may stay on.
    s = pick({absolute: {"exact": 50}, mode: {"exact": "continuous"}}, device).settings
    assert (s[absolute], s[mode]) == (50, "continuous")


def test_coupling_weighs_the_ideal_mode_against_the_ideal_value():
    device = coupled("focusDistance", "focusMode")
    # A numeric distance is below 1 and a mode mismatch is 1: an ideal auto mode keeps auto.
    s = pick({"focusDistance": 5000, "focusMode": "continuous"}, device).settings
    assert (s["focusDistance"], s["focusMode"]) == (50, "continuous")
    # A mode the camera lacks is 1 away either way: the value decides, and applies.
    s = pick({"focusDistance": 5000, "focusMode": "single-shot"}, device).settings
    assert (s["focusDistance"], s["focusMode"]) == (5000, MANUAL)


def test_an_absolute_value_without_a_manual_mode_cannot_be_required():
    device = coupled("exposureTime", "exposureMode", modes=("continuous",))
    assert overconstrained({"exposureTime": {"exact": 200}}, device).constraint == \
        "exposureTime"
    s = pick({"exposureTime": 200}, device).settings  # an ideal: kept at the current value
    assert (s["exposureTime"], s["exposureMode"]) == (50, "continuous")


def test_the_chosen_values_are_what_settle_gives_for_them():
    """Selection and the device model agree: settle() of the chosen values changes none."""
    device = coupled("exposureTime", "exposureMode")
    device.controls.update(zoom=ZOOM, brightness=BRIGHTNESS)
    s = pick({"exposureTime": 321.7, "zoom": 257, "brightness": {"max": 99}}, device).settings
    asked = {k: s[k] for k in ("exposureTime", "zoom", "brightness")}
    assert {**asked, **settle(device, asked)} == {**asked, "exposureMode": s["exposureMode"]}
    assert s["exposureMode"] == MANUAL and s["zoom"] == 260 and s["brightness"] == 99


# Against brute force ------------------------------------------------------------------------


SMALL_NUMERIC = st.builds(lambda lo, n, step, k: NumericControl(lo, lo + n * step, step,
                                                               lo + min(k, n) * step),
                          st.integers(-3, 3), st.integers(0, 4), st.sampled_from((1, 2, 5)),
                          st.integers(0, 4))


@st.composite
def small_choice(draw, options):
    values = tuple(draw(st.lists(st.sampled_from(options), min_size=1, max_size=3,
                                 unique=True)))
    return ChoiceControl(values, draw(st.sampled_from(values)))


NAMES = ("brightness", "zoom", "exposureTime", "exposureMode", "focusMode", "torch")


@st.composite
def small_cameras(draw):
    out = []
    for i in range(draw(st.integers(1, 3))):
        controls = {}
        for name in draw(st.lists(st.sampled_from(NAMES), unique=True)):
            if name in ("brightness", "zoom", "exposureTime"):
                controls[name] = draw(SMALL_NUMERIC)
            elif name == "torch":
                controls[name] = draw(small_choice((False, True)))
            else:
                controls[name] = draw(small_choice(MODES))
        out.append(cam(f"c{i}", **controls))
    return out


@st.composite
def control_member(draw, name):
    if draw(st.integers(0, 5)) == 0 and name in ("brightness", "zoom"):
        return draw(st.booleans())  # the existence form
    if name == "torch":
        value = st.booleans()
    elif name in ("exposureMode", "focusMode"):
        value = st.sampled_from(MODES)
    else:
        value = st.integers(-8, 24)
    form = draw(st.sampled_from(("ideal", "exact", "min", "max") if name not in
                                ("torch", "exposureMode", "focusMode") else ("ideal", "exact")))
    return {form: draw(value)}


def grid(c: NumericControl) -> list:
    return [c.min + i * c.step for i in range(int((c.max - c.min) / c.step) + 1)]


def taken(c: NumericControl, member) -> list:
    """The value a numeric control takes (as a list: none when the required range holds no
    step): the step nearest the ideal, else the current value, inside the required range;
    a half step up. The fitness distance is then measured on it (settle() of the ideal, as
    Chromium clamps an ideal, not the step of smallest relative distance)."""
    lo, hi = -math.inf, math.inf
    target = c.value
    if isinstance(member, dict):
        form, v = next(iter(member.items()))
        lo = v if form in ("exact", "min") else lo
        hi = v if form in ("exact", "max") else hi
        target = v if form == "ideal" else target
    inside = [g for g in grid(c) if lo <= g <= hi]
    return [min(inside, key=lambda g: (abs(g - target), -g))] if inside else []


def reachable(device, video: dict):
    """Every control state SelectSettings may give the device: numeric controls at the value
    they take, modes and torch at any of their values, except that an applied exposureTime
    (one asked for) holds exposureMode at manual, and an unapplied one keeps its value."""
    axes = []
    for name, c in device.controls.items():
        if name in ("exposureTime", "exposureMode"):
            continue
        values = c.values if isinstance(c, ChoiceControl) else taken(c, video.get(name))
        axes.append([{name: v} for v in values])
    t, m = device.controls.get("exposureTime"), device.controls.get("exposureMode")
    member = video.get("exposureTime")
    if t:
        applied = [{"exposureTime": v} for v in taken(t, member)]
        if m:  # applied only when asked for, and then with the mode at manual
            asked = isinstance(member, dict)
            applied = [dict(a, exposureMode=MANUAL) for a in applied
                       if asked and MANUAL in m.values]
            applied += [{"exposureTime": t.value, "exposureMode": v} for v in m.values]
        axes.append(applied)
    elif m:
        axes.append([{"exposureMode": v} for v in m.values])
    for combo in itertools.product(*axes):
        yield {k: v for part in combo for k, v in part.items()}


@settings(max_examples=150, deadline=None)
@given(small_cameras(), st.data())
def test_property_control_choice_is_the_nearest_reachable_state(cams, data):
    """The chosen camera's control values are a state it can reach with the smallest
    control distance any camera's reachable states have (brute force), and a failure
    means that no camera can meet the required members."""
    names = data.draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    video = {name: data.draw(control_member(name)) for name in names}
    basic = parse_stream_constraints({"video": video}).video.basic

    def distance(state):
        return sum(member_distance(c, state.get(n), "video") for n, c in basic.items())

    best = min((distance(s) for d in cams for s in reachable(d, video)), default=math.inf)
    try:
        chosen = pick(video, *cams)
    except OverconstrainedError:
        assert math.isinf(best), (video, best)
        return
    state = {k: v for k, v in chosen.settings.items() if k in CONTROLS}
    assert state in list(reachable(chosen.device, video)), (video, state)
    assert distance(state) == pytest.approx(best), (video, state)


# ---------------------------------------------------------------------------------------------
# Device files


CONTRACT_CAMERA = {
    "kind": "videoinput", "label": "PTZ Camera",
    "controls": {"brightness": {"min": 0, "max": 255, "step": 1, "value": 128},
                 "zoom": {"min": 100, "max": 400, "step": 10, "value": 100},
                 "pan": {"min": -180, "max": 180, "step": 1, "value": 0},
                 "exposureMode": {"values": ["manual", "continuous"], "value": "continuous"},
                 "torch": {"values": [False, True], "value": False}}}


def parse(*entries) -> list[Device]:
    return parse_device_file({"devices": list(entries)}, base=None)


def test_device_file_controls_in_the_contract_shape():
    device, = parse(CONTRACT_CAMERA)
    assert device.controls == {
        "brightness": NumericControl(0, 255, 1, 128), "zoom": NumericControl(100, 400, 10, 100),
        "pan": NumericControl(-180, 180, 1, 0),
        "exposureMode": ChoiceControl(("manual", "continuous"), "continuous"),
        "torch": ChoiceControl((False, True), False)}


def test_device_file_control_fault():
    camera = dict(CONTRACT_CAMERA, faults=[
        {"at": 2, "event": "control", "name": "brightness", "value": 200},
        {"at": 1, "event": "control", "name": "exposureMode", "value": "manual"}])
    device, = parse(camera)
    assert device.faults == (Fault(1.0, "control", None, "manual", "exposureMode"),
                             Fault(2.0, "control", None, 200, "brightness"))


def with_controls(controls: dict, faults=None) -> dict:
    entry = {"kind": "videoinput", "controls": controls}
    if faults is not None:
        entry["faults"] = faults
    return entry


NUMERIC = {"min": 0, "max": 255, "step": 1, "value": 128}
BAD_DEVICE_FILES = [
    (with_controls({"brightnes": NUMERIC}),
     r"devices\[0\]\.controls\.brightnes: unknown key \(did you mean 'brightness'\?\)"),
    (with_controls({"hue": NUMERIC}), r"controls\.hue: unknown key \(allowed: brightness, "),
    (with_controls({"zoom": dict(NUMERIC, min=300)}),
     r"controls\.zoom: min 300 is larger than max 255"),
    (with_controls({"zoom": dict(NUMERIC, value=256)}),
     r"controls\.zoom\.value: 256 is outside the control's range 0 to 255"),
    (with_controls({"zoom": {"min": 100, "max": 400, "step": 10, "value": 105}}),
     r"controls\.zoom\.value: 105 is not on a step of 10 from 100 \(the nearest is 110\)"),
    (with_controls({"zoom": dict(NUMERIC, step=0)}),
     r"controls\.zoom\.step: expected a number > 0, got 0"),
    (with_controls({"brightness": {"min": -1e9, "max": 1e9, "step": 1e-300, "value": 0}}),
     r"controls\.brightness\.step: 1e-300 is too small for -1e\+09 to 1e\+09: "
     r"at most 1e\+12 steps"),
    (with_controls({"zoom": {"min": 0, "max": 9, "value": 1}}), r"controls\.zoom: missing 'step'"),
    (with_controls({"pan": dict(NUMERIC, min="0")}), r"controls\.pan\.min: expected a number"),
    (with_controls({"pan": dict(NUMERIC, max=1e300)}), r"controls\.pan\.max: expected a number"),
    (with_controls({"focusMode": {"values": [], "value": "manual"}}),
     r"controls\.focusMode\.values: expected a non-empty list"),
    (with_controls({"focusMode": {"values": ["auto"], "value": "auto"}}),
     r"controls\.focusMode\.values\[0\]: expected one of none, manual, single-shot, continuous"),
    (with_controls({"focusMode": {"values": ["manual"], "value": "continuous"}}),
     r'controls\.focusMode\.value: "continuous" is not one of the control\'s values'),
    (with_controls({"torch": {"values": [0, 1], "value": 0}}),
     r"controls\.torch\.values\[0\]: expected true or false, got 0"),
    (with_controls({"torch": {"values": [False], "value": False, "default": False}}),
     r"controls\.torch\.default: unknown key"),
    (with_controls([]), r"devices\[0\]\.controls: expected an object"),
    ({"kind": "audioinput", "controls": {}}, r"devices\[0\]\.controls: unknown key"),
    (with_controls({"zoom": NUMERIC}, [{"at": 1, "event": "control", "name": "zom",
                                        "value": 3}]),
     r"faults\[0\]\.name: expected a control of this camera's controls \(declared: zoom\), "
     r"got \"zom\" \(did you mean 'zoom'\?\)"),
    (with_controls({"zoom": NUMERIC}, [{"at": 1, "event": "control", "value": 3}]),
     r"faults\[0\]\.name: expected a control .* got null"),
    (with_controls({"zoom": NUMERIC}, [{"at": 1, "event": "control", "name": "zoom"}]),
     r"faults\[0\]\.value: a control fault needs the new value of the control"),
    (with_controls({"zoom": NUMERIC}, [{"at": 1, "event": "control", "name": "zoom",
                                        "value": 999}]),
     r"faults\[0\]\.value: 999 is outside the control's range 0 to 255"),
    (with_controls({"zoom": NUMERIC}, [{"at": 1, "event": "mute", "name": "zoom"}]),
     r"faults\[0\]\.name: only a control fault names a control"),
    ({"kind": "audioinput", "faults": [{"at": 1, "event": "control", "name": "zoom",
                                         "value": 1}]},
     r"faults\[0\]\.event: a audioinput fault is one of mute, end, disconnect, silence, "
     r"clip, got"),
]


@pytest.mark.parametrize("entry,message", BAD_DEVICE_FILES)
def test_device_file_control_mistakes_name_the_json_path(entry, message):
    with pytest.raises(DeviceFileError, match=f"^{message}" if message.startswith("devices")
                       else message):
        parse(entry)


def test_device_file_error_is_one_line_and_exit_2(ms, tmp_path):
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [BAD_DEVICE_FILES[4][0]]}))
    result = ms("devices", "--devices", str(path))
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "ms: DeviceFileError: devices[0].controls.zoom.value: 105 is not on a step of 10 "
        "from 100 (the nearest is 110)"]


def test_schema_describes_controls_and_control_faults():
    from mscli.schema import devices_schema

    validator = jsonschema.Draft202012Validator(devices_schema())
    good = dict(CONTRACT_CAMERA, faults=[{"at": 2, "event": "control", "name": "brightness",
                                          "value": 200}])
    assert not list(validator.iter_errors({"devices": [good]}))
    for bad in (with_controls({"brightnes": NUMERIC}), with_controls({"zoom": {"min": 0}}),
                with_controls({"torch": {"values": [0], "value": 0}}),
                with_controls({"focusMode": {"values": ["auto"], "value": "auto"}}),
                with_controls({}, [{"at": 1, "event": "control", "value": 3}]),
                with_controls({}, [{"at": 1, "event": "control", "name": "hue", "value": 3}])):
        assert list(validator.iter_errors({"devices": [bad]})), bad


# ---------------------------------------------------------------------------------------------
# Capabilities, `ms caps`, `ms supported`


def test_capabilities_in_the_spec_shapes():
    device, = assign_ids(parse(CONTRACT_CAMERA), HASHER)
    caps = capabilities(device)
    assert {k: caps[k] for k in CONTRACT_CAMERA["controls"]} == {
        "brightness": {"min": 0, "max": 255, "step": 1},
        "zoom": {"min": 100, "max": 400, "step": 10},
        "pan": {"min": -180, "max": 180, "step": 1},
        "exposureMode": ["manual", "continuous"], "torch": [False, True]}
    # Controls come after the size and rate capabilities, in the spec's order.
    assert list(caps)[-5:] == ["brightness", "pan", "zoom", "exposureMode", "torch"]


def test_the_fake_camera_has_vivid_picture_controls():
    camera = next(d for d in fake_devices() if d.kind == VIDEO_INPUT)
    assert control_capabilities(camera.controls) == {
        name: {"min": 0, "max": 255, "step": 1} for name in ("brightness", "contrast",
                                                           "saturation")}
    assert {c.value for c in camera.controls.values()} == {128}


def test_caps_json_of_a_camera_with_controls(ms, tmp_path):
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [CONTRACT_CAMERA]}))
    caps = ms("caps", "index:0", "--devices", str(path), "--json").json()
    assert caps["zoom"] == {"min": 100, "max": 400, "step": 10}
    assert caps["exposureMode"] == ["manual", "continuous"] and caps["torch"] == [False, True]
    settings = ms("resolve", "--devices", str(path), "--json", "-c",
                  '{"video": {"zoom": 250, "pan": true}}').json()["tracks"][0]["settings"]
    assert (settings["zoom"], settings["pan"], settings["brightness"]) == (250, 0, 128)


def test_caps_table_shows_controls_after_sizes_with_their_current_value(capsys):
    from mscli import render

    caps = {"width": {"min": 1, "max": 640}, "resizeMode": ["none", "crop-and-scale"],
            "zoom": {"min": 100, "max": 400, "step": 10}, "torch": [False, True],
            "focusMode": ["manual", "continuous"]}
    render.caps_tables([{"kind": "videoinput", "label": "Cam", "capabilities": caps}],
                       [{"zoom": 200, "torch": False, "focusMode": "continuous"}])
    lines = capsys.readouterr().out.splitlines()
    rows = [[c.strip() for c in line.strip("│ ").split("│")] for line in lines
            if line.startswith("│")]
    assert rows == [["width", "1 – 640"], ["resizeMode", "none, crop-and-scale"],
                    ["zoom", "100 – 400, step 10; now 200"], ["torch", "false, true; now false"],
                    ["focusMode", "manual, continuous; now continuous"]]
    # A rule between the sizes and the controls.
    rule = next(i for i, line in enumerate(lines) if line.startswith("├"))
    assert "resizeMode" in lines[rule - 1] and "zoom" in lines[rule + 1]


def test_supported_lists_every_control(ms):
    names = ms("supported", "--json").json()
    assert set(CONTROLS) <= set(names)


@pytest.mark.parametrize("name", CONTROLS)
def test_each_control_is_a_video_constraint(name):
    value = {"torch": True}.get(name, "manual" if name.endswith("Mode") else 1.5)
    parsed = parse_stream_constraints({"video": {name: value}, "audio": {name: value}})
    assert name in parsed.video.basic and parsed.warnings == [
        f"audio.{name}: applies to video tracks only; ignored"]


def test_readme_device_file_example_with_controls_parses_and_validates():
    from conftest import REPO
    from mscli.schema import devices_schema

    blocks = re.findall(r"```json\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    cameras = [json.loads(b) for b in blocks if '"controls"' in b]
    assert cameras
    for camera in cameras:
        device, = parse(camera)
        assert device.controls and any(f.event == "control" for f in device.faults)
        errors = jsonschema.Draft202012Validator(devices_schema()).iter_errors(
            {"devices": [camera]})
        assert not list(errors)

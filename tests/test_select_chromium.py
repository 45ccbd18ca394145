"""Chromium's own video-device selection tests, ported: the same cameras, the same picks.

Each test is named after the TEST_F of blink's media_stream_constraints_util_video_device_test.cc
(MediaStreamConstraintsUtilVideoDeviceTest) it ports and asserts what that case asserts, in
ms's terms: Chromium's result.Format() is the Selection's `mode`; its track adapter's target
size is the settings' width and height with resizeMode "crop-and-scale", and no target size
is resizeMode "none" at the native size; its FrameRate() is the mode's rate and the adapter's
max_frame_rate caps the settings' frameRate. A few cases also say which device or mode the
distance vector leads to where Chromium's comment names it.

The fixture is that file's first three cameras, with their modes in their order. Its fourth
(a depth camera whose one mode, 640x480 at 30 fps, the low-res camera has earlier, so it wins
no pick) and fifth (modes of 0 and 0.1 fps, below ms's floor of 0.001 fps for a device) are
left out, as are the cases on googNoiseReduction, which ms does not have, and on pan, tilt
and zoom (camera controls: their own tests).
"""

from __future__ import annotations

import pytest

from mscli.catalog import assign_ids
from mscli.constraints import parse_track_constraints
from mscli.devices import VIDEO_INPUT, Device, VideoMode
from mscli.errors import NotFoundError, OverconstrainedError
from mscli.ids import IdHasher
from mscli.select import select_settings


def camera(label: str, facing: str | None, *modes) -> Device:
    return Device(VIDEO_INPUT, label, f"test:{label}", f"group:{label}", "test",
                  facing_mode=facing,
                  modes=tuple(VideoMode(w, h, float(f)) for w, h, f in modes))


# MediaStreamConstraintsUtilVideoDeviceTest::SetUp, in enumeration order.
DEFAULT, LOW_RES, HIGH_RES = CAMERAS = assign_ids([
    camera("default", None, (200, 200, 40), (500, 500, 40), (1000, 1000, 20)),
    camera("low-res", "environment", (40, 30, 20), (320, 240, 30), (640, 480, 30),
           (800, 600, 20)),
    camera("high-res", "user", (600, 400, 10), (640, 480, 10), (480, 640, 30), (640, 480, 30),
           (1280, 720, 60), (1920, 1080, 60), (2304, 1536, 10)),
], IdHasher(b"x" * 32))
DEFAULT_CLOSEST = (500, 500, 40)  # default_closest_format_
LOW_RES_CLOSEST = (640, 480, 30)  # low_res_closest_format_
HIGH_RES_CLOSEST = (640, 480, 30)  # high_res_closest_format_ (the 4th: not the 640x480 @ 10)
HIGH_RES_HIGHEST = (2304, 1536, 10)  # high_res_highest_format_


def select(constraints: dict, devices=CAMERAS):
    return select_settings(parse_track_constraints(constraints, "video"), devices, "video")


def mode(selection) -> tuple:
    m = selection.mode
    return m.width, m.height, m.frame_rate


def size(selection) -> tuple:
    return selection.settings["width"], selection.settings["height"]


def is_native(selection) -> bool:
    """Chromium's "no target size": the mode's own size, not rescaled."""
    return (selection.settings["resizeMode"] == "none"
            and size(selection) == mode(selection)[:2])


def is_rescaled_to(selection, width: int, height: int) -> bool:
    return selection.settings["resizeMode"] == "crop-and-scale" and size(selection) == \
        (width, height)


def assert_pick(selection, device: Device, native: tuple, rescaled: tuple | None = None,
                frame_rate: float | None = None):
    """The device and native mode opened, the size delivered (None: the native size, not
    rescaled), and the frame rate delivered (None: the mode's)."""
    assert selection.device is device, (selection.device.label, device.label)
    assert mode(selection) == native
    if rescaled is None:
        assert is_native(selection), selection.settings
    else:
        assert is_rescaled_to(selection, *rescaled), selection.settings
    assert selection.settings["frameRate"] == (native[2] if frame_rate is None else frame_rate)


def failure(constraints: dict, devices=CAMERAS) -> OverconstrainedError:
    with pytest.raises(OverconstrainedError) as info:
        select(constraints, devices)
    return info.value


# ---------------------------------------------------------------------------------------------
# Unconstrained and Overconstrained*


def test_unconstrained():
    assert_pick(select({}), DEFAULT, DEFAULT_CLOSEST)


@pytest.mark.parametrize("name, member", [
    ("deviceId", {"exact": "NONEXISTING"}),  # OverconstrainedOnDeviceID
    ("groupId", {"exact": "NONEXISTING"}),  # OverconstrainedOnGroupID
    ("facingMode", {"exact": "left"}),  # OverconstrainedOnFacingMode
    ("facingMode", {"exact": ""}),  # OverconstrainedOnEmptyFacingMode
    ("resizeMode", {"exact": "invalid"}),  # OverconstrainedOnInvalidResizeMode
    ("resizeMode", {"exact": ""}),  # OverconstrainedOnEmptyResizeMode
    ("height", {"exact": 123467890}), ("height", {"min": 123467890}),  # OverconstrainedOnHeight
    ("height", {"max": 0}),
    ("width", {"exact": 123467890}), ("width", {"min": 123467890}),  # OverconstrainedOnWidth
    ("width", {"max": 0}),
    ("aspectRatio", {"exact": 123467890.0}),  # OverconstrainedOnAspectRatio
    ("aspectRatio", {"min": 123467890.0}), ("aspectRatio", {"max": 0.00001}),
    ("frameRate", {"exact": 123467890.0}),  # OverconstrainedOnFrameRate
    ("frameRate", {"min": 123467890.0}), ("frameRate", {"max": 0.0}),
])
def test_overconstrained_on_one_constraint(name, member):
    assert failure({name: member}).constraint == name


# ---------------------------------------------------------------------------------------------
# Mandatory* and Ideal*: one constraint of the basic set


def test_mandatory_device_id():
    for device, closest in ((DEFAULT, DEFAULT_CLOSEST), (LOW_RES, LOW_RES_CLOSEST),
                            (HIGH_RES, HIGH_RES_CLOSEST)):
        assert_pick(select({"deviceId": {"exact": device.device_id}}), device, closest)


def test_mandatory_group_id():
    for device, closest in ((DEFAULT, DEFAULT_CLOSEST), (LOW_RES, LOW_RES_CLOSEST),
                            (HIGH_RES, HIGH_RES_CLOSEST)):
        assert_pick(select({"groupId": {"exact": device.group_id}}), device, closest)


def test_mandatory_facing_mode():
    assert_pick(select({"facingMode": {"exact": "environment"}}), LOW_RES, LOW_RES_CLOSEST)
    assert_pick(select({"facingMode": {"exact": "user"}}), HIGH_RES, HIGH_RES_CLOSEST)


def test_mandatory_exact_height():
    # The first camera with the height natively; then only the highest mode, rescaled
    # keeping its aspect ratio: round(1500 * 1.5).
    chosen = select({"height": {"exact": 480}})
    assert chosen.device is LOW_RES and size(chosen) == (640, 480) and is_native(chosen)
    assert_pick(select({"height": {"exact": 1500}}), HIGH_RES, HIGH_RES_HIGHEST, (2250, 1500))


def test_mandatory_min_height():
    # A minimum alone costs no native fitness: the default camera, its mode nearest 640x480.
    assert_pick(select({"height": {"min": 480}}), DEFAULT, DEFAULT_CLOSEST)
    assert_pick(select({"height": {"min": 1500}}), HIGH_RES, HIGH_RES_HIGHEST)


def test_mandatory_max_height():
    # The mode exceeding the maximum by the least, cropped keeping its aspect ratio:
    # 20 * 4/3 = 26.67, rounded to 27 (even rounding gave 26).
    assert_pick(select({"height": {"max": 20}}), LOW_RES, (40, 30, 20), (27, 20))


@pytest.mark.parametrize("low, high, device, native", [
    (480, 720, DEFAULT, DEFAULT_CLOSEST),
    (550, 650, LOW_RES, (800, 600, 20)),
    (700, 800, HIGH_RES, (1280, 720, 60)),
])
def test_mandatory_height_range(low, high, device, native):
    assert_pick(select({"height": {"min": low, "max": high}}), device, native)


@pytest.mark.parametrize("ideal, device, native, rescaled", [
    (480, LOW_RES, LOW_RES_CLOSEST, None),
    # Cropping the default camera's 500x500 to 481 costs less than a native 480 elsewhere.
    (481, DEFAULT, DEFAULT_CLOSEST, (481, 481)),
    # 1920x1080 is nearer natively than 2304x1536; 1079 * 16/9 = 1918.2 (even: 1918x1080).
    (1079, HIGH_RES, (1920, 1080, 60), (1918, 1079)),
    (1200, HIGH_RES, HIGH_RES_HIGHEST, (1800, 1200)),
])
def test_ideal_height(ideal, device, native, rescaled):
    assert_pick(select({"height": {"ideal": ideal}}), device, native, rescaled)


def test_mandatory_exact_width():
    chosen = select({"width": {"exact": 640}})
    assert chosen.device is LOW_RES and size(chosen) == (640, 480) and is_native(chosen)
    # round(2000 / 1.5) = 1333
    assert_pick(select({"width": {"exact": 2000}}), HIGH_RES, HIGH_RES_HIGHEST, (2000, 1333))


def test_mandatory_min_width():
    assert_pick(select({"width": {"min": 640}}), DEFAULT, (1000, 1000, 20))
    assert_pick(select({"width": {"min": 2000}}), HIGH_RES, HIGH_RES_HIGHEST)


def test_mandatory_max_width():
    # 30 / (4/3) = 22.5: std::round takes halves up, to 23 (Python's round() gives 22).
    assert_pick(select({"width": {"max": 30}}), LOW_RES, (40, 30, 20), (30, 23))


@pytest.mark.parametrize("low, high, device, native", [
    (640, 1280, DEFAULT, (1000, 1000, 20)),
    (750, 850, LOW_RES, (800, 600, 20)),
    (1900, 2000, HIGH_RES, (1920, 1080, 60)),
])
def test_mandatory_width_range(low, high, device, native):
    assert_pick(select({"width": {"min": low, "max": high}}), device, native)


@pytest.mark.parametrize("ideal, device, native, rescaled", [
    (320, LOW_RES, (320, 240, 30), None),
    # The high-res camera's 480x640 crops to 321 for less than 500 or a native 320 would:
    # 321 / 0.75 = 428.
    (321, HIGH_RES, (480, 640, 30), (321, 428)),
    (2000, HIGH_RES, HIGH_RES_HIGHEST, (2000, 1333)),
    (3000, HIGH_RES, HIGH_RES_HIGHEST, None),
])
def test_ideal_width(ideal, device, native, rescaled):
    assert_pick(select({"width": {"ideal": ideal}}), device, native, rescaled)


def test_mandatory_exact_frame_rate():
    chosen = select({"frameRate": {"exact": 30}})
    assert chosen.device is LOW_RES and mode(chosen) == (640, 480, 30)
    assert chosen.settings["frameRate"] == 30 and is_native(chosen)
    # The cheapest mode reaching 50 fps, decimated.
    assert_pick(select({"frameRate": {"exact": 50}}), HIGH_RES, (1280, 720, 60), None, 50)


def test_mandatory_min_frame_rate():
    assert_pick(select({"frameRate": {"min": 30}}), DEFAULT, DEFAULT_CLOSEST)
    chosen = select({"frameRate": {"min": 50}})
    assert chosen.device is HIGH_RES and size(chosen) == (1280, 720)
    assert chosen.settings["frameRate"] >= 50 and is_native(chosen)
    # Below the lowest rate a camera can have: ignored.
    assert_pick(select({"frameRate": {"min": -0.01}}), DEFAULT, DEFAULT_CLOSEST)
    assert select({"frameRate": {"min": 0.0}}).device is DEFAULT


def test_mandatory_max_frame_rate():
    # The mode exceeding the maximum by the least: natively 10 fps, at 640x480.
    chosen = select({"frameRate": {"max": 10}})
    assert chosen.device is HIGH_RES and chosen.settings["frameRate"] == 10
    assert size(chosen) == (640, 480) and is_native(chosen)
    # Above any mode's rate: the default pick.
    assert_pick(select({"frameRate": {"max": 1000.1}}), DEFAULT, DEFAULT_CLOSEST)
    for top in (1.0, 1000.0):
        assert select({"frameRate": {"max": top}}).settings["frameRate"] <= top


@pytest.mark.parametrize("low, high, device, native, frame_rate", [
    (10, 40, DEFAULT, DEFAULT_CLOSEST, None),
    # The native 30 fps mode wins over decimating the default camera's 40 fps to 35: the
    # native fitness measures from min(max, native), which a 30 fps mode meets.
    (25, 35, LOW_RES, LOW_RES_CLOSEST, None),
    (50, 70, HIGH_RES, (1280, 720, 60), None),
])
def test_mandatory_frame_rate_range(low, high, device, native, frame_rate):
    chosen = select({"frameRate": {"min": low, "max": high}})
    assert_pick(chosen, device, native, None, frame_rate)
    assert low <= chosen.settings["frameRate"] <= high


@pytest.mark.parametrize("ideal, device, native, frame_rate", [
    (30, LOW_RES, LOW_RES_CLOSEST, None),
    # 40 decimated to 31 costs less than a native 30.
    (31, DEFAULT, DEFAULT_CLOSEST, 31),
    (55, HIGH_RES, (1280, 720, 60), 55),
    (100, HIGH_RES, (1280, 720, 60), None),
])
def test_ideal_frame_rate(ideal, device, native, frame_rate):
    assert_pick(select({"frameRate": {"ideal": ideal}}), device, native, None, frame_rate)


def test_mandatory_exact_aspect_ratio():
    # The default camera crops its 500x500 to 4:3 rather than another camera opening a
    # native 640x480: enumeration order comes before "native over rescaled".
    assert_pick(select({"aspectRatio": {"exact": 4 / 3}}), DEFAULT, DEFAULT_CLOSEST,
                (500, 375))
    assert_pick(select({"aspectRatio": {"exact": 4 / 3}, "height": {"max": 500},
                        "width": {"min": 500, "max": 1000}}), DEFAULT, DEFAULT_CLOSEST,
                (500, 375))
    assert_pick(select({"aspectRatio": {"exact": 4 / 3}, "height": {"min": 480, "max": 500},
                        "width": {"min": 500, "max": 1000}}), LOW_RES, LOW_RES_CLOSEST)


def test_mandatory_min_aspect_ratio():
    assert_pick(select({"aspectRatio": {"min": 4 / 3}}), DEFAULT, DEFAULT_CLOSEST, (500, 375))
    assert_pick(select({"aspectRatio": {"min": 4 / 3}, "width": {"min": 500, "max": 1000},
                        "height": {"min": 480, "max": 500}}), LOW_RES, LOW_RES_CLOSEST)


def test_mandatory_max_aspect_ratio():
    assert_pick(select({"aspectRatio": {"max": 0.5}}), DEFAULT, DEFAULT_CLOSEST, (250, 500))
    # 1280x720 cropped to 360x720 costs less than the default camera's 1000x1000.
    assert_pick(select({"aspectRatio": {"max": 0.5}, "width": {"exact": 360},
                        "height": {"min": 360, "max": 720}}), HIGH_RES, (1280, 720, 60),
                (360, 720))


def test_mandatory_aspect_ratio_range():
    assert_pick(select({"aspectRatio": {"min": 0.5, "max": 1.0}}), DEFAULT, DEFAULT_CLOSEST)
    # Cropped to the minimum ratio: round(1920 / 3) = 640.
    assert_pick(select({"aspectRatio": {"min": 3.0, "max": 4.0}, "height": {"min": 600}}),
                HIGH_RES, (1920, 1080, 60), (1920, 640))


@pytest.mark.parametrize("constraints, device, native, rescaled", [
    ({"aspectRatio": 0.5}, DEFAULT, DEFAULT_CLOSEST, (250, 500)),
    # Chromium's geometry, then rounding: 1920x1080 would crop to 1920 x 1.28, which rounds
    # to 1920x1 (ratio 1920); 1280x720's 1280x1 is nearer 1500, so it wins.
    ({"aspectRatio": 1500.0}, HIGH_RES, (1280, 720, 60), (1280, 1)),
    # 2304x1536 would give 2304 x 1.15, rounded to 2304x1: 1920x1 is nearer 2000.
    ({"aspectRatio": 2000.0}, HIGH_RES, (1920, 1080, 60), (1920, 1)),
    ({"aspectRatio": 4000.0}, HIGH_RES, HIGH_RES_HIGHEST, (2304, 1)),
    ({"aspectRatio": 2.0, "height": {"exact": 400}}, LOW_RES, (800, 600, 20), (800, 400)),
    ({"aspectRatio": 3.0, "height": {"exact": 400}}, HIGH_RES, (1280, 720, 60), (1200, 400)),
])
def test_ideal_aspect_ratio(constraints, device, native, rescaled):
    assert_pick(select(constraints), device, native, rescaled)


# ---------------------------------------------------------------------------------------------
# resizeMode


def test_mandatory_resize_mode():
    chosen = select({"width": 641, "height": 480, "resizeMode": {"exact": "none"}})
    assert size(chosen) == (640, 480) and is_native(chosen)
    chosen = select({"width": 641, "height": 480, "resizeMode": {"exact": "crop-and-scale"}})
    assert mode(chosen)[0] >= 641 and mode(chosen)[1] >= 480
    assert is_rescaled_to(chosen, 641, 480)


def test_ideal_resize_mode():
    # Rescaling "to" the native size, because the ideal asks for it.
    assert_pick(select({"resizeMode": "crop-and-scale"}), DEFAULT, DEFAULT_CLOSEST, (500, 500))


@pytest.mark.parametrize("width, height", [(641, 480), (639, 479)])
def test_ideal_resize_mode_resolution_greater_or_less_than_native(width, height):
    # IdealResizeModeResolutionGreaterThanNative and IdealResizeModeResolutionLessThanNative.
    chosen = select({"width": width, "height": height, "resizeMode": "none"})
    assert size(chosen) == (640, 480) and is_native(chosen)
    chosen = select({"width": width, "height": height, "resizeMode": "crop-and-scale"})
    assert mode(chosen)[0] >= width and mode(chosen)[1] >= height
    assert is_rescaled_to(chosen, width, height)


def test_ideal_resize_far_from_native():
    # 40x30 is 29/30 + 39/40 from 1x1, more than the 1 an ideal "none" adds to rescaling ...
    assert_pick(select({"width": 1, "height": 1, "resizeMode": "none"}), LOW_RES, (40, 30, 20),
                (1, 1))
    # ... but 39/40 from width 1 alone is less.
    assert_pick(select({"width": 1, "resizeMode": "none"}), LOW_RES, (40, 30, 20))


def test_two_ideal_resize_values():
    assert_pick(select({"width": 641, "height": 481, "resizeMode": ["none", "crop-and-scale"]}),
                LOW_RES, (800, 600, 20), (641, 481))
    assert_pick(select({"resizeMode": ["none", "crop-and-scale"]}), DEFAULT, DEFAULT_CLOSEST)


# ---------------------------------------------------------------------------------------------
# Advanced*


def test_advanced_min_max_resolution_frame_rate():
    advanced = [{"width": {"min": 4000}, "height": {"min": 4000}}]  # no camera: ignored
    assert_pick(select({"advanced": advanced}), DEFAULT, DEFAULT_CLOSEST)
    advanced.append({"width": {"min": 320, "max": 640}, "height": {"min": 240, "max": 480}})
    assert_pick(select({"advanced": advanced}), LOW_RES, (640, 480, 30))
    advanced.append({"frameRate": {"max": 10}})
    assert_pick(select({"advanced": advanced}), HIGH_RES, (640, 480, 10))
    advanced.append({"width": {"max": 1000}, "height": {"max": 1000}})  # changes nothing
    assert_pick(select({"advanced": advanced}), HIGH_RES, (640, 480, 10))
    # Both cameras can deliver 320x240 at 10 fps; the low-res camera's native 320x240 at 30
    # is nearer to it than the high-res camera's 640x480 at 10.
    assert_pick(select({"width": 100, "height": 100, "advanced": advanced}), LOW_RES,
                (320, 240, 30), None, 10)
    assert_pick(select({"width": 2000, "height": 1500, "advanced": advanced}), HIGH_RES,
                (640, 480, 10))


def test_advanced_resolution_and_frame_rate():
    # Sets 1 and 2 (1920x1080 at 60) beat sets 1 and 3 (2304x1536 at 10): earlier sets first.
    chosen = select({"advanced": [{"width": 1920, "height": 1080}, {"frameRate": 60.0},
                                  {"width": 2304, "height": 1536}]})
    assert_pick(chosen, HIGH_RES, (1920, 1080, 60))


def test_advanced_contradictory_noise_reduction_without_noise_reduction():
    # The half of AdvancedContradictoryNoiseReduction that has no googNoiseReduction.
    chosen = select({"advanced": [{"width": {"min": 640}, "height": {"min": 480}},
                                  {"width": {"min": 1920}, "height": {"min": 1080}}]})
    assert chosen.device is HIGH_RES and is_native(chosen)
    assert size(chosen)[0] >= 1920 and size(chosen)[1] >= 1080


def test_advanced_contradictory_exact_resolution():
    chosen = select({"advanced": [{"width": 640, "height": 480},
                                  {"width": 1920, "height": 1080}]})
    assert chosen.device is LOW_RES and size(chosen) == (640, 480) and is_native(chosen)


def test_advanced_contradictory_max_min_resolution_frame_rate():
    chosen = select({"advanced": [{"width": {"max": 640}, "height": {"max": 480}},
                                  {"width": {"min": 1920}, "height": {"min": 1080},
                                   "frameRate": 60.0}]})
    assert_pick(chosen, DEFAULT, (200, 200, 40))


def test_advanced_contradictory_min_max_resolution_frame_rate():
    chosen = select({"advanced": [{"width": {"min": 800}, "height": {"min": 600}},
                                  {"width": {"max": 640}, "height": {"max": 480},
                                   "frameRate": 60.0}]})
    assert_pick(chosen, DEFAULT, (1000, 1000, 20))


@pytest.mark.parametrize("first, second", [
    ({"aspectRatio": 2300.0}, {"aspectRatio": 3.0}),  # AdvancedContradictoryExactAspectRatio
    ({"aspectRatio": {"min": 2300.0}}, {"aspectRatio": {"max": 3.0}}),  # ...AspectRatioRange
])
def test_advanced_contradictory_aspect_ratio(first, second):
    # Only the highest mode reaches 2300, cropped to 2304 x round(1536 / 2300) = 2304x1.
    assert_pick(select({"advanced": [first, second]}), HIGH_RES, HIGH_RES_HIGHEST, (2304, 1))


def test_advanced_contradictory_exact_frame_rate():
    chosen = select({"advanced": [{"frameRate": 40.0}, {"frameRate": 45.0}]})
    assert chosen.settings["frameRate"] == 40 and is_native(chosen)


def test_advanced_contradictory_frame_rate_range():
    chosen = select({"advanced": [{"frameRate": {"min": 40.0}}, {"frameRate": {"max": 35.0}}]})
    assert chosen.settings["frameRate"] >= 40 and is_native(chosen)


@pytest.mark.parametrize("name, top, floor, rate, device", [
    ("width", 1920, 2000, 30.0, LOW_RES),  # AdvancedContradictoryWidthFrameRate
    ("height", 1080, 1500, 60.0, HIGH_RES),  # AdvancedContradictoryHeightFrameRate
])
def test_advanced_contradictory_size_frame_rate(name, top, floor, rate, device):
    # Sets 1 and 3 together beat sets 1 and 2 apart: the highest mode meets set 2 (at
    # 10 fps) but not with set 1.
    chosen = select({"advanced": [{name: {"max": top}}, {name: {"min": floor}, "frameRate": 10.0},
                                  {"frameRate": rate}]})
    assert chosen.device is device and chosen.settings["frameRate"] == rate
    assert chosen.settings[name] <= top and is_native(chosen)


def test_advanced_device_id_and_group_id():
    # AdvancedDeviceID and AdvancedGroupID: the one camera in both sets.
    d1, d2, d3 = (d.device_id for d in CAMERAS)
    assert_pick(select({"advanced": [{"deviceId": [d1, d2]}, {"deviceId": [d2, d3]}]}),
                LOW_RES, LOW_RES_CLOSEST)
    g1, g2, g3 = (d.group_id for d in CAMERAS)
    assert_pick(select({"advanced": [{"groupId": [g1, g2]}, {"groupId": [g2, g3]}]}),
                LOW_RES, LOW_RES_CLOSEST)


def test_advanced_contradictory_device_id_and_group_id():
    # AdvancedContradictoryDeviceID and AdvancedContradictoryGroupID (the fourth camera of
    # Chromium's fixture, named in the second set, is not in this one: it changes nothing).
    d1, d2, d3 = (d.device_id for d in CAMERAS)
    assert_pick(select({"advanced": [{"deviceId": [d1, d2]}, {"deviceId": [d3, "fake_4"]}]}),
                DEFAULT, DEFAULT_CLOSEST)
    g1, g2, g3 = (d.group_id for d in CAMERAS)
    assert_pick(select({"advanced": [{"groupId": [g1, g2]}, {"groupId": [g3, "fake_4"]}]}),
                DEFAULT, DEFAULT_CLOSEST)


def test_advanced_contradictory_device_id_and_resolution():
    chosen = select({"advanced": [{"deviceId": LOW_RES.device_id},
                                  {"deviceId": HIGH_RES.device_id, "width": {"max": 50},
                                   "height": {"max": 50}},
                                  {"width": 800, "height": 600}]})
    assert_pick(chosen, LOW_RES, (800, 600, 20))


def test_advanced_contradictory_aspect_ratio_width():
    # Cropped to the minimum ratio: 500 x round(500 / 17) = 500x29.
    chosen = select({"advanced": [{"aspectRatio": {"min": 17}}, {"width": {"max": 1}}]})
    assert_pick(chosen, DEFAULT, DEFAULT_CLOSEST, (500, 29))


def test_advanced_resize():
    chosen = select({"width": 1, "height": 1, "advanced": [{"resizeMode": "none"}]})
    assert_pick(chosen, LOW_RES, (40, 30, 20))


def test_advanced_resolution_resize_frame_rate():
    # No native mode is 639 wide: the advanced set is skipped whole, the rate stays native,
    # and the height follows the aspect ratio: 639 * 3/4 = 479.25.
    chosen = select({"width": {"exact": 639},
                     "advanced": [{"resizeMode": "none", "frameRate": 19.0}]})
    assert_pick(chosen, LOW_RES, (640, 480, 30), (639, 479))


# ---------------------------------------------------------------------------------------------
# Basic sets that contradict themselves, no devices, and the inverted default


def test_basic_contradictory_width():
    assert failure({"width": {"min": 10, "max": 9}}).constraint == "width"


def test_basic_contradictory_width_aspect_ratio_names_no_one_constraint():
    # Chromium names aspectRatio: it reports the last candidate's first failing check, and
    # with width at most 1 every mode fails at the aspect ratio. ms follows the spec (see
    # spec.md, SelectSettings step 5): each constraint alone is met by some mode, so none is
    # named, and the message says they fail together.
    error = failure({"width": {"max": 1}, "aspectRatio": {"exact": 100.0}})
    assert error.constraint == ""
    assert "width, aspectRatio cannot all be met" in error.message


@pytest.mark.parametrize("constraints", [{}, {"height": {"exact": 100}}])
def test_no_devices(constraints):
    # NoDevicesNoConstraints and NoDevicesWithConstraints: Chromium fails with no constraint
    # named; getUserMedia reports that as NotFoundError, which ms raises.
    with pytest.raises(NotFoundError):
        select(constraints, [])


def test_inverted_default_resolution():
    chosen = select({"deviceId": {"exact": HIGH_RES.device_id}})
    assert chosen.device is HIGH_RES and size(chosen) == (640, 480)

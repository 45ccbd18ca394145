"""V4L2 camera controls against a scripted driver at the ioctl boundary.

The fake driver (tests/_v4l2_controls_driver.py) packs its answers with its own struct
layouts and behaves as the kernel's control framework does. The real driver (vivid) is in the
hardware lab (tests/hwlab/test_lab_controls.py).
"""

from __future__ import annotations

import errno
import select
import struct

import pytest
from _v4l2_controls_driver import (EVENT_CTRL_LAYOUT, INTEGER_MENU, MENU, QCTRL, QEXT,
                                   SUBSCRIBE, Ctrl, Driver, uvc_webcam)

from mscli.backends import v4l2
from mscli.backends import v4l2_controls as vc
from mscli.controls import ChoiceControl, NumericControl
from mscli.constraints import parse_track_constraints
from mscli.devices import VIDEO_INPUT, Device, VideoMode
from mscli.select import select_settings

@pytest.fixture
def driver(monkeypatch):
    """A UVC webcam on descriptor 5 (ms) and 6 (another program)."""
    drv = Driver(uvc_webcam())

    def fake_ioctl(fd, request, buf, mutate=True):
        assert mutate and isinstance(buf, bytearray)
        assert len(buf) == (request >> 16) & 0x3FFF, "buffer size differs from the request's"
        drv.ioctl(fd, request, buf)
        return 0

    monkeypatch.setattr(v4l2, "_ioctl", fake_ioctl)
    monkeypatch.setattr(vc, "_wait_pri",
                        lambda fd, timeout: select.POLLPRI if drv.queues.get(fd) else 0)
    return drv


def test_struct_sizes_match_the_request_numbers():
    for request, layout, size in ((vc.VIDIOC_G_CTRL, vc.CONTROL, 8),
                                  (vc.VIDIOC_S_CTRL, vc.CONTROL, 8),
                                  (vc.VIDIOC_QUERYCTRL, vc.QUERYCTRL, 68),
                                  (vc.VIDIOC_QUERYMENU, vc.QUERYMENU, 44),
                                  (vc.VIDIOC_QUERY_EXT_CTRL, vc.QUERY_EXT_CTRL, 232),
                                  (vc.VIDIOC_DQEVENT, vc.EVENT, 136),
                                  (vc.VIDIOC_SUBSCRIBE_EVENT, vc.EVENT_SUBSCRIPTION, 32)):
        assert (request >> 16) & 0x3FFF == layout.size == size
        assert (request >> 8) & 0xFF == ord("V")
    assert struct.calcsize(QCTRL) == 68 and struct.calcsize(QEXT) == 232
    assert struct.calcsize(EVENT_CTRL_LAYOUT) == 136


def test_a_webcam_lists_its_controls_with_spec_names_and_raw_ranges(driver):
    controls = vc.CameraControls(5).describe()
    assert controls["brightness"] == NumericControl(-64, 64, 1, 0)
    assert controls["contrast"] == NumericControl(0, 95, 1, 32)
    assert controls["colorTemperature"] == NumericControl(2800, 6500, 10, 4600)
    assert controls["exposureTime"] == NumericControl(3, 2047, 1, 250)  # 100 us units
    assert controls["focusDistance"] == NumericControl(0, 250, 5, 0)
    assert controls["zoom"] == NumericControl(100, 500, 1, 100)
    assert controls["pan"] == NumericControl(-36000, 36000, 3600, 0)
    # both modes where the absolute control has a range and the auto control exists; the
    # current mode from the auto control (aperture priority is automatic exposure)
    for mode in ("whiteBalanceMode", "exposureMode", "focusMode"):
        assert controls[mode] == ChoiceControl(("manual", "continuous"), "continuous")
    # tilt is disabled, sharpness read-only, hue has no spec name, Linux has no iso or torch
    assert set(controls) == {"brightness", "contrast", "saturation", "colorTemperature",
                             "exposureTime", "focusDistance", "zoom", "pan",
                             "whiteBalanceMode", "exposureMode", "focusMode"}


def test_mode_offers_follow_what_the_driver_has(driver):
    driver.controls[0x9A090D].hi = 100  # zoom with an empty range: not offered (as Chrome)
    del driver.controls[0x9A090C]  # no auto focus: manual only, and in force
    driver.controls[0x9A090A].auto = None
    del driver.controls[0x98091A]  # no colour temperature: continuous only
    driver.controls[0x9A0901].value = 1  # exposure in manual mode
    controls = vc.CameraControls(5).describe()
    assert "zoom" not in controls
    assert controls["focusMode"] == ChoiceControl(("manual",), "manual")
    assert controls["whiteBalanceMode"] == ChoiceControl(("continuous",), "continuous")
    assert controls["exposureMode"] == ChoiceControl(("manual", "continuous"), "manual")


def test_a_mode_in_force_is_offered_though_nothing_can_be_set_in_it(driver):
    # Auto white balance off, no colour temperature: "manual" has no value to set, but the
    # camera is in it; offering only "continuous" made an unconstrained capture switch auto on.
    del driver.controls[0x98091A]
    driver.controls[0x98090C].value = 0
    camera = vc.CameraControls(5)
    assert camera.describe()["whiteBalanceMode"] == ChoiceControl(("continuous", "manual"),
                                                                  "manual")
    device = Device(VIDEO_INPUT, "Cam", "k", "g", "v4l2", modes=(VideoMode(640, 480, 30.0),),
                    controls=camera.describe())
    settings = select_settings(parse_track_constraints({}, "video"), [device], "video").settings
    assert settings["whiteBalanceMode"] == "manual"
    assert camera.apply({"whiteBalanceMode": "manual"})["whiteBalanceMode"] == "manual"
    assert driver.controls[0x98090C].value == 0


def test_exposure_modes_come_from_the_auto_controls_menu():
    q = vc.Query(vc.CID_EXPOSURE_AUTO, MENU, "Auto Exposure", 0, 3, 1, 0,
                 0, {0: "Auto Mode", 1: "Manual Mode", 2: "Shutter Priority Mode"})
    assert vc.auto_settings(q) == {"manual": 1, "continuous": 0}  # no aperture priority
    q.menu = {2: "Shutter Priority Mode", 3: "Aperture Priority Mode"}
    assert vc.auto_settings(q) == {"manual": 2, "continuous": 3}
    assert [vc.mode_of(q, raw) for raw in range(4)] == ["continuous", "manual", "manual",
                                                        "continuous"]


def test_exposure_bias_is_an_integer_menu_of_millis_of_ev(driver):
    driver.controls[0x9A0913] = Ctrl(0x9A0913, "Auto Exposure, Bias", INTEGER_MENU, 0, 4, 1,
                                     2, menu={0: -2000, 1: -1000, 2: 0, 3: 1000, 4: 2000})
    cam = vc.CameraControls(5)
    assert cam.describe()["exposureCompensation"] == NumericControl(-2000, 2000, 1000, 0)
    assert cam.apply({"exposureCompensation": 900})["exposureCompensation"] == 1000
    assert driver.controls[0x9A0913].value == 3  # the item's index is what the driver takes


def test_the_old_query_ioctl_and_drivers_that_cannot_walk(driver):
    driver.ext = False
    assert vc.CameraControls(5).describe()["brightness"] == NumericControl(-64, 64, 1, 0)
    driver.walk = False
    controls = vc.CameraControls(5).describe()
    assert controls["exposureMode"] == ChoiceControl(("manual", "continuous"), "continuous")
    assert controls["zoom"] == NumericControl(100, 500, 1, 100)


def test_a_driver_without_controls_has_none(monkeypatch):
    def no_controls(fd, request, buf, mutate=True):
        raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")

    monkeypatch.setattr(v4l2, "_ioctl", no_controls)
    assert vc.CameraControls(5).describe() == {}


def test_apply_sets_modes_first_and_absolutes_only_in_manual(driver):
    cam = vc.CameraControls(5)
    got = cam.apply({"exposureMode": "manual", "exposureTime": 100,
                     "whiteBalanceMode": "continuous", "colorTemperature": 3000,
                     "brightness": 20})
    assert got["exposureMode"] == "manual" and got["exposureTime"] == 100
    assert driver.controls[0x9A0901].value == 1  # V4L2_EXPOSURE_MANUAL
    # white balance stays automatic, so its temperature is not touched (uvcvideo refuses it)
    assert got["whiteBalanceMode"] == "continuous" and got["colorTemperature"] == 4600
    assert (5, 0x98091A, 3000) not in driver.sets
    assert got["brightness"] == 20
    order = [cid for _fd, cid, _v in driver.sets]
    assert order.index(0x9A0901) < order.index(0x9A0902)
    got = cam.apply({"exposureMode": "continuous"})
    assert driver.controls[0x9A0901].value == 3  # aperture priority, as Chromium
    assert got["exposureMode"] == "continuous"


def test_a_mode_already_in_force_is_left_alone(driver):
    exposure = driver.controls[0x9A0901]
    exposure.menu = {0: "Auto Mode", 1: "Manual Mode", 3: "Aperture Priority Mode"}
    exposure.value = 0  # full auto: "continuous", though not the aperture priority ms sets
    got = vc.CameraControls(5).apply({"exposureMode": "continuous", "exposureTime": 250,
                                      "focusMode": "continuous"})
    assert got["exposureMode"] == "continuous" and exposure.value == 0
    assert [cid for _fd, cid, _value in driver.sets] == []


def test_an_absolute_value_alone_switches_its_mode_to_manual(driver):
    got = vc.CameraControls(5).apply({"focusDistance": 100})
    assert got["focusMode"] == "manual" and got["focusDistance"] == 100


def test_what_the_driver_clamps_or_refuses_is_read_back_as_it_is(driver):
    cam = vc.CameraControls(5)
    got = cam.apply({"brightness": 500, "pan": 5000, "focusMode": "manual",
                     "focusDistance": 12})
    assert got["brightness"] == 64  # clamped to the max
    assert got["pan"] == 3600  # onto the driver's step
    assert got["focusDistance"] == 10
    assert cam.apply({"exposureMode": "single-shot"})["exposureMode"] == "continuous"
    driver.controls[0x980900].busy = True  # refused now: the value in force stays
    assert cam.apply({"brightness": 3})["brightness"] == 64


def test_changes_by_another_program_are_seen_and_ms_own_are_not(driver):
    cam = vc.CameraControls(5)
    cam.watch()
    assert driver.subscribers[5] == {0x980900, 0x980901, 0x980902, 0x98090C, 0x98091A,
                                     0x9A0901, 0x9A0902, 0x9A090A, 0x9A090C, 0x9A090D,
                                     0x9A0908}
    cam.apply({"brightness": 30})  # through descriptor 5: no event for it
    assert cam.changes(0.01) == {}
    driver.change(6, 0x980900, 40)  # v4l2-ctl -c brightness=40 elsewhere
    driver.change(6, 0x9A0901, 1)
    driver.change(6, 0x980900, 40)  # the same value again: the kernel sends nothing
    assert cam.changes(0.01) == {"brightness": 40, "exposureMode": "manual"}
    assert cam.changes(0.01) == {}


def test_without_control_events_watching_only_waits(monkeypatch, driver):
    def refuse_subscribe(fd, request, buf, mutate=True):
        if request == SUBSCRIBE:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
        driver.ioctl(fd, request, buf)

    monkeypatch.setattr(v4l2, "_ioctl", refuse_subscribe)
    slept = []
    monkeypatch.setattr(vc.time, "sleep", slept.append)
    cam = vc.CameraControls(5)
    cam.watch()
    driver.change(6, 0x980900, 40)
    assert cam.changes(0.05) == {} and slept == [0.05]


def test_the_event_struct_unpacks_as_the_kernel_packs_it(driver):
    cam = vc.CameraControls(5)
    cam.watch()
    driver.change(6, 0x9A090D, 250)
    driver.change(6, 0x980901, 50)
    assert vc.dequeue(5) == (3, 0x9A090D, 1, 1)  # one more pending
    assert vc.dequeue(5) == (3, 0x980901, 1, 0)
    assert vc.dequeue(5) is None


def test_listing_gives_the_camera_its_controls(driver, monkeypatch):
    capability = {"driver": "uvcvideo", "card": "Cam", "bus_info": "usb-1", "version": 0,
                  "capabilities": 0, "device_caps": v4l2.V4L2_CAP_VIDEO_CAPTURE}
    monkeypatch.setattr(v4l2, "_open", lambda node, flags: 5)
    monkeypatch.setattr(v4l2, "_close", lambda fd: None)
    monkeypatch.setattr(v4l2, "query_capability", lambda fd: capability)
    monkeypatch.setattr(v4l2, "video_modes", lambda fd: (VideoMode(640, 480, 30.0, "YUYV"),))
    device = v4l2.describe_node("/dev/video0", lambda bus: 0)
    assert device.controls == vc.CameraControls(5).describe()
    assert device.controls["zoom"] == NumericControl(100, 500, 1, 100)
    assert driver.sets == []  # listing never sets a control


def test_a_driver_that_fails_the_control_queries_is_still_a_camera(driver, monkeypatch):
    def broken(fd, request, buf, mutate=True):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(v4l2, "_open", lambda node, flags: 5)
    monkeypatch.setattr(v4l2, "_close", lambda fd: None)
    monkeypatch.setattr(v4l2, "query_capability", lambda fd: {
        "driver": "x", "card": "Cam", "bus_info": "b", "version": 0, "capabilities": 0,
        "device_caps": v4l2.V4L2_CAP_VIDEO_CAPTURE})
    monkeypatch.setattr(v4l2, "video_modes", lambda fd: (VideoMode(640, 480, 30.0, "YUYV"),))
    monkeypatch.setattr(v4l2, "_ioctl", broken)
    device = v4l2.describe_node("/dev/video0", lambda bus: 0)
    assert device.modes and device.controls == {}

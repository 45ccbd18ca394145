"""Cameras on macOS and Windows (mscli.backends.avdevice, mscli.sources.desktop_camera).

Nothing here runs on those systems. What is tested: the parsers on FFmpeg's own log formats
(the format strings of libavdevice/dshow.c and avfoundation.m), the listing and lookups
against a stand-in for PyAV's `enumerate_input_devices` (the shape of PyAV 17+'s DeviceInfo),
the log capture through the real PyAV (a failing open here, on Linux), and the capture path
against a fake OpenCV camera opened by index. README's "What is tested where" says the same.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import types

import cv2
import numpy as np
import pytest
from _fake_camera import BGR, FakeCapture, FakeDriver

from mscli import catalog
from mscli.backends import avdevice
from mscli.constraints import parse_stream_constraints, parse_track_constraints
from mscli.devices import VIDEO_INPUT, VideoMode, capabilities
from mscli.errors import NotReadableError
from mscli.events import CaptureClock, EventLog
from mscli.ids import IdHasher
from mscli.select import resolve_stream, select_settings
from mscli.session import open_source
from mscli.sources.desktop_camera import DesktopCameraSource
from mscli.track import MediaStreamTrack

# What FFmpeg logs for `-f dshow -list_options true -i video=...`: the pixel format (or codec)
# and the sizes come in two log calls, which PyAV hands over separately.
DSHOW_LOG = [
    "DirectShow video device options (from video devices)\n",
    ' Pin "Capture" (alternative pin name "0")\n',
    "  pixel_format=yuyv422", "  min s=640x480 fps=5 max s=640x480 fps=30\n",
    "  pixel_format=yuyv422", "  min s=1280x720 fps=7.5 max s=1280x720 fps=10"
    " (tv, bt470bg/bt709/unknown, topleft)\n",
    "  vcodec=mjpeg", "  min s=1920x1080 fps=29.97 max s=1920x1080 fps=29.97\n",
    "  vcodec=mjpeg", "  min s=160x120 fps=30 max s=320x240 fps=30\n",
    "  pixel_format=nv12", "  min s=800x600 fps=15 max s=800x600 fps=inf\n",  # no min interval
    "video=@device_pnp_x: Immediate exit requested\n",
]
AVFOUNDATION_LOG = [
    "Selected video size (1x1) is not supported by the device.\n",
    "Supported modes:\n",
    "  1280x720@[1.000000 30.000000]fps\n",
    "  1280x720@[1.000000 30.000000]fps\n",  # another pixel format of the same size
    "    Last message repeated 1 times\n",  # FFmpeg's (and PyAV's) skipping of repeats
    "  640x480@[29.970030 29.970030]fps\n",
    "  1920x1080@[1.000000 15.000000]fps\n",
    "Input/output error\n",
]


def info(name, description, media="video"):
    """PyAV's DeviceInfo, as enumerate_input_devices gives it."""
    return types.SimpleNamespace(name=name, description=description, is_default=False,
                                 media_types=[media])


LOGITECH = r"@device_pnp_\\?\usb#vid_046d&pid_0825&mi_00#7&1a2b3c&0&0000#{65e8773d}\global"
DSHOW_LIST = [info(LOGITECH, "Logitech HD Webcam C270"),
              info(r"@device_sw_{860BB310}\{27B05C2D}", "OBS Virtual Camera"),
              info(r"@device_cm_{33D9A762}\wave_{B4A5A4C1}", "Microphone (C270)", "audio"),
              # FFmpeg could not bind it or find its pins: no media types, not a camera
              types.SimpleNamespace(name=r"@device_pnp_\\?\x", description="IR Camera",
                                    is_default=False, media_types=[])]
AVFOUNDATION_LIST = [info("0", "FaceTime HD Camera"), info("1", "USB Camera"),
                     info("2", "USB Camera"), info("3", "Capture screen 0"),
                     info("0", "MacBook Pro Microphone", "audio")]


# --- parsing FFmpeg's logs ------------------------------------------------------------------


def test_dshow_pins_become_modes_with_fourccs_and_rate_ranges():
    modes = avdevice.dshow_modes("".join(DSHOW_LOG))
    assert modes[:6] == tuple(VideoMode(640, 480, r, "YUYV") for r in (30, 25, 24, 20, 15, 10)) \
        and modes[6] == VideoMode(640, 480, 5, "YUYV")
    assert VideoMode(1280, 720, 10, "YUYV") in modes and VideoMode(1280, 720, 7.5, "YUYV") in modes
    assert VideoMode(1920, 1080, 29.97, "MJPG") in modes
    # A pin type with a range of sizes: its smallest and its largest.
    assert {(m.width, m.height) for m in modes if m.pixel_format == "MJPG"} == \
        {(1920, 1080), (160, 120), (320, 240)}
    assert VideoMode(800, 600, 15, "NV12") in modes  # fps=inf: the slowest rate, known
    assert len(set(modes)) == len(modes)


def test_avfoundation_sizes_at_the_top_of_their_rate_range():
    # OpenCV runs an AVFoundation range at its top; lower rates come from ms's decimation.
    assert avdevice.avfoundation_modes("".join(AVFOUNDATION_LOG)) == (
        VideoMode(1280, 720, 30.0), VideoMode(640, 480, 29.97), VideoMode(1920, 1080, 15.0))


def test_logs_without_modes_give_none():
    assert avdevice.dshow_modes("Could not enumerate video devices") == ()
    # Sizes before the "Supported modes" heading are something else (a selected size).
    assert avdevice.avfoundation_modes("  640x480@[1.000000 30.000000]fps\n") == ()


def test_the_log_of_a_failing_open_is_captured_through_pyav():
    import av.logging

    before = av.logging.get_level()
    text = avdevice.ffmpeg_log("/dev/no-such-video-node", "v4l2", {})
    assert "Cannot open video device /dev/no-such-video-node" in text
    assert av.logging.get_level() == before  # PyAV's logging is left as it was


# --- listing --------------------------------------------------------------------------------


def listed(fmt, entries):
    found = avdevice.cameras(fmt, entries)
    return catalog.assign_ids(found, IdHasher(b"k" * 32))


def test_dshow_cameras_are_keyed_by_their_moniker():
    found = listed("dshow", DSHOW_LIST)
    assert [d.label for d in found] == ["Logitech HD Webcam C270", "OBS Virtual Camera"]
    assert all(d.kind == VIDEO_INPUT and d.backend == "dshow" for d in found)
    assert [d.source["index"] for d in found] == [0, 1]  # OpenCV's index among cameras
    assert found[0].key == f"dshow:{LOGITECH}"
    # The same camera after a reboot, listed second: same deviceId.
    again = listed("dshow", [DSHOW_LIST[1], DSHOW_LIST[0]])
    assert again[1].device_id == found[0].device_id
    assert found[0].group_id != found[1].group_id


def test_avfoundation_cameras_leave_screens_out_and_number_repeated_names():
    found = listed("avfoundation", AVFOUNDATION_LIST)
    assert [d.label for d in found] == ["FaceTime HD Camera", "USB Camera", "USB Camera"]
    assert [d.source["index"] for d in found] == [0, 1, 2]
    assert len({d.device_id for d in found}) == 3
    assert found[2].key.endswith("#1")


def fake_av(entries, calls=None):
    av = types.ModuleType("av")
    av.FFmpegError = type("FFmpegError", (Exception,), {})

    def enumerate_input_devices(fmt):
        if calls is not None:
            calls.append(fmt)
        return list(entries)

    av.enumerate_input_devices = enumerate_input_devices
    return av


@pytest.mark.parametrize("platform, fmt, entries", [
    ("win32", "dshow", DSHOW_LIST), ("darwin", "avfoundation", AVFOUNDATION_LIST)])
def test_the_backend_lists_through_pyav_on_its_system(monkeypatch, platform, fmt, entries):
    calls = []
    monkeypatch.setitem(sys.modules, "av", fake_av(entries, calls))
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(catalog, "REAL_BACKENDS", ("mscli.backends.v4l2",
                                                    "mscli.backends.avdevice"))
    found = catalog.load_devices()
    assert calls == [fmt]
    assert [d.kind for d in found] == [VIDEO_INPUT] * (3 if fmt == "avfoundation" else 2)


def test_on_linux_the_backend_lists_nothing_and_imports_no_pyav():
    code = ("import sys; from mscli.backends import avdevice; "
            "print(avdevice.enumerate_devices(), 'av' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["[]", "False"]


@pytest.mark.parametrize("error", ["FFmpegError", "ValueError"])
def test_a_listing_that_fails_is_a_warning(monkeypatch, error):
    av = fake_av([])
    exception = {"FFmpegError": av.FFmpegError, "ValueError": ValueError}[error]

    def broken(fmt):
        raise exception("Could not enumerate video devices")

    av.enumerate_input_devices = broken
    monkeypatch.setitem(sys.modules, "av", av)
    monkeypatch.setattr(sys, "platform", "win32")
    found = avdevice.enumerate_devices()
    assert list(found) == []
    assert found.warnings == ["dshow: cannot list cameras (Could not enumerate video devices)"]


# --- modes, asked for when first needed -----------------------------------------------------


@pytest.fixture
def probed(monkeypatch):
    """dshow cameras whose modes come from the log above; `asked` counts the opens."""
    asked = []

    def log(url, fmt, options):
        asked.append((url, fmt, options))
        return "".join(DSHOW_LOG) if "Logitech" in url or LOGITECH in url else \
            "Could not find video device with name [x] among source devices of type video.\n"

    monkeypatch.setattr(avdevice, "ffmpeg_log", log)
    return listed("dshow", DSHOW_LIST), asked


def test_listing_asks_no_camera_for_its_modes(probed):
    found, asked = probed
    assert [d.info()["label"] for d in found] and asked == []


def test_modes_are_asked_for_once_when_capabilities_need_them(probed):
    (camera, _), asked = probed
    caps = capabilities(camera)
    assert caps["width"] == {"min": 1, "max": 1920} and caps["frameRate"]["max"] == 30
    capabilities(camera)
    assert asked == [(f"video={LOGITECH}", "dshow", {"list_options": "true"})]


def test_a_camera_that_lists_no_modes_is_warned_about_and_never_chosen(probed, capsys):
    logitech, virtual = probed[0]
    assert capabilities(virtual) == {"deviceId": virtual.device_id,
                                     "groupId": virtual.group_id}
    err = capsys.readouterr().err
    assert "OBS Virtual Camera: dshow did not list its modes" in err
    assert "Could not find video device" in err  # what FFmpeg said
    [chosen] = resolve_stream(parse_stream_constraints({"video": True}), [virtual, logitech])
    assert chosen.device is logitech


def test_avfoundation_is_asked_with_a_size_no_camera_has(monkeypatch):
    asked = []
    monkeypatch.setattr(avdevice, "ffmpeg_log",
                        lambda *a: asked.append(a) or "".join(AVFOUNDATION_LOG))
    camera = listed("avfoundation", AVFOUNDATION_LIST)[1]
    assert camera.modes[0] == VideoMode(1280, 720, 30.0)
    assert asked == [("1", "avfoundation", {"video_size": "1x1"})]


# --- capture through OpenCV by index --------------------------------------------------------


class FakeDirectShow(FakeCapture):
    """OpenCV's DirectShow capture: grab() answers at once, retrieve() (and read()) waits for
    the frame; setting the rate sets the device up again and forgets the fourcc."""

    def __init__(self, driver):
        super().__init__(driver)
        self.asked = []

    def set(self, prop, value):
        self.asked.append(prop)
        if prop == cv2.CAP_PROP_FPS:
            self.props.pop(cv2.CAP_PROP_FOURCC, None)
        return super().set(prop, value)

    def grab(self):  # "block": answers, and retrieve() then waits on the unplugged camera
        return not self.driver.gone.is_set() or self.driver.on_gone != "false"

    def retrieve(self):
        if not super().grab():  # the fake driver's wait for the next frame
            return False, None
        return super().retrieve()

    def read(self):
        return self.retrieve() if self.grab() else (False, None)


@pytest.fixture
def desk(monkeypatch):
    """A dshow camera at OpenCV index 0 on the fake driver; `d.gone` unlists it too."""
    d = FakeDriver()

    def capture(index, api):
        assert (index, api) == (0, cv2.CAP_DSHOW)
        cap = FakeDirectShow(d)
        d.captures.append(cap)
        return cap

    monkeypatch.setattr(cv2, "VideoCapture", capture)
    monkeypatch.setattr(avdevice, "still_listed", lambda device: not d.gone.is_set())
    return d


def desk_track(constraints=None):
    device = listed("dshow", DSHOW_LIST[:1])[0]
    device.modes = (VideoMode(640, 480, 30.0, "YUYV"), VideoMode(1280, 720, 10.0, "MJPG"))
    parsed = parse_track_constraints(constraints or {}, "video")
    selection = select_settings(parsed, [device], "video")
    return MediaStreamTrack("video", device, selection.settings, parsed,
                            EventLog(CaptureClock()), threading.Condition(), live=True,
                            mode=selection.mode)


def started(track):
    source = open_source(track, track._events.clock, paced=True, until=None)
    source.clock.start()
    source.start()
    return source


def test_a_dshow_camera_is_opened_by_index_and_converted_by_opencv(desk):
    track = desk_track({"width": 640})
    source = started(track)
    assert isinstance(source, DesktopCameraSource)
    cap = desk.captures[0]
    # The rate first (setting it forgets the fourcc), then DirectShow's name for YUYV.
    assert cap.asked[1:] == [cv2.CAP_PROP_FPS, cv2.CAP_PROP_FOURCC, cv2.CAP_PROP_FRAME_WIDTH,
                             cv2.CAP_PROP_FRAME_HEIGHT]
    assert cap.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"YUY2")
    assert cap.props[cv2.CAP_PROP_CONVERT_RGB] == 1
    time.sleep(0.4)
    source.stop()
    source.join(2)
    frames = track.take()
    assert len(frames) >= 6
    assert np.median(np.diff([f.time for f in frames])) == pytest.approx(1 / 30, abs=0.004)
    assert (frames[0].width, frames[0].height) == (640, 480)
    reference = cv2.cvtColor(np.full((480, 640, 3), BGR, np.uint8), cv2.COLOR_BGR2YUV_I420)
    assert frames[0].data.tolist() == reference.reshape(-1).tolist()
    assert cap.released


@pytest.mark.parametrize("on_gone", ["false", "block"])
def test_an_unlisted_camera_ends_the_track_as_disconnected(desk, on_gone, lateness):
    desk.on_gone = on_gone
    track = desk_track()
    source = started(track)
    time.sleep(0.2)
    desk.gone.set()
    gone_at = time.monotonic()
    try:
        deadline = gone_at + 10
        while track.ready_state != "ended" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert track.ended_reason == "device-disconnected"
        # A grab that fails is looked up at once; a stalled one after STALL_SECONDS.
        assert time.monotonic() - gone_at < (0.5 if on_gone == "false" else 1.6) + \
            lateness.margin()
    finally:
        desk.unblock.set()
        source.stop()
        source.join(2)


def test_failing_reads_of_a_listed_camera_are_a_read_error(desk):
    track = desk_track()
    source = started(track)
    time.sleep(0.1)
    desk.failing = True
    try:
        deadline = time.monotonic() + 2
        while track.ready_state != "ended" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert track.ended_reason.startswith("read-error")
        assert "dshow camera 0" in track.ended_reason
    finally:
        source.stop()
        source.join(2)


def test_opencv_refusing_the_camera_is_not_readable_with_what_to_check(monkeypatch):
    refused = types.SimpleNamespace(isOpened=lambda: False, release=lambda: None)
    monkeypatch.setattr(cv2, "VideoCapture", lambda index, api: refused)
    track = desk_track()
    with pytest.raises(NotReadableError) as caught:
        open_source(track, track._events.clock, paced=True, until=None)
    assert "Logitech HD Webcam C270 (dshow camera 0)" in caught.value.message
    assert "Privacy" in caught.value.message

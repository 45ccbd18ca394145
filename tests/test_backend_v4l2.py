"""The V4L2 backend against a scripted camera at the syscall boundary (open/ioctl/close).

The fake driver below packs its answers with its own struct layouts, written from the kernel
header independently of the backend's, so a wrong offset in either shows up as a failure.
The real driver is exercised in the hardware lab (tests/hwlab).
"""

from __future__ import annotations

import errno
import os
import struct
import sys

import pytest

from mscli import catalog
from mscli.backends import Found, v4l2
from mscli.devices import VIDEO_INPUT, VideoMode

QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS, G_PARM = (
    0x80685600, 0xC0405602, 0xC02C564A, 0xC034564B, 0xC0CC5615)
CAP = "<16s32s32sI I I 12x"  # driver card bus_info version capabilities device_caps
FMT = "<I I I 32s I 16x"  # index type flags description pixelformat (mbus_code, reserved)
FSZ = "<I I I 24s 8x"  # index pixel_format type union
FIV = "<I I I I I 24s 8x"  # index pixel_format width height type union
PARM = "<I 4x 4x I I 184x"  # type (capability capturemode) timeperframe …

VIDEO_CAPTURE, META_CAPTURE, STREAMING, DEVICE_CAPS = 0x1, 0x00800000, 0x04000000, 0x80000000


def fcc(text: str) -> int:
    return struct.unpack("<I", text.encode())[0]


class FakeCamera:
    """One /dev/videoN as a driver would answer: formats -> sizes -> intervals."""

    def __init__(self, card, bus_info, device_caps, formats, driver="uvcvideo",
                 g_parm=None):
        self.card, self.bus_info, self.driver = card, bus_info, driver
        self.device_caps = device_caps
        self.formats = formats  # [(fourcc, {"discrete": {(w, h): [(num, den)]}} | …)]
        self.g_parm = g_parm

    def ioctl(self, request: int, buf: bytearray) -> None:
        if request == QUERYCAP:
            caps = VIDEO_CAPTURE | META_CAPTURE | STREAMING | DEVICE_CAPS
            struct.pack_into(CAP, buf, 0, self.driver.encode(), self.card.encode(),
                             self.bus_info.encode(), 0x060100, caps, self.device_caps)
        elif request == ENUM_FMT:
            index, kind = struct.unpack_from("<II", buf)
            if kind != 1 or index >= len(self.formats):
                raise OSError(errno.EINVAL, "Invalid argument")
            code = fcc(self.formats[index][0])
            struct.pack_into(FMT, buf, 0, index, kind, 0, b"desc", code)
        elif request == ENUM_FRAMESIZES:
            index, code = struct.unpack_from("<II", buf)
            spec = self._format(code)
            if "discrete" in spec:
                sizes = list(spec["discrete"])
                if index >= len(sizes):
                    raise OSError(errno.EINVAL, "Invalid argument")
                union = struct.pack("<II", *sizes[index]).ljust(24, b"\0")
                struct.pack_into(FSZ, buf, 0, index, code, 1, union)
            else:
                if index > 0:
                    raise OSError(errno.EINVAL, "Invalid argument")
                kind, (min_w, max_w, step_w, min_h, max_h, step_h) = spec["range"]
                union = struct.pack("<6I", min_w, max_w, step_w, min_h, max_h, step_h)
                struct.pack_into(FSZ, buf, 0, index, code, kind, union)
        elif request == ENUM_FRAMEINTERVALS:
            index, code, width, height = struct.unpack_from("<IIII", buf)
            spec = self._format(code)
            intervals = spec.get("intervals")
            if intervals is None:
                raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
            if isinstance(intervals, tuple):  # (kind, (n, d) fastest, (n, d) slowest, step)
                if index > 0:
                    raise OSError(errno.EINVAL, "Invalid argument")
                kind, fast, slow, step = intervals
                union = struct.pack("<6I", *fast, *slow, *step)
                struct.pack_into(FIV, buf, 0, index, code, width, height, kind, union)
                return
            listed = intervals.get((width, height), [])
            if index >= len(listed):
                raise OSError(errno.EINVAL, "Invalid argument")
            union = struct.pack("<II", *listed[index]).ljust(24, b"\0")
            struct.pack_into(FIV, buf, 0, index, code, width, height, 1, union)
        elif request == G_PARM and self.g_parm:
            struct.pack_into(PARM, buf, 0, 1, *self.g_parm)
        else:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")

    def _format(self, code):
        for name, spec in self.formats:
            if fcc(name) == code:
                return spec
        raise OSError(errno.EINVAL, "Invalid argument")


WEBCAM = FakeCamera(
    "Test Cam: Test Cam", "usb-0000:00:14.0-1", VIDEO_CAPTURE | STREAMING,
    [("YUYV", {"discrete": {(640, 480): None, (1280, 720): None},
               "intervals": {(640, 480): [(1, 30), (1, 15)], (1280, 720): [(1, 10)]}}),
     ("MJPG", {"range": (3, (160, 1920, 16, 120, 1080, 8)),
               "intervals": (3, (1, 30), (1, 5), (1, 1))}),
     ("GREY", {"discrete": {(320, 240): None}})],  # no intervals: G_PARM says 25 fps
    g_parm=(1, 25))
METADATA = FakeCamera("Test Cam: Test Cam", "usb-0000:00:14.0-1", META_CAPTURE | STREAMING,
                      [])


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A scratch /dev and /sys with the webcam on video0, its metadata node on video1."""
    dev, sys_ = tmp_path / "dev", tmp_path / "sys"
    (dev / "v4l" / "by-id").mkdir(parents=True)
    usb = sys_ / "devices" / "pci0000:00" / "0000:00:14.0" / "usb1" / "1-1"
    (usb / "1-1:1.0").mkdir(parents=True)
    (usb / "1-1:1.3").mkdir()
    (usb / "idVendor").write_text("046d\n")
    (sys_ / "devices" / "pci0000:00" / "0000:00:14.0" / "usb1" / "idVendor").write_text("1d6b")
    cameras = {}
    for n, camera in enumerate((WEBCAM, METADATA)):
        (dev / f"video{n}").write_text("")
        node_sys = sys_ / "class" / "video4linux" / f"video{n}"
        node_sys.mkdir(parents=True)
        (node_sys / "device").symlink_to(usb / "1-1:1.0")
        (node_sys / "index").write_text(f"{n}\n")
        cameras[str(dev / f"video{n}")] = camera
    (dev / "v4l" / "by-id" / "usb-Test_Cam_1234-video-index0").symlink_to("../../video0")
    (dev / "v4lfoo").write_text("")  # not a video node
    monkeypatch.setattr(v4l2, "DEV_DIR", str(dev))
    monkeypatch.setattr(v4l2, "SYSFS_DIR", str(sys_))
    monkeypatch.setattr(sys, "platform", "linux")
    calls = []
    open_fds = {}

    def fake_open(path, flags, mode=0o777):
        if path not in cameras:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        fd = 100 + len(calls) + len(open_fds)
        open_fds[fd] = cameras[path]
        return fd

    def fake_ioctl(fd, request, buf, mutate=True):
        calls.append(request)
        assert mutate and isinstance(buf, bytearray)
        assert len(buf) == (request >> 16) & 0x3FFF, "buffer size differs from the request's"
        open_fds[fd].ioctl(request, buf)
        return 0

    monkeypatch.setattr(v4l2, "_open", fake_open)
    monkeypatch.setattr(v4l2, "_ioctl", fake_ioctl)
    monkeypatch.setattr(v4l2, "_close", lambda fd: open_fds.pop(fd))
    return {"dev": dev, "sys": sys_, "usb": usb, "cameras": cameras, "calls": calls,
            "open": open_fds}


def test_struct_sizes_match_the_request_numbers():
    for request, layout in ((v4l2.VIDIOC_QUERYCAP, v4l2.CAPABILITY),
                            (v4l2.VIDIOC_ENUM_FMT, v4l2.FMTDESC),
                            (v4l2.VIDIOC_ENUM_FRAMESIZES, v4l2.FRMSIZE),
                            (v4l2.VIDIOC_ENUM_FRAMEINTERVALS, v4l2.FRMIVAL),
                            (v4l2.VIDIOC_G_PARM, v4l2.STREAMPARM)):
        assert (request >> 16) & 0x3FFF == layout.size
        assert (request >> 8) & 0xFF == ord("V")
    assert [s.size for s in (v4l2.CAPABILITY, v4l2.FMTDESC, v4l2.FRMSIZE, v4l2.FRMIVAL)] == \
        [struct.calcsize(f) for f in (CAP, FMT, FSZ, FIV)] == [104, 64, 44, 52]


def test_fourcc_names():
    assert v4l2.fourcc(fcc("YUYV")) == "YUYV"
    assert v4l2.fourcc(fcc("Y16 ")) == "Y16 "
    assert v4l2.fourcc(fcc("Y16 ") | (1 << 31)) == "Y16 -BE"


def test_the_camera_is_listed_and_the_metadata_node_is_not(machine):
    devices = v4l2.enumerate_devices()
    assert len(devices) == 1
    cam = devices[0]
    assert cam.kind == VIDEO_INPUT and cam.backend == "v4l2"
    assert cam.label == "Test Cam: Test Cam"
    assert cam.source["node"] == str(machine["dev"] / "video0")
    assert cam.source["bus_info"] == "usb-0000:00:14.0-1"
    assert devices.warnings == []
    assert machine["open"] == {}, "every node opened was closed"


def test_discrete_modes_are_all_there(machine):
    modes = v4l2.enumerate_devices()[0].modes
    yuyv = [m for m in modes if m.pixel_format == "YUYV"]
    assert yuyv == [VideoMode(640, 480, 30.0, "YUYV"), VideoMode(640, 480, 15.0, "YUYV"),
                    VideoMode(1280, 720, 10.0, "YUYV")]


def test_stepwise_sizes_give_a_bounded_sensible_set(machine):
    modes = [m for m in v4l2.enumerate_devices()[0].modes if m.pixel_format == "MJPG"]
    sizes = sorted({(m.width, m.height) for m in modes}, key=lambda s: s[0] * s[1])
    assert sizes[0] == (160, 120) and sizes[-1] == (1920, 1080)
    assert {(320, 240), (640, 480), (1280, 720)} <= set(sizes)
    for w, h in sizes:  # every size is on the driver's grid
        assert (w - 160) % 16 == 0 and (h - 120) % 8 == 0
    assert (640, 360) in sizes and (1280, 1024) in sizes
    assert (960, 540) not in sizes  # 540 - 120 is not a multiple of 8
    assert len(sizes) <= len(v4l2.COMMON_SIZES) + 2
    rates = sorted({m.frame_rate for m in modes})
    assert rates[0] == 5.0 and rates[-1] == 30.0 and {10.0, 15.0, 24.0, 25.0} <= set(rates)
    assert 60.0 not in rates


def test_a_format_without_intervals_takes_the_current_rate(machine):
    grey = [m for m in v4l2.enumerate_devices()[0].modes if m.pixel_format == "GREY"]
    assert grey == [VideoMode(320, 240, 25.0, "GREY")]


def test_no_stream_is_ever_started(machine):
    v4l2.enumerate_devices()
    # the controls are read (QUERY_EXT_CTRL, QUERYCTRL, QUERYMENU, G_CTRL), never set
    assert set(machine["calls"]) <= {QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS,
                                     G_PARM, 0xC0E85667, 0xC0445624, 0xC02C5625, 0xC008561B}
    assert QUERYCAP in machine["calls"] and 0xC0445624 in machine["calls"]


def test_key_comes_from_by_id_not_the_node_number(machine):
    cam = v4l2.enumerate_devices()[0]
    assert cam.key == "v4l2:by-id:usb-Test_Cam_1234-video-index0"
    assert "video0" not in cam.key.replace("video-index0", "")


def test_without_udev_the_key_is_bus_info_and_node_index(machine):
    (machine["dev"] / "v4l" / "by-id" / "usb-Test_Cam_1234-video-index0").unlink()
    cam = v4l2.enumerate_devices()[0]
    assert cam.key == "v4l2:bus:uvcvideo:usb-0000:00:14.0-1:index0"


def test_renumbered_nodes_keep_their_key(machine, tmp_path):
    first = v4l2.enumerate_devices()[0].key
    # After a replug the camera comes back as video4 (and its metadata node as video5).
    cameras = machine["cameras"]
    dev, sys_ = machine["dev"], machine["sys"]
    for old, new in ((0, 4), (1, 5)):
        os.rename(dev / f"video{old}", dev / f"video{new}")
        os.rename(sys_ / "class" / "video4linux" / f"video{old}",
                  sys_ / "class" / "video4linux" / f"video{new}")
        cameras[str(dev / f"video{new}")] = cameras.pop(str(dev / f"video{old}"))
    link = dev / "v4l" / "by-id" / "usb-Test_Cam_1234-video-index0"
    link.unlink()
    link.symlink_to("../../video4")
    assert v4l2.enumerate_devices()[0].key == first
    link.unlink()  # and without udev too
    assert v4l2.enumerate_devices()[0].key == "v4l2:bus:uvcvideo:usb-0000:00:14.0-1:index0"


def test_group_is_the_usb_device(machine):
    cam = v4l2.enumerate_devices()[0]
    assert cam.group_key == "sysfs:/devices/pci0000:00/0000:00:14.0/usb1/1-1"


def test_an_unreadable_node_is_skipped_with_a_warning(machine):
    (machine["dev"] / "video7").write_text("")  # fake_open refuses it: EACCES
    found = v4l2.enumerate_devices()
    assert [d.label for d in found] == ["Test Cam: Test Cam"]
    assert len(found.warnings) == 1
    assert "video7" in found.warnings[0] and "permission denied" in found.warnings[0]
    assert "video" in found.warnings[0].split("group")[0]


def test_an_unplugged_node_is_skipped_silently(machine, monkeypatch):
    def gone(path, flags, mode=0o777):
        raise OSError(errno.ENODEV, "No such device")

    monkeypatch.setattr(v4l2, "_open", gone)
    found = v4l2.enumerate_devices()
    assert list(found) == [] and found.warnings == []


def test_catalog_prints_the_backend_warnings(machine, monkeypatch):
    (machine["dev"] / "video7").write_text("")
    monkeypatch.setattr(catalog, "REAL_BACKENDS", ("mscli.backends.v4l2",))
    warnings = []
    devices = catalog.real_devices(warnings.append)
    assert len(devices) == 1 and len(warnings) == 1 and "video7" in warnings[0]


def test_not_linux_or_no_nodes_lists_nothing(machine, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert v4l2.enumerate_devices() == []
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(v4l2, "DEV_DIR", str(tmp_path / "empty"))
    assert v4l2.enumerate_devices() == []
    assert isinstance(v4l2.enumerate_devices(), Found)


def test_this_machine_lists_without_error():
    # Whatever this machine has (often nothing): a list, never an exception.
    assert isinstance(v4l2.enumerate_devices(), list)


def test_listing_imports_no_heavy_modules():
    import subprocess

    code = ("import sys, mscli.backends.v4l2 as v; v.enumerate_devices(); "
            "print(sorted(m for m in ('cv2', 'numpy', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"

"""Cameras on Linux, listed with V4L2 ioctls (no stream is ever started).

Layers, bottom up: the raw structs and request numbers; free functions that run one ioctl on
an open descriptor and iterate its `index` until EINVAL; `describe_node()` that turns one
/dev/videoN into a `Device`; `enumerate_devices()` over all nodes. Tests replace `_open`,
`_ioctl` and `_close` (the syscall boundary) and point `DEV_DIR`/`SYSFS_DIR` at a scratch tree.

Struct layouts are the kernel's (include/uapi/linux/videodev2.h), native little-endian u32s.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import sys

from mscli.backends import Found, physical_device, rates_in_range
from mscli.devices import VIDEO_INPUT, Device, VideoMode

# --- the kernel interface ---------------------------------------------------------------

# _IOR/_IOWR('V', nr, struct): direction << 30 | size << 16 | 'V' << 8 | nr
VIDIOC_QUERYCAP = 0x80685600  # struct v4l2_capability, 104 bytes
VIDIOC_ENUM_FMT = 0xC0405602  # struct v4l2_fmtdesc, 64 bytes
VIDIOC_G_PARM = 0xC0CC5615  # struct v4l2_streamparm, 204 bytes
VIDIOC_ENUM_FRAMESIZES = 0xC02C564A  # struct v4l2_frmsizeenum, 44 bytes
VIDIOC_ENUM_FRAMEINTERVALS = 0xC034564B  # struct v4l2_frmivalenum, 52 bytes

CAPABILITY = struct.Struct("=16s32s32sIII3I")  # driver card bus_info version caps device_caps
FMTDESC = struct.Struct("=III32sII3I")  # index type flags description pixelformat mbus reserved
FRMSIZE = struct.Struct("=III6I2I")  # index pixel_format type union[6] reserved[2]
FRMIVAL = struct.Struct("=IIIII6I2I")  # index pixel_format width height type union[6] reserved
STREAMPARM = struct.Struct("=IIIIIII4I160x")  # type, capture: capability capturemode
#                                                timeperframe{num,den} extendedmode readbuffers

V4L2_CAP_VIDEO_CAPTURE = 0x00000001
V4L2_CAP_DEVICE_CAPS = 0x80000000
V4L2_BUF_TYPE_VIDEO_CAPTURE = 1
V4L2_FMT_FLAG_COMPRESSED = 0x0001
FOURCC_BIG_ENDIAN = 1 << 31

DISCRETE, CONTINUOUS, STEPWISE = 1, 2, 3  # v4l2_frmsizetypes and v4l2_frmivaltypes

# Sizes offered from a stepwise/continuous range besides its min and max: the usual ones.
COMMON_SIZES = ((160, 120), (176, 144), (320, 180), (320, 240), (352, 288), (640, 360),
                (640, 480), (800, 600), (960, 540), (1024, 768), (1280, 720), (1280, 960),
                (1280, 1024), (1600, 1200), (1920, 1080), (2560, 1440), (3840, 2160),
                (4096, 2160))
FALLBACK_RATE = 30.0  # a driver that enumerates no intervals and reports none via G_PARM

DEV_DIR = "/dev"
SYSFS_DIR = "/sys"
DEVICE_NAME = re.compile(r"video(\d+)$")

_open = os.open
_ioctl = fcntl.ioctl
_close = os.close


def _call(fd: int, request: int, layout: struct.Struct, *fields) -> tuple:
    buf = bytearray(layout.pack(*fields))
    _ioctl(fd, request, buf, True)
    return layout.unpack(buf)


def _each(fd: int, request: int, layout: struct.Struct, make_fields, limit: int = 4096):
    """Run an enumeration ioctl for index 0, 1, … until the driver says EINVAL."""
    for index in range(limit):
        try:
            yield _call(fd, request, layout, *make_fields(index))
        except OSError as e:
            if e.errno in (errno.EINVAL, errno.ENOTTY):
                return
            raise


def fourcc(code: int) -> str:
    """0x56595559 -> "YUYV": always four characters ("Y16 " keeps its space, as v4l2-ctl
    and OpenCV's fourcc do); a big-endian variant gets "-BE" like v4l2-ctl prints it."""
    text = struct.pack("<I", code & ~FOURCC_BIG_ENDIAN).decode("latin-1")
    return text + ("-BE" if code & FOURCC_BIG_ENDIAN else "")


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def query_capability(fd: int) -> dict:
    driver, card, bus_info, version, caps, device_caps, *_ = _call(
        fd, VIDIOC_QUERYCAP, CAPABILITY, b"", b"", b"", 0, 0, 0, 0, 0, 0)
    return {"driver": _text(driver), "card": _text(card), "bus_info": _text(bus_info),
            "version": version, "capabilities": caps,
            # device_caps describes this node; capabilities the whole physical device.
            "device_caps": device_caps if caps & V4L2_CAP_DEVICE_CAPS else caps}


def formats(fd: int) -> list[tuple[int, str, int]]:
    """(pixelformat, description, flags) of each capture format, in the driver's order."""
    out = []
    for index, _type, flags, description, pixelformat, *_ in _each(
            fd, VIDIOC_ENUM_FMT, FMTDESC,
            lambda i: (i, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0, b"", 0, 0, 0, 0, 0)):
        out.append((pixelformat, _text(description), flags))
    return out


def frame_sizes(fd: int, pixelformat: int) -> list[tuple[int, int]]:
    """Sizes of one format: every discrete one, or a bounded set from a stepwise range."""
    sizes: list[tuple[int, int]] = []
    for _index, _pf, kind, *u in _each(fd, VIDIOC_ENUM_FRAMESIZES, FRMSIZE,
                                        lambda i: (i, pixelformat, 0, 0, 0, 0, 0, 0, 0, 0, 0)):
        if kind == DISCRETE:
            sizes.append((u[0], u[1]))
        else:  # continuous or stepwise: one answer describes the whole range
            min_w, max_w, step_w, min_h, max_h, step_h = u[:6]
            if kind == CONTINUOUS:
                step_w = step_h = 1
            return _sizes_in_range(min_w, max_w, step_w, min_h, max_h, step_h)
    return list(dict.fromkeys(sizes))


def _sizes_in_range(min_w, max_w, step_w, min_h, max_h, step_h) -> list[tuple[int, int]]:
    def on_grid(value, lo, hi, step):
        return lo <= value <= hi and (value - lo) % max(step, 1) == 0

    picked = [(min_w, min_h)]
    picked += [(w, h) for w, h in COMMON_SIZES
               if on_grid(w, min_w, max_w, step_w) and on_grid(h, min_h, max_h, step_h)]
    picked.append((max_w, max_h))
    return sorted(set(picked), key=lambda s: (s[0] * s[1], s))


def frame_rates(fd: int, pixelformat: int, width: int, height: int) -> list[float]:
    """Frame rates of one format and size, fastest first (fps = denominator / numerator)."""
    rates: list[float] = []
    for *_head, kind, n0, d0, n1, d1, n2, d2, _r0, _r1 in _each(
            fd, VIDIOC_ENUM_FRAMEINTERVALS, FRMIVAL,
            lambda i: (i, pixelformat, width, height, 0, 0, 0, 0, 0, 0, 0, 0, 0)):
        if kind == DISCRETE:
            if n0 and d0:
                rates.append(_fps(n0, d0))
        else:  # [min interval, max interval] (+ step): fastest, slowest and usual rates between
            if not (n0 and d0 and n1 and d1):
                break
            rates += rates_in_range(_fps(n1, d1), _fps(n0, d0))
            break
    return sorted(set(rates), reverse=True)


def _fps(numerator: int, denominator: int) -> float:
    return round(denominator / numerator, 3)


def current_rate(fd: int) -> float | None:
    """The rate the driver is set to (VIDIOC_G_PARM), for drivers that enumerate none."""
    try:
        fields = _call(fd, VIDIOC_G_PARM, STREAMPARM, V4L2_BUF_TYPE_VIDEO_CAPTURE,
                       0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    except OSError:
        return None
    numerator, denominator = fields[3], fields[4]
    return _fps(numerator, denominator) if numerator and denominator else None


def video_modes(fd: int) -> tuple[VideoMode, ...]:
    modes: list[VideoMode] = []
    fallback: float | None = None
    for pixelformat, _description, _flags in formats(fd):
        name = fourcc(pixelformat)
        for width, height in frame_sizes(fd, pixelformat):
            rates = frame_rates(fd, pixelformat, width, height)
            if not rates:
                if fallback is None:
                    fallback = current_rate(fd) or FALLBACK_RATE
                rates = [fallback]
            modes += [VideoMode(width, height, rate, name) for rate in rates]
    return tuple(modes)


# --- nodes, keys and groups -------------------------------------------------------------


def video_nodes() -> list[str]:
    """/dev/video* in number order."""
    try:
        names = os.listdir(DEV_DIR)
    except OSError:
        return []
    found = [(int(m.group(1)), name) for name in names if (m := DEVICE_NAME.match(name))]
    return [os.path.join(DEV_DIR, name) for _n, name in sorted(found)]


def _links_to(directory: str, node: str) -> str | None:
    """The name in /dev/v4l/by-id (or by-path) that udev made for this node, if any."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    target = os.path.realpath(node)
    for name in names:
        if os.path.realpath(os.path.join(directory, name)) == target:
            return name
    return None


def _sysfs(node: str, *parts: str) -> str:
    return os.path.join(SYSFS_DIR, "class", "video4linux", os.path.basename(node), *parts)


def _node_index(node: str) -> str | None:
    """Which node of its physical device this is (sysfs `index`: 0 for the main one)."""
    try:
        with open(_sysfs(node, "index")) as f:
            return f.read().strip() or None
    except OSError:
        return None


def stable_key(node: str, cap: dict, ordinal: int) -> str:
    """A key that survives reboots and renumbering: never the N of /dev/videoN.

    udev's by-id name carries the product and serial, so it follows the camera from port to
    port; without it (no serial, or no udev at all) the bus position from bus_info and the
    node's index on its device are stable as long as the camera stays in its port.
    """
    by_id = _links_to(os.path.join(DEV_DIR, "v4l", "by-id"), node)
    if by_id:
        return f"v4l2:by-id:{by_id}"
    index = _node_index(node)
    if index is None:
        by_path = _links_to(os.path.join(DEV_DIR, "v4l", "by-path"), node)
        if by_path:
            return f"v4l2:by-path:{by_path}"
        index = str(ordinal)
    return f"v4l2:bus:{cap['driver']}:{cap['bus_info']}:index{index}"


def group_key(node: str, cap: dict) -> str:
    physical = physical_device(_sysfs(node, "device"))
    if physical:
        return "sysfs:" + physical.removeprefix(SYSFS_DIR.rstrip("/"))
    return f"v4l2-bus:{cap['driver']}:{cap['bus_info']}"


def describe_node(node: str, ordinal_of) -> Device | None:
    """The Device behind one node, or None if it is not a camera (metadata, output, VBI …)."""
    fd = _open(node, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        cap = query_capability(fd)
        if not cap["device_caps"] & V4L2_CAP_VIDEO_CAPTURE:
            return None
        modes = video_modes(fd)
        controls = _controls(fd) if modes else {}
    finally:
        _close(fd)
    if not modes:
        return None
    ordinal = ordinal_of(cap["bus_info"])
    return Device(
        VIDEO_INPUT, cap["card"] or os.path.basename(node), stable_key(node, cap, ordinal),
        group_key(node, cap), "v4l2", modes=modes, controls=controls,
        source={"node": node, "driver": cap["driver"], "card": cap["card"],
                "bus_info": cap["bus_info"]})


def _controls(fd: int) -> dict:
    """The camera's controls (mscli.backends.v4l2_controls); a driver that fails to describe
    them still gives a camera, without controls."""
    from mscli.backends.v4l2_controls import controls_of

    controls = controls_of(fd)
    try:
        return controls.describe() if controls else {}
    except OSError as e:
        if e.errno in (errno.ENODEV, errno.ENOENT, errno.ENXIO):
            raise
        return {}


def enumerate_devices() -> list[Device]:
    """Every V4L2 capture node as a videoinput, in /dev/videoN order; [] off Linux."""
    found = Found()
    if not sys.platform.startswith("linux"):
        return found
    denied: list[str] = []
    seen: dict[str, int] = {}

    def ordinal_of(bus_info: str) -> int:
        seen[bus_info] = seen.get(bus_info, -1) + 1
        return seen[bus_info]

    nodes = video_nodes()
    others: list[str] = []  # nodes that are no camera (metadata, output) or failed a query
    for node in nodes:
        try:
            device = describe_node(node, ordinal_of)
        except PermissionError:
            denied.append(node)
            continue
        except OSError as e:
            # Unplugged while we looked (ENODEV/ENOENT), busy, or a driver that refuses a
            # query: not a camera we can offer. Say so unless it simply went away.
            if e.errno not in (errno.ENODEV, errno.ENOENT, errno.ENXIO):
                found.warnings.append(f"{node}: skipped ({os.strerror(e.errno or 0)})")
            device = None
        if device is None:
            others.append(node)
        else:
            found.append(device)
    if denied:
        found.warnings.append(
            f"cannot open {', '.join(denied)}: permission denied; cameras there are not "
            "listed (add yourself to the 'video' group: sudo usermod -aG video $USER, "
            "then log in again)")
    if not found:
        found.absent[VIDEO_INPUT] = _why_no_camera(nodes, denied, others)
    return found


def _why_no_camera(nodes: list[str], denied: list[str], others: list[str]) -> str:
    if not nodes:
        return (f"no {os.path.join(DEV_DIR, 'video*')} device nodes on this machine "
                "(in a container, pass them through)")
    reasons = []
    if denied:
        reasons.append(f"permission denied on {', '.join(denied)}")
    if others:
        reasons.append(f"{', '.join(others)}: not a camera ms can read")
    return "; ".join(reasons)

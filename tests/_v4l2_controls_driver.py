"""A scripted V4L2 driver's controls, for the tests of mscli.backends.v4l2_controls and of
the camera source that uses it.

It packs and unpacks with its own struct layouts, written from the kernel header
(include/uapi/linux/videodev2.h) independently of the module's, and behaves as the kernel's
control framework does: it clamps to the range and step, refuses an absolute value while its
auto control is on (as uvcvideo does), and queues V4L2_EVENT_CTRL for the other descriptors
that subscribed, never for the one that made the change.
"""

from __future__ import annotations

import errno
import struct

G_CTRL, S_CTRL, QUERYCTRL, QUERYMENU, QUERY_EXT_CTRL, DQEVENT, SUBSCRIBE = (
    0xC008561B, 0xC008561C, 0xC0445624, 0xC02C5625, 0xC0E85667, 0x80885659, 0x4020565A)
REQUESTS = (G_CTRL, S_CTRL, QUERYCTRL, QUERYMENU, QUERY_EXT_CTRL, DQEVENT, SUBSCRIBE)
QCTRL = "<I I 32s i i i i I 8x"  # id type name minimum maximum step default_value flags
QEXT = "<I I 32s q q Q q I 156x"  # … flags (elem_size elems nr_of_dims dims reserved)
QMENU_NAME, QMENU_VALUE = "<I I 32s 4x", "<I I q 28x"
# type, u.ctrl {changes type value flags min max step default}, pending, sequence, ts, id
EVENT_CTRL_LAYOUT = "<I 4x I I q I i i i i 28x I I 16x I 36x"
NEXT = 0x80000000
INTEGER, BOOLEAN, MENU, INTEGER_MENU = 1, 2, 3, 9
DISABLED, READ_ONLY, INACTIVE = 0x1, 0x4, 0x10


class Ctrl:
    def __init__(self, cid, name, kind, lo, hi, step, default, flags=0, menu=None,
                 auto=None, manual=(0,)):
        self.id, self.name, self.kind = cid, name, kind
        self.lo, self.hi, self.step, self.default, self.flags = lo, hi, step, default, flags
        self.value = default
        self.menu = menu or {}
        self.auto = auto  # the auto control that makes this one inactive unless `manual`
        self.manual = manual
        self.busy = False  # EBUSY on S_CTRL (a control grabbed while streaming)


def uvc_webcam():
    """A typical UVC webcam's controls (values as uvcvideo reports them)."""
    return [
        Ctrl(0x980900, "Brightness", INTEGER, -64, 64, 1, 0),
        Ctrl(0x980901, "Contrast", INTEGER, 0, 95, 1, 32),
        Ctrl(0x980902, "Saturation", INTEGER, 0, 100, 1, 64),
        Ctrl(0x980903, "Hue", INTEGER, -2000, 2000, 1, 0),
        Ctrl(0x98090C, "White Balance, Automatic", BOOLEAN, 0, 1, 1, 1),
        Ctrl(0x98091A, "White Balance Temperature", INTEGER, 2800, 6500, 10, 4600,
             auto=0x98090C),
        Ctrl(0x98091B, "Sharpness", INTEGER, 0, 7, 1, 3, flags=READ_ONLY),
        Ctrl(0x9A0901, "Auto Exposure", MENU, 0, 3, 1, 3,
             menu={1: "Manual Mode", 3: "Aperture Priority Mode"}),
        Ctrl(0x9A0902, "Exposure Time, Absolute", INTEGER, 3, 2047, 1, 250, auto=0x9A0901,
             manual=(1, 2)),
        Ctrl(0x9A090A, "Focus, Absolute", INTEGER, 0, 250, 5, 0, auto=0x9A090C),
        Ctrl(0x9A090C, "Focus, Automatic Continuous", BOOLEAN, 0, 1, 1, 1),
        Ctrl(0x9A090D, "Zoom, Absolute", INTEGER, 100, 500, 1, 100),
        Ctrl(0x9A0908, "Pan, Absolute", INTEGER, -36000, 36000, 3600, 0),
        Ctrl(0x9A0909, "Tilt, Absolute", INTEGER, -36000, 36000, 3600, 0, flags=DISABLED),
    ]


class Driver:
    """The controls of one device, shared by every descriptor open on it."""

    def __init__(self, controls, ext=True, walk=True):
        self.controls = {c.id: c for c in controls}
        self.ext, self.walk = ext, walk
        self.subscribers: dict[int, set[int]] = {}  # fd -> control ids
        self.queues: dict[int, list] = {}
        self.sets = []  # (fd, id, value) of every S_CTRL

    def flags(self, c):
        flags = c.flags
        if c.auto is not None and self.controls[c.auto].value not in c.manual:
            flags |= INACTIVE
        return flags

    def ioctl(self, fd, request, buf):
        if request in (QUERYCTRL, QUERY_EXT_CTRL):
            if request == QUERY_EXT_CTRL and not self.ext:
                raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
            c = self._find(struct.unpack_from("<I", buf)[0])
            layout = QEXT if request == QUERY_EXT_CTRL else QCTRL
            struct.pack_into(layout, buf, 0, c.id, c.kind, c.name.encode(), c.lo, c.hi,
                             c.step, c.default, self.flags(c))
        elif request == QUERYMENU:
            cid, index = struct.unpack_from("<II", buf)
            c = self.controls[cid]
            if index not in c.menu:
                raise OSError(errno.EINVAL, "Invalid argument")
            if c.kind == INTEGER_MENU:
                struct.pack_into(QMENU_VALUE, buf, 0, cid, index, c.menu[index])
            else:
                struct.pack_into(QMENU_NAME, buf, 0, cid, index, c.menu[index].encode())
        elif request == G_CTRL:
            c = self._control(struct.unpack_from("<I", buf)[0])
            struct.pack_into("<Ii", buf, 0, c.id, c.value)
        elif request == S_CTRL:
            cid, value = struct.unpack_from("<Ii", buf)
            self.change(fd, cid, value)
            struct.pack_into("<Ii", buf, 0, cid, self.controls[cid].value)
        elif request == SUBSCRIBE:
            kind, cid = struct.unpack_from("<II", buf)
            assert kind == 3 and struct.unpack_from("<I", buf, 8)[0] == 0  # no feedback
            self._control(cid)
            self.subscribers.setdefault(fd, set()).add(cid)
        elif request == DQEVENT:
            queue = self.queues.get(fd)
            if not queue:
                raise OSError(errno.ENOENT, "No such file or directory")
            cid, changes, value = queue.pop(0)
            struct.pack_into(EVENT_CTRL_LAYOUT, buf, 0, 3, changes, INTEGER, value, 0, 0, 0,
                             0, 0, len(queue), 7, cid)
        else:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")

    def change(self, fd, cid, value):
        """S_CTRL as the control framework does it: refuse, or clamp and snap, then tell the
        other subscribers."""
        c = self._control(cid)
        if self.flags(c) & READ_ONLY:
            raise OSError(errno.EACCES, "Permission denied")
        if c.busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        if self.flags(c) & INACTIVE:
            raise OSError(errno.EACCES, "Permission denied")  # uvcvideo: auto is on
        if c.kind in (MENU, INTEGER_MENU) and value not in c.menu:
            raise OSError(errno.EINVAL, "Invalid argument")
        value = min(max(value, c.lo), c.hi)
        value = c.lo + (value - c.lo + c.step // 2) // c.step * c.step
        self.sets.append((fd, cid, value))
        if value != c.value:
            c.value = value
            for other, ids in self.subscribers.items():
                if other != fd and cid in ids:
                    self.queues.setdefault(other, []).append((cid, 1, value))

    def _control(self, cid):
        c = self.controls.get(cid)
        if c is None or c.flags & DISABLED:
            raise OSError(errno.EINVAL, "Invalid argument")
        return c

    def _find(self, asked):
        if not asked & NEXT:
            c = self.controls.get(asked)
            if c is None:
                raise OSError(errno.EINVAL, "Invalid argument")
            return c
        if not self.walk:
            raise OSError(errno.EINVAL, "Invalid argument")
        later = sorted(cid for cid in self.controls if cid > asked & ~NEXT)
        if not later:
            raise OSError(errno.EINVAL, "Invalid argument")
        return self.controls[later[0]]

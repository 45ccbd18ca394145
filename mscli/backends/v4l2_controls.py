"""A V4L2 camera's controls as the Media Capture Image controls Chrome exposes on Linux.

Layers, bottom up, as in mscli.backends.v4l2 (whose `_ioctl` boundary the tests replace):
the kernel's structs and request numbers; free functions that run one ioctl on an open
descriptor (query, menu, get, set, subscribe, dequeue an event); the mapping of V4L2 controls
to spec names (spec.md's table, after Chromium's v4l2_capture_delegate.cc), which is pure; and
`CameraControls`, the controls of one open descriptor: what `Device.controls` lists, applying
asked values and reading back what the driver really took, and the changes other programs
make (V4L2_EVENT_CTRL).

The mapping:
- numeric controls keep the driver's raw units, range and step (exposureTime is in 100 us
  units in V4L2 and in the spec; exposureCompensation in 0.001 EV, V4L2's unit: an integer
  menu there, whose items are the values). A control whose range is empty is not offered,
  as Chrome leaves it out (nothing can be chosen); neither is a disabled, read-only or
  write-only one.
- modes: "manual" is offered when the absolute control has a non-empty range (and the auto
  control, if any, can be turned off), "continuous" when the auto control exists. A camera
  with the absolute control and no auto control is in "manual" (Chrome says "none" there,
  which is not among the values it offers).
- an absolute value is applied only with its auto control off; modes are set first.
- nothing is reset on open (Chromium resets user and camera controls to their defaults): a
  control nobody constrains keeps the value the user gave it with v4l2-ctl or guvcview.
"""

from __future__ import annotations

import errno
import select
import struct
import time

from mscli.backends import v4l2
from mscli.controls import ChoiceControl, NumericControl

# --- the kernel interface (include/uapi/linux/videodev2.h, v4l2-controls.h) ----------------

VIDIOC_G_CTRL = 0xC008561B  # struct v4l2_control, 8 bytes
VIDIOC_S_CTRL = 0xC008561C
VIDIOC_QUERYCTRL = 0xC0445624  # struct v4l2_queryctrl, 68 bytes
VIDIOC_QUERYMENU = 0xC02C5625  # struct v4l2_querymenu, 44 bytes (packed)
VIDIOC_QUERY_EXT_CTRL = 0xC0E85667  # struct v4l2_query_ext_ctrl, 232 bytes
VIDIOC_DQEVENT = 0x80885659  # struct v4l2_event, 136 bytes on 64-bit
VIDIOC_SUBSCRIBE_EVENT = 0x4020565A  # struct v4l2_event_subscription, 32 bytes

CONTROL = struct.Struct("=Ii")  # id value
QUERYCTRL = struct.Struct("=II32siiiiI2I")  # id type name min max step default flags reserved
QUERY_EXT_CTRL = struct.Struct("=II32sqqQqIIII4I32I")  # … flags elem_size elems nr_of_dims dims
QUERYMENU = struct.Struct("=II32sI")  # id index name[32] | s64 value (integer menus), reserved
EVENT_SUBSCRIPTION = struct.Struct("=III5I")  # type id flags reserved
# type, (4 pad), u.ctrl {changes type value(s64) flags min max step default} padded to the
# union's 64 bytes, pending sequence timestamp{sec nsec} id reserved[8] (4 pad)
EVENT = struct.Struct("=I4xIIqIiiii28xIIqqI8I4x")

CTRL_TYPE_INTEGER, CTRL_TYPE_BOOLEAN, CTRL_TYPE_MENU = 1, 2, 3
CTRL_TYPE_INTEGER_MENU = 9
FLAG_DISABLED, FLAG_READ_ONLY, FLAG_WRITE_ONLY = 0x0001, 0x0004, 0x0040
FLAG_NEXT_CTRL = 0x80000000
EVENT_CTRL = 3
EVENT_CTRL_CH_VALUE = 0x1

CID_BRIGHTNESS, CID_CONTRAST, CID_SATURATION = 0x00980900, 0x00980901, 0x00980902
CID_AUTO_WHITE_BALANCE = 0x0098090C
CID_WHITE_BALANCE_TEMPERATURE = 0x0098091A
CID_SHARPNESS = 0x0098091B
CID_EXPOSURE_AUTO, CID_EXPOSURE_ABSOLUTE = 0x009A0901, 0x009A0902
CID_PAN_ABSOLUTE, CID_TILT_ABSOLUTE = 0x009A0908, 0x009A0909
CID_FOCUS_ABSOLUTE, CID_FOCUS_AUTO = 0x009A090A, 0x009A090C
CID_ZOOM_ABSOLUTE = 0x009A090D
CID_AUTO_EXPOSURE_BIAS = 0x009A0913
# enum v4l2_exposure_auto_type: who sets the exposure time (and the iris)
EXPOSURE_AUTO, EXPOSURE_MANUAL, EXPOSURE_SHUTTER_PRIORITY, EXPOSURE_APERTURE_PRIORITY = range(4)

# --- the mapping (spec.md) --------------------------------------------------------------------

NUMERIC = {"brightness": CID_BRIGHTNESS, "contrast": CID_CONTRAST,
           "saturation": CID_SATURATION, "sharpness": CID_SHARPNESS,
           "pan": CID_PAN_ABSOLUTE, "tilt": CID_TILT_ABSOLUTE, "zoom": CID_ZOOM_ABSOLUTE,
           "focusDistance": CID_FOCUS_ABSOLUTE, "exposureTime": CID_EXPOSURE_ABSOLUTE,
           "exposureCompensation": CID_AUTO_EXPOSURE_BIAS,
           "colorTemperature": CID_WHITE_BALANCE_TEMPERATURE}
# mode -> (its auto control, the absolute control that applies only in "manual")
MODES = {"focusMode": (CID_FOCUS_AUTO, "focusDistance"),
         "exposureMode": (CID_EXPOSURE_AUTO, "exposureTime"),
         "whiteBalanceMode": (CID_AUTO_WHITE_BALANCE, "colorTemperature")}
MAPPED = tuple(NUMERIC.values()) + tuple(auto for auto, _absolute in MODES.values())
# Exposure: "manual" is a fixed exposure time, "continuous" an automatic one with the iris
# left alone (aperture priority, as Chromium; cameras have fixed apertures), else full auto.
EXPOSURE_CHOICES = {"manual": (EXPOSURE_MANUAL, EXPOSURE_SHUTTER_PRIORITY),
                    "continuous": (EXPOSURE_APERTURE_PRIORITY, EXPOSURE_AUTO)}
USABLE = (CTRL_TYPE_INTEGER, CTRL_TYPE_BOOLEAN, CTRL_TYPE_MENU, CTRL_TYPE_INTEGER_MENU)
UNUSABLE_FLAGS = FLAG_DISABLED | FLAG_READ_ONLY | FLAG_WRITE_ONLY
GONE = (errno.ENODEV, errno.ENOENT, errno.ENXIO)


class Query:
    """One V4L2 control as VIDIOC_QUERY(_EXT)CTRL describes it; `menu`: index -> name or
    integer value of a menu's items (holes left out)."""

    __slots__ = ("id", "type", "name", "minimum", "maximum", "step", "default", "flags",
                 "menu")

    def __init__(self, id, type, name, minimum, maximum, step, default, flags, menu=None):
        self.id, self.type, self.name = id, type, name
        self.minimum, self.maximum, self.step = minimum, maximum, step
        self.default, self.flags = default, flags
        self.menu = dict(menu or {})

    def __repr__(self) -> str:
        return f"Query({self.name!r}, {self.id:#x}, {self.minimum}..{self.maximum})"


# --- one ioctl each ---------------------------------------------------------------------------


def query_ext(fd: int, cid: int) -> Query:
    """VIDIOC_QUERY_EXT_CTRL (64-bit ranges); cid may carry FLAG_NEXT_CTRL."""
    buf = bytearray(QUERY_EXT_CTRL.size)
    struct.pack_into("=I", buf, 0, cid)
    v4l2._ioctl(fd, VIDIOC_QUERY_EXT_CTRL, buf, True)
    cid, kind, name, lo, hi, step, default, flags, *_ = QUERY_EXT_CTRL.unpack(buf)
    return Query(cid, kind, v4l2._text(name), lo, hi, step, default, flags)


def query_old(fd: int, cid: int) -> Query:
    """VIDIOC_QUERYCTRL, for drivers older than VIDIOC_QUERY_EXT_CTRL (Linux 3.17)."""
    cid, kind, name, lo, hi, step, default, flags, *_ = v4l2._call(
        fd, VIDIOC_QUERYCTRL, QUERYCTRL, cid, 0, b"", 0, 0, 0, 0, 0, 0, 0)
    return Query(cid, kind, v4l2._text(name), lo, hi, step, default, flags)


def menu_items(fd: int, q: Query) -> dict:
    """index -> name (menus) or value (integer menus); a driver may leave indices out."""
    items = {}
    for index in range(max(q.minimum, 0), min(q.maximum, q.minimum + 64) + 1):
        buf = bytearray(QUERYMENU.size)
        struct.pack_into("=II", buf, 0, q.id, index)
        try:
            v4l2._ioctl(fd, VIDIOC_QUERYMENU, buf, True)
        except OSError as e:
            if e.errno == errno.EINVAL:
                continue  # a hole in the menu
            raise
        if q.type == CTRL_TYPE_INTEGER_MENU:
            items[index] = struct.unpack_from("=q", buf, 8)[0]
        else:
            items[index] = v4l2._text(bytes(buf[8:40]))
    return items


def get(fd: int, cid: int) -> int:
    return v4l2._call(fd, VIDIOC_G_CTRL, CONTROL, cid, 0)[1]


def set_value(fd: int, cid: int, value: int) -> None:
    """VIDIOC_S_CTRL (the driver clamps to its range and step, or refuses: read back)."""
    v4l2._call(fd, VIDIOC_S_CTRL, CONTROL, cid, value)


def subscribe(fd: int, cid: int) -> None:
    """V4L2_EVENT_CTRL for one control. Flags 0: no event for a change made through this
    descriptor itself (no ALLOW_FEEDBACK), so ms's own settings never look like another
    program's."""
    buf = bytearray(EVENT_SUBSCRIPTION.pack(EVENT_CTRL, cid, 0, 0, 0, 0, 0, 0))
    v4l2._ioctl(fd, VIDIOC_SUBSCRIBE_EVENT, buf, True)


def _wait_pri(fd: int, timeout: float) -> int:
    """poll() for POLLPRI (an event is pending) up to `timeout` seconds: the revents, 0 if
    none. POLLPRI only: asking for POLLIN could start the driver's read() emulation on this
    descriptor, which is not the one capturing."""
    poller = select.poll()
    poller.register(fd, select.POLLPRI)
    ready = poller.poll(timeout * 1000)
    return ready[0][1] if ready else 0


def dequeue(fd: int) -> tuple[int, int, int, int] | None:
    """One pending event: (event type, control id, changes, pending after it), or None.
    The descriptor must be non-blocking (ENOENT: nothing pending)."""
    buf = bytearray(EVENT.size)
    try:
        v4l2._ioctl(fd, VIDIOC_DQEVENT, buf, True)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None
        raise
    kind, changes, _ctype, _value, _flags, _lo, _hi, _step, _default, pending, _seq, \
        _sec, _nsec, cid, *_ = EVENT.unpack(buf)
    return kind, cid, changes, pending


# --- what the camera has ---------------------------------------------------------------------


def enumerate_controls(fd: int) -> dict[int, Query]:
    """Every control the driver reports (FLAG_NEXT_CTRL walk), by id, menus filled in for the
    mapped ones. Drivers without the EXT ioctl get the old one; drivers that cannot walk
    (very old ones) are asked for each mapped id."""
    for query in (query_ext, query_old):
        try:
            found = _walk(fd, query)
        except OSError as e:
            if e.errno not in (errno.ENOTTY, errno.EINVAL):
                raise
            continue
        if found:
            break
    else:
        found = {}
        for cid in MAPPED:
            try:
                found[cid] = query_old(fd, cid)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOTTY):
                    raise
    for q in found.values():
        if q.id in MAPPED and q.type in (CTRL_TYPE_MENU, CTRL_TYPE_INTEGER_MENU):
            q.menu = menu_items(fd, q)
    return found


def _walk(fd: int, query) -> dict[int, Query]:
    found: dict[int, Query] = {}
    cid = 0
    for _ in range(4096):
        try:
            q = query(fd, cid | FLAG_NEXT_CTRL)
        except OSError as e:
            if e.errno == errno.EINVAL and found:
                return found  # past the last control
            raise
        if q.id in found:
            return found  # a driver that does not move on
        found[q.id] = q
        cid = q.id
    return found


def usable(q: Query | None) -> bool:
    return q is not None and q.type in USABLE and not q.flags & UNUSABLE_FLAGS


def numeric_range(q: Query) -> tuple[float, float, float] | None:
    """(min, max, step) in spec units, or None for an empty range."""
    if q.type == CTRL_TYPE_INTEGER_MENU:
        values = sorted(set(q.menu.values()))
        if len(values) < 2:
            return None
        steps = {b - a for a, b in zip(values, values[1:])}
        return values[0], values[-1], min(steps)
    if q.maximum <= q.minimum:
        return None
    return q.minimum, q.maximum, max(q.step, 1)


def to_spec(q: Query, raw: int) -> float:
    """A raw value as the spec's number (an integer menu's index is its item's value)."""
    if q.type == CTRL_TYPE_INTEGER_MENU:
        return q.menu.get(raw, raw)
    return raw


def to_raw(q: Query, value: float) -> int:
    """The raw value for a spec number: an integer menu's nearest item, else the integer."""
    if q.type == CTRL_TYPE_INTEGER_MENU:
        return min(q.menu, key=lambda index: (abs(q.menu[index] - value), index))
    return int(round(value))


def auto_settings(q: Query) -> dict[str, int]:
    """mode -> the auto control's raw value that selects it, for the modes it can select."""
    if q.id == CID_EXPOSURE_AUTO:
        offered = set(q.menu) if q.menu else set(range(q.minimum, q.maximum + 1))
        out = {}
        for mode, candidates in EXPOSURE_CHOICES.items():
            for raw in candidates:
                if raw in offered:
                    out[mode] = raw
                    break
        return out
    return {"manual": 0, "continuous": 1}  # a boolean: auto focus / auto white balance on


def mode_of(q: Query | None, raw: int | None) -> str:
    """The mode an auto control's raw value means (no auto control: manual only)."""
    if q is None or raw is None:
        return "manual"
    if q.id == CID_EXPOSURE_AUTO:
        return "manual" if raw in EXPOSURE_CHOICES["manual"] else "continuous"
    return "continuous" if raw else "manual"


def spec_controls(found: dict[int, Query], current: dict[int, int]) -> dict:
    """Device.controls from the queried controls and their current raw values."""
    out: dict = {}
    for name, cid in NUMERIC.items():
        q = found.get(cid)
        span = numeric_range(q) if usable(q) and cid in current else None
        if span:
            out[name] = NumericControl(*span, to_spec(q, current[cid]))
    for mode, (cid, absolute) in MODES.items():
        q = found.get(cid) if usable(found.get(cid)) and cid in current else None
        settings = auto_settings(q) if q else {}
        values = []
        if absolute in out and (q is None or "manual" in settings):
            values.append("manual")
        if "continuous" in settings:
            values.append("continuous")
        now = mode_of(q, current.get(cid) if q else None)
        if values and now not in values:
            # Auto off and no absolute control to set: "manual" is not offered (as Chrome),
            # but it is the state the camera is in, and a setting is among its capabilities:
            # without it, an unconstrained capture would turn the auto control on.
            values.append(now)
        if values:
            out[mode] = ChoiceControl(tuple(values), now)
    return out


def plan(found: dict[int, Query], values: dict, current: dict[int, int]) -> tuple[list, list]:
    """What to set for asked spec values: ([(auto cid, raw)] for the modes, set first, and
    [(name, cid, raw)] for the numbers). An absolute value asked without its mode asks for
    "manual" too (Chrome's coupling); whether it then applies is the auto control's state.
    A mode already in force is left as it is (full auto stays full auto, not aperture
    priority, when "continuous" is asked)."""
    modes = []
    for mode, (cid, absolute) in MODES.items():
        q = found.get(cid)
        wanted = values.get(mode, "manual" if absolute in values else None)
        raw = auto_settings(q).get(wanted) if usable(q) and isinstance(wanted, str) else None
        if raw is not None and mode_of(q, current.get(cid)) != wanted:
            modes.append((cid, raw))
    numbers = []
    for name, cid in NUMERIC.items():
        q, value = found.get(cid), values.get(name)
        if usable(q) and isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers.append((name, cid, to_raw(q, value)))
    return modes, numbers


NAME_OF = {cid: name for name, cid in NUMERIC.items()} | \
    {cid: mode for mode, (cid, _absolute) in MODES.items()}
MODE_OF_ABSOLUTE = {absolute: mode for mode, (_cid, absolute) in MODES.items()}


# --- one open camera ---------------------------------------------------------------------------


def controls_of(fd: int) -> CameraControls | None:
    """The controls on an open descriptor, or None if the driver cannot describe them (the
    camera still captures, without controls)."""
    try:
        controls = CameraControls(fd)
    except OSError:
        return None
    return controls if controls.found else None


class CameraControls:
    """The mapped controls of one open descriptor (the caller opens and closes it; it must be
    non-blocking). Setting and watching use the same descriptor, so that the driver does not
    report ms's own settings back as another program's."""

    def __init__(self, fd: int):
        self.fd = fd
        self.found = {cid: q for cid, q in enumerate_controls(fd).items() if cid in MAPPED}
        self._watching = False

    def current(self) -> dict[int, int]:
        """Raw values of the usable mapped controls, as the driver reads them back."""
        out = {}
        for cid, q in self.found.items():
            if usable(q):
                try:
                    out[cid] = get(self.fd, cid)
                except OSError as e:
                    if e.errno in GONE:
                        raise
        return out

    def describe(self) -> dict:
        """Device.controls: name -> NumericControl | ChoiceControl."""
        return spec_controls(self.found, self.current())

    def values(self) -> dict:
        return {name: control.value for name, control in self.describe().items()}

    def apply(self, values: dict) -> dict:
        """Set the asked spec values (modes first; an absolute value only with its auto
        control off), then read back every control: what the driver really took."""
        now = self.current()
        modes, numbers = plan(self.found, values, now)
        for cid, raw in modes:
            self._set(cid, raw)
        if modes:
            now = self.current()  # the modes the driver really took
        for name, cid, raw in numbers:
            mode = MODE_OF_ABSOLUTE.get(name)
            auto = self.found.get(MODES[mode][0]) if mode else None
            if usable(auto) and mode_of(auto, now.get(auto.id)) != "manual":
                continue
            self._set(cid, raw)
        return self.values()

    def _set(self, cid: int, raw: int) -> None:
        try:
            set_value(self.fd, cid, raw)
        except OSError as e:
            if e.errno in GONE:
                raise
            # Refused (a strict driver's range, a busy or inactive control): the read-back
            # reports the value in force, which is the truth the track's settings take.

    def watch(self) -> None:
        """Ask the driver for an event whenever another program changes a mapped control."""
        subscribed = False
        for cid, q in self.found.items():
            if usable(q):
                try:
                    subscribe(self.fd, cid)
                    subscribed = True
                except OSError as e:
                    if e.errno in GONE:
                        raise
                    # ENOTTY/EINVAL: a driver without control events; changes go unseen
        self._watching = subscribed

    def changes(self, timeout: float) -> dict:
        """Wait up to `timeout` seconds for control events; the spec values, read back now,
        of the controls they name ({} if none)."""
        if not self._watching:
            time.sleep(timeout)
            return {}
        ready = _wait_pri(self.fd, timeout)
        if not ready:
            return {}
        if ready & ~select.POLLPRI:  # an error or hang-up (gone): the caller checks
            time.sleep(timeout)
            return {}
        changed = set()
        try:
            while (event := dequeue(self.fd)) is not None:
                kind, cid, changes, pending = event
                if kind == EVENT_CTRL and changes & EVENT_CTRL_CH_VALUE and cid in NAME_OF:
                    changed.add(NAME_OF[cid])
                if not pending:
                    break
            now = self.values() if changed else {}
        except OSError:
            return {}  # gone meanwhile: the caller's own check ends the track
        return {name: now[name] for name in sorted(changed) if name in now}

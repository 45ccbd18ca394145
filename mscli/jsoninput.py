"""Reading JSON that users hand us: a path, `-` for stdin, or inline text starting with `{`.

Every way this can go wrong becomes one error naming where: the file and line:column for a
syntax error, the size for a file too large to be a constraints or device file, the depth for
nesting a parser cannot follow. Strict JSON only: NaN and Infinity are not JSON.
"""

from __future__ import annotations

import json
import os
import re
import select
import stat
import sys
import time
from typing import Callable

from mscli.errors import quoted

MAX_BYTES = 1 << 20  # a constraints or device file is a few hundred bytes; 1 MiB is generous
MAX_DEPTH = 64  # deep enough for any real file, shallow enough to report instead of recursing
# Digits of an integer: Python's own limit on converting text to int, which otherwise ends
# in a message suggesting sys.set_int_max_str_digits(). A float may be longer (1e999 is
# Infinity, as in JavaScript): the types of the constraint or device file then decide.
MAX_DIGITS = 4300
# Seconds a FIFO or pipe may take to deliver its whole text: the program writing it runs
# beside ms and writes a few hundred bytes; past this, nothing is coming.
STREAM_WAIT = 10.0


def load_json(source: str, what: str, error: Callable[[str], Exception],
              wait: float | None = None) -> tuple[object, str]:
    """Return (value, display name) for a path, `-` or inline JSON; raise error(msg) otherwise.
    `wait`: seconds a FIFO or pipe may take to deliver its text, STREAM_WAIT by default."""
    wait = STREAM_WAIT if wait is None else wait
    if source.lstrip().startswith("{"):
        # back to the argv's own bytes: bytes that are not UTF-8 are reported as such
        return parse_json(os.fsencode(source), "<inline>", error), "<inline>"
    if source == "-":
        name = "<stdin>"
        stdin = sys.stdin.buffer
        # a person typing at a terminal takes the time they need; a pipe is a program
        data = (stdin.read(MAX_BYTES + 1) if stdin.isatty()
                else _read_stream(stdin.fileno(), name, what, error, wait))
    else:
        name = source
        data = _read_path(source, what, error, wait)
    if len(data) > MAX_BYTES:
        raise error(f"{name}: larger than {MAX_BYTES // 1024} KiB; is this really a {what} file?")
    return parse_json(data, name, error), name


def _read_path(source: str, what: str, error: Callable[[str], Exception], wait: float) -> bytes:
    """At most MAX_BYTES + 1 bytes of the file `source`. Opened without blocking: a FIFO no
    program writes would otherwise block the open itself, for ever."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise error(f"{what} file {quoted(source)} does not exist{_inline_hint(source)}") from None
    except OSError as e:
        raise error(f"cannot read {what} file {quoted(source)}: {e.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{what} file {quoted(source)} is a directory")
        if stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            with open(fd, "rb", closefd=False) as f:
                return f.read(MAX_BYTES + 1)
        return _read_stream(fd, quoted(source), what, error, wait)  # a FIFO, device, socket
    except OSError as e:
        raise error(f"cannot read {what} file {quoted(source)}: {e.strerror}") from None
    finally:
        os.close(fd)


def _inline_hint(source: str) -> str:
    """For a missing file named like JSON that is not an object ('[1]', 'true', '"x"'): the
    user meant inline JSON, which is only taken for an object."""
    if re.match(r'\s*([\[\]"}0-9-]|true\b|false\b|null\b)', source):
        return "; inline JSON must be an object, starting with '{'"
    return ""


def _read_stream(fd: int, name: str, what: str, error: Callable[[str], Exception],
                 wait: float) -> bytes:
    """At most MAX_BYTES + 1 bytes of a pipe, FIFO or device, up to its end, which must come
    within `wait` seconds (0: only what is there already): a writer that never comes, or
    never closes, is an error naming the file instead of a hang. Reads only what poll() says
    is there, so a blocking descriptor (stdin, shared with other programs) is read as is."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + wait
    chunks, size = [], 0
    while size <= MAX_BYTES:
        left = max(deadline - time.monotonic(), 0)
        if not poller.poll(left * 1000):
            if left > 0:
                continue
            raise error(f"{name}: the {what} text did not end within {wait:g} s (a FIFO "
                        "or pipe needs a writer that writes the JSON and closes it); give a "
                        "regular file, or inline JSON")
        try:
            chunk = os.read(fd, MAX_BYTES + 1 - size)
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _reject_constant(token: str):
    raise ValueError(f"{token} is not valid JSON (use a finite number)")


class _LongInteger(ValueError):
    pass


def _parse_int(digits: str) -> int:
    if len(digits) > MAX_DIGITS + digits.startswith("-"):
        raise _LongInteger(len(digits.lstrip("-")))
    return int(digits)


def _long_integer_error(text: str, digits: int, name: str) -> str:
    """Where the first over-long integer is, as line:column (the parser does not say)."""
    at = re.search("[0-9]{%d,}" % (MAX_DIGITS + 1), text)
    start = at.start() if at else 0
    line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
    return (f"{name}:{line}:{column}: an integer of {digits:,} digits; at most "
            f"{MAX_DIGITS:,} digits are read")


def parse_json(data: bytes, name: str, error: Callable[[str], Exception]) -> object:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(f"{name}: not UTF-8 text (byte {e.start})") from None
    # Only a text with many brackets can be too deep; skip the scan for ordinary files.
    many = text.count("[") + text.count("{") > MAX_DEPTH
    depth = _max_depth(text) if many else 0
    if depth > MAX_DEPTH:
        raise error(f"{name}: nested {depth} levels deep; the limit is {MAX_DEPTH}")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as e:
        raise error(f"{name}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
    except _LongInteger as e:
        raise error(_long_integer_error(text, e.args[0], name)) from None
    except ValueError as e:  # NaN or Infinity
        raise error(f"{name}: invalid JSON: {e}") from None


def _max_depth(text: str) -> int:
    """Bracket depth outside strings, counted before parsing so the parser never recurses deep."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def show_json(value: object, limit: int = 40) -> str:
    """A value as the user wrote it, shortened for an error message."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

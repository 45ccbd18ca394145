"""Reading JSON that users hand us: a path, `-` for stdin, or inline text starting with `{`.

Every way this can go wrong becomes one error naming where: the file and line:column for a
syntax error, the size for a file too large to be a constraints or device file, the depth for
nesting a parser cannot follow. Strict JSON only: NaN and Infinity are not JSON.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Callable

MAX_BYTES = 1 << 20  # a constraints or device file is a few hundred bytes; 1 MiB is generous
MAX_DEPTH = 64  # deep enough for any real file, shallow enough to report instead of recursing
# Digits of an integer: Python's own limit on converting text to int, which otherwise ends
# in a message suggesting sys.set_int_max_str_digits(). A float may be longer (1e999 is
# Infinity, as in JavaScript): the types of the constraint or device file then decide.
MAX_DIGITS = 4300


def load_json(source: str, what: str, error: Callable[[str], Exception]) -> tuple[object, str]:
    """Return (value, display name) for a path, `-` or inline JSON; raise error(msg) otherwise."""
    if source.lstrip().startswith("{"):
        # back to the argv's own bytes: bytes that are not UTF-8 are reported as such
        return parse_json(os.fsencode(source), "<inline>", error), "<inline>"
    if source == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        name = "<stdin>"
    else:
        name = source
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_BYTES + 1)
        except FileNotFoundError:
            raise error(f"{what} file {source!r} does not exist") from None
        except IsADirectoryError:
            raise error(f"{what} file {source!r} is a directory") from None
        except OSError as e:
            raise error(f"cannot read {what} file {source!r}: {e.strerror}") from None
    if len(data) > MAX_BYTES:
        raise error(f"{name}: larger than {MAX_BYTES // 1024} KiB; is this really a {what} file?")
    return parse_json(data, name, error), name


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

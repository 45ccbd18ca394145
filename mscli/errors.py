"""Errors named as the spec names them, each with the exit code contract.md fixes.

Every failure a user can cause or meet is one of these; the CLI turns them into one line on
stderr (`ms: NAME: message`) and, with --json, an object on stdout.
"""

from __future__ import annotations

LINE_LIMIT = 300  # characters of a message: a line a terminal and a CI log can show


def shown(text: str, limit: int = LINE_LIMIT) -> str:
    """Text a user or a device gave, safe to print as part of one line: escape codes,
    newlines, lone surrogates and every other unprintable character as Python writes them in
    a string ('\\x1b', '\\n', '\\udc80'), and at most `limit` characters, the middle cut
    and counted. The end stays: it is where a message says what went wrong and what to do
    ("cannot write PATH: File name too long"), behind whatever long text it quotes.
    Every message of a MediaError and every warning goes through it; quote names with
    repr() or show_json() as before, this catches what reaches the line whole."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) <= limit:
        return text
    tail = limit // 3
    return f"{text[:limit - tail]}… ({len(text) - limit:,} characters cut) …{text[-tail:]}"


def listed(items: list[str], most: int = 5) -> str:
    """Items joined with ', ', at most `most` of them and then how many more."""
    shown_items = ", ".join(items[:most])
    return shown_items + (f" and {len(items) - most:,} more" if len(items) > most else "")


class MediaError(Exception):
    """Base of every error ms reports to a user."""

    name = "Error"
    exit_code = 1

    def __init__(self, message: str, constraint: str | None = None):
        message = shown(message)  # one line, whatever user text it quotes
        super().__init__(message)
        self.message = message
        self.constraint = constraint

    def lines(self) -> list[str]:
        """What stderr shows: one line, `ms: NAME: message`."""
        return [f"ms: {self.name}: {self.message}"]

    def to_json(self) -> dict:
        body = {"name": self.name}
        if self.constraint is not None:
            body["constraint"] = self.constraint
        body["message"] = self.message
        return {"error": body}


class AbortError(MediaError):
    """A failure while capturing or writing: disk full or any write error (naming the path),
    an encoder error, a stdout that takes no data (closed, full)."""

    name = "AbortError"
    exit_code = 1


class UsageError(MediaError):
    """A bad command line: unknown option, missing file, unusable output."""

    name = "UsageError"
    exit_code = 2


class ConstraintTypeError(MediaError):
    """The spec's TypeError: input that is not valid JSON or not of the spec's types."""

    name = "TypeError"
    exit_code = 2


class DeviceFileError(MediaError):
    """A virtual device file that does not follow the documented format."""

    name = "DeviceFileError"
    exit_code = 2


class NotFoundError(MediaError):
    """No device of a requested kind (or no device matching a selector)."""

    name = "NotFoundError"
    exit_code = 3


class OverconstrainedError(MediaError):
    """No device can satisfy the required constraints; `constraint` names the culprit."""

    name = "OverconstrainedError"
    exit_code = 4

    def __init__(self, constraint: str, message: str):
        super().__init__(message, constraint=constraint)


class NotReadableError(MediaError):
    """The device exists but cannot be opened or read (busy, permission)."""

    name = "NotReadableError"
    exit_code = 5


class ExpectationError(MediaError):
    """The capture finished and at least one `--expect` did not hold: one line each on stderr,
    `ms: expectation failed: video.fps >= 24 (measured 12.3)`."""

    name = "ExpectationError"
    exit_code = 6

    def __init__(self, failures: list[str]):
        self.failures = [shown(failure) for failure in failures]
        super().__init__(f"{len(failures)} expectation{'s' if len(failures) > 1 else ''} "
                         f"did not hold: {'; '.join(self.failures)}")

    def lines(self) -> list[str]:
        return [f"ms: expectation failed: {failure}" for failure in self.failures]


def did_you_mean(name: str, options) -> str:
    """' (did you mean 'x'?)' for the closest option, or ''."""
    import difflib  # only on the error path

    hint = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def quoted(text: str, limit: int = 80) -> str:
    """User text as an error message quotes it (a path, a label, a selector): repr-escaped,
    so control characters, escape codes and lone surrogates cannot reach a terminal raw (or
    crash the write), and cut after `limit` characters so a 5,000-character path does not
    become a 5 KB line. shown() then keeps the whole line within LINE_LIMIT."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"

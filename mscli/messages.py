"""Messages for people, on stderr: warnings (silenced by -q), details (-v), and whether to use
colour.

The CLI sets these once from -q/-v. Colour needs nothing here: --no-color sets NO_COLOR
(https://no-color.org), which rich honours.
"""

from __future__ import annotations

from mscli.streams import say

quiet = False
verbose = False


def warn(message: str) -> None:
    from mscli.errors import shown

    if not quiet:
        say(f"ms: warning: {shown(message)}")


def detail(message: str) -> None:
    """A line for -v only: how ms went about something, not a problem."""
    from mscli.errors import shown

    if verbose:
        say(f"ms: {shown(message)}")

"""Messages for people, on stderr: warnings (silenced by -q), and whether to use colour.

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

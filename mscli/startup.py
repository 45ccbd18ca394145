"""A capture's start-up without Python's cyclic garbage collector.

Start-up (PyAV's and numpy's imports, the device file's probe, the encoders, the sources)
makes tens of thousands of objects that live as long as the capture: the collector ran ~50
times over them for nothing, ~80 ms of CPU in every capture (bench/lean.py: a `-t 0.1` clip
capture 0.30 s of CPU with it, 0.22 s without). It is paused
from the command's first import until the sources start; then what start-up made is frozen
(later collections skip it) and the collector runs as usual for the rest of the capture.
"""

from __future__ import annotations

import contextlib
import gc

_paused = False  # by paused_collector, until started()


@contextlib.contextmanager
def paused_collector():
    """Around a capture command: the collector is paused, and on again afterwards whatever
    happened (an error before the sources started, an in-process caller)."""
    global _paused
    enabled = gc.isenabled()
    gc.disable()
    _paused = True
    try:
        yield
    finally:
        _paused = False
        if enabled:
            gc.enable()


def started() -> None:
    """The sources run: start-up is over. Freezes what it made and resumes the collector if
    paused_collector paused it."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()

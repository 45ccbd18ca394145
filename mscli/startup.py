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
_resume = False  # started() turns the collector on: it was on before paused_collector


@contextlib.contextmanager
def paused_collector():
    """Around a capture command: the collector is paused, and afterwards as it was before
    whatever happened (an error before the sources started, an in-process caller that keeps
    it off). What started() froze is unfrozen, unless the caller had frozen objects itself:
    frozen cycles are never freed, ~2,500 objects held for good per in-process capture."""
    global _paused, _resume
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    _paused, _resume = True, enabled
    try:
        yield
    finally:
        _paused = False
        if not frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()
        else:
            gc.disable()


def started() -> None:
    """The sources run: start-up is over. Freezes what it made and resumes the collector if
    paused_collector paused it."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        if _resume:
            gc.enable()

"""Content conditions of the delivered media: black and frozen video, silent and clipping
audio (issue 12). A track's watcher (analysis.py) looks at each frame the track delivers, on
the source's thread, at a cost that does not show: a strided sample of the luma plane (about
80 x 45 points, no copy of the frame) and one pass of block statistics over each audio chunk.
Each condition fires a `content` event when it begins and when it ends, stamped with the
media time of the edge, and adds up per track into the `stopped` event.

This module holds the thresholds only (no numpy): the command line reads its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

CONDITIONS = ("black", "frozen", "silence", "clipping")


@dataclass(frozen=True)
class ContentOptions:
    # Black: at least BLACK_SHARE of the sampled luma at or below this level (0-255). Limited
    # range black is 16; a covered lens reads 16-25; ffmpeg's blackdetect uses about 38. A
    # share, not a standard deviation, so that a clock or text overlaid on a black picture
    # (vivid's) does not make it "not black".
    black_level: float = 32.0
    black_after: float = 0.1  # seconds: a single dark frame in a cut is not "black"
    # Frozen: consecutive samples differ by less than this mean absolute luma difference.
    # Sensor noise alone moves a real camera's samples by 1-3 levels; a repeated frame by 0
    # (a lossy codec's skipped blocks included).
    frozen_diff: float = 0.5
    frozen_after: float = 0.5  # seconds the picture stays the same before it is "frozen"
    silence_below: float = -60.0  # dBFS (RMS of a chunk, full scale sine = -3 dBFS)
    silence_after: float = 0.5  # seconds below the floor before it is "silence"
    # Clipping: samples at full scale (int16 -32768 or 32767). It ends once no chunk has
    # clipped for this long, so that a clipped voice is one event, not one per syllable.
    clipping_hold: float = 0.25


DEFAULTS = ContentOptions()


def content_options(args) -> ContentOptions | None:
    """The thresholds `ms capture`'s options set; None with --no-content."""
    if args.no_content:
        return None
    return ContentOptions(black_level=args.black_level, frozen_after=args.frozen_after,
                          silence_below=args.silence_below, silence_after=args.silence_after)

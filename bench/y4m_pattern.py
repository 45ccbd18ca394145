"""Pattern generation + y4m writing, in process: the ceiling of `ms capture --unpaced` to y4m.

Writes N frames of the WxH pattern as y4m to stdout (pipe it somewhere) and prints frames/s on
stderr. Target (issue 3, bench a): >= 900 frames/s at 1280x720 on the 2-core CI machine.

    python bench/y4m_pattern.py [--frames 600] [--size 1280x720] | cat > /dev/null
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mscli.media.frames import VideoFrame  # noqa: E402
from mscli.media.pattern import PatternGenerator  # noqa: E402
from mscli.sinks.y4m import Y4MWriter  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--rate", type=int, default=30)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    if sys.stdout.isatty():
        parser.error("stdout is a terminal: pipe it (| cat > /dev/null)")
    tb = Fraction(1, args.rate)
    start = time.perf_counter()
    gen = PatternGenerator(w, h, args.rate)
    writer = Y4MWriter(sys.stdout.buffer, w, h, Fraction(args.rate))
    for i in range(args.frames):
        writer.write(VideoFrame(gen.frame(i), w, h, i, tb, float(i * tb), i))
    writer.close()
    elapsed = time.perf_counter() - start
    print(f"{args.frames} frames {w}x{h} in {elapsed:.3f} s: {args.frames / elapsed:.0f} fps",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Content analysis: what watching for black, frozen, silent and clipping media costs (issue 12).

    python bench/content.py [--runs 3] [--seconds 20]   whole processes, with and without
    python bench/content.py --micro                      in-process, per frame and per chunk

Whole processes: paced 1920x1080 30 fps video and 48 kHz stereo from the virtual devices to
null, `ms capture` as usual against `ms capture --no-content`, the two alternating run by run
(bench/capture.py's machinery), after one untimed round. Reported: CPU seconds per minute of
capture, median of the runs, each side; the ratio; the load. Target: under 5% more CPU.

--micro times the watchers alone on 1080p frames and 10 ms chunks (no process, no pacing, so
the figure does not move with the load as much): microseconds a frame and a chunk, and the
share of one core that 30 frames and 100 chunks a second take.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

from capture import SIZE_1080, constraints, interleaved, load, ms_command, summary

TARGET = 1.05  # CPU with analysis / without


def bench_processes(args, env) -> dict:
    c = constraints(SIZE_1080, audio=True, rate=30)
    base = ms_command(args.ms) + ["capture", "--fake", "-c", c, "-t", str(args.seconds),
                                  "-o", "null", "--events", "none"]
    sides = {"content": {"cmd": base, "env": env, "kw": {"stdout": "null"}},
             "none": {"cmd": base + ["--no-content"], "env": env, "kw": {"stdout": "null"}}}
    print(f"paced 1920x1080 30 fps + 48 kHz stereo -> null, {args.seconds} s; {args.runs} "
          f"runs each, load {load()}", file=sys.stderr)
    results = interleaved(sides, args.runs, args.warmup)
    per_minute = {name: round(statistics.median(r["cpu"] for r in rs) * 60 / args.seconds, 3)
                  for name, rs in results.items()}
    ratio = per_minute["content"] / per_minute["none"]
    s = {name: summary(rs) for name, rs in results.items()}
    for name in sides:
        print(f"  {name:8s} CPU {per_minute[name]:6.2f} s a minute (median of {args.runs}; "
              f"load {s[name]['load']:.2f}, others {s[name]['others'] * 100:.0f}%)")
    print(f"  ratio with / without: {ratio:.3f}  (target < {TARGET})")
    return {"bench": "content", "seconds": args.seconds, "runs": args.runs,
            "cpu_per_minute": per_minute, "sides": s, "ratio": round(ratio, 4),
            "target": f"< {TARGET}", "met": ratio < TARGET}


def bench_micro(args) -> dict:
    """The watchers alone, fed by hand: the pattern at 1080p, the tone in 10 ms chunks."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from mscli.content import DEFAULTS
    from mscli.content.analysis import watch
    from mscli.events import CaptureClock, EventLog
    from mscli.media.frames import AudioFrame, VideoFrame
    from mscli.media.pattern import PatternGenerator
    from mscli.media.tone import ToneGenerator

    class Track:
        def __init__(self, kind):
            self.kind, self.id, self.label = kind, kind, kind
            self._events = EventLog(CaptureClock())

    width, height = SIZE_1080
    frames = [PatternGenerator(width, height, 30).frame(i) for i in range(30)]
    video = watch(Track("video"), DEFAULTS)
    n = 30 * args.micro_seconds
    start = time.process_time()
    for i in range(n):
        video.observe(VideoFrame(frames[i % 30], width, height, i, 1 / 30, i / 30, i))
    per_frame = (time.process_time() - start) / n

    tone = ToneGenerator(48000, 2)
    chunks = [tone.samples(i * 480, 480) for i in range(100)]
    audio = watch(Track("audio"), DEFAULTS)
    n = 100 * args.micro_seconds
    start = time.process_time()
    for i in range(n):
        audio.observe(AudioFrame(chunks[i % 100], 48000, i * 480, i / 100))
    per_chunk = (time.process_time() - start) / n
    share = per_frame * 30 + per_chunk * 100
    print(f"video 1920x1080: {per_frame * 1e6:.0f} us a frame; audio 48 kHz stereo 10 ms: "
          f"{per_chunk * 1e6:.0f} us a chunk; 30 fps + 100 chunks/s: {share * 100:.2f}% of a "
          f"core ({share * 60:.2f} CPU s a minute); load {load()}")
    return {"bench": "content-micro", "us_per_frame": round(per_frame * 1e6, 1),
            "us_per_chunk": round(per_chunk * 1e6, 1), "core_share": round(share, 5)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side (3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (1)")
    parser.add_argument("--seconds", type=int, default=20, help="capture length (20)")
    parser.add_argument("--micro", action="store_true",
                        help="time the watchers in-process instead of whole captures")
    parser.add_argument("--micro-seconds", type=int, default=20,
                        help="(--micro) media seconds fed to each watcher (20)")
    parser.add_argument("--ms", help="the ms command (default: the ms next to this Python)")
    args = parser.parse_args()
    if args.micro:
        print(json.dumps(bench_micro(args)))
        return 0
    env = dict(os.environ, MS_STATE_DIR=tempfile.mkdtemp(prefix="ms-bench-state-"))
    env.pop("MS_FAKE", None)
    print(json.dumps(bench_processes(args, env)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

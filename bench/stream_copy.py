"""Stream copy: `ms capture --video-codec copy` from a file-backed device against
`ffmpeg -re -i CLIP -c copy`, the same clip, whole processes, side by side (issue 15).

    python bench/stream_copy.py [--runs 5] [--seconds 10] [--codecs h264,mjpeg]

For each codec a 1280x720 30 fps clip (testsrc2, x264 veryfast or MJPEG q 5, a little longer
than --seconds) is made once with ffmpeg; then ms and ffmpeg each record --seconds of it, paced
in real time, to mkv by copying its packets. Reported per codec: each side's median CPU seconds
(user + system of the whole process, start-up included) and wall time, ms / ffmpeg, the load
and a JSON line. Target: ms at most 1.2x ffmpeg's CPU. ms runs from this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from capture import FFMPEG_QUIET, interleaved, ms_command, summary

TARGET = 1.2
CLIP_CODECS = {"h264": ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"],
               "mjpeg": ["-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p"]}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_clip(folder: str, codec: str, seconds: float) -> str:
    path = os.path.join(folder, f"clip-{codec}.mkv")
    subprocess.run(["ffmpeg", *FFMPEG_QUIET, "-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate=30:duration={seconds + 2}",
                    *CLIP_CODECS[codec], "-y", path], check=True)
    return path


def bench_codec(codec: str, folder: str, args) -> dict:
    clip = make_clip(folder, codec, args.seconds)
    devices = os.path.join(folder, f"devices-{codec}.json")
    with open(devices, "w") as f:
        json.dump({"devices": [{"kind": "videoinput", "label": codec,
                                "source": {"file": clip}}]}, f)
    out = os.path.join(folder, "out.mkv")
    env = dict(os.environ, PYTHONPATH=REPO)
    seconds = str(args.seconds)
    sides = {
        "ms": {"cmd": [*ms_command(args.ms), "capture", "--devices", devices, "-c",
                       '{"video": true}', "--video-codec", "copy", "-t", seconds, "-y",
                       "-o", out],
               "env": env, "kw": {"stdout": "null"}},
        "ffmpeg": {"cmd": ["ffmpeg", *FFMPEG_QUIET, "-re", "-i", clip, "-c", "copy",
                           "-t", seconds, "-y", out],
                   "env": env, "kw": {"stdout": "null"}},
    }
    print(f"{codec}: {clip}", file=sys.stderr)
    results = interleaved(sides, args.runs, warmup=1)
    s = {name: summary(rs) for name, rs in results.items()}
    cpu = {name: statistics.median(r["cpu"] for r in rs) for name, rs in results.items()}
    ratio = cpu["ms"] / cpu["ffmpeg"]
    for name in sides:
        print(f"  {codec:6s} {name:7s} cpu {cpu[name]:6.3f} s  wall {s[name]['median_s']:6.2f} s "
              f"(medians of {args.runs}; load {s[name]['load']:.2f}, others "
              f"{s[name]['others'] * 100:.0f}%)")
    print(f"  {codec:6s} ms / ffmpeg CPU: {ratio:.2f}  (target <= {TARGET})")
    return {"codec": codec, "cpu_s": {k: round(v, 3) for k, v in cpu.items()}, "sides": s,
            "ratio": round(ratio, 3), "met": ratio <= TARGET}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--codecs", default="h264,mjpeg")
    parser.add_argument("--ms", help="the ms command (default: this Python's, this checkout)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ms-bench-copy-") as folder:
        rows = [bench_codec(codec, folder, args) for codec in args.codecs.split(",")]
    print(json.dumps({"bench": "copy", "seconds": args.seconds, "runs": args.runs,
                      "target": f"<= {TARGET}", "codecs": rows}))


if __name__ == "__main__":
    main()

"""Stream copy: `ms capture --video-codec copy` from a file-backed device against
`ffmpeg -re -i CLIP -c copy`, the same clip, whole processes, side by side (issue 15).

    python bench/stream_copy.py [--runs 5] [--short 10] [--long 60] [--codecs h264,mjpeg]

For each codec a 1280x720 30 fps clip (testsrc2, x264 veryfast or MJPEG q 5, a little longer
than --long) is made once with ffmpeg; then ms and ffmpeg each record --short and --long
seconds of it, paced in real time, to mkv by copying its packets, alternating run by run after
one untimed round. CPU is user + system of the whole process, start-up included.

Reported per codec and side: the median CPU of each length, what they make of it (start-up:
the line through both medians at 0 s; per captured second: its slope, in ms of CPU), and the
ratio ms / ffmpeg on the --long clip (of the medians, and the median of each round's ratio,
which the load moves less). A capture tool runs for minutes to hours, so the issue's "same
clip" is the long one. Then whether ms's last recording holds the clip's packets, byte for
byte. Target: ms at most 1.2x ffmpeg's CPU on the long clip. ms runs from this checkout with
its byte code cached, as installed (PYTHONDONTWRITEBYTECODE would compile it at every run).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

from capture import FFMPEG_QUIET, interleaved, load, ms_command, summary

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


def packet_hashes(path: str) -> list[str]:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        return [hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(stream) if p.size]


def sides(clip: str, devices: str, seconds: float, outputs: dict, env: dict, ms: str | None):
    length = f"{seconds:g}"
    return {
        "ms": {"cmd": [*ms_command(ms), "capture", "--devices", devices, "-c",
                       '{"video": true}', "--video-codec", "copy", "-t", length,
                       "--events", "none", "-y", "-o", outputs["ms"]],
               "env": env, "kw": {"stdout": "null"}},
        "ffmpeg": {"cmd": ["ffmpeg", *FFMPEG_QUIET, "-re", "-i", clip, "-c", "copy",
                           "-t", length, "-y", outputs["ffmpeg"]],
                   "env": env, "kw": {"stdout": "null"}},
    }


def line(short: float, long: float, cpu_short: float, cpu_long: float) -> dict:
    """Start-up (CPU at 0 s) and CPU per captured second, through the two medians."""
    slope = (cpu_long - cpu_short) / (long - short)
    return {"startup_s": round(cpu_short - slope * short, 3),
            "per_second_ms": round(slope * 1000, 2)}


def bench_codec(codec: str, folder: str, args, env: dict) -> dict:
    clip = make_clip(folder, codec, args.long)
    devices = os.path.join(folder, f"devices-{codec}.json")
    with open(devices, "w") as f:
        json.dump({"devices": [{"kind": "videoinput", "label": codec,
                                "source": {"file": clip}}]}, f)
    outputs = {"ms": os.path.join(folder, "ms.mkv"), "ffmpeg": os.path.join(folder, "ff.mkv")}
    print(f"{codec}: {clip}; load {load()}", file=sys.stderr)
    runs = {}
    for seconds, warmup in ((args.short, 1), (args.long, 0)):
        print(f" {seconds:g} s", file=sys.stderr)
        runs[seconds] = interleaved(sides(clip, devices, seconds, outputs, env, args.ms),
                                    args.runs, warmup=warmup)
    cpu = {name: {s: statistics.median(r["cpu"] for r in runs[s][name]) for s in runs}
           for name in ("ms", "ffmpeg")}
    lines = {name: line(args.short, args.long, cpu[name][args.short], cpu[name][args.long])
             for name in cpu}
    long = runs[args.long]
    ratio = cpu["ms"][args.long] / cpu["ffmpeg"][args.long]
    paired = statistics.median(m["cpu"] / f["cpu"] for m, f in zip(long["ms"], long["ffmpeg"]))
    stats = {name: summary(long[name]) for name in long}
    copied = packet_hashes(outputs["ms"])
    same = len(copied) > 0 and copied == packet_hashes(clip)[:len(copied)]
    for name in cpu:
        print(f"  {codec:6s} {name:7s} cpu {cpu[name][args.short]:6.3f} s ({args.short:g} s) "
              f"{cpu[name][args.long]:6.3f} s ({args.long:g} s): start-up "
              f"{lines[name]['startup_s']:.3f} s + {lines[name]['per_second_ms']:.2f} ms per "
              f"captured second (medians of {args.runs}; load {stats[name]['load']:.2f}, "
              f"others {stats[name]['others'] * 100:.0f}%)")
    print(f"  {codec:6s} ms / ffmpeg CPU, {args.long:g} s: {ratio:.2f} (rounds' ratios "
          f"{paired:.2f}; target <= {TARGET}); ms's {len(copied)} packets are the clip's: "
          f"{'yes' if same else 'NO'}")
    return {"codec": codec, "cpu_s": {n: {f"{s:g}": round(c, 3) for s, c in v.items()}
                                      for n, v in cpu.items()},
            "lines": lines, "sides": stats, "ratio": round(ratio, 3),
            "paired_ratio": round(paired, 3), "packets_equal": same,
            "met": ratio <= TARGET and same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--short", type=float, default=10.0, help="the short recording (10 s)")
    parser.add_argument("--long", type=float, default=60.0,
                        help="the long recording, the compared clip (60 s)")
    parser.add_argument("--codecs", default="h264,mjpeg")
    parser.add_argument("--ms", help="the ms command (default: this Python's, this checkout)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ms-bench-copy-") as folder:
        env = dict(os.environ, PYTHONPATH=REPO,
                   PYTHONPYCACHEPREFIX=os.path.join(folder, "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        rows = [bench_codec(codec, folder, args, env) for codec in args.codecs.split(",")]
    print(json.dumps({"bench": "copy", "short_s": args.short, "long_s": args.long,
                      "runs": args.runs, "target": f"<= {TARGET}", "codecs": rows}))


if __name__ == "__main__":
    main()

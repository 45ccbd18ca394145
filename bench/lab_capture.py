"""The hardware lab's camera figure: `ms capture` of vivid against `ffmpeg -f v4l2` (issue 15).

    python hwlab/run.py --bench bench/lab_capture.py -- [--runs 5] [--seconds 20] [--rate 5]
    python bench/lab_capture.py --micro      # the raw-format conversions alone, here or there

Runs inside the lab guest (hwlab/run.py boots it; the guest is TCG-emulated, so its CPU
seconds are several times the host's). vivid's camera at 1280x720 YUYV and a fixed --rate is
recorded for --seconds to mkv with libx264 by both tools, the same settings (ms's recorder for
a file: preset veryfast, CRF 23, x264's default keyint, frame threads, yuv420p):
`ms capture -c '{"video": {...exact 1280x720 at R...}}'` against `ffmpeg -f v4l2 -input_format
yuyv422 -video_size 1280x720 -framerate R -i /dev/video0 -t S -c:v libx264 -preset veryfast
-pix_fmt yuv420p -thread_type frame`. Whole processes, alternating run by run after one
untimed round (bench/capture.py's machinery): CPU = user + sys of the child. Reported: each
side's median CPU per captured second once capturing (SteadyCPU: sampled within each run) and
with start-up (the whole process), the ratios of the medians and the medians of each round's
ratio, the frames each file holds (they must agree: a side that loses frames does less work)
and whether x264 ran with the same settings. Target: ms at most 1.1x ffmpeg's CPU.

--threads runs ms once more and prints its CPU per thread (/proc/PID/task, the last sample
before it exits); --micro times ms's YUYV -> I420 conversion in this process against
libswscale (PyAV's reformat) and OpenCV's channel extraction, with the page faults each causes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from capture import (FFMPEG_QUIET, X264, _x264_diff, interleaved, load, probe, summary,
                     x264_options)

TARGET = 1.1  # ms CPU / ffmpeg CPU
SIZE = (1280, 720)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check_tools(ffmpeg: str, node: str) -> str:
    """ffmpeg's version line, or SystemExit naming what the guest lacks."""
    if not os.path.exists(node):
        raise SystemExit(f"lab_capture: no camera at {node} (run it in the lab: "
                         "python hwlab/run.py --bench bench/lab_capture.py)")
    path = shutil.which(ffmpeg)
    if not path:
        raise SystemExit(f"lab_capture: {ffmpeg} not found")
    version = subprocess.run([path, "-hide_banner", "-version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    encoders = subprocess.run([path, "-hide_banner", "-encoders"], capture_output=True,
                              text=True).stdout
    if "libx264" not in encoders:
        raise SystemExit(f"lab_capture: {path} has no libx264 encoder")
    return f"{path}: {version}"


def commands(args, seconds: float, files: dict) -> dict:
    width, height = SIZE
    c = json.dumps({"video": {"width": {"exact": width}, "height": {"exact": height},
                              "frameRate": {"exact": args.rate}}})
    ms = [*args.ms, "capture", "-c", c, "-t", f"{seconds:g}", "--events", "none",
          "-y", "-o", files["ms"]]
    ff = [args.ffmpeg, *FFMPEG_QUIET, "-y", "-f", "v4l2", "-input_format", "yuyv422",
          "-video_size", f"{width}x{height}", "-framerate", f"{args.rate:g}", "-i", args.node,
          "-t", f"{seconds:g}", *X264, "-thread_type", "frame", "-f", "matroska",
          files["ffmpeg"]]
    return {"ms": ms, "ffmpeg": ff}


class SteadyCPU:
    """Each run's CPU per second while it captures, measured within the run: the child's
    user + sys (/proc/PID/stat, every thread) sampled every quarter second. The capture is
    paced by the camera, so it takes SECONDS of wall time and ends before the process exits;
    the window runs from SECONDS - SETTLE before the exit (start-up, opening the camera and
    the encoder's first frames are before it) to TAIL before the exit (the encoder's flush
    and the exit after it, as long as they take less than TAIL). CPU per wall second in it is
    CPU per captured second, with nothing subtracted between two noisy runs."""

    def __init__(self, seconds: float, settle: float, tail: float):
        self.seconds, self.settle, self.tail = seconds, settle, tail
        self.samples: list[tuple[float, float]] = []  # (time, CPU s)
        self.per_second: list[float | None] = []
        self.windows: list[float] = []
        self.tick = os.sysconf("SC_CLK_TCK")

    def before(self) -> None:
        self.samples = []

    def __call__(self, pid: int) -> None:  # run()'s sample hook
        now = time.perf_counter()
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return
        self.samples.append((now, (int(fields[11]) + int(fields[12])) / self.tick))

    def after(self, r: dict) -> None:
        """The window's CPU per second (None when the run was too short for one)."""
        exit_ = r["start"] + r["wall"]
        inside = [(t, cpu) for t, cpu in self.samples
                  if exit_ - self.seconds + self.settle <= t <= exit_ - self.tail]
        span = inside[-1][0] - inside[0][0] if len(inside) > 1 else 0.0
        self.windows.append(round(span, 1))
        self.per_second.append((inside[-1][1] - inside[0][1]) / span if span >= 2 else None)


def bench(args, env) -> dict:
    """Both tools at --seconds (and at --short seconds, if given), alternating run by run:
    each long run gives CPU per captured second with start-up (whole process / seconds) and
    without it (SteadyCPU, within the same run); the short runs the older estimate without
    start-up, the difference between the lengths."""
    files = {"ms": os.path.join(args.tmp, "ms.mkv"), "ffmpeg": os.path.join(args.tmp, "ff.mkv")}
    lengths = [args.seconds] + ([args.short] if args.short else [])
    sides, frames = {}, {}
    steady = {tool: SteadyCPU(args.seconds, args.settle, args.tail) for tool in files}
    for seconds in lengths:
        for tool, cmd in commands(args, seconds, files).items():
            key = f"{tool} {seconds:g}s"
            frames[key] = []
            count = _count_into(frames[key], files[tool])
            sides[key] = {"cmd": cmd, "env": env, "kw": {"stdout": "null"}, "after": count}
            if seconds == args.seconds:
                sampler = steady[tool]
                sides[key].update(kw={"stdout": "null", "sample": sampler},
                                  before=sampler.before,
                                  after=lambda r, count=count, s=sampler: (count(r), s.after(r)))
    print(f"vivid {SIZE[0]}x{SIZE[1]} YUYV at {args.rate:g} fps -> mkv (libx264 veryfast), "
          f"{' and '.join(f'{s:g} s' for s in lengths)}; {args.runs} runs each, load {load()}",
          file=sys.stderr)
    results = interleaved(sides, args.runs, args.warmup)
    frames = {key: counts[args.warmup:] for key, counts in frames.items()}
    s = {key: summary(rs) for key, rs in results.items()}
    long_ = {tool: f"{tool} {args.seconds:g}s" for tool in ("ms", "ffmpeg")}
    per_second = {tool: s[key]["cpu_s"] / args.seconds for tool, key in long_.items()}
    ratio = per_second["ms"] / per_second["ffmpeg"]
    paired = statistics.median(m["cpu"] / f["cpu"] for m, f in
                               zip(results[long_["ms"]], results[long_["ffmpeg"]]))
    print(f"vivid {SIZE[0]}x{SIZE[1]} YUYV at {args.rate:g} fps -> mkv (libx264 veryfast), "
          f"medians of {args.runs}")
    for key in sides:
        s[key]["page_faults"] = statistics.median(r["minflt"] for r in results[key])
        print(f"  {key:12s} cpu {s[key]['cpu_s']:6.2f} s, wall {s[key]['median_s']:6.2f} s, "
              f"{s[key]['page_faults']:.0f} page faults, load {s[key]['load']:.2f}, frames "
              f"per run {frames[key]}")
    same = _x264_diff(x264_options(files["ms"]), x264_options(files["ffmpeg"]))
    agree = all(abs(m - f) <= 1 for seconds in lengths for m, f in
                zip(frames[f"ms {seconds:g}s"], frames[f"ffmpeg {seconds:g}s"]))
    print(f"  x264 settings, ms vs ffmpeg: {same}")
    print(f"  frames, ms vs ffmpeg in each round: "
          f"{'the same (within one)' if agree else 'DIFFER'}")
    within = {tool: [v for v in s_.per_second[args.warmup:] if v is not None]
              for tool, s_ in steady.items()}
    if all(within.values()):
        running = {tool: statistics.median(v) for tool, v in within.items()}
        rounds = statistics.median(m / f for m, f in zip(
            steady["ms"].per_second[args.warmup:], steady["ffmpeg"].per_second[args.warmup:])
            if m is not None and f is not None)
        print(f"  CPU per captured second once capturing (within each {args.seconds:g} s run, "
              f"{args.seconds - args.settle:g} s to {args.tail:g} s before the exit; "
              f"windows {steady['ms'].windows[args.warmup:]} / "
              f"{steady['ffmpeg'].windows[args.warmup:]} s): ms {running['ms']:.3f} s "
              f"{[round(v, 3) for v in within['ms']]}, ffmpeg {running['ffmpeg']:.3f} s "
              f"{[round(v, 3) for v in within['ffmpeg']]}, ratio "
              f"{running['ms'] / running['ffmpeg']:.3f} (median of the rounds' ratios "
              f"{rounds:.3f}; target <= {TARGET})")
        result_steady = {"steady_per_second": {k: round(v, 4) for k, v in running.items()},
                         "steady_runs": {k: [round(x, 4) for x in v] for k, v in
                                         within.items()},
                         "steady_ratio": round(running["ms"] / running["ffmpeg"], 3),
                         "steady_paired_ratio": round(rounds, 3)}
    else:
        print("  CPU once capturing: no window (runs too short for --settle and --tail)")
        result_steady = {}
    print(f"  CPU per captured second ({args.seconds:g} s runs, start-up included): ms "
          f"{per_second['ms']:.3f} s, ffmpeg {per_second['ffmpeg']:.3f} s, ratio {ratio:.3f} "
          f"(median of the rounds' ratios {paired:.3f}; target <= {TARGET})")
    result = {"bench": "lab_capture", "rate": args.rate, "seconds": args.seconds,
              "runs": args.runs, "sides": s, "frames": frames, "frames_agree": agree,
              "x264_diff": same, "cpu_per_second": {k: round(v, 4) for k, v in
                                                    per_second.items()},
              "ratio": round(ratio, 3), "paired_ratio": round(paired, 3),
              "target": f"<= {TARGET}", **result_steady}
    if args.short:
        span = args.seconds - args.short
        running = {tool: (s[key]["cpu_s"] - s[f"{tool} {args.short:g}s"]["cpu_s"]) / span
                   for tool, key in long_.items()}
        startup = {tool: s[f"{tool} {args.short:g}s"]["cpu_s"] - running[tool] * args.short
                   for tool in running}
        print(f"  CPU per captured second without start-up ({args.seconds:g} s less "
              f"{args.short:g} s runs): ms {running['ms']:.3f} s, ffmpeg "
              f"{running['ffmpeg']:.3f} s, ratio {running['ms'] / running['ffmpeg']:.3f}; "
              f"start-up and end: ms {startup['ms']:.2f} s, ffmpeg {startup['ffmpeg']:.2f} s")
        result.update(running_per_second={k: round(v, 4) for k, v in running.items()},
                      running_ratio=round(running["ms"] / running["ffmpeg"], 3),
                      startup_s={k: round(v, 3) for k, v in startup.items()})
    return result


def _count_into(counts: list, path: str):
    """interleaved()'s "after" hook: the video frames PATH holds, appended to COUNTS."""
    return lambda _result: counts.append(video_packets(path))


def video_packets(path: str) -> int:
    return int(probe(path)["streams"].get("h264", {}).get("nb_read_packets", 0))


# --- where ms's CPU goes ----------------------------------------------------------------------


def thread_cpu(cmd: list[str], env: dict) -> dict[str, float]:
    """CPU seconds per thread name of one run of CMD: /proc/PID/task sampled until it exits
    (the last sample counts; a thread that ended between samples keeps its last figure)."""
    tick = os.sysconf("SC_CLK_TCK")
    seen: dict[str, float] = {}
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        try:
            tasks = os.listdir(f"/proc/{proc.pid}/task")
        except OSError:
            break
        for tid in tasks:
            try:
                with open(f"/proc/{proc.pid}/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            seen[f"{name} [{tid}]"] = (int(fields[11]) + int(fields[12])) / tick
        time.sleep(0.2)
    proc.wait()
    return seen


def show_threads(args, env) -> None:
    files = {"ms": os.path.join(args.tmp, "t.mkv"), "ffmpeg": os.path.join(args.tmp, "tf.mkv")}
    for name, cmd in commands(args, args.seconds, files).items():
        seen = thread_cpu(cmd, env)
        print(f"  {name} per thread (CPU s, {args.seconds:g} s captured; total "
              f"{sum(seen.values()):.2f}):")
        for thread, cpu in sorted(seen.items(), key=lambda kv: -kv[1]):
            if cpu >= 0.01:
                print(f"    {cpu:7.2f}  {thread}")


# --- the conversions alone --------------------------------------------------------------------


def micro(frames: int) -> None:
    """ms's packed 4:2:2 -> I420 on a 1280x720 YUYV picture against libswscale and OpenCV,
    CPU and minor page faults per frame (each side's output checked equal to ms's)."""
    if not os.environ.get("PYTHONPATH"):  # else the ms it names (another checkout's)
        sys.path.insert(0, REPO)
    import numpy as np

    try:
        from mscli.sources.raw_formats import packed422_to_i420
    except ImportError:  # a checkout from before it had its own module
        from mscli.sources.camera import packed422_to_i420

    width, height = SIZE
    flat = np.random.default_rng(1).integers(0, 256, width * height * 2, np.uint8)
    expected = packed422_to_i420(flat, width, height, "YUYV")
    print(f"YUYV {width}x{height} -> I420, {frames} frames each, load {load()}, ms from "
          f"{os.path.dirname(os.path.dirname(sys.modules['mscli'].__file__))}")
    for name, convert in (("ms", lambda: packed422_to_i420(flat, width, height, "YUYV")),
                          ("libswscale", _swscale(flat, width, height)),
                          ("opencv", _opencv(flat, width, height))):
        same = np.array_equal(convert(), expected)
        usage0, cpu0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
        for _ in range(frames):
            convert()
        cpu = (time.process_time() - cpu0) / frames
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - usage0.ru_minflt) / frames
        print(f"  {name:10s} {cpu * 1e3:7.3f} ms a frame, {faults:6.0f} page faults a frame, "
              f"{'same as ms' if same else 'DIFFERS from ms'}")


def _swscale(flat, width, height):
    """PyAV: the YUYV bytes into a frame, reformat (libswscale), the planes out as I420."""
    import av
    import numpy as np

    def convert():
        frame = av.VideoFrame(width, height, "yuyv422")
        frame.planes[0].update(flat)
        planes = frame.reformat(format="yuv420p").planes
        return np.concatenate([np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:, :p.width]
                               .reshape(-1) for p in planes])
    return convert


def _opencv(flat, width, height):
    """OpenCV: luma and each chroma channel extracted, chroma rows averaged (rounding up)."""
    import cv2
    import numpy as np

    def convert():
        pairs, quads = flat.reshape(height, width, 2), flat.reshape(height, width // 2, 4)
        y = cv2.extractChannel(pairs, 0).reshape(-1)
        chroma = []
        for at in (1, 3):
            c = cv2.extractChannel(quads, at)
            a, b = c[0::2], c[1::2]
            chroma.append(cv2.subtract(cv2.bitwise_or(a, b),
                                       cv2.bitwise_xor(a, b) >> 1).reshape(-1))
        return np.concatenate([y, *chroma])
    return convert


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each side (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (1)")
    parser.add_argument("--seconds", type=float, default=20, help="recording length (20)")
    parser.add_argument("--short", type=float, default=0,
                        help="also runs this long, to tell start-up apart by difference "
                             "(0: none; the window within each long run does it steadier)")
    parser.add_argument("--settle", type=float, default=3,
                        help="the window opens this long after the capture's start (3)")
    parser.add_argument("--tail", type=float, default=4,
                        help="the window closes this long before the process ended (4; "
                             "more than the encoder's flush and the exit take)")
    parser.add_argument("--rate", type=float, default=5,
                        help="vivid's frame rate (5; at 1280x720 it offers 1-12.5)")
    parser.add_argument("--node", default="/dev/video0", help="vivid's capture node")
    parser.add_argument("--ffmpeg", default="/usr/bin/ffmpeg")
    parser.add_argument("--ms", help="the ms command (default: this Python, this checkout)")
    parser.add_argument("--threads", action="store_true",
                        help="also one run of each side with its CPU per thread")
    parser.add_argument("--micro", type=int, nargs="?", const=200, metavar="FRAMES",
                        help="only time the conversions, FRAMES of them (200)")
    args = parser.parse_args()
    if args.micro:
        micro(args.micro)
        return 0
    args.ms = args.ms.split() if args.ms else [sys.executable, "-m", "mscli"]
    print(check_tools(args.ffmpeg, args.node), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ms-bench-lab-") as tmp:
        args.tmp = tmp
        # ms as installed: byte code cached (the warm-up round writes it), not compiled by
        # every run as the lab's PYTHONDONTWRITEBYTECODE would have it (bench/lean.py).
        env = dict(os.environ, MS_STATE_DIR=os.path.join(tmp, "state"), PYTHONPATH=REPO,
                   PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        result = bench(args, env)
        if args.threads:
            show_threads(args, env)
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

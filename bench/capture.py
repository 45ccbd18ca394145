"""Capture: `ms capture` against ffmpeg, whole processes, side by side in one run (issue 3).

    python bench/capture.py a [--runs 5]     unpaced 1280x720 pattern -> y4m on stdout, 600 frames
    python bench/capture.py b [--runs 5]     1280x720 + 48 kHz stereo -> mkv (libx264 veryfast + opus)
    python bench/capture.py c [--runs 1]     paced 1920x1080 30 fps -> y4m on stdout for 60 s
    python bench/capture.py d [--minutes 10] resident memory of a paced 720p recording over time
    python bench/capture.py all              a, b and c with their defaults

Every run is a whole process (start-up included, as a user sees it). ms and ffmpeg runs
alternate so that the load of whatever else shares the machine hits both alike; each side's
median is reported with the load average and the share of the machine's CPU that other
processes took during that side's runs ("others", from /proc/stat less the measured process
and the reader), then the ratio against the target and a JSON line.

Streams on stdout go to a reader in this process that drains the pipe, counts y4m frames (a
run that did not deliver every frame fails the benchmark) and stamps each frame's arrival.
See bench/README.md for what each benchmark measures and why.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SIZE_720 = (1280, 720)
SIZE_1080 = (1920, 1080)
RATE = 30
FFMPEG_QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error"]


# --------------------------------------------------------------------------------------------
# Commands


def ms_command(spec: str | None) -> list[str]:
    """ms as a command: --ms if given, else the `ms` entry point installed next to this
    Python (not a pyenv shim, whose bash start-up would be counted against ms), else
    `python -m mscli`."""
    if spec:
        return shlex.split(spec)
    beside = os.path.join(os.path.dirname(sys.executable), "ms")
    if os.access(beside, os.X_OK):
        return [beside]
    return [sys.executable, "-m", "mscli"]


def constraints(size, audio: bool = False, rate: int | None = None) -> str:
    video = {"width": size[0], "height": size[1]}
    if rate:
        video["frameRate"] = rate
    c = {"video": video}
    if audio:
        c["audio"] = {"channelCount": 2}
    return json.dumps(c, separators=(",", ":"))


def lavfi_video(size, rate: int = RATE) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size[0]}x{size[1]}:rate={rate}"]


def lavfi_tone() -> list[str]:
    return ["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"]


# x264 as ms's recorder sets it up (mscli/sinks/recorder.py): preset veryfast, x264's default
# CRF 23 and keyint, every core, frame threads, and on a machine with fewer than 4 CPUs its
# lookahead on two threads (x264_lookahead, taken from this checkout: the same for every size
# here). ffmpeg gets -thread_type explicitly (PyAV's default is slice threads, the CLI's frame
# threads); (b), lean.py and hd60.py compare the settings x264 wrote.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mscli.sinks.recorder import x264_lookahead  # noqa: E402

X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        *(arg for name, value in x264_lookahead(SIZE_720[1]).items()
          for arg in (f"-{name}", value))]


# --------------------------------------------------------------------------------------------
# Measuring


def load() -> float:
    return round(os.getloadavg()[0], 2)


def cpu_ticks() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine (all cores) since boot."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    hz = os.sysconf("SC_CLK_TCK")
    return (total - idle) / hz, total / hz


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Drain(threading.Thread):
    """Reads a pipe to its end. With y4m=True it parses the stream: frames counted, the
    arrival of each frame's last byte stamped (perf_counter)."""

    def __init__(self, stream, y4m: bool):
        super().__init__(daemon=True)
        self.stream, self.y4m = stream, y4m
        self.bytes = 0
        self.frames = 0
        self.stamps: list[float] = []
        self.header = b""
        self.error: str | None = None

    def run(self) -> None:
        f = self.stream
        try:
            if not self.y4m:
                buf = bytearray(1 << 20)
                while n := f.readinto(buf):
                    self.bytes += n
                return
            self.header = f.readline()
            self.bytes = len(self.header)
            tags = {t[:1]: t[1:] for t in self.header.split()[1:]}
            w, h = int(tags[b"W"]), int(tags[b"H"])
            if not tags.get(b"C", b"420").startswith(b"420"):
                raise ValueError(f"not 4:2:0: {self.header!r}")
            size = len(b"FRAME\n") + w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
            buf = bytearray(size)
            while True:
                n = f.readinto(buf)
                self.bytes += n
                if n < size:
                    if n:
                        self.error = f"truncated last frame ({n} of {size} bytes)"
                    return
                if buf[:6] != b"FRAME\n":
                    raise ValueError(f"frame {self.frames}: no FRAME marker")
                self.frames += 1
                self.stamps.append(time.perf_counter())
        except (OSError, ValueError, KeyError) as e:
            self.error = f"{type(e).__name__}: {e}"
            while f.read(1 << 20):  # keep draining, the producer must not block
                pass


def run(cmd: list[str], env: dict, *, stdout: str = "y4m", stderr_path: str | None = None,
        rss_every: float | None = None, sample=None, sample_every: float = 0.25) -> dict:
    """One whole process. stdout: "y4m" (parsed), "drain" (discarded) or "null".
    sample: called with the child's pid every sample_every seconds while it runs."""
    err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
    busy0, total0 = cpu_ticks()
    own0 = own_cpu()
    load0 = load()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stderr=err,
                            stdout=subprocess.DEVNULL if stdout == "null" else subprocess.PIPE)
    drain = None
    if stdout != "null":
        drain = Drain(proc.stdout, y4m=stdout == "y4m")
        drain.start()
    usage = None

    def reap(block: bool) -> bool:
        """wait4 rather than Popen.wait/poll: it also gives the child's CPU time."""
        nonlocal usage
        pid, status, ru = os.wait4(proc.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        proc.returncode, usage = os.waitstatus_to_exitcode(status), ru
        return True

    samples: list[tuple[float, int]] = []
    every = rss_every or (sample_every if sample else None)
    if every:
        next_sample = start + every
        while not reap(False):
            time.sleep(max(0.0, min(0.5, next_sample - time.perf_counter())))
            if time.perf_counter() >= next_sample:
                # the pid is not reaped yet, so it is still ours
                kib = rss_kib(proc.pid) if rss_every else None
                if kib is not None:
                    samples.append((round(time.perf_counter() - start, 2), kib))
                if sample:
                    sample(proc.pid)
                next_sample += every
    if proc.returncode is None:
        reap(True)
    if drain is not None:
        drain.join()
        proc.stdout.close()
    wall = time.perf_counter() - start
    busy1, total1 = cpu_ticks()
    if stderr_path:
        err.close()
    cpu = usage.ru_utime + usage.ru_stime if usage is not None else 0.0
    # "others": the share of the machine's CPU (all cores) that went to everything but the
    # measured process and this reader, i.e. the load other people put on the machine.
    others = (busy1 - busy0) - cpu - (own_cpu() - own0)
    result = {"wall": wall, "rc": proc.returncode, "load": max(load0, load()),
              "others": max(0.0, others) / max(1e-9, total1 - total0), "start": start,
              "cpu": cpu}
    if usage is not None:
        result["maxrss_kib"] = usage.ru_maxrss
        result["minflt"] = usage.ru_minflt  # page faults: fresh memory touched
    if drain is not None:
        result.update(bytes=drain.bytes, frames=drain.frames, stamps=drain.stamps,
                      drain_error=drain.error)
    if rss_every:
        result["rss"] = samples
    if proc.returncode != 0:
        tail = ""
        if stderr_path:
            with open(stderr_path, "rb") as f:
                tail = f.read()[-600:].decode(errors="replace")
        raise SystemExit(f"failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail}")
    return result


class OutsideCapture:
    """How long each ms run spent outside its capture (start-up, set-up, exit): the run's wall
    time minus the `stopped` event's time, read from the events ms wrote to `events`."""

    def __init__(self, events: str):
        self.events = events
        self.times: list[float] = []

    def after(self, r) -> None:  # interleaved()'s "after" hook for the ms side
        event = stopped_event(self.events)
        if event:
            self.times.append(r["wall"] - event["time"])

    def median(self) -> float | None:
        return round(statistics.median(self.times), 3) if self.times else None

    def show(self) -> None:
        if self.times:
            print(f"  ms outside capture (start-up, set-up, exit: wall - stopped.time): median "
                  f"{statistics.median(self.times):.3f} s")


def stopped_event(path: str) -> dict | None:
    """The `stopped` event ms wrote last on stderr (NDJSON when stderr is not a terminal)."""
    with open(path, "rb") as f:
        lines = f.read().decode(errors="replace").splitlines()
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "stopped":
            return event
    return None


def track(event: dict | None, kind: str) -> dict:
    if not event:
        return {}
    return next((t for t in event["detail"]["tracks"] if t["kind"] == kind), {})


def interleaved(sides: dict[str, dict], runs: int, warmup: int) -> dict[str, list[dict]]:
    """sides: name -> {"cmd", "env", "kw", "before" (optional callable)}. Alternates the
    sides run by run (the side going first alternates too), after `warmup` untimed rounds."""
    results: dict[str, list[dict]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(warmup + runs):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            side = sides[name]
            if side.get("before"):
                side["before"]()
            r = run(side["cmd"], side["env"], **side.get("kw", {}))
            if side.get("after"):
                side["after"](r)
            if i >= warmup:
                results[name].append(r)
                print(f"  run {i - warmup + 1:2d}  {name:6s} {r['wall']:7.3f} s  "
                      f"cpu {r.get('cpu', 0):6.2f} s  load {r['load']:.2f}  "
                      f"others {r['others'] * 100:3.0f}% of the machine", file=sys.stderr,
                      flush=True)
    return results


def summary(results: list[dict]) -> dict:
    walls = [r["wall"] for r in results]
    return {"median_s": round(statistics.median(walls), 4), "min_s": round(min(walls), 4),
            "max_s": round(max(walls), 4),
            "cpu_s": round(statistics.median(r.get("cpu", 0.0) for r in results), 3),
            "load": round(statistics.median(r["load"] for r in results), 2),
            "others": round(statistics.median(r["others"] for r in results), 3),
            "n": len(walls)}


def show(name: str, s: dict, extra: str = "") -> None:
    print(f"{name:44s} median {s['median_s']:7.3f} s (min {s['min_s']:.3f}, max "
          f"{s['max_s']:.3f}, n={s['n']})  cpu {s['cpu_s']:.2f} s  load {s['load']:.2f}  "
          f"others {s['others'] * 100:.0f}%{extra}")


def percentiles(values: list[float]) -> dict:
    """p50, p99 and max, the way ms's `stopped` event computes them."""
    if not values:
        return {}
    ordered = sorted(values)
    return {name: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)
            for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}


# --------------------------------------------------------------------------------------------
# (a) unpaced 720p pattern -> y4m on stdout


def bench_a(args, env) -> dict:
    frames = args.frames or 600
    ms = ms_command(args.ms) + ["capture", "--fake", "-c", constraints(SIZE_720),
                                "--frames", str(frames), "--unpaced", "-o", "-"]
    ff = [args.ffmpeg, *FFMPEG_QUIET, *lavfi_video(SIZE_720), "-frames:v", str(frames),
          "-f", "yuv4mpegpipe", "-"]
    events = os.path.join(args.tmp, "a-events.ndjson")
    outside = OutsideCapture(events)

    print(f"(a) {frames} frames 1280x720 -> y4m -> pipe, unpaced; {args.runs} runs each, "
          f"load {load()}", file=sys.stderr)
    results = interleaved({"ms": {"cmd": ms, "env": env, "after": outside.after,
                                  "kw": {"stderr_path": events}},
                           "ffmpeg": {"cmd": ff, "env": env}}, args.runs, args.warmup)
    for name, rs in results.items():
        bad = [r for r in rs if r["frames"] != frames or r["drain_error"]]
        if bad:
            raise SystemExit(f"(a) {name} delivered {bad[0]['frames']} frames, not {frames} "
                             f"({bad[0]['drain_error'] or 'no error'})")
    s = {name: summary(rs) for name, rs in results.items()}
    fps = {name: round(frames / v["median_s"], 1) for name, v in s.items()}
    ratio = fps["ms"] / fps["ffmpeg"]
    print(f"(a) unpaced 1280x720 -> y4m, {frames} frames (whole processes, reader drains)")
    for name, cmd in (("ms", ms), ("ffmpeg", ff)):
        show(f"  {name}", s[name], f"  {fps[name]:.0f} fps")
    outside.show()
    print(f"  ratio ms / ffmpeg frames/s: {ratio:.2f}  (target >= 1.0)")
    return {"bench": "capture-a", "frames": frames, "runs": args.runs, "fps": fps,
            "sides": s, "ms_outside_capture_s": outside.median(),
            "ratio": round(ratio, 3), "target": ">= 1.0", "met": ratio >= 1.0}


# --------------------------------------------------------------------------------------------
# (b) 720p + stereo tone -> mkv, libx264 veryfast + opus


def x264_options(path: str) -> str | None:
    """The option string x264 writes into its SEI: what the encoder really ran with."""
    with open(path, "rb") as f:
        data = f.read(4 << 20)
    m = re.search(rb"x264 - core [^\x00]*?options: ([^\x00]*)", data)
    return m.group(1).decode(errors="replace") if m else None


def probe(path: str) -> dict:
    entries = "stream=codec_name,width,height,sample_rate,channels,nb_read_packets:format=duration"
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries", entries,
                          "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    streams = {s["codec_name"]: s for s in info["streams"]}
    return {"streams": {k: {f: v.get(f) for f in ("width", "height", "sample_rate", "channels",
                                                  "nb_read_packets") if v.get(f) is not None}
                        for k, v in streams.items()},
            "duration": float(info["format"].get("duration", 0))}


def bench_b(args, env) -> dict:
    frames = args.frames or 300
    seconds = frames / RATE
    ms_out = os.path.join(args.tmp, "b-ms.mkv")
    ff_out = os.path.join(args.tmp, "b-ffmpeg.mkv")
    ms = ms_command(args.ms) + ["capture", "--fake", "-c", constraints(SIZE_720, audio=True),
                                "--frames", str(frames), "--unpaced", "-y", "-o", ms_out]
    ff = [args.ffmpeg, *FFMPEG_QUIET, "-y", *lavfi_video(SIZE_720), *lavfi_tone(),
          *X264, "-thread_type", args.thread_type, "-c:a", "libopus", "-ac", "2",
          "-frames:v", str(frames), "-t", f"{seconds:g}", "-f", "matroska", ff_out]
    events = os.path.join(args.tmp, "b-events.ndjson")
    outside = OutsideCapture(events)

    print(f"(b) {frames} frames 1280x720 + 48 kHz stereo -> mkv (libx264 veryfast + opus); "
          f"{args.runs} runs each, load {load()}", file=sys.stderr)
    results = interleaved({"ms": {"cmd": ms, "env": env, "after": outside.after,
                                  "kw": {"stdout": "null", "stderr_path": events}},
                           "ffmpeg": {"cmd": ff, "env": env, "kw": {"stdout": "null"}}},
                          args.runs, args.warmup)
    s = {name: summary(rs) for name, rs in results.items()}
    ratio = s["ms"]["median_s"] / s["ffmpeg"]["median_s"]
    cpu_ratio = s["ms"]["cpu_s"] / s["ffmpeg"]["cpu_s"]
    files = {"ms": ms_out, "ffmpeg": ff_out}
    checks = {name: {**probe(path), "bytes": os.path.getsize(path),
                     "x264": x264_options(path)} for name, path in files.items()}
    print(f"(b) 1280x720 + 48 kHz stereo -> mkv (libx264 veryfast + opus), {frames} frames")
    for name in ("ms", "ffmpeg"):
        c = checks[name]
        show(f"  {name}", s[name], f"  {c['bytes'] / 1e6:.1f} MB")
    for name in ("ms", "ffmpeg"):
        c = checks[name]
        print(f"  {name:6s} wrote {c['streams']} duration {c['duration']:.2f} s")
    outside.show()
    same = _x264_diff(checks["ms"]["x264"], checks["ffmpeg"]["x264"])
    print(f"  x264 settings, ms vs ffmpeg: {same}")
    print(f"  ratio ms / ffmpeg wall time: {ratio:.2f}  (target <= 1.15); "
          f"cpu time: {cpu_ratio:.2f}")
    return {"bench": "capture-b", "frames": frames, "runs": args.runs, "sides": s,
            "ffmpeg_thread_type": args.thread_type, "x264_diff": same,
            "ms_outside_capture_s": outside.median(),
            "outputs": {k: {kk: vv for kk, vv in v.items() if kk != "x264"}
                        for k, v in checks.items()},
            "ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3), "target": "<= 1.15",
            "met": ratio <= 1.15}


def _x264_diff(a: str | None, b: str | None) -> str:
    if not a or not b:
        return "unknown (no x264 SEI found)"
    pa = dict(kv.split("=", 1) for kv in a.split() if "=" in kv)
    pb = dict(kv.split("=", 1) for kv in b.split() if "=" in kv)
    diff = {k: (pa.get(k), pb.get(k)) for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}
    if not diff:
        return "identical"
    return "differ in " + ", ".join(f"{k}={x}/{y}" for k, (x, y) in diff.items())


# --------------------------------------------------------------------------------------------
# (c) paced 1080p30 -> y4m on stdout for 60 s


def arrival_jitter(stamps: list[float], rate: int) -> dict:
    """How late each frame reached the reader against an ideal 1/rate schedule anchored on
    the earliest frame (seconds): the reader-side view of pacing, the same for both tools."""
    if not stamps:
        return {}
    late = [t - i / rate for i, t in enumerate(stamps)]
    base = min(late)
    return percentiles([x - base for x in late])


def bench_c(args, env) -> dict:
    seconds = args.seconds or 60
    expected = seconds * RATE
    events = os.path.join(args.tmp, "c-events.ndjson")
    ms = ms_command(args.ms) + ["capture", "--fake", "-c", constraints(SIZE_1080, rate=RATE),
                                "-t", str(seconds), "-o", "-"]
    ff = [args.ffmpeg, *FFMPEG_QUIET, "-re", *lavfi_video(SIZE_1080), "-t", str(seconds),
          "-f", "yuv4mpegpipe", "-"]
    stops: list[dict] = []
    print(f"(c) paced 1920x1080 30 fps -> y4m -> pipe for {seconds} s; {args.runs} run(s) "
          f"each, load {load()}", file=sys.stderr)
    results = interleaved({"ms": {"cmd": ms, "env": env, "kw": {"stderr_path": events},
                                  "after": lambda r: stops.append(track(stopped_event(events),
                                                                        "video"))},
                           "ffmpeg": {"cmd": ff, "env": env}}, args.runs, 0)
    print(f"(c) paced 1920x1080 30 fps -> y4m -> pipe, {seconds} s ({expected} frames)")
    out = {"bench": "capture-c", "seconds": seconds, "runs": args.runs, "ms": [], "ffmpeg": []}
    for name in ("ms", "ffmpeg"):
        for i, r in enumerate(results[name]):
            jitter = arrival_jitter(r["stamps"], RATE)
            row = {"wall_s": round(r["wall"], 2), "frames_read": r["frames"],
                   "cpu_pct": round(100 * r["cpu"] / r["wall"], 1), "load": r["load"],
                   "others": round(r["others"], 3), "reader_jitter_s": jitter}
            line = (f"  {name:6s} run {i + 1}: {r['frames']} frames read, wall {r['wall']:.2f} s,"
                    f" cpu {row['cpu_pct']:.0f}% of a core, load {r['load']:.2f}, others "
                    f"{r['others'] * 100:.0f}% of the machine; arrival jitter at the reader p50 "
                    f"{jitter.get('p50', 0) * 1000:.1f} / p99 {jitter.get('p99', 0) * 1000:.1f}"
                    f" / max {jitter.get('max', 0) * 1000:.1f} ms")
            if name == "ms":
                t = stops[i]
                row.update(frames=t.get("frames"), drops=t.get("drops"),
                           latency=t.get("latency"))
                lat = t.get("latency") or {}
                line += (f"\n         stopped: frames {t.get('frames')}, drops {t.get('drops')},"
                         f" capture-to-write latency p50 {lat.get('p50', 0) * 1000:.1f} / p99 "
                         f"{lat.get('p99', 0) * 1000:.1f} / max {lat.get('max', 0) * 1000:.1f} ms")
            print(line)
            out[name].append(row)
    ms_rows = out["ms"]
    worst_p99 = max((r.get("latency") or {}).get("p99", float("inf")) for r in ms_rows)
    drops = sum((r.get("drops") or 0) for r in ms_rows)
    short = [r["frames_read"] for r in ms_rows if r["frames_read"] != expected]
    met = drops == 0 and worst_p99 < 1 / RATE and not short
    print(f"  ms: drops {drops}, worst p99 latency {worst_p99 * 1000:.1f} ms "
          f"(target: 0 drops, p99 < {1000 / RATE:.1f} ms): {'met' if met else 'NOT met'}")
    out.update(drops=drops, p99_s=worst_p99, target="0 drops, p99 < 1/30 s", met=met)
    return out


# --------------------------------------------------------------------------------------------
# (d) resident memory over a long paced recording


def bench_d(args, env) -> dict:
    seconds = round(args.minutes * 60)
    every = args.interval
    events = os.path.join(args.tmp, "d-events.ndjson")
    target = "-" if args.to == "pipe" else os.path.join(args.tmp, "d-ms.mkv")
    ms = ms_command(args.ms) + ["capture", "--fake", "-c", constraints(SIZE_720, audio=True),
                                "-t", str(seconds), "-f", "matroska", "-y", "-o", target]
    ff = [args.ffmpeg, *FFMPEG_QUIET, "-y", "-re", *lavfi_video(SIZE_720), "-re", *lavfi_tone(),
          *X264, "-thread_type", args.thread_type, "-c:a", "libopus", "-ac", "2",
          "-t", str(seconds), "-f", "matroska",
          "-" if args.to == "pipe" else os.path.join(args.tmp, "d-ffmpeg.mkv")]
    print(f"(d) paced 1280x720 + stereo -> mkv ({args.to}) for {seconds} s, VmRSS every "
          f"{every:g} s; ms{' and ffmpeg at the same time' if args.peer else ''}; "
          f"load {load()}", file=sys.stderr)
    kw = {"stdout": "drain" if args.to == "pipe" else "null", "rss_every": every}
    results: dict[str, dict] = {}

    def side(name, cmd, **extra):
        results[name] = run(cmd, env, **kw, **extra)

    threads = [threading.Thread(target=side, args=("ms", ms), kwargs={"stderr_path": events})]
    if args.peer:
        threads.append(threading.Thread(target=side, args=("ffmpeg", ff)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = {"bench": "capture-d", "seconds": seconds, "to": args.to, "interval_s": every}
    print(f"(d) resident memory, paced 1280x720 + stereo -> mkv ({args.to}), {seconds} s")
    for name, r in results.items():
        rss = r["rss"]
        if not rss:
            raise SystemExit(f"(d) {name}: no VmRSS sample")
        first = min(rss, key=lambda s: abs(s[0] - 60))
        last = rss[-1]
        growth = (last[1] - first[1]) / first[1]
        entry = {"rss_at_s": {str(first[0]): first[1], str(last[0]): last[1]},
                 "growth": round(growth, 4), "peak_kib": max(k for _, k in rss),
                 "wall_s": round(r["wall"], 1), "cpu_pct": round(100 * r["cpu"] / r["wall"], 1),
                 "load": r["load"], "others": round(r["others"], 3),
                 "series_kib": [k for t, k in rss if round(t) % 60 < every or t == last[0]]}
        extra = ""
        if name == "ms":
            t = track(stopped_event(events), "video")
            entry.update(frames=t.get("frames"), drops=t.get("drops"), latency=t.get("latency"))
            extra = f"; video frames {t.get('frames')}, drops {t.get('drops')}, " \
                    f"latency {t.get('latency')}"
        print(f"  {name:6s} VmRSS {first[1] / 1024:.1f} MiB at {first[0]:.0f} s, "
              f"{last[1] / 1024:.1f} MiB at {last[0]:.0f} s: {growth * 100:+.1f}%  "
              f"(peak {entry['peak_kib'] / 1024:.1f} MiB, cpu {entry['cpu_pct']:.0f}% of a core,"
              f" load {r['load']:.2f}){extra}")
        out[name] = entry
    growth = out["ms"]["growth"]
    out.update(growth=growth, target="|growth| <= 10%", met=abs(growth) <= 0.10)
    print(f"  ms growth from 1 min to the end: {growth * 100:+.1f}% (target within 10%)")
    return out


# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=("a", "b", "c", "d", "all"))
    parser.add_argument("--runs", type=int, help="timed runs of each side (a, b: 5; c: 1)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed rounds first (a, b; default 1)")
    parser.add_argument("--frames", type=int, help="(a) 600, (b) 300")
    parser.add_argument("--seconds", type=int, help="(c) 60")
    parser.add_argument("--minutes", type=float, default=10.0, help="(d) length, default 10")
    parser.add_argument("--interval", type=float, default=5.0,
                        help="(d) seconds between VmRSS samples")
    parser.add_argument("--to", choices=("pipe", "file"), default="pipe",
                        help="(d) the mkv goes to a discarding reader or to a file")
    parser.add_argument("--no-peer", dest="peer", action="store_false",
                        help="(d) do not run ffmpeg alongside")
    parser.add_argument("--thread-type", default="frame", choices=("slice", "frame"),
                        help="ffmpeg's libx264 -thread_type in (b) and (d): what ms's recorder "
                             "uses (frame; (b) checks that the x264 settings match)")
    parser.add_argument("--ms", help="the ms command (default: the ms next to this Python)")
    parser.add_argument("--ffmpeg", default=shutil.which("ffmpeg") or "ffmpeg")
    args = parser.parse_args()
    env = dict(os.environ, MS_STATE_DIR=tempfile.mkdtemp(prefix="ms-bench-state-"))
    env.pop("MS_FAKE", None)
    lines = []
    with tempfile.TemporaryDirectory(prefix="ms-bench-") as tmp:
        args.tmp = tmp
        which = ("a", "b", "c") if args.which == "all" else (args.which,)
        explicit_runs = args.runs
        for name in which:
            args.runs = explicit_runs or (1 if name == "c" else 5)
            result = {"a": bench_a, "b": bench_b, "c": bench_c, "d": bench_d}[name](args, env)
            result["ms_cmd"] = shlex.join(ms_command(args.ms))
            print(json.dumps(result), flush=True)
            lines.append(result)
    if len(lines) > 1:
        print(json.dumps({"bench": "capture", "met": {r["bench"]: r["met"] for r in lines}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Paced 1920x1080 at 60 fps: drops and capture-to-write latency, against ffmpeg (issue 15).

    python bench/hd60.py [--runs 3] [--seconds 60] [--cases pattern-mkv,pattern-y4m,file-mkv]

ms cases, each a whole `ms capture -t SECONDS` process from this checkout, run after run:
  pattern-mkv  a virtual camera whose one mode is 1920x1080 at 60 fps (a device file: --fake's
               camera offers 30 fps at most) -> mkv, ms's default encoder (libx264 veryfast)
  pattern-y4m  the same camera -> y4m on stdout, read by the benchmark (no encoder)
  file-mkv     a file-backed device playing a 1080p60 H.264 clip of the same pattern, looped
               (a user's likely 1080p60 source) -> mkv
and ffmpeg, the same x264 options on the same clip (frames):
  ffmpeg-re    `ffmpeg -re -stream_loop -1 -i CLIP -t SECONDS` -> mkv: does it keep up in real
               time? (its largest lag behind the clock, from -progress)
  ffmpeg-max   the same without -re, 10 s of it at most: the frames/s this machine decodes
               and encodes at most (>= 60: it can encode 1080p60 in real time at all)
The clip (10 s of ms's pattern, x264 veryfast CRF 18) is made by ms unpaced, or --clip.

Reported per run: frames, drops and capture-to-write latency p50/p99/max (ms's `stopped`
event), the frames in the output (decoded with ffprobe -count_frames, or read from the pipe),
CPU (user + sys, % of one core), ms's per-thread CPU (/proc/PID/task: the writer is the main
thread), the load and the share of the machine other processes took. Then per case the medians
over the runs and whether the target holds: 0 drops, p99 < 1/60 s, every frame in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from capture import (FFMPEG_QUIET, X264, Drain, _x264_diff, cpu_ticks, load, ms_command,
                     own_cpu, stopped_event, track, x264_options)

SIZE = (1920, 1080)
RATE = 60
MS_CASES = ("pattern-mkv", "pattern-y4m", "file-mkv")
FF_CASES = ("ffmpeg-re", "ffmpeg-max")
CLIP_SECONDS = 10  # looped; long enough for x264's GOPs and the loop to matter little
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------------------------
# Inputs


def device_file(folder: str, clip: str) -> str:
    path = os.path.join(folder, "devices.json")
    with open(path, "w") as f:
        json.dump({"devices": [
            {"kind": "videoinput", "label": "HD60 pattern",
             "modes": [{"width": SIZE[0], "height": SIZE[1], "frameRate": RATE}]},
            {"kind": "videoinput", "label": "HD60 clip", "source": {"file": clip, "loop": True}},
        ]}, f)
    return path


def constraints(device_id: str) -> str:
    return json.dumps({"video": {"deviceId": {"exact": device_id}, "width": SIZE[0],
                                 "height": SIZE[1], "frameRate": RATE}})


def device_ids(ms: list[str], devices: str, env: dict) -> dict[str, str]:
    """label -> deviceId of the device file's cameras (`ms devices --json`)."""
    out = subprocess.run([*ms, "devices", "--devices", devices, "--json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return {d["label"]: d["deviceId"] for d in json.loads(out)}


def make_clip(ms: list[str], folder: str, env: dict) -> str:
    """CLIP_SECONDS of ms's own 1080p60 pattern as H.264 (x264 veryfast, CRF 18: close to
    the pattern, the size a camera or a screen recorder writes), made unpaced by ms."""
    path = os.path.join(folder, "clip.mkv")
    devices = os.path.join(folder, "pattern.json")
    with open(devices, "w") as f:
        json.dump({"devices": [{"kind": "videoinput", "label": "HD60 pattern", "modes": [
            {"width": SIZE[0], "height": SIZE[1], "frameRate": RATE}]}]}, f)
    subprocess.run([*ms, "capture", "--devices", devices, "-c", '{"video": true}', "--unpaced",
                    "--frames", str(CLIP_SECONDS * RATE), "--crf", "18", "--events", "none",
                    "-y", "-o", path], env=env, check=True)
    return path


# --------------------------------------------------------------------------------------------
# Measuring


class Threads(threading.Thread):
    """Samples a process's threads' CPU seconds from /proc until it exits: the last value
    seen of each thread (a thread that ended between two samples loses its last 0.2 s)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.cpu: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self.done.wait(0.2):
            try:
                tids = os.listdir(f"/proc/{self.pid}/task")
            except OSError:
                return
            for tid in tids:
                try:
                    with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.cpu[int(tid)] = (int(fields[11]) + int(fields[12])) / tick

    def summary(self) -> dict:
        """The main thread (ms's writer) and the others, largest first, in seconds."""
        others = sorted((c for t, c in self.cpu.items() if t != self.pid), reverse=True)
        return {"main": self.cpu.get(self.pid, 0.0), "others": [round(c, 2) for c in others]}


class Progress(threading.Thread):
    """Reads ffmpeg's -progress reports from a pipe, stamping each on arrival: its lag behind
    real time at a report is the wall time since the first report minus the media time
    written since then (ffmpeg -re that keeps up stays near 0)."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.points: list[tuple[float, float]] = []  # (arrival, media seconds written)

    def run(self) -> None:
        out_time = None
        for line in self.stream:
            key, _, value = line.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit():
                out_time = int(value) / 1e6
            elif key == "progress" and out_time is not None:
                self.points.append((time.perf_counter(), out_time))

    def lag(self) -> dict:
        if len(self.points) < 2:
            return {}
        (t0, m0) = self.points[0]
        lags = [(t - t0) - (m - m0) for t, m in self.points]
        return {"max": round(max(lags), 3), "end": round(lags[-1], 3)}


def run(cmd: list[str], env: dict, reader: str | None = None) -> dict:
    """One whole process: its CPU (wait4), its threads' CPU, and what `reader` reads from its
    stdout: "y4m" (frames counted), "progress" (ffmpeg's lag) or None."""
    busy0, total0 = cpu_ticks()
    own0, load0 = own_cpu(), load()
    start = time.perf_counter()
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stderr=err,
                            stdout=subprocess.PIPE if reader else subprocess.DEVNULL)
    threads = Threads(proc.pid)
    threads.start()
    read = None
    if reader:
        read = Drain(proc.stdout, y4m=True) if reader == "y4m" else Progress(proc.stdout)
        read.start()
    _, status, usage = os.wait4(proc.pid, 0)
    threads.done.set()
    wall = time.perf_counter() - start
    if read is not None:
        read.join()
        proc.stdout.close()
    busy1, total1 = cpu_ticks()
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        err.seek(0)
        raise SystemExit(f"failed (exit {rc}): {' '.join(cmd)}\n"
                         f"{err.read()[-600:].decode(errors='replace')}")
    err.close()
    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, (busy1 - busy0) - cpu - (own_cpu() - own0)) / max(1e-9, total1 - total0)
    out = {"wall": round(wall, 2), "cpu": round(cpu, 2), "cpu_pct": round(100 * cpu / wall),
           "load": max(load0, load()), "others": round(others, 3), "threads": threads.summary()}
    if reader == "y4m":
        out["read"] = read.frames
    elif reader == "progress":
        out["lag"] = read.lag()
    return out


def decoded_frames(path: str) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                          "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip() or 0)


# --------------------------------------------------------------------------------------------
# Cases


def ms_case(name: str, args, ids: dict[str, str]) -> tuple[list[str], str | None, str | None]:
    """(command, reader, output file to decode) of an ms case."""
    device = ids["HD60 clip" if name.startswith("file") else "HD60 pattern"]
    cmd = [*args.ms_cmd, "capture", "--devices", args.devices, "-c", constraints(device),
           "-t", f"{args.seconds:g}", "--events", args.events, "-y"]
    if name.endswith("y4m"):
        return [*cmd, "-o", "-"], "y4m", None
    return [*cmd, "-o", args.out], None, args.out


def ff_case(name: str, args) -> tuple[list[str], str | None, str | None]:
    seconds = args.seconds if name == "ffmpeg-re" else min(args.seconds, CLIP_SECONDS)
    paced = ["-re"] if name == "ffmpeg-re" else []
    cmd = [args.ffmpeg, *FFMPEG_QUIET, *paced, "-stream_loop", "-1", "-i", args.clip,
           "-t", f"{seconds:g}", *X264, "-thread_type", "frame", "-progress", "pipe:1",
           "-y", "-f", "matroska", args.out]
    return cmd, "progress" if paced else None, args.out


def one_run(name: str, args, ids: dict[str, str]) -> dict:
    cmd, reader, output = ms_case(name, args, ids) if name in MS_CASES else ff_case(name, args)
    r = run(cmd, args.env, reader)
    if name in MS_CASES:
        video = track(stopped_event(args.events), "video")
        r.update(frames=video.get("frames"), drops=video.get("drops"),
                 latency=video.get("latency") or {})
    r["in_output"] = r.pop("read") if reader == "y4m" else decoded_frames(output)
    if output:
        args.x264[name] = x264_options(output)  # what x264 ran with, for the comparison
    if name == "ffmpeg-max":
        r["fps"] = round(r["in_output"] / r["wall"], 1)
    print(f"  {name:12s} {line(r)}", file=sys.stderr, flush=True)
    return r


def line(r: dict) -> str:
    parts = [f"wall {r['wall']:.1f} s", f"cpu {r['cpu_pct']}% of a core"]
    if "drops" in r:
        lat = r["latency"]
        parts.append(f"frames {r['frames']} drops {r['drops']} latency p50/p99/max "
                     f"{lat.get('p50', 0) * 1e3:.1f}/{lat.get('p99', 0) * 1e3:.1f}/"
                     f"{lat.get('max', 0) * 1e3:.1f} ms")
        t = r["threads"]
        parts.append(f"threads: main {t['main']:.1f} s, others {t['others'][:6]}")
    if r.get("lag"):
        parts.append(f"behind real time max {r['lag']['max']:.2f} s, at the end "
                     f"{r['lag']['end']:.2f} s")
    if "fps" in r:
        parts.append(f"{r['fps']} frames/s")
    parts.append(f"{r['in_output']} frames in the output")
    parts.append(f"load {r['load']:.2f}, others {r['others'] * 100:.0f}%")
    return ", ".join(parts)


def summarise(name: str, rows: list[dict], seconds: float) -> dict:
    def med(get):
        values = [v for v in (get(r) for r in rows) if v is not None]
        return round(statistics.median(values), 4) if values else None

    s = {"runs": len(rows), "cpu_pct": med(lambda r: r["cpu_pct"]),
         "in_output": med(lambda r: r["in_output"]), "load": med(lambda r: r["load"]),
         "others": med(lambda r: r["others"])}
    expected = round(seconds * RATE)
    if name in MS_CASES:
        s.update(drops=med(lambda r: r["drops"]),
                 **{q: med(lambda r, q=q: r["latency"].get(q)) for q in ("p50", "p99", "max")},
                 main_thread_s=med(lambda r: r["threads"]["main"]))
        # Every frame of every slot captured and in the output (a looped Matroska clip's
        # millisecond timestamps can put one more frame just before the limit).
        s["met"] = all(r["drops"] == 0 and r["latency"].get("p99", 1) < 1 / RATE
                       and r["in_output"] == r["frames"] >= expected for r in rows)
    elif name == "ffmpeg-re":
        s.update(lag_max=med(lambda r: r["lag"].get("max")), wall=med(lambda r: r["wall"]))
        s["kept_up"] = all((r["lag"].get("max") or 0) < 1 / RATE * 2 for r in rows)
    else:
        s["fps"] = med(lambda r: r["fps"])
    return s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (3)")
    parser.add_argument("--seconds", type=float, default=60, help="capture length (60)")
    parser.add_argument("--cases", default=",".join(MS_CASES + FF_CASES),
                        help=f"comma-separated, of {', '.join(MS_CASES + FF_CASES)}")
    parser.add_argument("--clip", help="a 1080p60 clip to play instead of making one")
    parser.add_argument("--ffmpeg", default="ffmpeg")
    parser.add_argument("--ms", help="the ms command (default: the ms next to this Python, "
                                     "with this checkout first on PYTHONPATH)")
    args = parser.parse_args()
    cases = args.cases.split(",")
    unknown = set(cases) - set(MS_CASES + FF_CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="ms-bench-hd60-") as tmp:
        # ms as installed: byte code cached (not compiled again by every run, as
        # PYTHONDONTWRITEBYTECODE in this sandbox would have it), this checkout's code.
        args.env = dict(os.environ, PYTHONPATH=REPO, MS_STATE_DIR=os.path.join(tmp, "state"),
                        PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
        for name in ("MS_FAKE", "PYTHONDONTWRITEBYTECODE"):
            args.env.pop(name, None)
        args.ms_cmd = ms_command(args.ms)
        args.clip = args.clip or make_clip(args.ms_cmd, tmp, args.env)
        args.devices = device_file(tmp, args.clip)
        args.events = os.path.join(tmp, "events.ndjson")
        args.out = os.path.join(tmp, "out.mkv")
        args.x264 = {}
        ids = device_ids(args.ms_cmd, args.devices, args.env)
        print(f"paced 1920x1080 60 fps for {args.seconds:g} s; {args.runs} run(s) of "
              f"{', '.join(cases)}; load {load()}", file=sys.stderr)
        rows: dict[str, list[dict]] = {name: [] for name in cases}
        for i in range(args.runs):
            for name in cases:
                rows[name].append(one_run(name, args, ids))
    summary = {name: summarise(name, rs, args.seconds) for name, rs in rows.items()}
    print(f"paced 1920x1080 60 fps, {args.seconds:g} s, medians of {args.runs} run(s); target:"
          f" 0 drops, p99 < {1000 / RATE:.1f} ms, every frame (>= {round(args.seconds * RATE)})"
          " in the output")
    for name, s in summary.items():
        print(f"  {name:12s} {json.dumps(s)}")
    for name in ("pattern-mkv", "file-mkv"):
        if name in args.x264 and "ffmpeg-re" in args.x264:
            same = _x264_diff(args.x264[name], args.x264["ffmpeg-re"])
            summary[name]["x264_vs_ffmpeg"] = same
            print(f"  x264 settings, {name} vs ffmpeg-re: {same}")
    print(json.dumps({"bench": "hd60", "seconds": args.seconds, "runs": args.runs,
                      "cases": summary, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

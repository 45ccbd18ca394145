"""Resolve: `ms resolve` on hostile inputs under the size caps, whole processes.

Issue 10, finding 5: any constraints file and device file under their 1 MiB caps resolves in
under 2 s on the project's two-core machine. Each case runs `ms resolve --json` as a user
would (start-up included); the report is the median of --runs runs per case and whether it
is under the target. The inputs are written to a temporary directory first.

    python bench/resolve.py [--runs 5] [--ms "env PYTHONPATH=/other/checkout python -m mscli"]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 2.0  # seconds
MANY_MODES = 24_800  # as many modes as fit in a 1 MiB device file


def many_modes_file() -> dict:
    return {"devices": [{"kind": "videoinput", "label": "Many", "modes": [
        {"width": 16 + i % 1600, "height": 16 + 7 * i % 1200, "frameRate": 1 + i % 60}
        for i in range(MANY_MODES)]}]}


def one_width_file() -> dict:
    """As many modes, all 640 wide: half 480 high below 30 fps, half 720 high above."""
    return {"devices": [{"kind": "videoinput", "label": "Many", "modes": [
        {"width": 640, "height": 480, "frameRate": 1 + i % 29} if i % 2 else
        {"width": 640, "height": 720, "frameRate": 31 + i % 29} for i in range(MANY_MODES)]}]}


def cases() -> dict[str, tuple[object, object]]:
    """name -> (constraints, device file or None for --fake)."""
    many = many_modes_file()
    return {
        "2,000 advanced sets (fake)": (
            {"video": {"advanced": [{"width": {"min": 1 + i % 7}, "frameRate": {"max": 30 + i}}
                                    for i in range(2000)]}}, None),
        "80,000 advanced sets, 960 KB (fake)": (
            {"video": {"advanced": [{"width": 1}] * 80_000}}, None),
        "40,000 distinct unmet sets (fake)": (
            {"video": {"advanced": [{"width": {"min": 5000 + i}} for i in range(40_000)]}},
            None),
        "24,800 modes, no constraints": ({"video": True}, many),
        "24,800 modes, 40 advanced sets": (
            {"video": {"advanced": [{"width": {"min": 1}}] * 40}}, many),
        "24,800 modes, 40 distinct met sets": (
            {"video": {"advanced": [{"width": {"min": 1 + i}, "frameRate": {"max": 30 + i}}
                                    for i in range(40)]}}, many),
        "24,800 modes, 400 sets beyond every mode": (
            {"video": {"advanced": [{"width": {"exact": 16 + i}, "height": {"exact": 5000}}
                                    for i in range(400)]}}, many),
        # The worst shape known: each set is within what the modes offer one by one, but no
        # mode meets it whole, so each is a search of all 49,600 regions.
        "24,800 modes, 10 unmet sets within reach": (
            {"video": {"advanced": [{"width": 17 + 2 * i, "height": 1210 - i,
                                     "resizeMode": "none"} for i in range(10)]}}, many),
        "24,800 modes, 40 unmet sets within reach": (
            {"video": {"advanced": [{"width": 17 + 2 * i, "height": 1210 - i,
                                     "resizeMode": "none"} for i in range(40)]}}, many),
        # Each of the set's values rules out half of the modes, and only together all.
        "24,800 modes of one width, 40 sets": (
            {"video": {"advanced": [{"width": 640, "height": 480,
                                     "frameRate": {"min": 30 + i / 1000}, "resizeMode": "none"}
                                    for i in range(40)]}}, one_width_file()),
        "20,000 unknown keys (fake)": ({"video": {f"k{i}": 1 for i in range(20_000)}}, None),
        "5,000 deviceIds (fake)": (
            {"video": {"deviceId": {"exact": [f"id{i}" for i in range(5000)]}}}, None),
    }


def timed(cmd: list[str], env: dict) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL)
    return time.perf_counter() - start, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ms", help="command that runs ms (default: this checkout)")
    args = parser.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ms = shlex.split(args.ms) if args.ms else [sys.executable, "-m", "mscli"]
    tmp = tempfile.mkdtemp(prefix="ms-bench-resolve-")
    env = dict(os.environ, MS_STATE_DIR=os.path.join(tmp, "state"))
    if not args.ms:
        env["PYTHONPATH"] = repo
    results = {}
    print(f"load average {os.getloadavg()[0]:.2f}; median of {args.runs} runs")
    for i, (name, (constraints, devices)) in enumerate(cases().items()):
        c_path, d_path = os.path.join(tmp, f"c{i}.json"), os.path.join(tmp, f"d{i}.json")
        with open(c_path, "w") as f:
            json.dump(constraints, f, separators=(",", ":"))
        where = ["--fake"]
        if devices is not None:
            with open(d_path, "w") as f:
                json.dump(devices, f, separators=(",", ":"))
            where = ["--devices", d_path]
        cmd = [*ms, "resolve", *where, "-c", c_path, "--json"]
        runs = [timed(cmd, env) for _ in range(args.runs)]
        median = statistics.median(t for t, _ in runs)
        codes = sorted({code for _, code in runs})
        results[name] = {"median_s": round(median, 3), "exit": codes,
                         "bytes": os.path.getsize(c_path)}
        verdict = "ok" if median < TARGET else "OVER"
        print(f"{name:40s} {median:6.2f} s  exit {codes}  {verdict}")
    worst = max(r["median_s"] for r in results.values())
    print(f"slowest {worst:.2f} s (target < {TARGET:g} s)")
    print(json.dumps({"bench": "resolve", "runs": args.runs, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Startup: `ms devices --fake --json` against `python -m sounddevice`, whole processes.

Both list devices and exit; the peer is what people run today to see their audio devices.
Runs alternate between the two so that machine load hits both alike; the report is the median
of each and their ratio (target: ms at most 1.5x the peer).

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ, MS_STATE_DIR=tempfile.mkdtemp(prefix="ms-bench-"))
    ms = shutil.which("ms")
    ms_cmd = [ms] if ms else [sys.executable, "-m", "mscli"]
    commands = {"ms devices --fake --json": ms_cmd + ["devices", "--fake", "--json"],
                "python -m sounddevice": [sys.executable, "-m", "sounddevice"]}
    for cmd in commands.values():  # one untimed run each: secret created, caches filled
        timed(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, env))
    medians = {name: statistics.median(t) for name, t in times.items()}
    ours, peer = medians.values()
    for name, t in times.items():
        print(f"{name:28s} median {medians[name] * 1000:7.1f} ms  "
              f"(min {min(t) * 1000:.1f}, max {max(t) * 1000:.1f}, n={len(t)})")
    print(f"ratio ms / sounddevice: {ours / peer:.2f}  (target <= 1.5)")
    print(json.dumps({"bench": "startup", "runs": args.runs,
                      "median_s": medians, "ratio": round(ours / peer, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

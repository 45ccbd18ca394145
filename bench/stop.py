"""Stopping with a slow reader (issue 10, finding 6): SIGTERM to `ms capture -o -` while the
reader of its stdout takes 100 KB/s, then the reader speeds up, goes away, or a second signal
comes.

    python bench/stop.py [--then fast|exit|signal] [--after 10] [--rate 100000] [--ms CMD]

Prints, per run: seconds from the SIGTERM to ms's exit, the exit code, and how many of the
frames the reader got were captured after the SIGTERM (frame n of the pattern is captured at
n / 30 s on the capture clock, which starts after the y4m header reached the pipe, so a frame
whose number / 30 exceeds the time from that header to the signal is certainly from after it).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from mscli.media.pattern import read_frame_number  # noqa: E402

WIDTH, HEIGHT, RATE = 640, 480, 30
FRAME_BYTES = len(b"FRAME\n") + WIDTH * HEIGHT * 3 // 2


class SlowReader(threading.Thread):
    """Reads the pipe at `rate` bytes/s until told to go fast or to go away."""

    def __init__(self, pipe, rate: float):
        super().__init__(daemon=True)
        self.pipe, self.rate = pipe, rate
        self.fast = threading.Event()
        self.leave = threading.Event()
        self.data = bytearray()
        self.first_byte: float | None = None

    def run(self) -> None:
        fd = self.pipe.fileno()
        while not self.leave.is_set():
            chunk = os.read(fd, 1 << 20 if self.fast.is_set() else int(self.rate / 10))
            if not chunk:
                return
            if self.first_byte is None:
                self.first_byte = time.monotonic()
            self.data += chunk
            if not self.fast.is_set():
                time.sleep(0.1)
        self.pipe.close()

    def frame_numbers(self) -> list[int | None]:
        body = bytes(self.data[self.data.index(b"\n") + 1:])
        numbers = []
        for start in range(0, len(body) - FRAME_BYTES + 1, FRAME_BYTES):
            y = np.frombuffer(body, np.uint8, WIDTH * HEIGHT, start + 6)
            numbers.append(read_frame_number(y.reshape(HEIGHT, WIDTH)))
        return numbers


def run(ms: list[str], then: str, after: float, rate: float, capture_for: float) -> dict:
    proc = subprocess.Popen(ms + ["capture", "--fake", "-c", '{"video": true}', "-o", "-",
                                  "--events", "none"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    reader = SlowReader(proc.stdout, rate)
    reader.start()
    time.sleep(capture_for)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=after)  # ms may finish before the reader changes
    except subprocess.TimeoutExpired:
        if then == "fast":
            reader.fast.set()
        elif then == "exit":
            reader.leave.set()
        else:
            proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "killed after 600 s"
    exited = time.monotonic()
    reader.join(10)
    stop_at = signalled - reader.first_byte  # capture time at the signal is at most this
    numbers = [n for n in reader.frame_numbers() if n is not None]
    return {"then": then, "after": after, "seconds_to_exit": round(exited - signalled, 2),
            "exit": code, "frames_read": len(numbers),
            "frames_after_signal": sum(n / RATE > stop_at for n in numbers),
            "last_frame_minus_signal_s": round(max(numbers, default=0) / RATE - stop_at, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--then", choices=("fast", "exit", "signal"), default="fast",
                        help="after --after seconds the reader goes fast, goes away, or a "
                             "second SIGTERM comes")
    parser.add_argument("--after", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100_000, help="reader bytes/s")
    parser.add_argument("--capture-for", type=float, default=6.0,
                        help="seconds of capture before the SIGTERM")
    parser.add_argument("--ms", help="command running ms (default: python -m mscli)")
    args = parser.parse_args()
    ms = shlex.split(args.ms) if args.ms else [sys.executable, "-m", "mscli"]
    result = run(ms, args.then, args.after, args.rate, args.capture_for)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

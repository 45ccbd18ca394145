"""Readers for what ms publishes, and ms publishing with its capture clock known.

`Receiver(url, ...)` reads a stream on a thread with PyAV, decoding every frame: the burned-in
pattern number of each video frame (mscli.media.pattern.read_frame_number), when it arrived
(time.monotonic), and the audio samples. `receiver_for(protocol, server)` makes the
reader of each protocol ms publishes and returns it with the URL ms publishes to:

    receiver, url = receiver_for("tcp")
    receiver.start()            # returns once it listens (or, for rtmp, plays)
    ... ms capture ... -o url
    got = receiver.result()     # Received: numbers, arrivals, audio

`Publisher` runs `ms capture` and anchors its capture clock on this machine's monotonic clock
from its `stats` events (each written the moment it is stamped), so that the latency of frame n
is its arrival minus (clock start + n / rate).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import av

from mscli.media.pattern import read_frame_number
from tests._nginx import free_port, wait_until

OPEN_SECONDS = 20.0  # a reader waits this long for the stream to begin
IDLE_SECONDS = 3.0  # and ends after this long without a packet (udp, rtp, rtmp never "end")
READY_SECONDS = 10.0


@dataclass
class Received:
    numbers: list = field(default_factory=list)  # pattern numbers, in arrival order
    arrivals: list = field(default_factory=list)  # time.monotonic() of each video frame
    audio_samples: int = 0
    error: str | None = None  # how the reading ended, if not at the end of the stream

    def decoded(self) -> list[int]:
        """The numbers read, from the first frame the reader decoded (its first keyframe)."""
        return [n for n in self.numbers if n is not None]

    def consecutive(self) -> bool:
        numbers = self.decoded()
        return bool(numbers) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


class Receiver:
    def __init__(self, url: str, format: str | None = None, options: dict | None = None,
                 ready=None):
        self.url, self.format, self.options = url, format, options or {}
        self.ready = ready  # () -> bool: the reader can take a stream now
        self.received = Received()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        if self.ready is not None:
            wait_until(self.ready, READY_SECONDS, f"a reader ready on {self.url}")
        return self

    def result(self, seconds: float = OPEN_SECONDS + 30) -> Received:
        self._thread.join(seconds)
        assert not self._thread.is_alive(), f"the reader of {self.url} did not finish"
        return self.received

    def _read(self) -> None:
        got = self.received
        try:
            with av.open(self.url, format=self.format, options=self.options,
                         timeout=(OPEN_SECONDS, IDLE_SECONDS)) as container:
                for frame in container.decode(*container.streams):
                    if isinstance(frame, av.VideoFrame):
                        got.arrivals.append(time.monotonic())
                        got.numbers.append(read_frame_number(frame.to_ndarray(format="gray")))
                    else:
                        got.audio_samples += frame.samples
        except (av.FFmpegError, OSError) as e:  # udp, rtp and rtmp end by going quiet
            got.error = repr(e)


def _listening(port: int, table: str) -> bool:
    """The port is bound (udp) or listening (tcp) on this machine, from /proc/net: probing it
    with a connection would take the one a listening FFmpeg reader accepts."""
    state = "07" if table == "udp" else "0A"
    for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
        local, st = line.split()[1], line.split()[3]
        if int(local.split(":")[1], 16) == port and st == state:
            return True
    return False


def receiver_for(protocol: str, server=None, name: str | None = None) -> tuple[Receiver, str]:
    """The reader for `protocol` and the URL ms publishes to; rtmp goes through `server`
    (a tests._nginx.NginxRtmp) and plays stream `name` (default: a new one), ready once the
    server has the player."""
    if protocol == "rtmp":
        name = name or f"s{free_port()}"
        url = server.url(name)
        return Receiver(url, ready=lambda: server.count("play", name) > 0), url
    if protocol in ("udp", "rtp"):
        port = free_port(2)  # SOCK_DGRAM
        url = f"{protocol}://127.0.0.1:{port}"
        return Receiver(url, "mpegts" if protocol == "udp" else None,
                        ready=lambda: _listening(port, "udp")), url
    port = free_port()
    if protocol == "tcp":
        url = f"tcp://127.0.0.1:{port}"
        return Receiver(url + "?listen=1", "mpegts",
                        ready=lambda: _listening(port, "tcp")), url
    if protocol == "rtsp":
        url = f"rtsp://127.0.0.1:{port}/live"
        return Receiver(url, "rtsp", {"rtsp_flags": "listen",
                                      "listen_timeout": str(int(OPEN_SECONDS))},
                        ready=lambda: _listening(port, "tcp")), url
    raise ValueError(protocol)


class Publisher:
    """`ms capture ARGS` as a process; `anchor` is its capture clock's time 0 on
    time.monotonic(), from its stats events (give --stats); events holds them all."""

    def __init__(self, args: list[str], env: dict):
        self.events: list[dict] = []
        self._anchors: list[float] = []
        self.process = subprocess.Popen([sys.executable, "-m", "mscli", *args], env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            now = time.monotonic()
            self.lines.append(line.rstrip("\n"))
            if line.startswith("{"):
                record = json.loads(line)
                self.events.append(record)
                if record["event"] == "stats":
                    self._anchors.append(now - record["time"])

    def wait(self, seconds: float = 60) -> int:
        code = self.process.wait(seconds)
        self._reader.join(10)
        return code

    @property
    def anchor(self) -> float:
        """An upper bound of time 0: an event reaches us a little after its stamp."""
        return min(self._anchors)

    def errors(self) -> list[str]:
        return [line for line in self.lines if not line.startswith("{")]

"""Senders on 127.0.0.1 for the network-source tests: ffmpeg's test card as MPEG-TS over tcp
or udp, and ms's own epoch-numbered pattern re-encoded by ffmpeg (glass-to-glass latency).

Each returns a started subprocess; the caller stops it (stop()). Ports come from the OS.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

# Live encoder settings: no lookahead, a keyframe every half second (a reader opening the
# stream waits for one).
X264_LIVE = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "15"]


def free_port(kind: str = "tcp") -> int:
    """A port the OS says is free now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp"
                       else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ffmpeg_sender(url: str, seconds: float, muxer=("-f", "mpegts"),
                  audio: bool = False) -> subprocess.Popen:
    """ffmpeg's moving test card, 320x240 at 30 fps paced in real time (-re), muxed by
    `muxer` (MPEG-TS unless told: ("-f", "flv", "-listen", "1") serves rtmp to one player)
    to `url` (a tcp URL with ?listen=1 serves one reader); with `audio` a 1 kHz tone beside
    it (AAC, 48 kHz mono)."""
    tone = ["-re", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-c:a", "aac"] if audio else []
    return subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-f", "lavfi",
         "-i", "testsrc2=size=320x240:rate=30", *tone, "-t", str(seconds), *X264_LIVE,
         *muxer, url], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pattern_sender(url: str, seconds: float, devices: str, env: dict,
                   muxer=("-f", "mpegts")) -> subprocess.Popen:
    """ms capturing its pattern (device file `devices`, e.g. epoch-numbered) as raw video
    with timestamps (NUT), which ffmpeg encodes live and sends, muxed by `muxer` (MPEG-TS
    unless told), to `url`: a process group, so stop() ends both."""
    ms = (f"{sys.executable} -m mscli capture --devices {devices} -c '{{\"video\": true}}' "
          f"-f nut --video-codec rawvideo -o - -t {seconds} 2>/dev/null")
    ffmpeg = ("ffmpeg -hide_banner -loglevel error -nostdin -f nut -i - "
              + " ".join([*X264_LIVE, *muxer]) + f" '{url}'")
    return subprocess.Popen(["bash", "-c", f"{ms} | {ffmpeg}"], env=env,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    """Ends a sender (and its process group, for pattern_sender), paused or not."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGCONT) if _leads_group(proc) \
                else proc.send_signal(signal.SIGCONT)
            os.killpg(proc.pid, signal.SIGTERM) if _leads_group(proc) else proc.terminate()
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _leads_group(proc: subprocess.Popen) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False

"""ms -> ms on 127.0.0.1, one protocol at a time: a sending `ms capture -o URL` and a receiving
`ms capture --devices net.json` recording to mkv, wired for each protocol (issue 14's matrix;
tests/test_network_matrix.py and bench/publish.py's `matrix` mode drive it).

    link = Link.make("udp", folder, server=None, audio=True)
    pair = run_pair(link, env, folder, seconds=3)          # ms's pattern + tone
    pair.recording, pair.received (receiver's stopped), pair.sent (sender's)
    pair = run_pair(link, env, folder, seconds=3, epoch=True)                # latency
    pair = run_pair(link, env, folder, seconds=3, epoch=True, sender="ffmpeg")

How each protocol is wired. The sender publishes its video and audio once, to one URL; the
receiver's camera and microphone name that URL, and so read one connection (network/stream.py):
- rtmp: the sender publishes to nginx-rtmp (tests/_nginx.py), the receiver plays the stream.
- udp: the sender sends to the receiver's port.
- tcp, rtsp: the receiver listens (`"listen": true`) and the sender connects.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests._nginx import free_port, wait_until
from tests._netsend import pattern_sender, stop
from tests._receivers import _listening

RATE = 30
SIZE = {"width": 320, "height": 240, "frameRate": RATE}
STREAM_TIMEOUT = 2.0  # the receiver's stream ends this long after its last packet
READY_SECONDS = 20.0
RUN_SECONDS = 90.0  # every process's deadline
RECEIVE_SECONDS = 2.0  # a latency run's receiver records this long (its sender sends longer)
PROTOCOLS = ("udp", "tcp", "rtmp", "rtsp")
# The muxer an ffmpeg sender uses to send the same path.
FFMPEG_MUXER = {"udp": ("-f", "mpegts"), "tcp": ("-f", "mpegts"), "rtmp": ("-f", "flv"),
                "rtsp": ("-f", "rtsp", "-rtsp_transport", "tcp")}


@dataclass
class Link:
    protocol: str
    outputs: list  # the sender's -o URLs
    devices: list  # the receiver's device-file entries
    ready: object  # () -> bool: the receiver can take the stream

    @property
    def audio(self) -> bool:
        return any(d["kind"] == "audioinput" for d in self.devices)

    @staticmethod
    def make(protocol: str, server=None, audio: bool = True) -> Link:
        def device(kind, url, **extra):
            return {"kind": kind, "label": f"net {kind}", "group": "net",
                    "source": {"url": url, "timeout": STREAM_TIMEOUT, **extra}}

        if protocol == "rtmp":
            name = f"s{free_port()}"
            url = server.url(name)
            outputs, extra = [url], {}
            ready = lambda: server.count("play", name) > 0  # noqa: E731
        elif protocol == "udp":
            port = free_port(2)
            url = f"udp://127.0.0.1:{port}"
            outputs, extra = [url + "?pkt_size=1316"], {}
            ready = lambda: _listening(port, "udp")  # noqa: E731
        else:
            port = free_port()
            url = (f"tcp://127.0.0.1:{port}" if protocol == "tcp"
                   else f"rtsp://127.0.0.1:{port}/live")
            outputs, extra = [url], {"listen": True}
            ready = lambda: _listening(port, "tcp")  # noqa: E731
        kinds = ("videoinput", "audioinput") if audio else ("videoinput",)
        return Link(protocol, outputs, [device(kind, url, **extra) for kind in kinds], ready)


@dataclass
class Pair:
    recording: Path
    received: dict | None  # the receiver's `stopped` detail (a run -t ended, not the stream)
    sent: dict | None  # the sender's (None for ffmpeg)
    events: list = field(default_factory=list)  # the receiver's

    def glass(self) -> dict | None:
        return next(t["glassToGlass"] for t in self.received["tracks"] if t["kind"] == "video")


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _stopped(events: list[dict]) -> dict | None:
    stopped = [e for e in events if e["event"] == "stopped"]
    return stopped[-1]["detail"] if stopped else None


def _ms(args: list, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mscli", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))


def _finish(proc: subprocess.Popen) -> int:
    try:
        return proc.wait(RUN_SECONDS)
    finally:
        stop(proc)


def run_pair(link: Link, env: dict, folder: Path, seconds: float, epoch: bool = False,
             sender: str = "ms") -> Pair:
    """The receiver started and ready, then the sender for `seconds`: ms's pattern + tone, the
    receiver recording until the stream ends (its tracks end: no `stopped`); or with `epoch`
    ms's epoch-numbered pattern alone (sender "ffmpeg": that pattern encoded and sent by
    ffmpeg instead), the receiver recording for RECEIVE_SECONDS of it and then stopping, with
    the glass-to-glass latency in its `stopped`."""
    folder = Path(folder) / f"{link.protocol}-{sender}-{'epoch' if epoch else 'av'}"
    folder.mkdir(parents=True)
    net = folder / "net.json"
    net.write_text(json.dumps({"devices": link.devices}))
    recording = folder / "received.mkv"
    constraints = {"video": True, "audio": link.audio and not epoch}
    limit = RECEIVE_SECONDS if epoch else RUN_SECONDS
    receiver = _ms(["capture", "--devices", str(net), "-c", json.dumps(constraints),
                    "-t", str(limit),
                    "-o", str(recording), "--events", str(folder / "received.ndjson")],
                   env, folder / "receiver.err")
    sending = None
    try:
        wait_until(lambda: link.ready() or receiver.poll() is not None, READY_SECONDS,
                   f"the {link.protocol} receiver ready")
        if epoch:
            # The receiver records RECEIVE_SECONDS from its first frames, which come up to
            # ~1.2 s after the sender starts (rtmp: nginx, then a keyframe): a sender that
            # stopped first ended its stream, and no `stopped` came. It sends until the
            # receiver is done.
            sending = _sender(link, env, folder, seconds + RECEIVE_SECONDS, epoch, sender)
            code = _finish(receiver)
        else:
            sending = _sender(link, env, folder, seconds, epoch, sender)
            sender_code = _finish(sending)
            code = _finish(receiver)
    finally:
        for proc in (sending, receiver):
            if proc is not None:
                stop(proc)
    errors = (folder / "receiver.err").read_text()
    assert code == 0, f"receiver exit {code}: {errors}"
    sent = None
    if not epoch:  # (a listening receiver that stopped first cut the sender off)
        assert sender_code == 0, (folder / "sender.err").read_text()
        sent = _stopped(_events(folder / "sent.ndjson"))
    events = _events(folder / "received.ndjson")
    return Pair(recording, _stopped(events), sent, events)


def _sender(link: Link, env: dict, folder: Path, seconds: float, epoch: bool,
            sender: str) -> subprocess.Popen:
    devices = folder / "sender.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Sender", "modes": [SIZE],
         "source": {"pattern": {"frameNumbers": "epoch" if epoch else "capture"}}},
        {"kind": "audioinput", "label": "Sender Mic", "source": "tone"}]}))
    if sender == "ffmpeg":
        assert epoch and len(link.outputs) == 1
        return pattern_sender(link.outputs[0], seconds, str(devices), env,
                              FFMPEG_MUXER[link.protocol])
    constraints = {"video": True, "audio": not epoch}
    outputs = [arg for url in link.outputs for arg in ("-o", url)]
    return _ms(["capture", "--devices", str(devices), "-c", json.dumps(constraints),
                "-t", str(seconds), *outputs, "--events", str(folder / "sent.ndjson")],
               env, folder / "sender.err")


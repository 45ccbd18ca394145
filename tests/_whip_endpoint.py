"""A WHIP endpoint for the tests (aiohttp + aiortc) that records what it receives.

Run as a process of its own, so that a test can kill it mid-stream:

    with WhipEndpoint(tmp_path) as endpoint:      # started on 127.0.0.1, a free port
        run ms ... -o endpoint.url                # whip+http://127.0.0.1:PORT/whip
        got = endpoint.stop()                     # what arrived (a Received)

POST /whip takes an SDP offer (application/sdp) and answers 201 Created with the answer and a
Location (/whip/ID); DELETE on that Location ends the session. `refuse=STATUS` answers every
POST with that status instead; `video_codec="h264"` (or "vp8") makes it answer with that one;
`candidates=False` leaves the ICE candidates out of its answers.

What it records, on CLOCK_MONOTONIC (shared by every process of the machine, so a test can
put it beside a sender's capture times) and on the wall clock (RTCP sender reports' NTP):
- every RTP packet's arrival (before aiortc's jitter buffer, which holds a frame until the
  next one starts), so a frame's arrival is its last packet's;
- each decoded video frame: its RTP timestamp, the pattern's burned-in frame number
  (mscli.media.pattern.read_frame_number) and whether it is a flash;
- each decoded audio frame: its RTP timestamp and samples (all of them, for the tone's clicks);
- RTCP sender reports (NTP time <-> RTP timestamp, per kind);
- the DELETE.

aioice lists no 127.0.0.1 candidate (field.md); this endpoint adds it, so that it is
reachable on a machine whose only interface is loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

START_SECONDS = 20.0  # aiortc + aiohttp import and bind: a few seconds on a loaded machine
STOP_SECONDS = 20.0
NTP_EPOCH = 2208988800  # 1900 -> 1970


@dataclass
class Received:
    video: list[dict]  # {"rtp", "arrival", "number", "flash"} in decode order
    audio_frames: list[dict]  # {"rtp", "arrival", "samples"}
    audio: np.ndarray  # int16 (samples, channels), every decoded frame in order
    audio_rate: int
    reports: dict[str, list[dict]]  # kind -> [{"ntp": unix seconds, "rtp": timestamp}]
    sessions: int
    deleted: int
    video_codec: str | None  # the one the answer chose (mime type)
    timestamps: dict[str, list[int]]  # kind -> the RTP timestamps packets came with, in order

    @property
    def frames_arrived(self) -> int:
        """Video frames whose packets arrived, decoded or not (an endpoint closed by the
        DELETE drops what its decoder had not done yet)."""
        return len(self.timestamps["video"])

    @property
    def numbers(self) -> list[int]:
        return [f["number"] for f in self.video if f["number"] is not None]

    def latencies(self, capture_time) -> list[float]:
        """Seconds from capture to arrival of each numbered video frame; `capture_time(n)`:
        when the sender captured frame n, on CLOCK_MONOTONIC."""
        return [f["arrival"] - capture_time(f["number"]) for f in self.video
                if f["number"] is not None and f["arrival"] is not None]

    def click_timestamps(self) -> list[int]:
        """The RTP timestamps of the tone's clicks in the received audio."""
        from mscli.media.tone import find_clicks

        starts = np.cumsum([0] + [f["samples"] for f in self.audio_frames])
        stamps = []
        for onset in find_clicks(self.audio, self.audio_rate):
            sample = round(onset * self.audio_rate)
            i = int(np.searchsorted(starts, sample, "right")) - 1
            stamps.append((self.audio_frames[i]["rtp"] + sample - int(starts[i])) % 2 ** 32)
        return stamps

    def sender_time(self, kind: str, rtp: int, rate: int) -> float:
        """The sender's wall-clock time of an RTP timestamp, through its last sender report
        (what a receiver synchronises audio and video with)."""
        report = self.reports[kind][-1]
        delta = (rtp - report["rtp"] + 2 ** 31) % 2 ** 32 - 2 ** 31
        return report["ntp"] + delta / rate

    def av_offsets(self) -> list[float]:
        """Seconds the video is late (negative: early) on the audio, per flash and its click
        (the pattern flashes and the tone clicks at the same capture instants), each placed
        on the sender's clock through the sender reports."""
        flashes = [f["rtp"] for f in self.video if f["flash"]]
        return [self.sender_time("video", v, 90000) - self.sender_time("audio", a,
                                                                       self.audio_rate)
                for v, a in zip(flashes, self.click_timestamps())]


class WhipEndpoint:
    def __init__(self, directory: Path, refuse: int | None = None, port: int = 0,
                 video_codec: str | None = None, candidates: bool = True):
        self.directory = Path(directory)
        command = [sys.executable, __file__, str(self.directory), "--port", str(port)]
        if not candidates:  # an answer with no ICE candidate: no connection can be made
            command.append("--no-candidates")
        if video_codec is not None:  # "h264" or "vp8": the one the answer picks
            command += ["--video-codec", video_codec]
        if refuse is not None:
            command += ["--refuse", str(refuse)]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        self.log = open(self.directory / "endpoint.log", "w")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log,
                                        env=env, text=True)
        self.url = self._wait_ready()

    def _wait_ready(self) -> str:
        """The URL the endpoint printed once it listens (its first line), with a deadline."""
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.process.stdout, selectors.EVENT_READ)
            if not sel.select(START_SECONDS):
                self.kill()
                raise RuntimeError(f"WHIP endpoint not ready in {START_SECONDS} s")
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.kill()
            raise RuntimeError(f"WHIP endpoint did not start: {line!r}, "
                               f"{(self.directory / 'endpoint.log').read_text()[-2000:]}")
        return "whip+" + line

    def stop(self) -> Received:
        """SIGTERM: the endpoint writes what it recorded and exits."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(STOP_SECONDS)
        self.log.close()
        return load(self.directory)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_SECONDS)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def load(directory: Path) -> Received:
    record = json.loads((directory / "record.json").read_text())
    audio = np.load(directory / "audio.npy")
    return Received(record["video"], record["audio_frames"], audio, record["audio_rate"],
                    record["reports"], record["sessions"], record["deleted"],
                    record["video_codec"], record["timestamps"])


# --- the endpoint process ---------------------------------------------------------------------


class Recorder:
    def __init__(self):
        # kind -> {RTP timestamp: its last packet's arrival}, in the order they came
        self.packets: dict[str, dict[int, float]] = {"video": {}, "audio": {}}
        self.video: list[dict] = []
        self.audio_frames: list[dict] = []
        self.audio: list[np.ndarray] = []
        self.audio_rate = 48000
        self.reports: dict[str, list[dict]] = {"video": [], "audio": []}
        self.origins: dict[str, object] = {}  # kind -> the receiver (its RTP origin)
        self.sessions = 0
        self.deleted = 0
        self.video_codec = None
        self.last_packet = 0.0  # CLOCK_MONOTONIC

    async def quiet(self, seconds: float, most: float) -> None:
        """Until no packet came for `seconds` (at most `most`): a DELETE can be read before
        the last packets a starved endpoint has not read yet, and closing drops them."""
        import asyncio

        deadline = time.monotonic() + most
        while time.monotonic() - self.last_packet < seconds and time.monotonic() < deadline:
            await asyncio.sleep(seconds / 4)

    def watch(self, receiver) -> None:
        """Records the receiver's RTP arrivals and sender reports as they come."""
        from aiortc.rtp import RtcpSrPacket

        kind = receiver.track.kind
        self.origins[kind] = receiver
        arrivals = self.packets[kind]
        handle_rtp, handle_rtcp = receiver._handle_rtp_packet, receiver._handle_rtcp_packet

        async def on_rtp(packet, arrival_time_ms):
            arrivals[packet.timestamp] = self.last_packet = time.monotonic()
            await handle_rtp(packet, arrival_time_ms)

        async def on_rtcp(packet):
            if isinstance(packet, RtcpSrPacket):
                ntp = packet.sender_info.ntp_timestamp
                self.reports[kind].append({"ntp": (ntp >> 32) - NTP_EPOCH
                                           + (ntp & 0xFFFFFFFF) / 2 ** 32,
                                           "rtp": packet.sender_info.rtp_timestamp})
            await handle_rtcp(packet)

        receiver._handle_rtp_packet, receiver._handle_rtcp_packet = on_rtp, on_rtcp

    async def consume(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        from mscli.media.pattern import is_flash, read_frame_number

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                w, h = frame.width, frame.height
                plane = frame.planes[0]
                y = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:h, :w]
                self.video.append({"pts": frame.pts, "number": read_frame_number(y),
                                   "flash": is_flash(y), "size": [w, h]})
            else:
                data = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
                self.audio_rate = frame.sample_rate
                self.audio_frames.append({"pts": frame.pts, "samples": len(data)})
                self.audio.append(data.astype(np.int16))

    def write(self, directory: Path) -> None:
        """Frames with their RTP timestamps (origin restored) and last packets' arrivals."""
        for kind, frames in (("video", self.video), ("audio", self.audio_frames)):
            receiver = self.origins.get(kind)
            origin = receiver._RTCRtpReceiver__timestamp_mapper._origin if receiver else 0
            for f in frames:
                f["rtp"] = (f.pop("pts") + (origin or 0)) % 2 ** 32
                f["arrival"] = self.packets[kind].get(f["rtp"])
        record = {"video": self.video, "audio_frames": self.audio_frames,
                  "audio_rate": self.audio_rate, "reports": self.reports,
                  "sessions": self.sessions, "deleted": self.deleted,
                  "video_codec": self.video_codec,
                  "timestamps": {k: list(v) for k, v in self.packets.items()}}
        audio = np.concatenate(self.audio) if self.audio else np.zeros((0, 2), np.int16)
        np.save(directory / "audio.npy", audio)
        (directory / "record.json.tmp").write_text(json.dumps(record))
        os.replace(directory / "record.json.tmp", directory / "record.json")


def widen_host_addresses() -> None:
    import aioice.ice

    listed = aioice.ice.get_host_addresses

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        found = listed(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        return found + ["127.0.0.1"] if use_ipv4 and "127.0.0.1" not in found else found

    aioice.ice.get_host_addresses = with_loopback


async def serve(directory: Path, refuse: int | None, port: int,
                video_codec: str | None, candidates: bool) -> None:
    import asyncio
    import uuid

    from aiohttp import web
    from aiortc import (RTCConfiguration, RTCPeerConnection, RTCRtpReceiver,
                        RTCSessionDescription)

    widen_host_addresses()
    recorder, sessions, tasks = Recorder(), {}, set()

    async def post(request):
        if refuse is not None:
            return web.Response(status=refuse, text="refused (test endpoint)")
        if request.content_type != "application/sdp":
            return web.Response(status=415, text="WHIP offers are application/sdp")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        @pc.on("track")
        def on_track(track):
            task = asyncio.ensure_future(recorder.consume(track))
            tasks.add(task)

        if video_codec is not None:  # a transceiver of its own, whose preference the answer takes
            pc.addTransceiver("video", direction="recvonly").setCodecPreferences(
                [c for c in RTCRtpReceiver.getCapabilities("video").codecs
                 if c.mimeType.lower() == f"video/{video_codec}"])
        await pc.setRemoteDescription(RTCSessionDescription(await request.text(), "offer"))
        for transceiver in pc.getTransceivers():
            recorder.watch(transceiver.receiver)
            if transceiver.kind == "video":
                recorder.video_codec = transceiver._codecs[0].mimeType
        await pc.setLocalDescription(await pc.createAnswer())
        name = uuid.uuid4().hex
        sessions[name] = pc
        recorder.sessions += 1
        print(f"session {name}", file=sys.stderr, flush=True)  # for tests that wait for one
        answer = pc.localDescription.sdp
        if not candidates:
            answer = "".join(line for line in answer.splitlines(keepends=True)
                             if not line.startswith("a=candidate:"))
        return web.Response(status=201, text=answer,
                            content_type="application/sdp",
                            headers={"Location": f"/whip/{name}"})

    async def delete(request):
        pc = sessions.pop(request.match_info["name"], None)
        if pc is None:
            return web.Response(status=404)
        recorder.deleted += 1
        await recorder.quiet(0.3, most=5.0)
        await pc.close()
        return web.Response(status=200)

    app = web.Application()
    app.add_routes([web.post("/whip", post), web.delete("/whip/{name}", delete)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}/whip", flush=True)

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for pc in list(sessions.values()):
        await pc.close()
    await asyncio.wait(tasks, timeout=5) if tasks else None
    recorder.write(directory)
    await runner.cleanup()


def main() -> None:
    import argparse
    import asyncio

    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("--refuse", type=int)
    parser.add_argument("--port", type=int, default=0)  # 0: a free one
    parser.add_argument("--video-codec", choices=["h264", "vp8"])
    parser.add_argument("--no-candidates", dest="candidates", action="store_false")
    args = parser.parse_args()
    asyncio.run(serve(args.directory, args.refuse, args.port, args.video_codec,
                      args.candidates))


if __name__ == "__main__":
    main()

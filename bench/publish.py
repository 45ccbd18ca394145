"""Publishing: CPU per minute of `ms capture -o rtmp://` against ffmpeg doing the same, and the
publish latency of each protocol for ms and ffmpeg on the same path (issue 14).

    python bench/publish.py cpu [--runs 3] [--seconds 10]
    python bench/publish.py latency [--seconds 4] [--protocols udp,tcp,rtp,rtsp,rtmp]
    python bench/publish.py matrix [--runs 3] [--seconds 3] [--protocols udp,tcp,rtmp,rtsp,whip]

cpu: a 1280x720 30 fps clip with a stereo tone (made once with ffmpeg: testsrc2 in x264
veryfast, AAC) is played, paced in real time, as a file-backed device by ms and by
`ffmpeg -re -i CLIP`; both encode it with the same live settings (libx264 veryfast,
zerolatency, a keyframe every 60 frames, no B-frames; AAC) and push FLV to nginx-rtmp on
127.0.0.1 (tests/_nginx.py). Whole processes, alternating run by run after one untimed round;
each side's median CPU seconds (user + system, start-up included) as CPU per minute of
publishing, and the ratio.

latency: the fake 320x240 pattern + tone, published by ms for --seconds to the reader of each
protocol (tests/_receivers.py: PyAV decoding every frame and reading its burned-in number), and
the same pattern (a clip ms recorded losslessly) sent by `ffmpeg -re` to the same reader.
Latency of frame n = its arrival - (sender's time 0 + n / 30). ms's time 0 comes from its
`stats` events (stamped on its capture clock, read the moment they are written); ffmpeg's from
its `-progress` lines (out_time, the time of what it has muxed), so ffmpeg's figure leaves out
its own encoding delay: a lower bound. ffmpeg runs twice: as is, and with -muxdelay 0
-muxpreload 0 -flush_packets 1 (its CLI's mux delay off, as ms has it). p50 and p90 over the
frames after the first second.

matrix: ms -> ms (tests/_matrix.py: a sending `ms capture -o URL`, a receiving `ms capture`
of a device file whose camera and microphone name the URL, recording to mkv; over tcp and rtsp
the receiver listens). Per protocol and run: the video
frames sent (the sender's -t) and recorded by the receiver (their burned-in numbers: how many,
how many missing between the first recorded and the last sent), the A/V offset in the
recording (flash to click, median; + is audio late), and the receiver's glassToGlass p50/p99
for ms sending its epoch-numbered pattern and for ffmpeg encoding the same pattern (ms's raw
frames piped to it, x264 ultrafast zerolatency, -g 15) on the same path to the same receiver.
whip (in --protocols): ms publishing its pattern + tone to the aiortc endpoint of the tests
(tests/_whip_endpoint.py), which is no ms: frames are those whose RTP packets arrived, the
A/V offset is flash against click placed on the sender's clock through its RTCP sender
reports, and the latency is capture (ms's clock, anchored by its stats events) to the arrival
of each frame's last RTP packet, before any jitter buffer or decoding; no ffmpeg beside it
(Debian's ffmpeg 5.1 has no WHIP muxer). Medians of --runs.
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
from pathlib import Path

from capture import FFMPEG_QUIET, interleaved, ms_command, summary

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests._nginx import NginxRtmp, available  # noqa: E402
from tests._matrix import SIZE, Link, run_pair  # noqa: E402
from tests._receivers import Publisher, receiver_for  # noqa: E402
from tests.media_check import decode_video, sync_offsets  # noqa: E402

RATE = 30
# What ffmpeg's CLI holds back by default in a muxer (0.7 s of mux delay and preload), off.
LOW_DELAY = ("-muxdelay", "0", "-muxpreload", "0", "-flush_packets", "1")
LIVE_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "60",
             "-bf", "0", "-pix_fmt", "yuv420p"]


def make_clip(folder: str, seconds: float) -> str:
    path = os.path.join(folder, "clip-720p.mkv")
    subprocess.run(["ffmpeg", *FFMPEG_QUIET, "-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate={RATE}:duration={seconds + 2}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration="
                    f"{seconds + 2}", "-ac", "2", "-c:v", "libx264", "-preset", "veryfast",
                    "-c:a", "aac", "-y", path], check=True)
    return path


def bench_cpu(args, folder: str) -> dict:
    clip = make_clip(folder, args.seconds)
    devices = os.path.join(folder, "devices.json")
    with open(devices, "w") as f:
        json.dump({"devices": [
            {"kind": "videoinput", "label": "clip", "group": "clip", "source": {"file": clip}},
            {"kind": "audioinput", "label": "clip sound", "group": "clip",
             "source": {"file": clip}}]}, f)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    seconds = str(args.seconds)
    with NginxRtmp(Path(folder)) as server:
        sides = {
            "ms": {"cmd": [*ms_command(args.ms), "capture", "--devices", devices, "-c",
                           '{"video": true, "audio": true}', "-t", seconds, "--events",
                           "none", "-o", server.url("ms")],
                   "env": env, "kw": {"stdout": "null"}},
            "ffmpeg": {"cmd": ["ffmpeg", *FFMPEG_QUIET, "-re", "-i", clip, *LIVE_X264,
                               "-c:a", "aac", "-t", seconds, "-f", "flv",
                               server.url("ffmpeg")],
                       "env": env, "kw": {"stdout": "null"}},
        }
        results = interleaved(sides, args.runs, warmup=1)
    s = {name: summary(rs) for name, rs in results.items()}
    per_minute = {name: s[name]["cpu_s"] * 60 / args.seconds for name in s}
    ratio = s["ms"]["cpu_s"] / s["ffmpeg"]["cpu_s"]
    for name in sides:
        print(f"  {name:7s} cpu {s[name]['cpu_s']:6.2f} s for {args.seconds:g} s = "
              f"{per_minute[name]:5.1f} CPU s per minute  wall {s[name]['median_s']:.2f} s "
              f"(medians of {args.runs}; load {s[name]['load']:.2f}, others "
              f"{s[name]['others'] * 100:.0f}%)")
    print(f"  ms / ffmpeg CPU: {ratio:.2f}")
    return {"bench": "publish-cpu", "seconds": args.seconds, "runs": args.runs,
            "cpu_per_minute_s": {k: round(v, 2) for k, v in per_minute.items()},
            "ratio": round(ratio, 3), "sides": s}


# --------------------------------------------------------------------------------------------
# Latency


def _latencies(got, anchor: float) -> dict:
    values = sorted(at - (anchor + n / RATE) for n, at in zip(got.numbers, got.arrivals)
                    if n is not None and n >= RATE)
    if not values:
        return {}
    return {"p50_ms": round(1000 * statistics.median(values), 1),
            "p90_ms": round(1000 * values[int(0.9 * (len(values) - 1))], 1),
            "frames": len(got.decoded())}


class FfmpegSender:
    """`ffmpeg -re` sending CLIP to URL; anchor from its -progress out_time lines."""

    def __init__(self, clip: str, protocol: str, url: str, seconds: float,
                 options: tuple[str, ...] = ()):
        muxer = {"udp": "mpegts", "tcp": "mpegts", "rtp": "rtp_mpegts", "rtmp": "flv",
                 "rtsp": "rtsp"}[protocol]
        self.process = subprocess.Popen(
            ["ffmpeg", *FFMPEG_QUIET, "-re", "-i", clip, *LIVE_X264, "-c:a", "aac",
             "-t", str(seconds), "-progress", "pipe:1", "-stats_period", "0.1",
             *options, "-f", muxer, url],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self._anchors: list[float] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("out_time_us=") and line.strip()[12:].isdigit():
                out_time = int(line.strip()[12:]) / 1e6
                if out_time > 0:
                    self._anchors.append(time.monotonic() - out_time)

    def wait(self) -> float:
        self.process.wait(60)
        self._thread.join(10)
        return min(self._anchors)


def bench_latency(args, folder: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    pattern = json.dumps({"video": {"width": 320, "height": 240, "frameRate": RATE},
                          "audio": True})
    clip = os.path.join(folder, "pattern.mkv")
    subprocess.run([*ms_command(args.ms), "capture", "--fake", "-c", pattern, "--unpaced",
                    "-t", str(args.seconds), "--video-codec", "ffv1", "--audio-codec", "flac",
                    "--events", "none", "-o", clip], env=env, check=True)
    rows = {}
    with NginxRtmp(Path(folder)) as server:
        for protocol in args.protocols.split(","):
            row = {}
            for sender in ("ms", "ffmpeg", "ffmpeg-lowdelay"):
                receiver, url = receiver_for(protocol, server)
                receiver.start()
                if sender == "ms":
                    publisher = Publisher(["capture", "--fake", "-c", pattern, "-t",
                                           str(args.seconds), "--stats", "0.1", "-o", url],
                                          env)
                    publisher.wait()
                    anchor = publisher.anchor
                else:
                    options = LOW_DELAY if sender == "ffmpeg-lowdelay" else ()
                    anchor = FfmpegSender(clip, protocol, url, args.seconds, options).wait()
                row[sender] = _latencies(receiver.result(), anchor)
            rows[protocol] = row
            print(f"  {protocol:5s} " + "  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    return {"bench": "publish-latency", "seconds": args.seconds, "protocols": rows,
            "load": round(os.getloadavg()[0], 2)}


# --------------------------------------------------------------------------------------------
# ms -> ms


def _matrix_run(protocol: str, server, env: dict, folder: str, seconds: float) -> dict:
    run = Path(tempfile.mkdtemp(dir=folder))
    if protocol == "whip":
        return _whip_run(env, run, seconds)
    link = Link.make(protocol, server)
    pair = run_pair(link, env, run, seconds)
    numbers = [f["number"] for f in decode_video(pair.recording) if f["number"] is not None]
    sent = round(seconds * RATE)
    # missing: from the first frame recorded to the last one sent
    row = {"sent": sent, "received": len(numbers), "missing": sent - numbers[0] - len(numbers)}
    if link.audio:
        row["av_ms"] = round(1000 * statistics.median(sync_offsets(pair.recording)), 1)
    for sender in ("ms", "ffmpeg"):
        glass = run_pair(Link.make(protocol, server, audio=False), env, run, seconds,
                         epoch=True, sender=sender).glass() or {}
        row[f"{sender}_p50"], row[f"{sender}_p99"] = glass.get("p50"), glass.get("p99")
    return row


def _whip_run(env: dict, folder: Path, seconds: float) -> dict:
    from tests._whip_endpoint import WhipEndpoint

    with WhipEndpoint(folder) as endpoint:
        constraints = json.dumps({"video": {k: SIZE[k] for k in ("width", "height")},
                                  "audio": True})
        publisher = Publisher(["capture", "--fake", "-c", constraints, "-t", str(seconds),
                               "--stats", "0.1", "-o", endpoint.url], env)
        publisher.wait()
        got = endpoint.stop()
    latencies = sorted(got.latencies(lambda n: publisher.anchor + n / RATE))
    sent = round(seconds * RATE)
    return {"sent": sent, "received": got.frames_arrived, "missing": sent - got.frames_arrived,
            "av_ms": round(1000 * statistics.median(got.av_offsets()), 1),
            "ms_p50": round(1000 * statistics.median(latencies), 1),
            "ms_p99": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
            "ffmpeg_p50": None, "ffmpeg_p99": None}


def bench_matrix(args, folder: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    rows = {}
    print(f"  {'':5s} {'sent':>5s} {'recv':>5s} {'miss':>5s} {'A/V ms':>7s}   "
          "latency ms: ms p50/p99 | ffmpeg p50/p99")
    with NginxRtmp(Path(folder)) as server:
        for protocol in args.protocols.split(","):
            runs = [_matrix_run(protocol, server, env, folder, args.seconds)
                    for _ in range(args.runs)]
            row = {k: _median([r.get(k) for r in runs]) for k in runs[0]}
            rows[protocol] = row
            print(f"  {protocol:5s} {row['sent']:5.0f} {row['received']:5.0f} "
                  f"{row['missing']:5.0f} {_shown(row.get('av_ms')):>7s}   "
                  f"{_shown(row['ms_p50'])}/{_shown(row['ms_p99'])} | "
                  f"{_shown(row['ffmpeg_p50'])}/{_shown(row['ffmpeg_p99'])}", flush=True)
    return {"bench": "ms-to-ms", "seconds": args.seconds, "runs": args.runs,
            "protocols": rows, "load": round(os.getloadavg()[0], 2)}


def _median(values: list):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _shown(value) -> str:
    return "-" if value is None else f"{value:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("cpu", "latency", "matrix"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--protocols", default=None,
                        help="default: udp,tcp,rtp,rtsp,rtmp (matrix: udp,tcp,rtmp,rtsp,whip)")
    parser.add_argument("--ms", help="the ms command (default: this Python's, this checkout)")
    args = parser.parse_args()
    if available() is not None:
        raise SystemExit(available())
    with tempfile.TemporaryDirectory(prefix="ms-bench-publish-") as folder:
        if args.which == "cpu":
            args.seconds = args.seconds or 10.0
            result = bench_cpu(args, folder)
        elif args.which == "latency":
            args.seconds = args.seconds or 4.0
            args.protocols = args.protocols or "udp,tcp,rtp,rtsp,rtmp"
            result = bench_latency(args, folder)
        else:
            args.seconds = args.seconds or 3.0
            args.protocols = args.protocols or "udp,tcp,rtmp,rtsp,whip"
            result = bench_matrix(args, folder)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Stream copy (--video-codec copy, --audio-codec copy) from file-backed devices: the packets in
the output are the file's, byte for byte, and what would need encoding is a usage error before
any output opens."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys

import av
import numpy as np
import pytest

from tests.conftest import REPO, one_error_line

FRAMES = 24
SIZE = (64, 48)


def _make_clip(path, codec: str, pix_fmt: str, audio: bool = False,
               moving: bool = False) -> None:
    """A 30 fps clip of noise (every frame different, so no two packets are alike), with AAC
    stereo audio if asked. `moving`: gradients that move instead, which x264 codes with
    B-frames in a pyramid (noise gets none): Matroska then stores no dts, and the second
    packet's pts lies above the third's dts."""
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=30)
        video.width, video.height = SIZE
        video.pix_fmt = pix_fmt
        sound = out.add_stream("aac", rate=48000) if audio else None
        if sound is not None:
            sound.layout = "stereo"
        noise = np.random.default_rng(15)
        x, y = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
        for i in range(FRAMES):
            picture = noise.integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8) if not moving \
                else np.stack([(x * 4 + i * 5 + 0 * y) % 256, (y * 5 + i * 3 + 0 * x) % 256,
                               ((x + y) * 2 + i * 7) % 256], axis=2).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        for i in range(FRAMES * 1600 // 1024 if sound else 0):
            tone = np.sin(np.arange(i * 1024, (i + 1) * 1024) * 0.05).astype(np.float32)
            chunk = av.AudioFrame.from_ndarray(np.stack([tone, tone]) * 0.3, format="fltp",
                                               layout="stereo")
            chunk.sample_rate, chunk.pts = 48000, i * 1024
            out.mux(sound.encode(chunk))
        out.mux(video.encode(None))
        if sound is not None:
            out.mux(sound.encode(None))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    made = {"h264": folder / "h264.mkv", "mjpeg": folder / "mjpeg.mkv",
            "h264-bframes": folder / "h264-bframes.mkv"}
    _make_clip(made["h264"], "libx264", "yuv420p", audio=True)
    _make_clip(made["mjpeg"], "mjpeg", "yuvj420p", audio=True)
    _make_clip(made["h264-bframes"], "libx264", "yuv420p", audio=True, moving=True)
    return made


def _devices(tmp_path, clip, faults=None) -> str:
    camera = {"kind": "videoinput", "label": "Clip", "source": {"file": str(clip)}}
    if faults:
        camera["faults"] = faults
    devices = [camera, {"kind": "audioinput", "label": "Clip audio",
                        "source": {"file": str(clip)}}]
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": devices}))
    return str(path)


def packet_hashes(path, kind: str = "video") -> list[str]:
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return [hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(stream) if p.size]


@pytest.mark.parametrize("codec,ext", [("h264", "mkv"), ("h264", "mp4"), ("h264", "nut"),
                                       ("mjpeg", "mkv"), ("mjpeg", "mp4"), ("mjpeg", "nut")])
def test_copied_video_packets_are_the_files(ms, tmp_path, clips, codec, ext):
    out = tmp_path / f"copy.{ext}"
    r = ms("capture", "--devices", _devices(tmp_path, clips[codec]), "-c", '{"video": true}',
           "--video-codec", "copy", "--unpaced", "-o", str(out))
    assert r.code == 0, r.err
    assert packet_hashes(out) == packet_hashes(clips[codec])
    assert len(packet_hashes(out)) == FRAMES
    with av.open(str(out)) as container:  # on the capture timeline: it starts at 0
        first = next(p for p in container.demux(container.streams.video[0]) if p.size)
        assert abs(float(first.pts * first.time_base)) < 0.1


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_copied_b_frames_are_decoded_before_they_are_shown(ms, tmp_path, clips, ext):
    """The clip's first packets have no dts and the second's pts is ahead of the third's dts:
    each got the previous dts + 1 and the muxer refused a pts below its dts (exit 1)."""
    with av.open(str(clips["h264-bframes"])) as container:  # the case, as the file has it
        first = [(p.pts, p.dts) for p in container.demux(container.streams.video[0])][:3]
    assert first[0][1] is None and first[1][1] is None and first[1][0] > first[2][1]
    out = tmp_path / f"copy.{ext}"
    r = ms("capture", "--devices", _devices(tmp_path, clips["h264-bframes"]), "-c",
           '{"video": true}', "--video-codec", "copy", "--unpaced", "-o", str(out))
    assert r.code == 0, r.err
    assert packet_hashes(out) == packet_hashes(clips["h264-bframes"])
    with av.open(str(out)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
    with av.open(str(out)) as container:
        shown = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    known = [p for p in packets if p.dts is not None]  # Matroska's first ones have none
    assert all(p.pts >= p.dts for p in known)
    assert [p.dts for p in known] == sorted({p.dts for p in known})
    assert len(shown) == FRAMES and shown[0] < 0.2  # a picture each 1/30 s, from the start
    assert all(abs(b - a - 1 / 30) < 0.002 for a, b in zip(shown, shown[1:]))


LOADED = """
import sys
from mscli.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED:" + ",".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_loaded(ms_env, tmp_path, clip, *options: str) -> list[str]:
    """Every module (and package) a 0.2 s capture of `clip`'s video and audio to an mkv
    loaded, once it recorded."""
    out = tmp_path / "loaded.mkv"
    proc = subprocess.run([sys.executable, "-c", LOADED, "capture", "--devices",
                           _devices(tmp_path, clip), "-c",
                           '{"video": true, "audio": {"channelCount": 2}}', *options,
                           "-t", "0.2", "-o", str(out)],
                          env=ms_env, capture_output=True, text=True, cwd=REPO)
    assert "LOADED:" in proc.stderr and out.exists(), proc.stderr
    return proc.stderr.rsplit("LOADED:", 1)[1].strip().split(",")


def test_a_copy_capture_loads_no_module_it_does_not_use(ms_env, tmp_path, clips):
    """Nothing is decoded, converted or sent over WebRTC, so nothing needs them: numpy alone
    was 0.1-0.15 s of CPU at every start, as much as ffmpeg's whole 10 s copy, and asyncio
    with urllib.request (the WHIP client's) 0.05 s, xml.etree (--junit's) 3 ms
    (bench/stream_copy.py)."""
    loaded = _modules_loaded(ms_env, tmp_path, clips["h264"], "--video-codec", "copy",
                             "--audio-codec", "copy")
    assert "av" in loaded  # it did capture, with PyAV
    assert [m for m in loaded if m in ("numpy", "cv2", "asyncio", "xml")] == []


# Imported by every capture before, used only by some: the expectation language, its measures
# and the report writers (--expect, --report, --junit), the echo-delay tracker's thread pool
# (a capture that plays something), the median of a camera's frame intervals, the encoder
# names suggested for a misspelt one; and socket, whose socket pair carried the signals where
# a pipe does (stopping.py). ~9 ms of CPU together in every start-up, where ms's start-up is
# most of what a short capture costs beyond ffmpeg's (bench/README.md, lean.py).
UNUSED_BY_AN_ENCODED_CAPTURE = ("mscli.checks.expectations", "mscli.checks.measure",
                                "mscli.checks.reports", "concurrent.futures", "statistics",
                                "difflib", "socket")


def test_an_encoded_file_capture_loads_no_module_it_does_not_use(ms_env, tmp_path, clips):
    """bench/lean.py's capture: a file's video and audio decoded, encoded and muxed."""
    loaded = _modules_loaded(ms_env, tmp_path, clips["h264"])
    assert "mscli.sinks.recorder" in loaded and "numpy" in loaded  # it did encode
    assert [m for m in loaded if m in UNUSED_BY_AN_ENCODED_CAPTURE] == []


def test_a_paced_copy_wakes_the_writer_per_batch_not_per_packet(monkeypatch, tmp_path, clips):
    """A second of 30 fps: the packets come COPY_BATCH_SECONDS at a time, the writer is woken
    for each batch (a thread's wake-up cost more than the packets need, and a wake-up per
    packet on each thread made ms's copy ~1.7x ffmpeg's CPU per second)."""
    from mscli.catalog import load_devices
    from mscli.constraints import parse_stream_constraints
    from mscli.events import CaptureClock, EventLog
    from mscli.select import resolve_stream
    from mscli.session import CaptureOptions, CaptureSession
    from mscli.sources.file import COPY_BATCH_SECONDS

    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path))
    constraints = parse_stream_constraints({"video": True})
    devices = load_devices(_devices(tmp_path, clips["mjpeg"]))
    selections = [s for s in resolve_stream(constraints, devices) if s.kind == "video"]
    session = CaptureSession(selections, constraints, [],
                             CaptureOptions(paced=True, duration=0.5,
                                            recorder={"video_codec": "copy"}),
                             EventLog(CaptureClock()))
    taken = []
    write = session._write
    monkeypatch.setattr(session, "_write", lambda frames: (taken.append(len(frames)),
                                                           write(frames)))
    detail = session.run()
    assert detail["tracks"][0]["frames"] == 15 and sum(taken) == 15
    # 2 batches and the first packet (at 0), and a margin for the idle writer's timeout: a
    # writer woken per packet takes one at a time (15 turns with a packet).
    batches = 0.5 / COPY_BATCH_SECONDS
    assert len([n for n in taken if n]) <= batches + 3, taken
    assert max(taken) >= 30 * COPY_BATCH_SECONDS - 1, taken


def test_a_file_is_decoded_once_to_probe_it_while_it_stays_the_same(monkeypatch, tmp_path,
                                                                     clips):
    """Loading the device file probes it and checking a copy probed it again: a second
    decode of the first frame (10-15 ms of CPU for 720p H.264) at every copy's start."""
    from mscli.media import probe

    decoded = []
    first_frame = probe._first_frame
    monkeypatch.setattr(probe, "_first_frame", lambda path, kind: (decoded.append(kind),
                                                                   first_frame(path, kind))[1])
    clip = tmp_path / "clip.mkv"
    shutil.copy(clips["mjpeg"], clip)
    mode = probe.probe_video_mode(str(clip))
    assert probe.probe_video_mode(str(clip)) == mode
    assert probe.probe_audio(str(clip)) == probe.probe_audio(str(clip)) == (48000, 2)
    assert decoded == ["video", "audio"]
    shutil.copy(clips["h264-bframes"], clip)  # another file at the same path: probed anew
    assert probe.probe_video_mode(str(clip)) == mode and decoded == ["video", "audio", "video"]


def test_a_copied_track_counts_its_frames_and_claims_no_content(ms, tmp_path, clips):
    r = ms("capture", "--devices", _devices(tmp_path, clips["mjpeg"]), "-c", '{"video": true}',
           "--video-codec", "copy", "--unpaced", "--frames", "10", "-o", "null")
    assert r.code == 0, r.err
    stopped = [json.loads(line) for line in r.err.splitlines() if '"stopped"' in line]
    track = stopped[0]["detail"]["tracks"][0]
    assert track["stats"]["deliveredFrames"] == 10
    assert "content" not in track  # nothing decoded, nothing claimed


def test_copied_audio_packets_are_the_files_beside_copied_video(ms, tmp_path, clips):
    out = tmp_path / "both.mkv"
    r = ms("capture", "--devices", _devices(tmp_path, clips["h264"]),
           "-c", '{"video": true, "audio": {"channelCount": 2}}', "--video-codec", "copy",
           "--audio-codec", "copy", "--unpaced", "-o", str(out))
    assert r.code == 0, r.err
    assert packet_hashes(out, "audio") == packet_hashes(clips["h264"], "audio")
    assert packet_hashes(out) == packet_hashes(clips["h264"])


@pytest.mark.parametrize("constraints,extra,said", [
    ('{"video": {"width": 32}}', [],
     "the track is 32x24, the file's stream is 64x48 (a crop or scale needs encoding)"),
    ('{"video": {"frameRate": 15}}', [], "the track runs at 15 fps, the file's stream at 30"),
    ('{"video": true}', ["--reapply"], "--reapply may change the track's settings"),
    ('{"video": true}', ["--expect", "video.black == 0"], "content is not measured"),
    ('{"video": true}', ["--crf", "20"], "--crf does not apply to copy"),
    ('{"video": true, "audio": true}', ["--audio-codec", "copy"],
     'the track is 48000 Hz x 1, the file\'s stream 48000 Hz x 2 (resampling or remixing '
     'needs encoding; ask for {"sampleRate": 48000, "channelCount": 2} in -c to copy)'),
    ('{"video": true, "audio": {"channelCount": 2, "noiseSuppression": true}}',
     ["--audio-codec", "copy"], "has noiseSuppression on, which changes the samples"),
])
def test_copy_that_needs_encoding_is_a_usage_error(ms, tmp_path, clips, constraints, extra,
                                                   said):
    out, constraints_file = tmp_path / "out.mkv", tmp_path / "c.json"
    constraints_file.write_text(constraints)  # --reapply re-reads a file
    r = ms("capture", "--devices", _devices(tmp_path, clips["h264"]), "-c", str(constraints_file),
           "--video-codec", "copy", "-t", "1", "-o", str(out), *extra)
    assert r.code == 2, r.err
    line = one_error_line(r)
    assert said in line and line.startswith("ms: "), line
    assert not out.exists()


@pytest.mark.parametrize("output,said", [
    ("out.webm", "out.webm (webm) cannot take the file's stream"),
    ("out.y4m", "ms's own y4m writer, which takes decoded frames"),
])
def test_copy_to_a_container_that_cannot_take_it_is_a_usage_error(ms, tmp_path, clips, output,
                                                                  said):
    out = tmp_path / output
    r = ms("capture", "--devices", _devices(tmp_path, clips["h264"]), "-c", '{"video": true}',
           "--video-codec", "copy", "-t", "1", "-o", str(out))
    assert r.code == 2, r.err
    assert said in one_error_line(r)
    assert not out.exists()


@pytest.mark.parametrize("fault", ["black", "freeze", "mute"])
def test_copy_from_a_device_whose_faults_change_frames_is_a_usage_error(ms, tmp_path, clips,
                                                                        fault):
    out = tmp_path / "out.mkv"
    devices = _devices(tmp_path, clips["h264"], faults=[{"at": 0.2, "event": fault}])
    r = ms("capture", "--devices", devices, "-c", '{"video": true}', "--video-codec", "copy",
           "-t", "1", "-o", str(out))
    assert r.code == 2, r.err
    assert f"has a {fault} fault at 0.2 s" in one_error_line(r)
    assert not out.exists()


def test_copy_from_a_device_with_no_stored_packets_is_a_usage_error(ms, tmp_path):
    out = tmp_path / "out.mkv"
    r = ms("capture", "--fake", "-c", '{"video": true}', "--video-codec", "copy", "-t", "1",
           "-o", str(out))
    assert r.code == 2, r.err
    assert "is not file-backed" in one_error_line(r)
    assert not out.exists()


def test_a_looped_copy_repeats_the_packets_on_one_rising_timeline(ms, tmp_path, clips):
    """Each pass starts after every packet of the one before is shown: the clip's reordered
    H.264 shows its last picture after its last decode time (a pass that began right after
    the last dts put two pictures at the same time)."""
    devices = tmp_path / "loop.json"
    devices.write_text(json.dumps({"devices": [{"kind": "videoinput", "label": "Loop", "source":
                                                {"file": str(clips["h264"]), "loop": True}}]}))
    out = tmp_path / "loop.mp4"
    r = ms("capture", "--devices", str(devices), "-c", '{"video": true}', "--video-codec",
           "copy", "--unpaced", "-t", str(2.5 * FRAMES / 30), "-o", str(out))
    assert r.code == 0, r.err
    one_pass = packet_hashes(clips["h264"])
    assert packet_hashes(out)[:2 * FRAMES] == one_pass * 2
    with av.open(str(out)) as container:
        packets = [p for p in container.demux(container.streams.video[0]) if p.size]
    dts = [p.dts for p in packets]
    pts = [p.pts for p in packets]
    assert dts == sorted(set(dts))
    assert len(set(pts)) == len(pts)


def test_copy_to_stdout_says_which_format_takes_packets(ms, tmp_path, clips):
    """Video alone on stdout is y4m unless -f: decoded frames, so copy needs -f matroska."""
    r = ms("capture", "--devices", _devices(tmp_path, clips["mjpeg"]), "-c", '{"video": true}',
           "--video-codec", "copy", "--unpaced", "-t", "0.5", "-o", "-")
    assert r.code == 2, r.err
    assert "(-f matroska for -o -)" in one_error_line(r)
    r = ms("capture", "--devices", _devices(tmp_path, clips["mjpeg"]), "-c", '{"video": true}',
           "--video-codec", "copy", "--unpaced", "-t", "0.5", "-f", "matroska", "-o", "-")
    assert r.code == 0, r.err
    with av.open(io.BytesIO(r.raw)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "mjpeg"

"""Hostile files behind file-backed devices (second round): what ms plays or copies from a
file is what the settings say, and what it cannot copy is refused before anything opens."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest

from tests.conftest import one_error_line

SIZE = (64, 48)
FRAMES = 12
RATE = 30


def _raw_h264(path) -> None:
    """An H.264 elementary stream (.h264): packets with no timestamps at all, B-frames in."""
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=RATE)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        x = np.arange(SIZE[0])[None, :, None]
        for i in range(FRAMES):
            picture = np.broadcast_to((x * 4 + i * 9) % 256, (SIZE[1], SIZE[0], 3))
            frame = av.VideoFrame.from_ndarray(picture.astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.fixture(scope="module")
def raw_h264(tmp_path_factory):
    path = tmp_path_factory.mktemp("raw") / "clip.h264"
    _raw_h264(path)
    with av.open(str(path)) as container:  # what the test is about: nothing is timed
        assert all(p.pts is None and p.dts is None for p in container.demux() if p.size)
    return path


def _devices(tmp_path, clip, loop: bool = False) -> str:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Clip", "source": {"file": str(clip), "loop": loop}}]}))
    return str(path)


def _decoded_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_a_raw_h264_file_plays_every_frame(ms, tmp_path, raw_h264):
    """Its frames have no pts: they were all skipped, and the capture ended at once with
    exit 0, 'no frame was captured' and no file, the recording lost."""
    out = tmp_path / "v.mkv"
    result = ms("capture", "--devices", _devices(tmp_path, raw_h264), "-c", '{"video": true}',
                "--unpaced", "-o", str(out), "--events", "none")
    assert result.code == 0, result.err
    assert _decoded_frames(out) == FRAMES


def test_a_looped_raw_h264_file_loops_instead_of_hanging(ms, tmp_path, raw_h264):
    """Each pass gave no frame and the next pass began at once: --frames never came and ms
    spun at 100% CPU until killed."""
    out = tmp_path / "v.mkv"
    result = ms("capture", "--devices", _devices(tmp_path, raw_h264, loop=True), "-c",
                '{"video": true}', "--unpaced", "--frames", str(FRAMES * 2 + 5), "-o", str(out),
                "--events", "none", timeout=30)
    assert result.code == 0, result.err
    assert _decoded_frames(out) == FRAMES * 2 + 5


def test_copying_a_raw_h264_file_is_refused_naming_why(ms, tmp_path, raw_h264):
    """Stored packets with no timestamps have no presentation order (B-frames): the copy
    exited 0 with no file (every packet skipped), or wrote frames out of order once placed.
    A usage error before any output opens, saying what would fix it."""
    out = tmp_path / "v.mkv"
    result = ms("capture", "--devices", _devices(tmp_path, raw_h264), "-c", '{"video": true}',
                "--video-codec", "copy", "--unpaced", "-o", str(out))
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert line.startswith("ms: UsageError: --video-codec copy: ")
    assert "stores no timestamps" in line and "give an encoder" in line
    assert not out.exists()


def test_a_looped_copy_of_a_b_frame_clip_has_every_frame_it_counts(ms, tmp_path):
    """Each loop's next pass was placed by its first decode time where its first shown time
    belonged: a gap of the reorder delay at every loop, so --frames N stopped on capture time
    short of N packets (--frames 60 over 24 frames: 58)."""
    from tests.test_stream_copy import FRAMES as CLIP_FRAMES, _make_clip

    clip = tmp_path / "moving.mkv"
    _make_clip(clip, "libx264", "yuv420p", moving=True)  # B-frames in a pyramid
    wanted = CLIP_FRAMES * 2 + CLIP_FRAMES // 2
    out, events = tmp_path / "v.mkv", tmp_path / "events.ndjson"
    result = ms("capture", "--devices", _devices(tmp_path, clip, loop=True), "-c",
                '{"video": true}', "--video-codec", "copy", "--unpaced", "--frames", str(wanted),
                "-o", str(out), "--events", str(events))
    assert result.code == 0, result.err
    with av.open(str(out)) as container:
        shown = sorted(p.pts for p in container.demux(video=0) if p.size)
        period = 1 / (container.streams.video[0].time_base * RATE)
    assert len(shown) == wanted
    assert all(abs((b - a) - period) < 1 for a, b in zip(shown, shown[1:])), shown
    stopped = json.loads(events.read_text().splitlines()[-1])
    assert stopped["event"] == "stopped"
    assert stopped["detail"]["tracks"][0]["frames"] == wanted


def _late_audio_clip(path, late: float) -> None:
    """2 s of video, with AAC mono audio from `late` s to the end."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=RATE)
        video.width, video.height = SIZE
        video.pix_fmt = "yuv420p"
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"
        for i in range(2 * RATE):
            frame = av.VideoFrame.from_ndarray(np.full((SIZE[1], SIZE[0], 3), i * 4, np.uint8),
                                               format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for i in range(int(48000 * (2 - late)) // 1024):
            tone = np.sin(np.arange(i * 1024, (i + 1) * 1024) * 0.05).astype(np.float32)
            chunk = av.AudioFrame.from_ndarray(tone[None, :] * 0.3, format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 48000, round(late * 48000) + i * 1024
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))


def _start_times(path) -> dict:
    with av.open(str(path)) as container:
        return {s.type: float(s.start_time * s.time_base) for s in container.streams}


@pytest.mark.parametrize("codecs", [(), ("--video-codec", "copy", "--audio-codec", "copy")],
                         ids=["decoded", "copied"])
def test_a_file_whose_audio_starts_late_keeps_it_late(ms, tmp_path, codecs):
    """Each device reads its own stream from that stream's first frame: audio that starts
    1 s into the file was recorded from 0 s, 1 s ahead of its video."""
    clip = tmp_path / "late.mkv"
    _late_audio_clip(clip, late=1.0)
    assert _start_times(clip)["audio"] == pytest.approx(1.0, abs=0.05)
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": kind, "label": kind, "group": "clip", "source": {"file": str(clip)}}
        for kind in ("videoinput", "audioinput")]}))
    out = tmp_path / "av.mkv"
    result = ms("capture", "--devices", str(devices), "-c",
                '{"video": true, "audio": {"channelCount": 1, "sampleRate": 48000}}',
                *codecs, "--unpaced", "-o", str(out), "--events", "none")
    assert result.code == 0, result.err
    starts = _start_times(out)
    # A frame of video (a B-frame's reorder delay when copied) or an AAC frame either side.
    assert starts["audio"] - starts["video"] == pytest.approx(1.0, abs=0.1), starts


def test_a_looped_copy_whose_file_is_replaced_by_another_codec_ends(ms_env, tmp_path):
    """The next pass copied the new file's MJPEG packets into the output's H.264 stream:
    exit 0 and a file that looked whole, a third of its frames undecodable. The track ends
    at the change, naming it, and the output keeps only what decodes."""
    from tests.test_stream_copy import FRAMES as CLIP_FRAMES, _make_clip

    PASSES = 5  # what -t allows: the replacement ends the capture well before
    clip, other = tmp_path / "clip.mkv", tmp_path / "other.mkv"
    _make_clip(clip, "libx264", "yuv420p")
    _make_clip(other, "mjpeg", "yuvj420p")
    out = tmp_path / "v.mkv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mscli", "capture", "--devices",
         _devices(tmp_path, clip, loop=True), "-c", '{"video": true}', "--video-codec", "copy",
         "-t", str(PASSES * CLIP_FRAMES / RATE), "-o", str(out), "--stats", "0.05"],
        env=ms_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with proc:
        first = proc.stderr.readline()  # the first stats event: the first pass plays
        assert '"stats"' in first, first
        other.replace(clip)  # a new file at the path; the first pass keeps reading the old
        err = proc.stderr.read()
    assert proc.returncode == 0, err
    ended = [json.loads(line) for line in err.splitlines() if '"ended"' in line]
    assert len(ended) == 1, err
    assert ended[0]["detail"]["reason"].startswith(f"read-error: {clip} changed while it was "
                                                   "copied: its stream is now mjpeg")
    with av.open(str(out)) as container:
        packets = sum(1 for p in container.demux(video=0) if p.size)
    # Whole passes of the first file (one, unless this machine was slow to replace it).
    assert packets % CLIP_FRAMES == 0 and CLIP_FRAMES <= packets < PASSES * CLIP_FRAMES
    assert _decoded_frames(out) == packets

"""Device files a user (or an attacker, or a bad day) may write: every one is either usable or
one DeviceFileError line naming its JSON path, exit 2; nothing reaches capture that capture
cannot use, and a DEVICE selector is never an "unexpected" error."""

from __future__ import annotations

import json
import os

import av
import numpy as np
import pytest

from conftest import one_error_line
from mscli.errors import quoted

# 164 bytes that FFmpeg's apc demuxer opens as adpcm_ima_apc with a sample rate of
# -2103432375 and no channels (issue 10, finding 10); and 164 bytes it opens as h263 0x0.
APC_NOISE = bytes.fromhex(
    "4352594f5f415043c6a81649ab4faecd492ba0827fc99d8dea88970cacc2f24f91bc2a0a911bfc2d3914dd21"
    "28404c2327f988fcd5fae05d64708932f0ee6823b41aee1409e03e8619e8889b7a25ab9c914780060aa0fbb2"
    "2759a236a58bfd9bcdd3a8dfc482553d8f2dd3e077a089249440279948fe7f5a16eb1b31cbac9873ee5223e5"
    "1f9283b32840c6033400eb735a0699ea59057eccefe845099006b306e3cc2649")
H263_NOISE = bytes.fromhex(
    "5841000081febc04bf95116985ad3f4a2cceaaaab92e237c2882d7879508297cd676f085463a01ef2d1e5964"
    "a4b4e406539523f454e4ccd780d23f6aa6eb2e8cd4ec0ef20a2a3ecbb098430a6f05294ba24918f7b6631613"
    "51ccee2bf85f73c5d1bbbf807d08a8c215bdbd5c0c6f851ff9e10f1a1c12e1a2b969129ca296e04767d3fa91"
    "e20acb2d89a3c4a2581dcb58bd95f75c632995c9bfbcfa97affe856578c9e446")
SANE_LINE = 400  # an error line longer than this is a dump, not a message
VIDEO_MODE = {"width": 64, "height": 48, "frameRate": 30}


def write_clip(path, frames: int = 5) -> None:
    """A small mkv with a decodable video (ffv1, 64x48, 30 fps) and audio (flac) stream."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("ffv1", rate=30)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("flac", rate=48000)
        audio.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), "rgb24")
            out.mux(video.encode(frame))
            samples = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), "s16", "mono")
            samples.sample_rate, samples.pts = 48000, i * 1600
            out.mux(audio.encode(samples))
        out.mux(video.encode())
        out.mux(audio.encode())


def device_file(tmp_path, *devices) -> str:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": list(devices)}))
    return str(path)


def refused(result, json_path: str) -> str:
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert line.startswith(f"ms: DeviceFileError: {json_path}: "), line
    assert len(line) < SANE_LINE, line
    return line


# --- finding 10: source files FFmpeg cannot really decode ----------------------------------


@pytest.mark.parametrize("kind,noise", [("audioinput", APC_NOISE), ("videoinput", H263_NOISE)],
                         ids=["adpcm-rate-below-zero", "h263-zero-size"])
def test_a_file_ffmpeg_opens_but_cannot_decode_is_refused(ms, tmp_path, kind, noise):
    (tmp_path / "noise.bin").write_bytes(noise)
    devices = device_file(tmp_path, {"kind": kind, "source": {"file": "noise.bin"}})
    for command in (["devices"], ["caps"], ["caps", "--modes", "index:0"]):
        line = refused(ms(*command, "--devices", devices), "devices[0].source.file")
        # The path as errors quote it: whole, or its first 80 characters when the temporary
        # directory is deep (pytest-xdist's workers add a level).
        assert quoted(str(tmp_path / "noise.bin")) in line, line
        assert "FFmpeg cannot decode it" in line, line


def test_capture_from_an_undecodable_file_fails_before_any_output(ms, tmp_path):
    (tmp_path / "noise.bin").write_bytes(APC_NOISE)
    devices = device_file(tmp_path, {"kind": "audioinput", "source": {"file": "noise.bin"}})
    out = tmp_path / "a.mkv"
    result = ms("capture", "--devices", devices, "-c", '{"audio": true}', "-t", "0.5",
                "--unpaced", "-o", str(out))
    refused(result, "devices[0].source.file")  # one line: no raw FFmpeg log, no KeyError
    assert not out.exists()


@pytest.mark.parametrize("content", [b"\x00" * 540, os.urandom(4096)], ids=["zeros", "noise"])
def test_declared_modes_do_not_skip_the_check_of_the_file(ms, tmp_path, content):
    (tmp_path / "junk.mkv").write_bytes(content)
    devices = device_file(tmp_path, {"kind": "videoinput", "modes": [VIDEO_MODE],
                                     "source": {"file": "junk.mkv"}})
    out = tmp_path / "v.mkv"
    result = ms("capture", "--devices", devices, "-c", '{"video": true}', "--frames", "2",
                "--unpaced", "-o", str(out))
    refused(result, "devices[0].source.file")
    assert not out.exists()  # was: a 540-byte undecodable mkv and exit 0


def test_a_truncated_clip_with_headers_but_no_frames_is_refused(ms, tmp_path):
    clip = tmp_path / "clip.mkv"
    write_clip(clip)
    with av.open(str(clip)) as container:  # keep the headers, cut before the first frame
        first = next(container.demux(container.streams.video[0])).pos
    (tmp_path / "cut.mkv").write_bytes(clip.read_bytes()[:first])
    devices = device_file(tmp_path, {"kind": "videoinput", "source": {"file": "cut.mkv"}})
    line = refused(ms("caps", "--devices", devices), "devices[0].source.file")
    assert "no frame FFmpeg can decode" in line


def test_a_decodable_clip_still_backs_a_camera_and_a_microphone(ms, tmp_path):
    write_clip(tmp_path / "clip.mkv")
    devices = device_file(
        tmp_path, {"kind": "videoinput", "label": "Clip", "source": {"file": "clip.mkv"}},
        {"kind": "audioinput", "label": "Clip", "source": {"file": "clip.mkv"}})
    result = ms("caps", "--devices", devices, "--modes", "--json")
    assert result.code == 0, result.err
    camera, microphone = sorted(result.json(), key=lambda e: e["kind"], reverse=True)
    assert camera["modes"] == [VIDEO_MODE]
    assert microphone["modes"]["sampleRate"] == [48000]
    assert microphone["modes"]["channelCount"] == {"min": 1, "max": 1}
    out = tmp_path / "v.y4m"
    captured = ms("capture", "--devices", devices, "-c", '{"video": true}', "--frames", "2",
                  "--unpaced", "--events", "none", "-o", str(out))
    assert captured.code == 0, captured.err
    assert out.stat().st_size > 0


@pytest.mark.parametrize("make,message", [
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: os.mkfifo(p), "is not a regular file"),  # opening it would wait forever
    (lambda p: os.symlink("/dev/zero", p), "is not a regular file"),
    (lambda p: os.symlink(p, p), "Too many levels of symbolic links"),
    (lambda p: None, "no such file"),
], ids=["directory", "fifo", "device", "symlink-loop", "missing"])
def test_a_source_that_is_not_a_media_file_is_refused_at_once(ms, tmp_path, make, message):
    make(tmp_path / "clip.mkv")
    devices = device_file(tmp_path, {"kind": "videoinput", "source": {"file": "clip.mkv"}})
    line = refused(ms("devices", "--devices", devices, timeout=30), "devices[0].source.file")
    assert message in line


# --- finding 11: text that cannot be printed, paths that cannot be opened ------------------


@pytest.mark.parametrize("device,json_path,message", [
    ({"kind": "videoinput", "label": "Cam\ud800"}, "devices[0].label", "lone surrogate"),
    ({"kind": "videoinput", "group": "\udfff"}, "devices[0].group", "lone surrogate"),
    ({"kind": "videoinput", "label": "\x1b[31mred\nline"}, "devices[0].label",
     "control characters"),
    ({"kind": "videoinput", "label": "x" * 5000}, "devices[0].label", "at most 256"),
    ({"kind": "videoinput", "modes": [dict(VIDEO_MODE, pixelFormat="YU\x07V")]},
     "devices[0].modes[0].pixelFormat", "control characters"),
    ({"kind": "videoinput", "source": {"file": "clip\x00.mkv"}}, "devices[0].source.file",
     "NUL character"),
    ({"kind": "videoinput", "source": {"file": "x" * 5000}}, "devices[0].source.file",
     "File name too long"),
    ({"kind": "videoinput", "source": {"file": "\ud800.mkv"}}, "devices[0].source.file",
     "lone surrogate"),
    ({"kind": "videoinput", "\x1b[2J" + "k" * 5000: 1}, "devices[0]['\\x1b[2Jkkk",
     "unknown key"),
], ids=["surrogate-label", "surrogate-group", "escape-label", "long-label", "bell-fourcc",
        "nul-path", "long-path", "surrogate-path", "escape-key"])
def test_hostile_text_is_one_short_device_file_error(ms, tmp_path, device, json_path, message):
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [device]}))  # ASCII JSON: \ud800 stays escaped
    for command in (["devices"], ["caps"], ["resolve", "-c", '{"video": true}']):
        result = ms(*command, "--devices", str(path))
        assert result.code == 2, (command, result.err)
        line = one_error_line(result)
        assert line.startswith(f"ms: DeviceFileError: {json_path}"), line
        assert message in line and len(line) < SANE_LINE, line
        assert "\x1b" not in result.err


def test_a_printable_unicode_label_survives_tables_and_json(ms, tmp_path):
    label = "Caméra ☕ 𝓧"  # non-ASCII, outside the BMP: a label, not an error
    devices = device_file(tmp_path, {"kind": "videoinput", "label": label})
    result = ms("devices", "--devices", devices, "--json")
    assert result.code == 0, result.err
    assert [d["label"] for d in result.json()] == [label]


# --- finding 12: DEVICE selectors ---------------------------------------------------------


@pytest.mark.parametrize("selector,code,name", [
    ("index:²", 2, "UsageError"),  # str.isdigit() says yes, int() says no
    ("index:٣", 2, "UsageError"),  # Arabic-Indic 3: int() reads it as 3
    ("index:-1", 2, "UsageError"),
    ("index:", 2, "UsageError"),
    ("index: 1", 2, "UsageError"),
    ("index:1e3", 2, "UsageError"),
    ("index:" + "9" * 5000, 3, "NotFoundError"),  # beyond int()'s 4,300-digit limit
    ("index:3", 3, "NotFoundError"),
    ("label:\x1b[2J", 3, "NotFoundError"),
    ("x" * 5000, 3, "NotFoundError"),
])
def test_odd_device_selectors_are_usage_or_not_found(ms, selector, code, name):
    result = ms("caps", selector, "--fake")
    assert result.code == code, result.err
    line = one_error_line(result)
    assert line.startswith(f"ms: {name}: ") and len(line) < SANE_LINE, line
    assert "\x1b" not in result.err


def test_index_selectors_that_are_numbers_still_work(ms):
    result = ms("caps", "index:001", "--fake", "--json")
    assert result.code == 0, result.err
    assert "width" in result.json()  # index 1: the fake camera

"""A track of any size records to every output: odd and tiny sizes from a virtual camera's
native mode or from crop-and-scale, through y4m, the PyAV containers and pipes, decoded back
and compared pixel by pixel with what the camera delivered."""

from __future__ import annotations

import io
import json
from fractions import Fraction

import av
import numpy as np
import pytest

from mscli.media.frames import VideoFrame, i420_planes, pad_i420
from mscli.sinks.geometry import coded_size, to_av_frame
from mscli.sinks.recorder import Recorder, VideoSpec

from _media import video_frames
from media_check import read_y4m

ODD_CAMERA = {"devices": [
    {"kind": "videoinput", "label": "Odd Camera",
     "modes": [{"width": 27, "height": 20, "frameRate": 30},
               {"width": 641, "height": 481, "frameRate": 30},
               {"width": 1, "height": 1, "frameRate": 30}]},
]}


def devices_file(tmp_path, devices=ODD_CAMERA) -> str:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(devices))
    return str(path)


def video(width: int, height: int | None = None, **more) -> str:
    constraints = {"width": {"exact": width}, **more}
    if height is not None:
        constraints["height"] = {"exact": height}
    return json.dumps({"video": constraints})


def capture(ms, tmp_path, constraints, *args, frames=3):
    return ms("capture", "--devices", devices_file(tmp_path), "-c", constraints,
              "--frames", str(frames), "--unpaced", "--events", "none", *args)


# ---------------------------------------------------------------------------------------------
# What the camera delivers


def test_a_1x1_camera_delivers_its_frames(ms, tmp_path):
    """A 1x1 native mode is a valid device file: its track delivers 1x1 frames (the pattern
    refused sizes under 2, so the track ended at once and nothing was recorded)."""
    result = capture(ms, tmp_path, video(1), "-o", "-")
    assert result.code == 0, result.err
    tags, planes = read_y4m(result.raw)
    assert (tags["W"], tags["H"]) == ("1", "1")
    assert len(planes) == 3 and all(p.shape == (1, 1) for p in planes)


# ---------------------------------------------------------------------------------------------
# The recorder: each codec codes the real size, or the next even one with the edge repeated


def pattern_frames(width: int, height: int, count: int = 3) -> list[VideoFrame]:
    return list(video_frames(width, height, 30, count))


def planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """Y, U, V of a decoded 4:2:0 frame, without line padding."""
    out = []
    for i, plane in enumerate(frame.planes[:3]):
        w, h = (frame.width, frame.height) if i == 0 else \
            ((frame.width + 1) // 2, (frame.height + 1) // 2)
        out.append(np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:h, :w])
    return out


def padded(a: np.ndarray, height: int, width: int) -> np.ndarray:
    """`a` grown to height x width by repeating its last row and column."""
    return np.pad(a, ((0, height - a.shape[0]), (0, width - a.shape[1])), mode="edge")


def record_and_decode(path, fmt, codec, size, **options):
    w, h = size
    sent = pattern_frames(w, h)
    rec = Recorder(str(path), fmt, VideoSpec(w, h, Fraction(30)), None, video_codec=codec,
                   **options)
    for frame in sent:
        rec.write_video(frame)
    rec.close()
    with av.open(str(path)) as container:
        got = list(container.decode(video=0))
    return rec, sent, got


def test_to_av_frame_repeats_the_last_column_and_row():
    y = np.arange(9, dtype=np.uint8).reshape(3, 3)
    u, v = np.array([[100, 101], [102, 103]], np.uint8), np.array([[200, 201], [202, 203]],
                                                                   np.uint8)
    frame = VideoFrame(np.concatenate([y.ravel(), u.ravel(), v.ravel()]), 3, 3, 0,
                       Fraction(1, 30), 0.0, 0)
    out = planes(to_av_frame(frame, 4, 4))
    assert out[0].tolist() == [[0, 1, 2, 2], [3, 4, 5, 5], [6, 7, 8, 8], [6, 7, 8, 8]]
    assert out[1].tolist() == u.tolist() and out[2].tolist() == v.tolist()  # 2x2 covers 4x4
    same = planes(to_av_frame(frame, 3, 3))
    assert [p.tolist() for p in same] == [y.tolist(), u.tolist(), v.tolist()]


@pytest.mark.parametrize("width, height, pix_fmt, coded", [
    (27, 20, "yuv420p", (28, 20)), (28, 21, "yuv420p", (28, 22)), (1, 1, "yuv420p", (2, 2)),
    (27, 21, "yuv422p", (28, 21)), (27, 21, "yuv444p", (27, 21)), (28, 20, "yuv420p", (28, 20)),
])
def test_h264_codes_whole_chroma_samples(width, height, pix_fmt, coded):
    assert coded_size(av.Codec("libx264", "w"), pix_fmt, width, height) == coded


@pytest.mark.parametrize("codec", ["libvpx-vp9", "ffv1", "rawvideo", "mpeg4", "mjpeg"])
def test_other_codecs_code_the_real_size(codec):
    assert coded_size(av.Codec(codec, "w"), "yuv420p", 27, 21) == (27, 21)


LOSSLESS_CASES = [
    # (format, codec, size, options): decoded pixels equal the sent ones exactly
    ("matroska", "libx264", (27, 21), {"crf": 0}),  # x264's lossless mode
    ("mp4", "libx264", (1, 1), {"crf": 0}),
    ("matroska", "ffv1", (27, 21), {}),
    ("matroska", "ffv1", (5, 7), {}),  # FFmpeg's automatic slice count fails here
    ("matroska", "ffv1", (641, 3), {}),
    ("matroska", "ffv1", (12, 47), {}),
    ("nut", "rawvideo", (27, 21), {}),
    ("matroska", "rawvideo", (1, 1), {}),
]


@pytest.mark.parametrize("fmt, codec, size, options", LOSSLESS_CASES)
def test_lossless_recordings_decode_to_the_sent_pixels(tmp_path, fmt, codec, size, options):
    rec, sent, got = record_and_decode(tmp_path / f"out.{fmt}", fmt, codec, size, **options)
    cw, ch = rec.coded_size
    assert len(got) == len(sent)
    for frame, decoded in zip(sent, got):
        assert (decoded.width, decoded.height) == (cw, ch)
        y, u, v = planes(decoded)
        assert np.array_equal(y, padded(frame.y, ch, cw))
        assert np.array_equal(u, padded(frame.u, *u.shape))
        assert np.array_equal(v, padded(frame.v, *v.shape))


LOSSY_CASES = [
    ("matroska", "libx264", (27, 20)), ("mp4", "libx264", (641, 481)),
    ("mov", "libx264", (27, 21)), ("matroska", "libx265", (27, 21)),
    ("webm", "libvpx-vp9", (27, 20)), ("webm", "libvpx-vp9", (1, 1)),
    ("webm", "libvpx", (27, 21)), ("mp4", "mpeg4", (27, 21)), ("mp4", "libx264", (5, 7)),
]
# Mean absolute luma error (levels 16-235) a lossy codec at its default quality stays under on
# this pattern: the worst measured is 11 (x264 at 3x3, where every pixel is detail), under 1 at
# 641x481. The added column and row of a padded picture are held to it too: their decoded
# values lie 80-140 away from black here, so a black padding would fail (the lossless cases
# check the repeated edge exactly).
LOSSY_ERROR = 24


@pytest.mark.parametrize("fmt, codec, size", LOSSY_CASES)
def test_lossy_recordings_decode_to_the_sent_picture(tmp_path, fmt, codec, size):
    rec, sent, got = record_and_decode(tmp_path / f"out.{fmt}", fmt, codec, size)
    w, h = size
    cw, ch = rec.coded_size
    assert (cw - w, ch - h) == ((w % 2, h % 2) if codec in ("libx264", "libx265") else (0, 0))
    assert len(got) == len(sent)
    for frame, decoded in zip(sent, got):
        assert (decoded.width, decoded.height) == (cw, ch)
        y = planes(decoded)[0].astype(int)
        assert np.abs(y - padded(frame.y, ch, cw)).mean() < LOSSY_ERROR
        if (cw, ch) != (w, h):  # the added column and row alone, against the repeated edge
            edge = np.concatenate([y[:, w:].ravel(), y[h:, :].ravel()])
            expected = padded(frame.y, ch, cw)
            want = np.concatenate([expected[:, w:].ravel(), expected[h:, :].ravel()])
            assert np.abs(edge - want).mean() < LOSSY_ERROR


def test_mjpeg_records_odd_sizes_in_full_range(tmp_path):
    """MJPEG was refused at every size (yuv420p is limited range); in yuvj420p the scaler
    expands the range, and the decoded picture is the sent one in full range."""
    _, sent, got = record_and_decode(tmp_path / "out.mkv", "matroska", "mjpeg", (27, 21))
    assert len(got) == len(sent)
    for frame, decoded in zip(sent, got):
        assert (decoded.width, decoded.height, decoded.format.name) == (27, 21, "yuvj420p")
        full = (frame.y.astype(float) - 16) * 255 / 219
        assert np.abs(planes(decoded)[0] - full).mean() < LOSSY_ERROR


# ---------------------------------------------------------------------------------------------
# ms capture: a 27x20 track to every output


def decoded_y(source) -> list[np.ndarray]:
    with av.open(source) as container:
        return [planes(f)[0] for f in container.decode(video=0)]


CODED = {"y4m": (27, 20), "nut": (27, 20), "mkv": (28, 20), "webm": (27, 20), "mp4": (28, 20),
         "mov": (28, 20)}


def test_a_27x20_track_records_to_every_container(ms, tmp_path):
    """One capture to every container at once: the y4m holds what the camera delivered, each
    other file decodes to it at the size documented (H.264 codes 28x20, the last column
    repeated), -v says so once for each of those, and the settings keep 27x20."""
    outs = {ext: tmp_path / f"odd.{ext}" for ext in CODED}
    result = capture(ms, tmp_path, video(27), "-v",
                     *[arg for out in outs.values() for arg in ("-o", str(out))])
    assert result.code == 0, result.err
    settings = [json.loads(line[line.index("{"):]) for line in result.err.splitlines()
                if line.startswith("ms: video: ")]
    assert [(s["width"], s["height"]) for s in settings] == [(27, 20)]
    notes = [line for line in result.err.splitlines() if "is odd" in line]
    assert notes == [f"ms: {outs[ext]}: 27x20 is odd; libx264 in yuv420p codes even sizes "
                     "only: encoding 28x20 with the last column repeated, so it decodes as "
                     "28x20 (y4m, nut, webm, or mkv with --video-codec ffv1, keep 27x20)"
                     for ext in ("mkv", "mp4", "mov")]
    tags, sent = read_y4m(outs["y4m"].read_bytes())
    assert (tags["W"], tags["H"], len(sent)) == ("27", "20", 3)
    for ext, (cw, ch) in CODED.items():
        got = decoded_y(str(outs[ext]))
        assert len(got) == 3, ext
        for y, want in zip(got, sent):
            assert y.shape == (ch, cw), ext
            assert np.abs(y.astype(int) - padded(want, ch, cw)).mean() < LOSSY_ERROR, ext


def test_the_note_is_for_verbose_only(ms, tmp_path):
    result = capture(ms, tmp_path, video(27), "-o", str(tmp_path / "odd.mkv"))
    assert result.code == 0 and result.err == ""


def test_a_27x20_track_pipes_as_matroska(ms, tmp_path):
    """-o - with -f matroska (the default for audio and video) carries the padded picture."""
    reference = capture(ms, tmp_path, video(27), "-o", "-")  # y4m: what the camera delivers
    assert reference.code == 0, reference.err
    _, sent = read_y4m(reference.raw)
    result = capture(ms, tmp_path, video(27), "-f", "matroska", "-o", "-")
    assert result.code == 0, result.err
    got = decoded_y(io.BytesIO(result.raw))
    assert len(got) == len(sent) == 3
    for y, want in zip(got, sent):
        assert y.shape == (20, 28)
        assert np.abs(y.astype(int) - padded(want, 20, 28)).mean() < LOSSY_ERROR


CROP_CAMERA = {"devices": [{"kind": "videoinput", "label": "Even Camera",
                            "modes": [{"width": 40, "height": 30, "frameRate": 30}]}]}


def test_crop_and_scale_to_an_odd_size_records(ms, tmp_path):
    """27x21 asked exactly of a 40x30 camera: cropped and scaled, then recorded."""
    constraints = video(27, 21, resizeMode="crop-and-scale")
    outs = {ext: tmp_path / f"odd.{ext}" for ext in ("y4m", "mkv", "webm")}
    result = ms("capture", "--devices", devices_file(tmp_path, CROP_CAMERA), "-c", constraints,
                "--frames", "3", "--unpaced", "--events", "none",
                *[arg for out in outs.values() for arg in ("-o", str(out))])
    assert result.code == 0, result.err
    tags, sent = read_y4m(outs["y4m"].read_bytes())
    assert (tags["W"], tags["H"], len(sent)) == ("27", "21", 3)
    for ext, (cw, ch) in (("mkv", (28, 22)), ("webm", (27, 21))):
        got = decoded_y(str(outs[ext]))
        assert len(got) == 3, ext
        for y, want in zip(got, sent):
            assert y.shape == (ch, cw), ext
            assert np.abs(y.astype(int) - padded(want, ch, cw)).mean() < LOSSY_ERROR, ext


def test_pad_i420_repeats_each_planes_edge():
    y = np.arange(9, dtype=np.uint8).reshape(3, 3)
    u, v = np.full((2, 2), 100, np.uint8), np.full((2, 2), 200, np.uint8)
    u[1, 1], v[0, 1] = 101, 201
    data = np.concatenate([y.ravel(), u.ravel(), v.ravel()])
    out = i420_planes(pad_i420(data, 3, 3, 6, 4), 6, 4)
    assert [p.shape for p in out] == [(4, 6), (2, 3), (2, 3)]
    assert out[0].tolist() == [[0, 1, 2, 2, 2, 2], [3, 4, 5, 5, 5, 5], [6, 7, 8, 8, 8, 8],
                               [6, 7, 8, 8, 8, 8]]
    assert out[1].tolist() == [[100, 100, 100], [100, 101, 101]]
    assert out[2].tolist() == [[200, 201, 201], [200, 200, 200]]
    assert pad_i420(data, 3, 3, 3, 3) is data

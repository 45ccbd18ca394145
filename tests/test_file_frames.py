"""A file-backed camera's decoded frames reach the outputs unchanged, and an encoder gets the
decoder's own frame, not a copy made through numpy (issue 15: no copies on the paced path)."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

SIZE = (96, 64)
FRAMES = 8


def write_noise_clip(path, pix_fmt: str, size=SIZE) -> list[np.ndarray]:
    """A clip of random pictures in `pix_fmt` (nothing a codec could smooth over: FFV1, or
    MJPEG for full-range yuvj420p); its pictures as decoded, in limited-range yuv420p, the
    format every output gets: the file's own when it is that, else converted once by
    libswscale, a full range scaled to the limited one as FFmpeg's own conversion does."""
    rng = np.random.default_rng(15)
    full = pix_fmt == "yuvj420p"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mjpeg" if pix_fmt == "yuvj420p" else "ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, pix_fmt
        for i in range(FRAMES):
            rgb = rng.integers(0, 256, (size[1], size[0], 3), np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, "rgb24").reformat(format=pix_fmt)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    with av.open(str(path)) as container:
        return [i420_planes(frame.reformat(format="yuv420p", dst_color_range="MPEG",
                                           src_color_range="JPEG" if full else "MPEG"))
                for frame in container.decode(video=0)]


def i420_planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """A yuv420p frame's planes without their row padding (to_ndarray refuses odd sizes)."""
    return [np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
            [:plane.height, :plane.width] for plane in frame.planes]


def decoded_pictures(path) -> list[list[np.ndarray]]:
    with av.open(str(path)) as container:
        return [i420_planes(frame) for frame in container.decode(video=0)]


def capture_args(tmp_path, clip, output, size=SIZE, codec="ffv1") -> list[str]:
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "videoinput", "label": "Clip", "source": {"file": str(clip)}}]}))
    c = json.dumps({"video": {"width": size[0], "height": size[1], "frameRate": 30}})
    args = ["capture", "--devices", str(devices), "-c", c, "--frames", str(FRAMES),
            "--unpaced", "--events", "none", "-o", str(output)]
    return args + (["--video-codec", codec] if output.suffix == ".mkv" else [])


def same_pictures(got, expected) -> None:
    assert len(got) == len(expected) == FRAMES
    for i, (picture, source) in enumerate(zip(got, expected)):
        assert all(np.array_equal(a, b) for a, b in zip(picture, source)), \
            f"frame {i} differs from the file's"


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv444p", "yuvj420p"])
@pytest.mark.parametrize("ext", [".mkv", ".y4m"])
def test_a_file_backed_recording_has_the_files_pictures(ms, tmp_path, pix_fmt, ext):
    """Lossless FFV1 (the decoder's frame straight to the encoder) and y4m (the frame's I420
    made from it) both hold every pixel of the file's pictures, in yuv420p."""
    clip, out = tmp_path / "clip.mkv", tmp_path / f"out{ext}"
    expected = write_noise_clip(clip, pix_fmt)
    result = ms(*capture_args(tmp_path, clip, out))
    assert result.code == 0, result.err
    same_pictures(decoded_pictures(out), expected)


@pytest.mark.parametrize("ext", [".mkv", ".y4m"])
def test_an_odd_sized_file_is_recorded(ms, tmp_path, ext):
    """33x17: PyAV's to_ndarray refuses an odd width, which failed every frame of such a file
    (before, nothing was recorded; with the decoder's frame passed on, x264's padding and
    y4m read its I420 at the writer, and it broke there). y4m keeps every pixel; x264 codes
    34x18, the last column and row repeated."""
    clip, out = tmp_path / "clip.mkv", tmp_path / f"out{ext}"
    expected = write_noise_clip(clip, "yuv420p", (33, 17))
    result = ms(*capture_args(tmp_path, clip, out, (33, 17), codec="libx264"))
    assert result.code == 0, result.err
    got = decoded_pictures(out)
    if ext == ".y4m":
        same_pictures(got, expected)
    else:
        assert len(got) == FRAMES and got[0][0].shape == (18, 34)


def test_the_encoder_gets_the_decoders_frame(tmp_path, monkeypatch):
    """No copy into numpy and none back: every frame the recorder encodes is one the file's
    decoder made (before, each was converted to ms's I420 and copied again by libavcodec),
    and nothing on the way reads a frame's I420 `data` (the content watcher, on by default,
    samples the decoder's Y plane)."""
    from mscli.cli import main
    from mscli.media.frames import VideoFrame
    from mscli.sinks.recorder import Recorder
    from mscli.sources.file import FileSource

    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path / "state"))
    decoded, encoded, reads = [], [], []
    data = VideoFrame.data
    monkeypatch.setattr(VideoFrame, "data", property(lambda frame: reads.append(frame)
                                                     or data.fget(frame)))
    frames = FileSource._frames

    def spy_frames(self, container, offset):
        for t, frame in frames(self, container, offset):
            decoded.append(frame)
            yield t, frame

    encode = Recorder._encode

    def spy_encode(self, stream, av_frame):
        if stream is self.video_stream:
            encoded.append(av_frame)
        encode(self, stream, av_frame)

    monkeypatch.setattr(FileSource, "_frames", spy_frames)
    monkeypatch.setattr(Recorder, "_encode", spy_encode)
    clip = tmp_path / "clip.mkv"
    write_noise_clip(clip, "yuv420p")
    with pytest.raises(SystemExit) as stop:
        main(capture_args(tmp_path, clip, tmp_path / "out.mkv"))
    assert stop.value.code in (0, None)
    assert len(encoded) == FRAMES
    ids = {id(frame) for frame in decoded}
    assert all(id(frame) in ids for frame in encoded), "the encoder got copies"
    assert not reads, f"{len(reads)} frames converted to I420"


def test_a_decoded_frames_y_plane_is_its_i420_y(tmp_path):
    """What the content watcher samples: the decoder's own Y plane (rows padded to its line
    size) reads as the Y of the frame's I420, for yuv420p and a format converted to it."""
    from mscli.media.frames import VideoFrame

    for pix_fmt in ("yuv420p", "yuv444p"):
        clip = tmp_path / f"{pix_fmt}.mkv"
        write_noise_clip(clip, pix_fmt)
        with av.open(str(clip)) as container:
            decoded = next(container.decode(video=0))
        frame = VideoFrame(None, *SIZE, 0, 1 / 30, 0.0, 0, decoded=decoded)
        copied = VideoFrame(decoded.to_ndarray(format="yuv420p").reshape(-1), *SIZE, 0,
                            1 / 30, 0.0, 0)
        assert frame.y.shape == (SIZE[1], SIZE[0])
        assert np.array_equal(frame.y, copied.y)


def test_a_files_frames_are_timed_without_fraction_arithmetic(tmp_path, monkeypatch):
    """Python's Fraction was the most called code on the video source's thread (three or four
    made per frame: the stream's rate, pts x time base): frame times are floats now, exactly
    as rounded, and the rate is worked out once a pass."""
    from fractions import Fraction
    from types import SimpleNamespace

    from mscli.sources.file import FileSource

    clip = tmp_path / "clip.mkv"
    write_noise_clip(clip, "yuv420p")
    with av.open(str(clip)) as container:  # the times as Fractions gave them
        expected = [2.0 + float(f.pts * f.time_base) for f in container.decode(video=0)]
    source = FileSource.__new__(FileSource)  # only its decoding, no track or thread
    source.track = SimpleNamespace(kind="video")
    made = []
    new = Fraction.__new__
    monkeypatch.setattr(Fraction, "__new__",
                        lambda cls, *args, **kw: made.append(cls) or new(cls, *args, **kw))
    with av.open(str(clip)) as container:
        times = [t for t, _ in source._frames(container, 2.0)]
    monkeypatch.undo()
    assert times == expected
    assert len(made) < FRAMES, f"{len(made)} Fractions made for {FRAMES} frames"

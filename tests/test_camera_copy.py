"""A V4L2 camera's native formats, through the fake driver (_fake_camera.py) and `ms capture`
run in this process (the fake replaces OpenCV's capture and the V4L2 syscalls): MJPEG taken
raw and decoded once, and --video-codec copy storing the driver's buffers as they are.
The real thing (vivid's YUYV) is in tests/hwlab/test_lab_copy.py."""

from __future__ import annotations

import hashlib

import av
import cv2
import numpy as np
import pytest
from _fake_camera import NODE, install_driver, make_track, mjpeg_grey, run_virtual

from mscli import catalog, cli
from mscli.backends import v4l2
from mscli.devices import VIDEO_INPUT, Device, VideoMode
from mscli.errors import NotReadableError
from mscli.session import open_source
from mscli.sources.camera_copy import h264_key
from mscli.media.frames import decoded_i420 as to_i420

MJPEG = (VideoMode(640, 480, 30.0, "MJPG"),)
YUYV = (VideoMode(320, 240, 30.0, "YUYV"),)
H264 = (VideoMode(320, 240, 30.0, "H264"),)


def test_h264_is_taken_raw_and_decoded_once_by_pyav(monkeypatch):
    # OpenCV's V4L2 capture has no H.264 decoder: before, such a camera gave no frames.
    driver = install_driver(monkeypatch)
    driver.use_virtual_time(monkeypatch, frames=12)
    track = make_track(modes=H264)
    source = open_source(track, track._events.clock, paced=True, until=None)
    cap = driver.captures[0]
    assert cap.props[cv2.CAP_PROP_CONVERT_RGB] == 0  # the access units themselves
    run_virtual(source, driver)
    frames = track.take()
    assert len(frames) == 12 - 1  # open() took one
    for frame, count in zip(frames, range(cap.count - len(frames) + 1, cap.count + 1),
                            strict=True):
        assert np.abs(frame.y.astype(int) - mjpeg_grey(count)).max() <= 2
        assert np.abs(frame.u.astype(int) - 128).max() <= 2
        assert np.abs(frame.v.astype(int) - 128).max() <= 2


def test_mjpeg_is_decoded_by_opencv_which_measured_faster(monkeypatch):
    # bench/camera_decode.py: libjpeg-turbo's decode to BGR plus BGR -> I420 takes less CPU
    # than FFmpeg's MJPEG decoder plus libswscale's 4:2:2 -> 4:2:0.
    install_driver(monkeypatch)
    track = make_track(modes=MJPEG)
    source = open_source(track, track._events.clock, paced=True, until=None)
    assert source._cap.props[cv2.CAP_PROP_CONVERT_RGB] == 1
    source.stop()


@pytest.mark.parametrize("fmt", ["yuvj420p", "yuvj422p", "yuv420p"])
def test_full_range_pictures_are_made_limited_range_i420(fmt):
    # PyAV hands a decoded frame's full range on to the converted one unless told: black (0)
    # and white (255) must come out as the limited range's 16 and 235.
    frame = av.VideoFrame(16, 8, fmt)
    frame.color_range = 2  # as a decoder marks it (JPEG, or H.264 flagged full-range)
    luma = np.zeros((8, frame.planes[0].line_size), np.uint8)
    luma[:, 8:] = 255
    frame.planes[0].update(luma.tobytes())
    for plane in frame.planes[1:]:
        plane.update(bytes([128]) * plane.buffer_size)
    y = to_i420(frame)[:8 * 16].reshape(8, 16)
    assert abs(int(y[0, 0]) - 16) <= 1 and abs(int(y[0, 15]) - 235) <= 1


# --- ms capture --video-codec copy, in this process -------------------------------------------


def camera(modes) -> Device:
    return Device(VIDEO_INPUT, "Cam", "v4l2:test", "g", "v4l2", modes=modes,
                  source={"node": NODE})


def run_ms(monkeypatch, capsys, modes, *args) -> tuple[int, str, object]:
    """`ms capture` with the fake camera as the machine's only device: (exit code, stderr,
    the driver)."""
    driver = install_driver(monkeypatch)
    monkeypatch.setattr(catalog, "REAL_BACKENDS", ("mscli.backends.v4l2",))
    monkeypatch.setattr(v4l2, "enumerate_devices", lambda: [camera(modes)])
    with pytest.raises(SystemExit) as exited:
        cli.main(["capture", *args])
    return exited.value.code, capsys.readouterr().err, driver


def packets_of(path) -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


@pytest.mark.parametrize("ext", ["mkv", "nut", "mp4"])
def test_an_mjpeg_cameras_packets_are_stored_as_the_driver_gave_them(monkeypatch, capsys,
                                                                     tmp_path, ext):
    out = tmp_path / f"out.{ext}"
    code, err, driver = run_ms(monkeypatch, capsys, MJPEG, "-c", '{"video": true}',
                               "--video-codec", "copy", "-t", "0.6", "-o", str(out))
    assert code == 0, err
    given = driver.captures[0].given[1:]  # the first was open()'s check of the device
    stored = packets_of(out)
    # Every buffer retrieved within the 0.6 s (about 18 at 30 fps: at least a few even on a
    # loaded machine), in order; one more may have been retrieved past the limit.
    assert len(stored) >= 4
    assert [hashlib.sha256(p).hexdigest() for p in stored] == \
        [hashlib.sha256(p).hexdigest() for p in given[:len(stored)]]
    assert len(given) - len(stored) <= 1
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("mjpeg", 640, 480)
        times = [float(f.pts * f.time_base) for f in container.decode(stream)]
    steps = np.diff(times)
    assert len(times) == len(stored) and (steps > 0).all()
    assert np.median(steps) == pytest.approx(1 / 30, rel=0.5)  # the camera's own pace


@pytest.mark.parametrize("ext", ["mp4", "nut"])
def test_an_h264_camera_is_stored_from_its_first_key_frame(monkeypatch, capsys, tmp_path, ext):
    out = tmp_path / f"out.{ext}"
    code, err, driver = run_ms(monkeypatch, capsys, H264, "-c", '{"video": true}',
                               "--video-codec", "copy", "-t", "1", "-o", str(out))
    assert code == 0, err
    given = driver.captures[0].given[1:]
    first_key = next(i for i, unit in enumerate(given) if h264_key(unit))
    assert first_key > 0  # the fake's key frames come every 10: open() took the first
    stored = packets_of(out)
    expected = given[first_key:first_key + len(stored)]
    if ext == "mp4":  # MP4 stores NAL units length-prefixed (AVCC), as ffmpeg -c copy does
        stored, expected = [avcc_units(p) for p in stored], [annex_b_units(u) for u in expected]
    assert len(stored) >= 4 and stored == expected
    with av.open(str(out)) as container:
        pictures = list(container.decode(video=0))
    assert len(pictures) == len(stored)  # every stored picture decodes


def annex_b_units(data: bytes) -> list[bytes]:
    """NAL units between start codes (a 4-byte one leaves a zero byte before it: a unit
    ends with its stop bit, never a zero byte)."""
    return [unit.strip(b"\x00") for unit in data.split(b"\x00\x00\x01") if unit.strip(b"\x00")]


def avcc_units(data: bytes) -> list[bytes]:
    units, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        units.append(data[at + 4:at + 4 + size])
        at += 4 + size
    return units


def test_a_driver_that_gives_a_format_with_no_stored_form_is_not_readable(monkeypatch):
    driver = install_driver(monkeypatch)
    driver.fmt = "BGR3"  # asked for MJPG, the driver kept another format
    track = make_track(modes=MJPEG, copy=True)
    with pytest.raises(NotReadableError) as caught:
        open_source(track, track._events.clock, paced=True, until=None)
    assert "asked for MJPG, the driver gave BGR3" in caught.value.message
    assert driver.captures[0].released and not driver.open_fds


def test_a_yuyv_camera_goes_to_nut_as_rawvideo_with_the_drivers_bytes(monkeypatch, capsys,
                                                                      tmp_path):
    out = tmp_path / "out.nut"
    code, err, driver = run_ms(monkeypatch, capsys, YUYV, "-c", '{"video": true}',
                               "--video-codec", "copy", "-t", "0.5", "-o", str(out))
    assert code == 0, err
    given = driver.captures[0].given[1:]
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == \
            ("rawvideo", "yuyv422")
        decoded = [f.to_ndarray(format="yuyv422").tobytes() for f in container.decode(stream)]
    assert len(decoded) >= 4 and decoded == given[:len(decoded)]


@pytest.mark.parametrize("stamps", [True, False], ids=["driver-timestamps", "arrival"])
def test_copied_packets_keep_capture_times_and_count_lost_frames(monkeypatch, stamps):
    # As for decoded frames (test_source_camera.py): the driver loses one frame before grab 8
    # and two before grab 16, which its timestamps show.
    driver = install_driver(monkeypatch)
    driver.use_virtual_time(monkeypatch, frames=25)
    driver.stamps, driver.lose = stamps, {8: 1, 16: 2}
    track = make_track(modes=MJPEG, copy=True)
    source = open_source(track, track._events.clock, paced=True, until=None)
    run_virtual(source, driver)
    packets = track.take()
    assert [bytes(p.packet) for p in packets] == driver.captures[0].given[1:]
    assert all(p.packet.is_keyframe for p in packets)
    times = [p.time for p in packets]
    pts = [p.packet.pts * p.packet.time_base for p in packets]
    assert [float(t) for t in pts] == pytest.approx(times, abs=1e-4)
    assert (np.diff(times) > 0).all()
    stats = track.stats_snapshot()
    assert stats["deliveredFrames"] == len(packets) == 25 - 1
    assert stats["totalFrames"] - len(packets) == (3 if stamps else 0)


def run_refused(monkeypatch, capsys, tmp_path, modes, constraints, out_name="out.mkv",
                *extra) -> str:
    out = tmp_path / out_name
    code, err, _ = run_ms(monkeypatch, capsys, modes, "-c", constraints, "--video-codec", "copy",
                          "-t", "1", *extra, "-o", str(out))
    assert code == 2, err
    assert list(tmp_path.iterdir()) == []  # nothing opened
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ms: UsageError: --video-codec copy: ")
    return lines[0]


@pytest.mark.parametrize("modes, constraints, out_name, expected", [
    (MJPEG, '{"video": {"width": 320, "height": 240, "resizeMode": "crop-and-scale"}}',
     "out.mkv", "the track is 320x240, 'Cam' delivers 640x480 (a crop or scale needs encoding)"),
    (MJPEG, '{"video": {"frameRate": 10, "resizeMode": "crop-and-scale"}}', "out.mkv",
     "the track runs at 10 fps, 'Cam' at 30 (fewer frames per second needs encoding)"),
    ((VideoMode(320, 240, 30.0, "NV12"),), '{"video": true}', "out.mkv",
     "'Cam' delivers NV12 in this mode, which has no stored form ms copies"),
    (YUYV, '{"video": true}', "out.mp4", "out.mp4 (mp4) cannot take the camera's stream"),
    ((VideoMode(640, 480, 30.0, "H264"),), '{"video": true}', "out.mkv",
     "a camera's H.264 goes to .mp4 or .nut, not Matroska"),
    (MJPEG, '{"video": true}', "out.y4m", "takes decoded frames"),
], ids=["crop", "decimation", "nv12", "yuyv-in-mp4", "h264-in-mkv", "y4m"])
def test_what_prevents_a_camera_copy_is_a_usage_error_and_opens_nothing(
        monkeypatch, capsys, tmp_path, modes, constraints, out_name, expected):
    line = run_refused(monkeypatch, capsys, tmp_path, modes, constraints, out_name)
    assert expected in line


def test_a_microphone_still_cannot_be_copied(monkeypatch, capsys, tmp_path):
    out = tmp_path / "out.mkv"
    with pytest.raises(SystemExit) as exited:
        cli.main(["capture", "--fake", "-c", '{"audio": true}', "--audio-codec", "copy",
                  "-t", "1", "-o", str(out)])
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "is not file-backed or a V4L2 camera" in err
    assert not out.exists()

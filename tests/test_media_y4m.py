"""The y4m writer: header, frames as they are, pipes, short writes, write errors."""

from __future__ import annotations

import io
import os
import subprocess
import threading
from fractions import Fraction

import numpy as np
import pytest

from mscli.errors import AbortError
from mscli.media.frames import VideoFrame, i420_size
from mscli.sinks import y4m as y4m_module
from mscli.sinks.y4m import Y4MWriter, y4m_header

from _media import decode, video_frames
from conftest import needs_ffmpeg


def parse_y4m(blob: bytes):
    header, _, rest = blob.partition(b"\n")
    words = header.split(b" ")
    assert words[0] == b"YUV4MPEG2"
    tags = {w[:1].decode(): w[1:].decode() for w in words[1:]}
    w, h = int(tags["W"]), int(tags["H"])
    size = i420_size(w, h)
    frames = []
    while rest:
        marker, _, rest = rest.partition(b"\n")
        assert marker == b"FRAME"
        frames.append(rest[:size])
        assert len(frames[-1]) == size
        rest = rest[size:]
    return tags, frames


def test_header_is_exact():
    assert y4m_header(640, 480, Fraction(30)) == b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n"
    assert y4m_header(1280, 720, Fraction(30000, 1001)).split()[3] == b"F30000:1001"


def test_frames_are_written_byte_for_byte_to_a_stream_without_fd():
    out = io.BytesIO()
    frames = list(video_frames(320, 240, 30, 5))
    writer = Y4MWriter(out, 320, 240, Fraction(30))
    for f in frames:
        writer.write(f)
    writer.close()
    tags, payloads = parse_y4m(out.getvalue())
    assert tags == {"W": "320", "H": "240", "F": "30:1", "I": "p", "A": "1:1", "C": "420jpeg"}
    assert [bytes(f.data) for f in frames] == payloads
    assert writer.frames == 5 and writer.bytes_written == len(out.getvalue())


@needs_ffmpeg
@pytest.mark.parametrize("rate", [Fraction(30), Fraction(30000, 1001), Fraction(25)])
def test_file_decodes_with_pyav_and_ffprobe(tmp_path, rate):
    path = tmp_path / "out.y4m"
    with open(path, "wb") as f:
        writer = Y4MWriter(f, 640, 360, rate)
        for frame in video_frames(640, 360, rate, 40):
            writer.write(frame)
        writer.close()
    d = decode(str(path))
    assert d["numbers"] == list(range(40)) and d["size"] == (640, 360)
    assert d["rate"] == rate
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=width,height,r_frame_rate,nb_read_frames",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    assert probe.stdout.strip() == f"640,360,{rate.numerator}/{rate.denominator},40"


def test_odd_sizes(tmp_path):
    path = tmp_path / "odd.y4m"
    with open(path, "wb") as f:
        writer = Y4MWriter(f, 321, 241, Fraction(30))
        for frame in video_frames(321, 241, 30, 3):
            writer.write(frame)
        writer.close()
    d = decode(str(path))
    assert d["numbers"] == [0, 1, 2] and d["size"] == (321, 241)


@needs_ffmpeg
def test_streams_through_a_pipe_to_ffmpeg():
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-f", "yuv4mpegpipe", "-i", "-",
                             "-f", "rawvideo", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    got = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.read()))
    reader.start()
    frames = list(video_frames(320, 240, 30, 30))
    writer = Y4MWriter(proc.stdin, 320, 240, Fraction(30))
    for f in frames:
        writer.write(f)
    writer.close()
    proc.stdin.close()
    reader.join()
    assert proc.wait() == 0
    assert got[0] == b"".join(bytes(f.data) for f in frames)


def test_one_writev_per_frame_and_short_writes_are_continued(tmp_path, monkeypatch):
    calls = []
    real_writev = os.writev

    def short_writev(fd, buffers):
        calls.append(len(buffers))
        if len(buffers) == 1:
            return real_writev(fd, [bytes(buffers[0])[:7]])
        # write only the marker and 1000 bytes of the frame
        first = bytes(buffers[0]) + bytes(buffers[1][:1000])
        return real_writev(fd, [first])

    monkeypatch.setattr(y4m_module.os, "writev", short_writev)
    path = tmp_path / "short.y4m"
    frames = list(video_frames(160, 120, 30, 3))
    with open(path, "wb") as f:
        writer = Y4MWriter(f, 160, 120, Fraction(30))
        for frame in frames:
            writer.write(frame)
        writer.close()
    assert calls == [1, 2, 2, 2]  # the header, then one call per frame
    _, payloads = parse_y4m(path.read_bytes())
    assert payloads == [bytes(f.data) for f in frames]


def test_non_contiguous_or_wrong_frames():
    out = io.BytesIO()
    writer = Y4MWriter(out, 4, 2, Fraction(30))
    data = np.arange(24, dtype=np.uint8)[::2]  # 12 bytes, strided
    writer.write(VideoFrame(data, 4, 2, 0, Fraction(1, 30), 0.0, 0))
    assert out.getvalue().endswith(b"FRAME\n" + bytes(data))
    with pytest.raises(ValueError):
        writer.write(VideoFrame(np.zeros(12, np.uint8), 2, 4, 1, Fraction(1, 30), 0.0, 1))
    with pytest.raises(ValueError):
        writer.write(VideoFrame(np.zeros(11, np.uint8), 4, 2, 1, Fraction(1, 30), 0.0, 1))


def test_disk_full_is_an_abort_error_naming_the_output():
    with open("/dev/full", "wb") as f:
        with pytest.raises(AbortError) as info:
            writer = Y4MWriter(f, 320, 240, Fraction(30))
            for frame in video_frames(320, 240, 30, 2):
                writer.write(frame)
    assert "/dev/full" in info.value.message and "space" in info.value.message.lower()


def test_reader_gone_is_a_broken_pipe():
    r, w = os.pipe()
    os.close(r)
    with os.fdopen(w, "wb") as out:
        with pytest.raises(BrokenPipeError):
            writer = Y4MWriter(out, 320, 240, Fraction(30))
            for frame in video_frames(320, 240, 30, 2):
                writer.write(frame)

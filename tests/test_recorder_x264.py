"""x264's lookahead on two threads where x264 alone would give it one (a machine with fewer
than 4 CPUs): checked in the settings x264 writes into the file, what it really ran with."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from mscli.sinks import recorder
from mscli.sinks.recorder import Recorder, VideoSpec

from _media import video_frames


def x264_threads(path) -> tuple[int, int]:
    """(threads, lookahead_threads) from the x264 settings in a recording."""
    with open(path, "rb") as f:
        found = re.search(rb"threads=(\d+) lookahead_threads=(\d+)", f.read())
    assert found, "no x264 settings in the file"
    return int(found.group(1)), int(found.group(2))


def record(path, height: int, **options) -> None:
    rec = Recorder(str(path), "matroska", VideoSpec(320, height, Fraction(30)), None, **options)
    for frame in video_frames(320, height, 30, 3):
        rec.write_video(frame)
    rec.close()


def test_two_cpus_split_the_lookahead(tmp_path, monkeypatch):
    monkeypatch.setattr(recorder, "available_cpus", lambda: 2, raising=False)
    record(tmp_path / "a.mkv", 256)
    threads, lookahead = x264_threads(tmp_path / "a.mkv")
    assert lookahead == min(2, threads)  # x264 keeps one where it runs one thread in all


@pytest.mark.parametrize("cpus, height", [(4, 1080), (16, 1080), (1, 1080), (2, 240)])
def test_left_to_x264(cpus, height, monkeypatch):
    """Enough CPUs for x264's own choice, one CPU, or too few rows for two threads."""
    monkeypatch.setattr(recorder, "available_cpus", lambda: cpus)
    assert recorder.x264_lookahead(height) == {}


def test_live_output_keeps_zerolatency(tmp_path, monkeypatch):
    """A live output (a URL) has no lookahead to split: zerolatency's settings stay."""
    monkeypatch.setattr(recorder, "available_cpus", lambda: 2)
    record(tmp_path / "live.mkv", 256, live=True)
    with open(tmp_path / "live.mkv", "rb") as f:
        settings = f.read()
    assert b"sliced_threads=1" in settings and b"bframes=0" in settings

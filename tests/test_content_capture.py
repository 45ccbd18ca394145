"""Content conditions through `ms capture` (issue 12): each condition scripted by a virtual
device's faults and shown by real media in a file-backed device, its `content` events within
0.5 s of the condition's edges and its seconds within 0.2 s; the threshold options and
--no-content. Unpaced where the source allows it: the timing is media time."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import jsonschema
import numpy as np
import pytest

from conftest import one_error_line
from mscli.media.pattern import PatternGenerator
from mscli.media.tone import ToneGenerator

EDGE = 0.5  # seconds: an event's time from the condition's edge
TOTAL = 0.2  # seconds: the accumulated time from the condition's length
AV = '{"video": true, "audio": true}'

FAULTS = {"devices": [
    {"kind": "videoinput", "label": "Cam",
     "faults": [{"at": 1.0, "event": "black", "for": 1.0},
                {"at": 2.5, "event": "freeze", "for": 1.0}]},
    {"kind": "audioinput", "label": "Mic",
     "faults": [{"at": 0.5, "event": "silence", "for": 1.0},
                {"at": 2.0, "event": "clip", "for": 0.5}]}]}


def write(tmp_path, name: str, value) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def events(result) -> list[dict]:
    return [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]


def content_of(result) -> dict:
    """kind -> the stopped event's content totals of that track."""
    stopped = [e for e in events(result) if e["event"] == "stopped"]
    if not stopped:  # every track ended by itself: the stream's detail is not emitted
        return {}
    return {t["kind"]: t.get("content") for t in stopped[-1]["detail"]["tracks"]}


def edges(result) -> dict:
    """(kind, condition) -> [(active, time), ...] from the content events."""
    out: dict = {}
    for e in events(result):
        if e["event"] == "content":
            out.setdefault((e["kind"], e["detail"]["condition"]), []).append(
                (e["detail"]["active"], e["time"]))
    return out


def assert_edges(found: list, expected: list) -> None:
    assert [a for a, _ in found] == [a for a, _ in expected], (found, expected)
    for (_, t), (_, want) in zip(found, expected):
        assert abs(t - want) <= EDGE, (found, expected)


def test_every_condition_from_virtual_faults(ms, tmp_path):
    devices = write(tmp_path, "devices.json", FAULTS)
    result = ms("capture", "--devices", devices, "-c", AV, "-t", "4", "--unpaced", "-o", "null")
    assert result.code == 0, result.err
    found = edges(result)
    assert_edges(found[("video", "black")], [(True, 1.0), (False, 2.0)])
    assert_edges(found[("video", "frozen")], [(True, 2.5), (False, 3.5)])
    assert_edges(found[("audio", "silence")], [(True, 0.5), (False, 1.5)])
    assert_edges(found[("audio", "clipping")], [(True, 2.0), (False, 2.5)])
    totals = content_of(result)
    assert totals["video"]["black"] == pytest.approx(1.0, abs=TOTAL)
    assert totals["video"]["frozen"] == pytest.approx(1.0, abs=TOTAL)
    assert totals["audio"]["silence"] == pytest.approx(1.0, abs=TOTAL)
    # the -20 dBFS tone 36 dB louder clips on most of its samples for 0.5 s, in 2 channels
    assert 0.3 * 48000 <= totals["audio"]["clipping"] <= 0.5 * 48000 * 2
    assert totals["audio"]["peak"] == 0.0 and -30 < totals["audio"]["level"] < 0


def test_a_device_file_with_content_faults_fits_the_schema(ms, tmp_path):
    schema = ms("schema", "devices").json()
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(FAULTS))


@pytest.mark.parametrize("device,message", [
    ({"kind": "audioinput", "faults": [{"at": 1, "event": "black"}]},
     "faults[0].event: a audioinput fault is one of mute, end, disconnect, silence, clip, "
     'got "black"'),
    ({"kind": "videoinput", "faults": [{"at": 1, "event": "clip"}]},
     "faults[0].event: a videoinput fault is one of mute, end, frameRate, disconnect, "
     'control, black, freeze, got "clip"'),
    ({"kind": "videoinput", "faults": [{"at": 1, "event": "end", "for": 1}]},
     r"faults[0].for: only mute, disconnect, black, freeze, silence, clip faults have"),
    ({"kind": "videoinput", "faults": [{"at": 1, "event": "freeze", "value": 1}]},
     r"faults[0].value: only frameRate and control faults have a value"),
])
def test_content_fault_mistakes_are_device_file_errors(ms, tmp_path, device, message):
    result = ms("devices", "--devices", write(tmp_path, "d.json", {"devices": [device]}))
    assert result.code == 2 and message in one_error_line(result)


def make_clip(path, seconds: int = 5, rate: int = 30, sample_rate: int = 48000) -> None:
    """The pattern and the tone in a lossless Matroska file, with a black second (1-2) and a
    frozen second (3-4: the frame of 2.967 s repeated) in the video and a silent second (2-3)
    in the audio."""
    size = (320, 240)
    pattern, tone = PatternGenerator(*size, rate), ToneGenerator(sample_rate, 2)
    with av.open(str(path), "w") as out:
        video = out.add_stream("ffv1", rate=rate)
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=sample_rate, layout="stereo")
        still = None
        for i in range(seconds * rate):
            t = i / rate
            data = pattern.frame(i)
            if 1 <= t < 2:
                data[:size[0] * size[1]] = 16
                data[size[0] * size[1]:] = 128
            if 3 <= t < 4:
                data = still
            still = data
            frame = av.VideoFrame(*size, "yuv420p")
            frame.planes[0].update(data[:size[0] * size[1]].tobytes())
            chroma = size[0] * size[1] // 4
            frame.planes[1].update(data[size[0] * size[1]:][:chroma].tobytes())
            frame.planes[2].update(data[size[0] * size[1] + chroma:].tobytes())
            frame.pts, frame.time_base = i, Fraction(1, rate)
            out.mux(video.encode(frame))
        chunk = 1024
        for start in range(0, seconds * sample_rate, chunk):
            samples = tone.samples(start, chunk)
            if 2 * sample_rate <= start < 3 * sample_rate:
                samples = np.zeros_like(samples)
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16",
                                               layout="stereo")
            frame.sample_rate, frame.pts = sample_rate, start
            frame.time_base = Fraction(1, sample_rate)
            out.mux(audio.encode(frame))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))


def test_black_frozen_and_silent_seconds_from_real_media(ms, tmp_path):
    """A chunk of 1024 samples does not start on the second: the edges land on the chunks
    that hold them, well within the bounds."""
    clip = tmp_path / "clip.mkv"
    make_clip(clip)
    devices = write(tmp_path, "devices.json", {"devices": [
        {"kind": "videoinput", "label": "Clip", "source": {"file": str(clip)}},
        {"kind": "audioinput", "label": "Clip", "source": {"file": str(clip)}}]})
    result = ms("capture", "--devices", devices, "-c", AV, "-t", "4.9", "--unpaced",
                "-o", "null")
    assert result.code == 0, result.err
    found = edges(result)
    assert_edges(found[("video", "black")], [(True, 1.0), (False, 2.0)])
    assert_edges(found[("video", "frozen")], [(True, 3.0), (False, 4.0)])
    assert_edges(found[("audio", "silence")], [(True, 2.0), (False, 3.0)])
    assert ("audio", "clipping") not in found
    totals = content_of(result)
    assert totals["video"] == pytest.approx({"black": 1.0, "frozen": 1.0}, abs=TOTAL)
    assert totals["audio"]["silence"] == pytest.approx(1.0, abs=TOTAL)
    assert totals["audio"]["clipping"] == 0


def test_no_content_turns_the_analysis_off(ms, tmp_path):
    devices = write(tmp_path, "devices.json", FAULTS)
    result = ms("capture", "--devices", devices, "-c", AV, "-t", "3", "--unpaced", "-o", "null",
                "--no-content")
    assert result.code == 0, result.err
    assert edges(result) == {}
    assert content_of(result) == {"video": None, "audio": None}


def test_threshold_options_change_what_is_reported(ms, tmp_path):
    devices = write(tmp_path, "devices.json", FAULTS)
    # The tone (-23 dBFS RMS) is silence below -10 dBFS; a 1 s freeze is not frozen after 2 s;
    # every picture is black at level 255.
    result = ms("capture", "--devices", devices, "-c", AV, "-t", "4", "--unpaced", "-o", "null",
                "--silence-below", "-10", "--silence-after", "0.2", "--frozen-after", "2",
                "--black-level", "255")
    assert result.code == 0, result.err
    totals = content_of(result)
    assert totals["video"]["frozen"] == 0.0
    assert totals["video"]["black"] == pytest.approx(4.0, abs=TOTAL)
    # silent but for the clipped half second (and the clicks' chunks: 10 ms each)
    assert totals["audio"]["silence"] == pytest.approx(3.5, abs=TOTAL)


@pytest.mark.parametrize("option,value", [("--black-level", "300"), ("--black-level", "x"),
                                          ("--silence-below", "6"),
                                          ("--frozen-after", "0"), ("--silence-after", "-1")])
def test_bad_threshold_values_are_usage_errors(ms, option, value):
    result = ms("capture", "--fake", "-c", AV, "-t", "1", "-o", "null", f"{option}={value}")
    line = one_error_line(result)
    assert result.code == 2 and option in line and "expected" in line, line


def test_faults_act_on_a_file_backed_device_too(ms, tmp_path):
    clip = tmp_path / "clip.mkv"
    make_clip(clip)
    devices = write(tmp_path, "devices.json", {"devices": [
        {"kind": "videoinput", "label": "Clip", "source": {"file": str(clip)},
         "faults": [{"at": 0.2, "event": "freeze", "for": 0.6}]},
        {"kind": "audioinput", "label": "Clip", "source": {"file": str(clip)},
         "faults": [{"at": 4.0, "event": "clip", "for": 0.5}]}]})
    result = ms("capture", "--devices", devices, "-c", AV, "-t", "4.9", "--unpaced",
                "-o", "null")
    assert result.code == 0, result.err
    found = edges(result)
    assert_edges(found[("video", "frozen")], [(True, 0.2), (False, 0.8), (True, 3.0),
                                              (False, 4.0)])
    assert_edges(found[("audio", "clipping")], [(True, 4.0), (False, 4.5)])
    assert content_of(result)["video"]["frozen"] == pytest.approx(1.6, abs=TOTAL)

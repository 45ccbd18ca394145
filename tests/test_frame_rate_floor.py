"""The slowest frame rate (issue 10, finding 9): what resolve accepts, capture records.

`{"video": {"frameRate": {"max": 0.0001}}}` resolved, then capture divided by zero turning the
rate into a fraction; so did a device mode at 1e-300 fps and the same constraints through
--reapply. The rule now: no rate below MIN_FRAME_RATE (0.001 fps) is chosen or declared.
"""

from __future__ import annotations

import json
from fractions import Fraction
from types import SimpleNamespace

import av
import pytest
from conftest import one_error_line

from mscli.apply import reapply_constraints
from mscli.catalog import assign_ids
from mscli.constraints import parse_stream_constraints
from mscli.devices import MIN_FRAME_RATE, VIDEO_INPUT, Device, VideoMode
from mscli.ids import IdHasher
from mscli.select import select_settings

TINY = {"devices": [{"kind": "videoinput", "label": "Tiny",
                     "modes": [{"width": 64, "height": 48, "frameRate": 1}]}]}


def camera(rate: float = 30.0) -> list[Device]:
    return assign_ids([Device(VIDEO_INPUT, "Cam", "test:cam", "own:cam", "test",
                              modes=(VideoMode(640, 480, rate),))], IdHasher(b"x" * 32))


def rate_for(members: dict) -> float:
    track = parse_stream_constraints({"video": members}).video
    return select_settings(track, camera(), "video").settings["frameRate"]


def test_a_required_maximum_below_the_floor_is_overconstrained_naming_frame_rate():
    from mscli.errors import OverconstrainedError

    for members in ({"frameRate": {"max": 0.0001}}, {"frameRate": {"exact": 1e-300}}):
        track = parse_stream_constraints({"video": members}).video
        with pytest.raises(OverconstrainedError) as info:
            select_settings(track, camera(), "video")
        assert info.value.constraint == "frameRate"
        assert "devices offer 0.001 to 30" in info.value.message


def test_rates_at_or_near_the_floor_are_never_below_it():
    assert rate_for({"frameRate": {"max": MIN_FRAME_RATE}}) == MIN_FRAME_RATE
    assert rate_for({"frameRate": {"ideal": 0.0001}}) == MIN_FRAME_RATE
    # met within the comparison tolerance, as constraints.satisfies() allows
    assert rate_for({"frameRate": {"max": MIN_FRAME_RATE * (1 - 1e-9)}}) == MIN_FRAME_RATE
    for rate in (rate_for({"frameRate": {"min": MIN_FRAME_RATE}}), rate_for({})):
        assert rate == 30


def test_every_rate_selection_allows_becomes_a_nonzero_fraction():
    # The sinks and the frame decimation turn the rate into Fraction(rate)
    # .limit_denominator(1001) and divide by it.
    assert Fraction(MIN_FRAME_RATE).limit_denominator(1001) == Fraction(1, 1000)


def test_capabilities_report_the_floor_as_the_lowest_frame_rate(ms, tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    caps = ms("caps", "index:0", "--devices", str(path), "--json").json()
    assert caps["frameRate"] == {"min": MIN_FRAME_RATE, "max": 1}


def test_resolve_refuses_what_capture_cannot_record(ms):
    result = ms("resolve", "--fake", "-c", '{"video": {"frameRate": {"max": 0.0001}}}')
    assert result.code == 4
    assert "OverconstrainedError: video.frameRate" in one_error_line(result)


def test_a_device_mode_below_the_floor_is_a_device_file_error(ms, tmp_path):
    path = tmp_path / "slow.json"
    slow = json.loads(json.dumps(TINY))
    slow["devices"][0]["modes"][0]["frameRate"] = 1e-300
    path.write_text(json.dumps(slow))
    result = ms("resolve", "--devices", str(path), "-c", '{"video": true}')
    assert result.code == 2
    line = one_error_line(result)
    assert line.startswith("ms: DeviceFileError: devices[0].modes[0].frameRate: at least 0.001")


@pytest.mark.parametrize("container", ["y4m", "mkv"])
def test_what_resolve_accepts_at_the_floor_capture_records(ms, tmp_path, container):
    devices = tmp_path / "tiny.json"
    devices.write_text(json.dumps(TINY))
    constraints = '{"video": {"frameRate": {"max": 0.001}}}'
    resolved = ms("resolve", "--devices", str(devices), "-c", constraints).json()
    assert resolved["tracks"][0]["settings"]["frameRate"] == 0.001
    out = tmp_path / f"slow.{container}"
    result = ms("capture", "--devices", str(devices), "-c", constraints, "-o", str(out),
                "--frames", "2", "--unpaced", "--events", "none")
    assert result.code == 0, result.err
    with av.open(str(out)) as media:
        stream = media.streams.video[0]
        assert stream.average_rate == Fraction(1, 1000) or stream.guessed_rate == \
            Fraction(1, 1000)
        assert len(list(media.decode(video=0))) == 2


def test_reapply_below_the_floor_fires_overconstrained_and_keeps_the_settings(tmp_path):
    emitted, applied = [], []
    track = SimpleNamespace(ready_state="live", kind="video", device=camera()[0],
                            hold_rate_check=lambda hold: None,
                            apply_settings=lambda *args: applied.append(args))
    session = SimpleNamespace(tracks=[track], events=SimpleNamespace(
        emit=lambda name, track, detail: emitted.append((name, detail["constraint"]))))
    path = tmp_path / "c.json"
    path.write_text('{"video": {"frameRate": {"max": 0.0001}}}')
    reapply_constraints(session, str(path))
    assert emitted == [("overconstrained", "frameRate")] and applied == []
    path.write_text('{"video": {"frameRate": {"ideal": 0.0001}}}')
    reapply_constraints(session, str(path))
    (settings, _, _), = applied
    assert settings["frameRate"] == MIN_FRAME_RATE

"""--expect, --report and --junit without a capture: the expectation language, each metric
measured from hand-made `stopped` details and event histories (interface.md), the reports
(the JUnit file validated against our schema of the format, tests/schemas/junit.xsd, and read
back with junitparser), and what the capture does with them when it stops."""

from __future__ import annotations

import json
from pathlib import Path

import junitparser
import pytest
import xmlschema

from mscli.checks.expectations import check_captured, parse_expectation
from mscli.checks.measure import evaluate
from mscli.checks.reports import json_report, junit_report
from mscli.checks.verdict import CaptureChecks
from mscli.errors import AbortError, ExpectationError, UsageError

# Our own schema of the JUnit report as Jenkins, GitLab and the GitHub Actions reporters read
# it (elements, attributes, counts and times as numbers); see its header.
JUNIT_XSD = Path(__file__).parent / "schemas" / "junit.xsd"


def video(**over) -> dict:
    track = {"trackId": "v1", "kind": "video", "label": "Cam", "frames": 60, "drops": 2,
             "duration": 1.967,
             "stats": {"deliveredFrames": 60, "discardedFrames": 2, "totalFrames": 65},
             "content": {"black": 0.5, "frozen": 0.0},
             "latency": {"p50": 0.0123, "p99": 0.0456, "max": 0.05}}
    track.update(over)
    return track


def audio(**over) -> dict:
    track = {"trackId": "a1", "kind": "audio", "label": "Mic", "frames": 200, "drops": 0,
             "duration": 1.99,
             "stats": {"deliveredFrames": 96000, "deliveredFramesDuration": 2000.0,
                       "totalFrames": 96480, "totalFramesDuration": 2010.0, "latency": 10.0,
                       "averageLatency": 11.0, "minimumLatency": 9.0, "maximumLatency": 30.0},
             "content": {"silence": 1.25, "clipping": 12, "level": -23.46, "peak": -3.01},
             "latency": {"p50": 0.011, "p99": 0.02, "max": 0.03}, "echoDelay": 80.4}
    track.update(over)
    return track


def detail(*tracks, reason="limit") -> dict:
    return {"tracks": list(tracks) or [video(), audio()], "reason": reason}


def event(name: str, track_id: str | None) -> dict:
    return {"event": name, "time": 1.0, "target": "track", "trackId": track_id,
            "kind": None, "label": None, "detail": {}}


HISTORY = [event("mute", "v1"), event("unmute", "v1"), event("mute", "v1"),
           event("mute", "a1"), event("stopped", None)]


def measured(text: str, stopped: dict | None = None, history=HISTORY):
    (result,) = evaluate([parse_expectation(text)], stopped or detail(), history)
    return result


# --- the language -------------------------------------------------------------------------


@pytest.mark.parametrize("text, parsed", [
    ("video.fps >= 24", ("video", "fps", ">=", 24.0, "video.fps >= 24")),
    ("video.fps>=24", ("video", "fps", ">=", 24.0, "video.fps >= 24")),
    ("  audio.level  >  -40dBFS ", ("audio", "level", ">", -40.0, "audio.level > -40")),
    ("audio.peak<-1dB", ("audio", "peak", "<", -1.0, "audio.peak < -1")),
    ("video.black <= 0.5s", ("video", "black", "<=", 0.5, "video.black <= 0.5")),
    ("audio.latency.p99 < 100ms", ("audio", "latency.p99", "<", 100.0,
                                   "audio.latency.p99 < 100")),
    ("video.events.mute == 0", ("video", "events.mute", "==", 0.0, "video.events.mute == 0")),
    ("audio.clipping != 0", ("audio", "clipping", "!=", 0.0, "audio.clipping != 0")),
    ("video.frames > 1e3", ("video", "frames", ">", 1000.0, "video.frames > 1000")),
    ("video.fps >= 29.97", ("video", "fps", ">=", 29.97, "video.fps >= 29.97")),
])
def test_expectations_parse(text, parsed):
    assert tuple(parse_expectation(text)) == parsed


@pytest.mark.parametrize("text, says", [
    ("video.fsp >= 24", "unknown video metric 'fsp' (did you mean 'fps'?)"),
    ("vidoe.fps >= 24", "unknown track kind 'vidoe' (did you mean 'video'?)"),
    ("video.events.mtue == 0", "no track event 'mtue' (did you mean 'mute'?)"),
    ("video.events.stopped == 1", "no track event 'stopped'"),
    ("video.silence < 1", "silence is measured on audio, not video: write audio.silence"),
    ("audio.fps > 1", "fps is measured on video, not audio: write video.fps"),
    ("fps >= 24", "name the track kind: video.fps"),
    ("events.mute == 0", "name the track kind: video.events.mute or audio.events.mute"),
    ("video.fps => 24", "unknown comparison '=>': write '>='"),
    ("video.fps = 24", "unknown comparison '=': write '=='"),
    ("video.fps \u2265 24", "unknown comparison '\u2265': write '>='"),  # typographic
    ("audio.peak \u2264 -1", "unknown comparison '\u2264': write '<='"),
    ("video.drops \u2260 1", "unknown comparison '\u2260': write '!='"),
    ("video.fps 24", "no comparison: write KIND.METRIC OP VALUE"),
    ("", "no comparison"),
    (">= 24", "nothing before the comparison"),
    ("video.fps > = 24", "one comparison per --expect, found '>', '='"),
    ("video.fps >= fast", "expected a number after the comparison, got 'fast'"),
    ("video.fps >= nan", "expected a number after the comparison, got 'nan'"),
    ("video.fps >= 1e999", "'1e999' is too large a number"),
    ("video.black <= 500ms", "black is in seconds, not 'ms': write 0.5"),
    ("video.latency.p99 < 0.1s", "latency.p99 is in milliseconds, not 's': write 100"),
    ("audio.level > -40Hz", "level is in dBFS, not 'Hz': write -40"),
])
def test_malformed_expectations_say_where_and_what_to_write(text, says):
    with pytest.raises(UsageError) as caught:
        parse_expectation(text)
    assert caught.value.message.startswith(f"--expect {text!r}: ")
    assert says in caught.value.message
    assert "\n" not in caught.value.message


def test_an_expectation_on_a_kind_the_capture_lacks_is_a_usage_error():
    with pytest.raises(UsageError, match=r"--expect 'audio.silence < 1': the constraints "
                                         r"request no audio track"):
        check_captured([parse_expectation("audio.silence < 1")], ["video"], unpaced=False)
    check_captured([parse_expectation("video.fps > 1")], ["video"], unpaced=True)


def test_latency_with_unpaced_is_a_usage_error():
    """ms measures latency on paced captures only: an --unpaced one would never hold."""
    with pytest.raises(UsageError, match="latency is measured on paced captures only"):
        check_captured([parse_expectation("video.latency.p50 < 50")], ["video"], unpaced=True)


@pytest.mark.parametrize("text", ["video.black < 1", "video.frozen < 1", "audio.silence < 1",
                                  "audio.level > -60", "audio.peak < 0", "audio.clipping == 0"])
def test_content_metrics_with_no_content_are_a_usage_error(text):
    with pytest.raises(UsageError, match="--no-content turns off what it measures"):
        check_captured([parse_expectation(text)], ["video", "audio"], unpaced=False,
                       content=False)
    check_captured([parse_expectation("video.fps > 1")], ["video"], unpaced=False,
                   content=False)


def test_an_echo_delay_when_nothing_plays_is_a_usage_error():
    """Only what ms plays has an echo delay: without --play or -o speaker the expectation
    could only fail, after the whole capture."""
    echo = [parse_expectation("audio.echo_delay < 100")]
    with pytest.raises(UsageError, match="this capture plays nothing; add --play FILE or "
                                         "-o speaker"):
        check_captured(echo, ["audio"], unpaced=False)
    check_captured(echo, ["audio"], unpaced=False, plays=True)


# --- every metric ------------------------------------------------------------------------


@pytest.mark.parametrize("metric, value", [
    ("video.frames", 60), ("audio.frames", 96000),
    ("video.fps", 30.0),  # 60 over 1.967 s x 65/64: 30.03, shown (and compared) as 30
    ("video.drops", 3), ("audio.drops", 480),  # 65 - 60 - 2 discarded; 96480 - 96000
    ("video.black", 0.5), ("video.frozen", 0.0), ("audio.silence", 1.25),
    ("audio.level", -23.5), ("audio.peak", -3.0), ("audio.clipping", 12),
    ("video.latency.p50", 12.3), ("video.latency.p99", 45.6),
    ("audio.latency.p50", 11.0), ("audio.latency.p99", 20.0), ("audio.echo_delay", 80.4),
    ("video.events.mute", 2), ("video.events.unmute", 1), ("audio.events.mute", 1),
    ("video.events.ended", 0),
])
def test_every_metric_measures_what_interface_md_says(metric, value):
    for op, holds in (("==", True), ("!=", False), (">=", True), ("<=", True),
                      (">", False), ("<", False)):
        result = measured(f"{metric} {op} {value}")
        assert result.measured == value and result.passed is holds, (op, result)
    assert measured(f"{metric} > {value - 1}").passed
    assert not measured(f"{metric} < {value - 1}").passed


def test_the_expect_help_names_every_metric():
    from mscli.checks.expectations import METRICS
    from mscli.cli import build_parser

    capture = build_parser()._subparsers._group_actions[0].choices["capture"]
    [expect] = [a for a in capture._actions if "--expect" in a.option_strings]
    assert [m for m in METRICS if m not in expect.help.split()] == []


def test_a_track_that_kept_nothing_fails_its_expectation_as_not_measured():
    bare = detail(video(stats={"deliveredFrames": 1, "discardedFrames": 0, "totalFrames": 1},
                        duration=0.0, latency=None),
                  audio(content=None, echoDelay=None))
    del bare["tracks"][0]["latency"]
    del bare["tracks"][1]["content"]
    cases = {"video.fps > 0": "fewer than two frames came from the source",
             "video.latency.p99 < 1000": "no frame was written with its latency measured",
             "audio.silence < 100": "content analysis was off",
             "audio.echo_delay < 100": "nothing ms played (--play, -o speaker) was heard "
                                       "clearly in what the microphone captured"}
    for text, why in cases.items():
        result = measured(text, bare)
        assert (result.measured, result.passed, result.why_not) == (None, False, why)
        assert result.line() == f"{text} (not measured: {why})"


def test_fps_of_a_decimated_track_is_its_delivered_rate():
    """30 fps decimated to 15: the duration spans the source's 60 frames, 30 delivered."""
    decimated = video(stats={"deliveredFrames": 30, "discardedFrames": 30, "totalFrames": 60})
    assert measured("video.fps == 15", detail(decimated)).passed
    # as many frames lost by the device: the rate delivered, not the rate that arrived
    lossy = video(stats={"deliveredFrames": 30, "discardedFrames": 0, "totalFrames": 60})
    assert measured("video.fps == 15", detail(lossy)).passed


def test_several_tracks_of_a_kind_add_up():
    """--reconnect: the track that went away and the one that replaced it."""
    first = video(trackId="v1", duration=0.967, latency={"p50": 0.01, "p99": 0.02, "max": 0.1},
                  stats={"deliveredFrames": 30, "discardedFrames": 0, "totalFrames": 31},
                  content={"black": 0.2, "frozen": 0.1})
    second = video(trackId="v2", duration=1.967, latency={"p50": 0.03, "p99": 0.04, "max": 0.1},
                   stats={"deliveredFrames": 60, "discardedFrames": 1, "totalFrames": 61},
                   content={"black": 0.3, "frozen": 0.0})
    loud = audio(trackId="a1", duration=1.0, content={"silence": 0.0, "clipping": 1,
                                                      "level": -10.0, "peak": -1.0},
                 echoDelay=95.0)
    quiet = audio(trackId="a2", duration=1.0, content={"silence": 1.0, "clipping": 2,
                                                       "level": -30.0, "peak": -20.0},
                  echoDelay=None)
    stopped = detail(first, second, loud, quiet)
    history = [event("mute", "v1"), event("mute", "v2"), event("mute", "other")]
    expected = {"video.frames": 90, "video.drops": 1, "video.fps": 30.0,  # 90 / 2.999
                "video.black": 0.5, "video.frozen": 0.1, "video.latency.p50": 30.0,
                "video.latency.p99": 40.0, "video.events.mute": 2,
                "audio.silence": 1.0, "audio.clipping": 3, "audio.peak": -1.0,
                "audio.echo_delay": 95.0,  # the longest measured; a track with none adds none
                "audio.level": -13.0}  # the mean power of -10 and -30 dBFS is -12.96 dBFS
    for metric, value in expected.items():
        assert measured(f"{metric} == {value}", stopped, history).measured == value, metric


def test_failure_lines_show_the_measured_value_and_unit():
    assert measured("video.fps >= 40").line() == "video.fps >= 40 (measured 30)"
    assert measured("video.black < 0.1").line() == "video.black < 0.1 (measured 0.5 s)"
    assert measured("audio.level < -60").line() == "audio.level < -60 (measured -23.5 dBFS)"
    assert measured("video.latency.p99 < 10").line() == \
        "video.latency.p99 < 10 (measured 45.6 ms)"
    assert ExpectationError([measured("video.fps >= 40").line()]).lines() == \
        ["ms: expectation failed: video.fps >= 40 (measured 30)"]


# --- the reports -------------------------------------------------------------------------


RESULTS_OF = ["video.fps >= 24", "video.black < 0.1", "audio.silence <= 2",
              "video.latency.p99 < 1000"]


def results(stopped=None):
    return evaluate([parse_expectation(t) for t in RESULTS_OF], stopped or detail(), HISTORY)


def test_json_report_has_each_expectation_and_the_tracks():
    stopped = detail()
    report = json.loads(json_report(results(stopped), stopped))
    assert report["passed"] is False and report["reason"] == "limit"
    assert report["tracks"] == stopped["tracks"]
    assert report["expectations"][1] == {
        "expect": "video.black < 0.1", "kind": "video", "metric": "black", "op": "<",
        "value": 0.1, "unit": "s", "measured": 0.5, "passed": False}
    assert [e["passed"] for e in report["expectations"]] == [True, False, True, True]
    assert report["expectations"][0]["measured"] == 30  # a whole number reads as one


def test_junit_report_validates_against_junit_10_xsd_and_reads_back(tmp_path):
    stopped = detail()
    path = tmp_path / "checks.xml"
    path.write_bytes(junit_report(results(stopped), stopped))
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(path))
    (suite,) = list(junitparser.JUnitXml.fromfile(str(path)))
    assert (suite.name, suite.tests, suite.failures, suite.errors) == ("ms capture", 4, 1, 0)
    cases = {case.name: case for case in suite}
    assert list(cases) == RESULTS_OF
    assert all(cases[name].is_passed for name in RESULTS_OF if name != "video.black < 0.1")
    (failure,) = cases["video.black < 0.1"].result
    assert failure.message == "video.black < 0.1 (measured 0.5 s)"
    assert "'Cam'" in failure.text and "stopped: limit" in failure.text
    assert cases["video.fps >= 24"].classname == "ms.capture.video"


def test_junit_report_of_a_label_with_control_characters_is_still_xml(tmp_path):
    """A device names itself: escape codes, NUL and lone surrogates cannot reach the file
    raw (XML 1.0 cannot carry them even escaped)."""
    stopped = detail(video(label="Cam\x1b[31m\x00\udc80"), audio())
    path = tmp_path / "checks.xml"
    path.write_bytes(junit_report(results(stopped), stopped))
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(path))
    (suite,) = list(junitparser.JUnitXml.fromfile(str(path)))
    assert suite.tests == 4
    assert "Cam\\x1b[31m\\x00\\udc80" in path.read_text(errors="replace")


# --- the verdict ---------------------------------------------------------------------------


def checks(tmp_path, *texts, report=True, junit=True, overwrite=False) -> CaptureChecks:
    return CaptureChecks([parse_expectation(t) for t in texts], ["video", "audio"],
                         report=str(tmp_path / "r.json") if report else None,
                         junit=str(tmp_path / "j.xml") if junit else None,
                         unpaced=False, content=True, plays=False, overwrite=overwrite)


def test_all_holding_writes_the_reports_and_raises_nothing(tmp_path):
    checks(tmp_path, "video.fps >= 24", "audio.peak < 0").finish(detail(), HISTORY)
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is True
    assert list(junitparser.JUnitXml.fromfile(str(tmp_path / "j.xml")))[0].failures == 0


def test_a_failed_expectation_is_exit_6_after_the_reports(tmp_path):
    with pytest.raises(ExpectationError) as caught:
        checks(tmp_path, "video.fps >= 24", "video.fps >= 50", "audio.silence == 0").finish(
            detail(), HISTORY)
    assert caught.value.exit_code == 6
    assert caught.value.lines() == ["ms: expectation failed: video.fps >= 50 (measured 30)",
                                    "ms: expectation failed: audio.silence == 0 "
                                    "(measured 1.25 s)"]
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is False


def test_a_report_that_cannot_be_written_is_the_write_error_after_the_failures(
        tmp_path, capsys):
    target = CaptureChecks([parse_expectation("video.fps >= 50")], ["video"],
                           report="/dev/full", junit=None, unpaced=False, content=True,
                           plays=False, overwrite=False)
    with pytest.raises(AbortError, match="cannot write /dev/full"):
        target.finish(detail(), HISTORY)
    assert capsys.readouterr().err == \
        "ms: expectation failed: video.fps >= 50 (measured 30)\n"


def test_junit_without_an_expectation_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="--junit .*: no --expect to report"):
        checks(tmp_path, junit=True)
    checks(tmp_path, junit=False)  # --report alone: the tracks' statistics

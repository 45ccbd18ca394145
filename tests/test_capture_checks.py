"""`ms capture --expect/--report/--junit` end to end: usage errors before anything opens, the
verdict at every way a capture stops, exit 6 beside the other exit codes, the report files as
outputs (-y, one file twice, nothing left by a failure), and each content condition from the
virtual faults seen by an expectation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import junitparser
import pytest
import xmlschema

from conftest import one_error_line

JUNIT_XSD = Path(__file__).parent / "schemas" / "junit.xsd"
VIDEO = '{"video": true}'
AV = '{"video": true, "audio": true}'


def write_devices(tmp_path, *devices) -> str:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": list(devices)}))
    return str(path)


def failure_lines(result) -> list[str]:
    return [line for line in result.err.splitlines() if line.startswith("ms: ")]


def report_of(path) -> dict:
    return json.loads(Path(path).read_text())


# --- before anything opens -----------------------------------------------------------------


@pytest.mark.parametrize("expect, says", [
    ("video.fsp >= 24", "unknown video metric 'fsp' (did you mean 'fps'?)"),
    ("audio.silence < 1", "the constraints request no audio track"),
    ("video.latency.p99 < 50", "latency is measured on paced captures only"),
])
def test_a_bad_expectation_is_exit_2_and_opens_nothing(ms, tmp_path, expect, says):
    out, report = tmp_path / "out.mkv", tmp_path / "r.json"
    result = ms("capture", "--fake", "-c", VIDEO, "--unpaced", "-t", "1", "-o", str(out),
                "--report", str(report), "--expect", expect)
    assert result.code == 2
    line = one_error_line(result)
    assert line.startswith(f"ms: UsageError: --expect '{expect}': ") and says in line
    assert not out.exists() and not report.exists()


def test_an_echo_delay_of_a_capture_that_plays_nothing_is_exit_2_and_opens_nothing(
        ms, tmp_path):
    out, report = tmp_path / "out.mkv", tmp_path / "r.json"
    result = ms("capture", "--fake", "-c", AV, "-t", "1", "-o", str(out), "--report",
                str(report), "--expect", "audio.echo_delay < 100")
    assert result.code == 2
    assert "this capture plays nothing; add --play FILE or -o speaker" in \
        one_error_line(result)
    assert not out.exists() and not report.exists()


def test_no_content_with_a_content_expectation_is_exit_2(ms, tmp_path):
    result = ms("capture", "--fake", "-c", VIDEO, "-t", "1", "-o", "null", "--no-content",
                "--expect", "video.black == 0")
    assert result.code == 2 and "--no-content turns off" in one_error_line(result)


@pytest.mark.parametrize("files", [
    ("--report", "same.json", "--junit", "same.json"),
    ("--events", "same.json", "--report", "same.json"),
    ("-o", "same.y4m", "--junit", "same.y4m"),
    ("-o", "-", "--report", "-"),  # both on stdout
])
def test_one_file_for_two_outputs_is_exit_2(ms, tmp_path, files):
    args = [str(tmp_path / a) if a.startswith("same") else a for a in files]
    if "-o" not in args:
        args += ["-o", "null"]
    result = ms("capture", "--fake", "-c", VIDEO, "-t", "1", "--expect", "video.frames > 0",
                *args)
    assert result.code == 2 and "are the same file" in one_error_line(result)
    assert not (tmp_path / files[1]).exists()


@pytest.mark.parametrize("option", ["--report", "--junit"])
def test_an_existing_report_is_replaced_only_with_y(ms, tmp_path, option):
    target = tmp_path / "existing"
    target.write_text("keep me")
    args = ("capture", "--fake", "-c", VIDEO, "--unpaced", "-t", "0.5", "-o", "null",
            "--expect", "video.frames > 0", option, str(target))
    refused = ms(*args)
    assert refused.code == 2 and "exists" in one_error_line(refused)
    assert target.read_text() == "keep me"
    replaced = ms(*args, "-y")
    assert replaced.code == 0, replaced.err
    assert target.read_text() != "keep me"


# --- the verdict ---------------------------------------------------------------------------


def test_all_hold_exit_0_with_both_reports(ms, tmp_path):
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    expects = ["video.frames == 60", "video.fps == 30", "video.drops == 0", "video.black == 0",
               "video.frozen == 0", "audio.frames == 96000", "audio.drops == 0",
               "audio.silence == 0", "audio.clipping == 0", "audio.level > -40",
               "audio.peak < 0", "video.events.mute == 0"]
    result = ms("capture", "--fake", "-c", AV, "--unpaced", "-t", "2", "-o", "null",
                "--report", str(report), "--junit", str(junit),
                *[a for e in expects for a in ("--expect", e)])
    assert result.code == 0, result.err
    assert failure_lines(result) == []
    body = report_of(report)
    assert body["passed"] is True and body["reason"] == "limit"
    assert [e["expect"] for e in body["expectations"]] == expects
    assert {t["kind"]: t["stats"]["deliveredFrames"] for t in body["tracks"]} == \
        {"video": 60, "audio": 96000}
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(junit))
    (suite,) = list(junitparser.JUnitXml.fromfile(str(junit)))
    assert (suite.tests, suite.failures) == (len(expects), 0)


def test_a_failed_expectation_is_one_line_each_and_exit_6(ms, tmp_path):
    out = tmp_path / "out.y4m"
    result = ms("capture", "--fake", "-c", VIDEO, "--unpaced", "-t", "1", "-o", str(out),
                "--events", "none", "--expect", "video.fps >= 60", "--expect",
                "video.frames >= 30", "--expect", "video.drops > 0", "-q")
    assert result.code == 6
    assert result.err.splitlines() == [
        "ms: expectation failed: video.fps >= 60 (measured 30)",
        "ms: expectation failed: video.drops > 0 (measured 0)"]
    assert out.stat().st_size > 30 * 640 * 480  # the recording is finished all the same


def test_fps_of_a_decimated_capture(ms):
    """30 fps decimated to 15: the rate delivered, though the source's frames span the time."""
    result = ms("capture", "--fake", "-c", '{"video": {"frameRate": {"max": 15}}}', "--unpaced",
                "-t", "2", "-o", "null", "--events", "none", "--expect", "video.fps == 15",
                "--expect", "video.frames == 30",
                "--expect", "video.drops == 0")  # the 30 decimated frames are no drops
    assert result.code == 0, result.err


def test_latency_paced(ms, tmp_path):
    report = tmp_path / "r.json"
    result = ms("capture", "--fake", "-c", VIDEO, "-t", "1", "-o", "null", "--report",
                str(report), "--expect", "video.latency.p99 < 100000", "--expect",
                "video.latency.p50 < 0")
    assert result.code == 6
    held, failed = report_of(report)["expectations"]
    assert held["passed"] and held["measured"] >= 0 and not failed["passed"]
    assert failure_lines(result) == [f"ms: expectation failed: video.latency.p50 < 0 "
                                     f"(measured {failed['measured']:g} ms)"]


def test_report_to_stdout(ms):
    result = ms("capture", "--fake", "-c", VIDEO, "--unpaced", "--frames", "5", "-o", "null",
                "--events", "none", "--expect", "video.frames == 5", "--report", "-")
    assert result.code == 0, result.err
    assert result.json()["expectations"][0]["measured"] == 5


def _capture(ms_env, tmp_path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mscli", "capture", "--fake", "-c", VIDEO,
                             "--events", "none", *extra], env=ms_env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_evaluated_when_a_signal_stops_the_capture(ms_env, tmp_path):
    out, report = tmp_path / "out.y4m", tmp_path / "r.json"
    proc = _capture(ms_env, tmp_path, "-o", str(out), "--report", str(report),
                    "--expect", "video.frames >= 1", "--expect", "video.frames > 100000")
    deadline = time.monotonic() + 30
    while not (out.exists() and out.stat().st_size > 640 * 480 * 3):  # two frames or more
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 6, err
    body = report_of(report)
    assert body["reason"] == "signal"
    assert [e["passed"] for e in body["expectations"]] == [True, False]
    assert err.splitlines() == [f"ms: expectation failed: video.frames > 100000 (measured "
                                f"{body['expectations'][1]['measured']})"]


@pytest.mark.parametrize("how, args, reason", [
    ("limit", ["-t", "0.5", "-o", "null"], "limit"),
    ("image", ["-o", "still.png"], "outputs-done"),
    ("ended", ["-o", "null"], "ended"),
])
def test_evaluated_at_every_other_stop(ms, tmp_path, how, args, reason):
    ends = [{"at": 0.5, "event": "end"}] if how == "ended" else []
    devices = write_devices(tmp_path, {"kind": "videoinput", "label": "Cam", "faults": ends})
    args = [str(tmp_path / a) if a.endswith(".png") else a for a in args]
    report = tmp_path / "r.json"
    result = ms("capture", "--devices", devices, "-c", VIDEO, "--unpaced", *args,
                "--report", str(report), "--expect", "video.frames >= 1",
                "--expect", f"video.events.ended == {len(ends)}")
    assert result.code == 0, result.err
    body = report_of(report)
    assert body["reason"] == reason and body["passed"] is True


def test_a_failed_capture_keeps_its_exit_code_and_writes_no_report(ms, tmp_path):
    """A write error is exit 1, not 6: the capture did not finish, nothing was judged."""
    report = tmp_path / "r.json"
    result = ms("capture", "--fake", "-c", VIDEO, "--unpaced", "-t", "1", "-f", "y4m",
                "-o", "/dev/full", "--report", str(report), "--expect", "video.fps > 1000")
    assert result.code == 1
    assert one_error_line(result).startswith("ms: AbortError: ")
    assert not report.exists()


def test_a_report_that_cannot_be_written_is_exit_1_after_the_failure_lines(ms):
    result = ms("capture", "--fake", "-c", VIDEO, "--unpaced", "-t", "0.5", "-o", "null",
                "--events", "none", "--report", "/dev/full", "--expect", "video.fps > 1000")
    assert result.code == 1
    assert result.err.splitlines() == [
        "ms: expectation failed: video.fps > 1000 (measured 30)",
        "ms: AbortError: cannot write /dev/full: No space left on device"]


# --- each content condition, as an expectation sees it ---------------------------------------


def test_content_faults_fail_the_expectations_that_watch_for_them(ms, tmp_path):
    devices = write_devices(
        tmp_path,
        {"kind": "videoinput", "label": "Cam",
         "faults": [{"at": 0.5, "event": "black", "for": 1.0},
                    {"at": 2.0, "event": "freeze", "for": 1.0}]},
        {"kind": "audioinput", "label": "Mic",
         "faults": [{"at": 0.5, "event": "silence", "for": 1.0},
                    {"at": 2.0, "event": "clip", "for": 0.5}]})
    report = tmp_path / "r.json"
    result = ms("capture", "--devices", devices, "-c", AV, "--unpaced", "-t", "3.5",
                "-o", "null", "--report", str(report),
                "--expect", "video.black == 0", "--expect", "video.frozen == 0",
                "--expect", "audio.silence == 0", "--expect", "audio.clipping == 0",
                "--expect", "video.events.content == 0")
    assert result.code == 6
    measured = {e["metric"]: e["measured"] for e in report_of(report)["expectations"]}
    assert measured["black"] == pytest.approx(1.0, abs=0.2)
    assert measured["silence"] == pytest.approx(1.0, abs=0.2)
    assert measured["frozen"] > 0 and measured["clipping"] > 0
    assert measured["events.content"] >= 4  # black and frozen, each begun and ended
    assert len(failure_lines(result)) == 5

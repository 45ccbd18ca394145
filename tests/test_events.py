"""Live events driven by virtual-device faults: the NDJSON sequence, its fields and timing on
the capture clock; --reapply, --reconnect, devices --watch; the live view on a terminal."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from media_check import decode_video, read_y4m

FIELDS = ["event", "time", "target", "trackId", "kind", "label", "detail"]
FRAME = 1 / 30


def events_of(result) -> list[dict]:
    records = [json.loads(line) for line in result.err.splitlines() if line.startswith("{")]
    for record in records:
        assert list(record) == FIELDS
    return records


def device_file(tmp_path, *devices) -> str:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": list(devices)}))
    return str(path)


def camera(*faults, **extra) -> dict:
    return {"kind": "videoinput", "label": "Cam", "faults": list(faults), **extra}


def mic(*faults) -> dict:
    return {"kind": "audioinput", "label": "Mic", "faults": list(faults)}


@pytest.mark.parametrize("paced", [True, False], ids=["paced", "unpaced"])
def test_mute_and_unmute_around_a_stall(ms, tmp_path, paced):
    devices = device_file(tmp_path, camera({"at": 1.0, "event": "mute", "for": 0.5}))
    result = ms("capture", "--devices", devices, "-c", '{"video": true}', "-t", "2",
                "-o", str(tmp_path / "m.mkv"), *([] if paced else ["--unpaced"]))
    assert result.code == 0, result.err
    events = events_of(result)
    assert [e["event"] for e in events] == ["mute", "unmute", "stopped"]
    mute, unmute, _ = events
    assert (mute["target"], mute["kind"], mute["label"]) == ("track", "video", "Cam")
    assert mute["trackId"] == unmute["trackId"]
    assert 1.0 < mute["time"] <= 1.0 + 3 * FRAME
    assert unmute["time"] == pytest.approx(1.5, abs=FRAME)
    # The outputs keep their timeline: no frame invented, the gap is in the pts.
    times = [f["time"] for f in decode_video(tmp_path / "m.mkv")]
    assert max(b - a for a, b in zip(times, times[1:])) == pytest.approx(0.5 + FRAME, abs=0.002)
    assert len(times) == 60 - 15


def test_audio_mute_within_200ms(ms, tmp_path):
    devices = device_file(tmp_path, mic({"at": 0.6, "event": "mute", "for": 0.6}))
    result = ms("capture", "--devices", devices, "-c", '{"audio": true}', "-t", "1.5",
                "-o", str(tmp_path / "a.wav"))
    assert result.code == 0, result.err
    mute, unmute = events_of(result)[:2]
    assert (mute["event"], unmute["event"]) == ("mute", "unmute")
    assert 0.6 < mute["time"] <= 0.8
    assert unmute["time"] == pytest.approx(1.2, abs=0.02)


@pytest.mark.parametrize("fault,reason", [("end", "device-ended"),
                                          ("disconnect", "device-disconnected")])
def test_ended_when_the_device_goes_away_and_ms_exits_0(ms, tmp_path, fault, reason):
    devices = device_file(tmp_path, camera({"at": 1.2, "event": fault}),
                          mic({"at": 1.5, "event": fault}))
    out = tmp_path / "e.mkv"
    result = ms("capture", "--devices", devices, "-c", '{"video": true, "audio": true}',
                "-o", str(out))
    assert result.code == 0, result.err
    events = events_of(result)
    assert [(e["event"], e["kind"]) for e in events] == [("ended", "video"), ("ended", "audio")]
    assert all(e["detail"] == {"reason": reason} for e in events)
    assert events[0]["time"] == pytest.approx(1.2, abs=0.1)
    assert events[1]["time"] == pytest.approx(1.5, abs=0.1)
    assert len(decode_video(out)) == 36  # finalised, every frame before the end


def test_ended_at_the_end_of_a_file_source(ms, tmp_path):
    clip = tmp_path / "clip.mkv"
    assert ms("capture", "--fake", "-c", '{"video": true}', "-t", "1", "--unpaced",
              "-o", str(clip)).code == 0
    devices = device_file(tmp_path, camera(source={"file": str(clip)}))
    result = ms("capture", "--devices", devices, "-c", '{"video": true}', "-o",
                str(tmp_path / "again.mkv"))
    assert result.code == 0, result.err
    (ended,) = events_of(result)
    assert ended["event"] == "ended" and ended["detail"] == {"reason": "end-of-file"}
    assert ended["time"] == pytest.approx(1.0 - FRAME, abs=0.1)


def test_overconstrained_when_the_rate_leaves_the_required_range(ms, tmp_path):
    devices = device_file(tmp_path, camera({"at": 1.0, "event": "frameRate", "value": 10}))
    result = ms("capture", "--devices", devices, "-c", '{"video": {"frameRate": {"min": 25}}}',
                "-t", "2.5", "-o", "null")
    assert result.code == 0, result.err
    events = events_of(result)
    assert [e["event"] for e in events] == ["overconstrained", "stopped"]
    detail = events[0]["detail"]
    assert detail["constraint"] == "frameRate"
    assert detail["required"] == {"min": 25, "max": None}
    assert detail["measured"] == pytest.approx(10, rel=0.1)
    assert 1.0 < events[0]["time"] <= 2.0


def test_no_overconstrained_without_a_required_rate(ms, tmp_path):
    devices = device_file(tmp_path, camera({"at": 0.5, "event": "frameRate", "value": 10}))
    result = ms("capture", "--devices", devices, "-c", '{"video": {"frameRate": 30}}',
                "-t", "1.5", "--unpaced", "-o", "null")
    assert [e["event"] for e in events_of(result)] == ["stopped"]


def test_stopped_reports_per_track_counts(ms):
    result = ms("capture", "--fake", "-c", '{"video": true, "audio": true}', "-t", "1",
                "--unpaced", "-o", "null")
    (stopped,) = events_of(result)
    assert stopped["event"] == "stopped" and stopped["target"] == "stream"
    tracks = {t["kind"]: t for t in stopped["detail"]["tracks"]}
    assert tracks["video"]["frames"] == 30 and tracks["audio"]["frames"] == 100
    assert tracks["video"]["drops"] == 0
    # The spec's statistics: unpaced frame times are nominal, so no latency is measured.
    assert tracks["video"]["stats"] == {"deliveredFrames": 30, "discardedFrames": 0,
                                        "totalFrames": 30}
    audio = tracks["audio"]["stats"]
    assert (audio["deliveredFrames"], audio["totalFrames"]) == (48000, 48000)
    assert (audio["deliveredFramesDuration"], audio["totalFramesDuration"]) == (1000.0, 1000.0)
    assert audio["latency"] is None and audio["averageLatency"] is None


def test_stats_events_at_their_period_and_the_stats_in_stopped(ms):
    result = ms("capture", "--fake", "-c", '{"video": {"frameRate": 10}, "audio": true}',
                "-t", "1.6", "-o", "null", "--stats", "0.5")
    assert result.code == 0, result.err
    records = events_of(result)
    assert records[-1]["event"] == "stopped"
    for kind in ("video", "audio"):
        stats = [e for e in records if e["event"] == "stats" and e["kind"] == kind]
        # Every 0.5 s of the capture clock; a writer held up by the machine's load may skip
        # one, never come early.
        assert 2 <= len(stats) <= 3
        assert all(e["time"] >= 0.5 * (i + 1) for i, e in enumerate(stats))
        delivered = [e["detail"]["deliveredFrames"] for e in stats]
        assert delivered == sorted(delivered) and delivered[0] > 0
    tracks = {t["kind"]: t for t in records[-1]["detail"]["tracks"]}
    video = tracks["video"]["stats"]
    # The fake camera's 30 fps decimated to 10: two of three frames discarded.
    assert video["deliveredFrames"] == tracks["video"]["frames"] - tracks["video"]["drops"]
    assert video["discardedFrames"] == pytest.approx(2 * video["deliveredFrames"], abs=2)
    assert video["totalFrames"] >= video["deliveredFrames"] + video["discardedFrames"]
    audio = tracks["audio"]["stats"]
    assert audio["totalFramesDuration"] == pytest.approx(1600.0)  # -t 1.6, to the sample
    assert audio["totalFrames"] == 1.6 * 48000
    assert 0 < audio["minimumLatency"] <= audio["averageLatency"] <= audio["maximumLatency"]


def test_events_to_a_file_and_none(ms, tmp_path):
    log = tmp_path / "events.ndjson"
    devices = device_file(tmp_path, camera({"at": 0.5, "event": "end"}))
    result = ms("capture", "--devices", devices, "-c", '{"video": true}', "--unpaced",
                "-o", "null", "--events", str(log))
    assert result.code == 0 and result.err == ""
    assert [json.loads(line)["event"] for line in log.read_text().splitlines()] == ["ended"]
    quiet = ms("capture", "--devices", devices, "-c", '{"video": true}', "--unpaced",
               "-o", "null", "--events", "none")
    assert quiet.code == 0 and quiet.err == ""


def test_stdout_stays_pure_media_with_events_on(ms, tmp_path):
    devices = device_file(tmp_path, camera({"at": 0.3, "event": "mute", "for": 0.3},
                                           {"at": 1.0, "event": "end"}))
    result = ms("capture", "--devices", devices, "-c", '{"video": true}', "--unpaced",
                "-o", "-")
    assert result.code == 0
    assert [e["event"] for e in events_of(result)] == ["mute", "unmute", "ended"]
    tags, planes = read_y4m(result.raw)  # every byte is y4m
    assert len(planes) == 30 - 9


# --- --reconnect --------------------------------------------------------------------------


def test_reconnect_removes_and_adds_the_track_into_one_file(ms, tmp_path):
    devices = device_file(tmp_path, camera({"at": 1.0, "event": "disconnect", "for": 0.5}))
    out = tmp_path / "r.mkv"
    result = ms("capture", "--devices", devices, "-c", '{"video": true}', "-t", "2.5",
                "--reconnect", "-o", str(out))
    assert result.code == 0, result.err
    events = events_of(result)
    assert [e["event"] for e in events] == ["ended", "removetrack", "addtrack", "stopped"]
    ended, removed, added, _ = events
    assert removed["trackId"] == ended["trackId"] != added["trackId"]
    assert removed["target"] == added["target"] == "stream"
    assert added["time"] == pytest.approx(1.5)
    times = [f["time"] for f in decode_video(out)]
    assert len(times) == 30 + 30  # [0, 1) and [1.5, 2.5)
    assert times[30] == pytest.approx(1.5, abs=0.002)


def test_without_reconnect_a_disconnect_ends_the_capture(ms, tmp_path):
    devices = device_file(tmp_path, camera({"at": 0.5, "event": "disconnect", "for": 0.5}))
    result = ms("capture", "--devices", devices, "-c", '{"video": true}', "-t", "2",
                "--unpaced", "-o", "null")
    assert [e["event"] for e in events_of(result)] == ["ended"]


# --- --reapply ------------------------------------------------------------------------------


def test_reapply_on_sighup_applies_or_reports_overconstrained(ms_env, tmp_path):
    constraints = tmp_path / "c.json"
    constraints.write_text('{"video": {"width": 640, "frameRate": 30}}')
    out = tmp_path / "reapply.mkv"
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "capture", "--fake", "-c",
                             str(constraints), "--reapply", "-t", "4", "-o", str(out)],
                            env=ms_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    wait_until_recording(out)  # SIGHUP before ms handles it would end the capture
    constraints.write_text('{"video": {"width": 640, "frameRate": {"exact": 10}}}')
    proc.send_signal(signal.SIGHUP)  # satisfiable: 10 fps from here on
    time.sleep(0.8)
    constraints.write_text('{"video": {"width": {"min": 4000}}}')
    proc.send_signal(signal.SIGHUP)  # not: overconstrained, and the 10 fps stay
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in err.decode().splitlines()]
    assert [e["event"] for e in events] == ["overconstrained", "stopped"]
    assert events[0]["detail"]["constraint"] == "width"
    times = [f["time"] for f in decode_video(out)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    switch = next(i for i, gap in enumerate(gaps) if gap > 0.05)  # the first SIGHUP
    assert gaps[:switch] == pytest.approx([1 / 30] * switch, abs=0.002)
    assert gaps[switch + 1:] == pytest.approx([1 / 10] * len(gaps[switch + 1:]), abs=0.002)
    assert times[switch + 1] < events[0]["time"] < times[-1]  # the 10 fps outlived the failure


def wait_until_recording(path, timeout: float = 30) -> None:
    """Until encoded frames reach the file: ms has opened its devices and handles signals
    (a loaded machine can take more than a second to get there)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size > 4096):
        assert time.monotonic() < deadline, f"{path} got no frames within {timeout} s"
        time.sleep(0.02)


# --- ms devices --watch ---------------------------------------------------------------------


def test_watch_prints_devicechange_for_disconnects_and_file_edits(ms_env, tmp_path, lateness):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"devices": [
        camera({"at": 0.5, "event": "disconnect", "for": 0.5}), mic()]}))
    proc = subprocess.Popen([sys.executable, "-m", "mscli", "devices", "--watch",
                             "--devices", str(path)], env=ms_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = EventLines(proc.stderr)
    try:
        lines.wait_for(2)  # the camera's disconnect window has come and gone
        path.write_text(json.dumps({"devices": [mic()]}))  # the camera is unplugged for good
        lines.wait_for(3)
    finally:
        proc.send_signal(signal.SIGINT)
    out = proc.stdout.read()
    assert proc.wait(timeout=30) == 0, lines.text()
    initial = json.loads(out)
    assert [d["label"] for d in initial] == ["Mic", "Cam"]
    changes = [json.loads(line) for line in lines.text().splitlines()]
    assert [c["event"] for c in changes] == ["devicechange"] * 3
    assert [c["target"] for c in changes] == ["devices"] * 3
    removed, added, removed_again = (c["detail"] for c in changes)
    assert [d["label"] for d in removed["removed"]] == ["Cam"] and removed["added"] == []
    assert [d["label"] for d in added["added"]] == ["Cam"]
    assert [d["label"] for d in removed_again["devices"]] == ["Mic"]
    # The watch polls every 50 ms: two polls, plus how late this machine wakes threads now.
    assert changes[0]["time"] == pytest.approx(0.5, abs=0.1 + lateness.margin())
    assert changes[1]["time"] == pytest.approx(1.0, abs=0.1 + lateness.margin())


class EventLines:
    """A child's stderr read on a thread, so a test can wait for the events it needs instead
    of sleeping for a guessed time."""

    def __init__(self, stream):
        self._lines: list[str] = []
        self._grew = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for raw in stream:
            with self._grew:
                self._lines.append(raw.decode(errors="replace"))
                self._grew.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self._grew:
            assert self._grew.wait_for(lambda: len(self._lines) >= count, timeout), self.text()

    def text(self) -> str:
        self._thread.join(5)
        return "".join(self._lines)


# --- the live view ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None,
                    reason="needs tmux (apt-get install tmux; .ci/run installs it)")
def test_live_view_shows_status_and_events_on_a_terminal(ms_env, tmp_path):
    devices = device_file(tmp_path, camera({"at": 1.0, "event": "mute", "for": 0.5}))
    session = f"ms-test-{time.monotonic_ns()}"
    env = " ".join(f"{k}='{v}'" for k, v in ms_env.items() if k in ("MS_STATE_DIR",
                                                                      "PYTHONPATH", "PATH"))
    command = (f"env {env} {sys.executable} -m mscli capture --devices {devices} "
               f"-c '{{\"video\": true}}' -t 3 -o {tmp_path / 'live.mkv'}; sleep 5")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                    command], check=True)
    screens = []
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any("stopped" in x for x in screens):
            time.sleep(0.2)
            screens.append(subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                          capture_output=True, text=True).stdout)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    during = next((x for x in screens if "unmute" in x and "stopped" not in x), "")
    after = screens[-1]
    assert "frames" in during and "fps" in during and "dropped" in during
    assert "mute video 'Cam'" in during and "unmute video 'Cam'" in during
    assert "stopped" in after
    assert "{" not in during  # the view, not NDJSON


def test_an_event_after_the_event_file_closed_is_dropped_quietly(tmp_path):
    """A source thread that outlived the capture's wait for it may emit after the file is
    closed: that event is dropped, not a ValueError (write to closed file) in its thread."""
    from mscli.events import EventFile

    path = tmp_path / "events.ndjson"
    with EventFile(str(path), overwrite=False) as events:
        events.write({"event": "mute"})
    late = []
    thread = threading.Thread(target=lambda: late.append(events.write({"event": "ended"})))
    thread.start()
    thread.join()
    assert late == [None]
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["mute"]


def test_events_to_dash_go_to_stdout_not_to_a_file_named_dash(ms, tmp_path, monkeypatch):
    """--events - is stdout, as -o - and --report - are: it made a file called '-' in the
    working directory (and a second run then said "'-' exists")."""
    monkeypatch.chdir(tmp_path)
    result = ms("capture", "--fake", "-c", '{"video": true}', "--unpaced", "--frames", "3",
                "-o", "null", "--events", "-")
    assert result.code == 0, result.err
    events = [json.loads(line)["event"] for line in result.out.splitlines()]
    assert events[-1] == "stopped"
    assert not (tmp_path / "-").exists()

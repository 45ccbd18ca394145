"""The playout-to-capture delay (mscli/audioproc/roundtrip.py): estimated from what a Playback
was fed and what a microphone delivered, in 10 ms chunks and no real time; then its place in
`stopped` (detail.tracks[i].echoDelay) and in `--expect 'audio.echo_delay ...'`, through the
command line run in-process with a stand-in for what ms plays."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from _echo_signals import (echo_of, int16, noise, speech_like, steady_tone, tone_bursts,
                           with_noise, write_wav)
from mscli.audioproc import roundtrip
from mscli.audioproc.farend import Playback
from mscli.audioproc.roundtrip import EchoDelay
from mscli.media.frames import AudioFrame

RATE = 48000
CHUNK = 0.01


def played_record(played: np.ndarray, rate: int = RATE, start: float = 0.0) -> Playback:
    """A Playback that played `played` from capture time `start`, as a speaker writes it."""
    playback = Playback()
    if len(played):
        playback.speaker("speaker").add(int16(played), rate, start)
    return playback


def measure(captured: np.ndarray, playback: Playback, rate: int = RATE,
            times=None) -> float | None:
    """Feed `captured` (starting at capture time 0) to an EchoDelay in 10 ms chunks, as a
    source delivers them; `times` may move each chunk (a stall). The delay in ms, or None."""
    echo = EchoDelay(playback)
    step = round(CHUNK * rate)
    for i in range(0, len(captured), step):
        time = i / rate if times is None else times(i / rate)
        echo.observe(AudioFrame(int16(captured[i:i + step]), rate, round(time * rate), time))
    return echo.delay_ms()


# --- the delay, from signals with known delays -----------------------------------------------


SIGNALS = {"speech": speech_like, "bursts": tone_bursts, "noise": noise}


@pytest.mark.parametrize("signal, delay", [("speech", 0.08), ("bursts", 0.0123),
                                           ("noise", 0.5), ("speech", 0.0),
                                           ("bursts", 0.95)])
@pytest.mark.parametrize("snr", [None, 0.0])
def test_the_delay_of_an_echo_is_measured_to_the_sample(signal, delay, snr):
    played = SIGNALS[signal](6.0, RATE)
    captured = echo_of(played, RATE, delay)
    if snr is not None:  # the microphone's own noise as loud as the echo
        captured = with_noise(captured, snr)
    assert measure(captured, played_record(played)) == pytest.approx(delay * 1000, abs=0.05)


def test_an_echo_10_db_below_the_microphones_noise_is_still_measured_at_16_khz():
    rate = 16000
    played = speech_like(6.0, rate)
    captured = with_noise(echo_of(played, rate, 0.2, gain=0.1), -10.0)
    assert measure(captured, played_record(played, rate), rate) == pytest.approx(200, abs=0.1)


def test_the_delay_is_between_when_it_left_the_speaker_and_when_it_was_captured():
    """The speaker's times are when each sample leaves it: a chunk played from capture time
    1.0 heard 0.05 s later is a delay of 50 ms, whenever the capture started."""
    played = speech_like(5.0, RATE)
    captured = np.concatenate((np.zeros(round(1.05 * RATE), np.float32), 0.5 * played))
    assert measure(captured, played_record(played, start=1.0)) == pytest.approx(50, abs=0.05)


def test_an_echo_the_times_put_before_its_sound_is_a_negative_delay():
    """A device that reports 20 ms more latency than it has: the captured sound is stamped
    20 ms before the played one. That is worth saying (it is the error echo cancellation
    has to absorb); sound cannot be that early by more than MIN_DELAY."""
    played = speech_like(5.0, RATE)
    early = round(0.02 * RATE)
    assert measure(0.5 * played[early:], played_record(played)) == -20.0
    too_early = round(-roundtrip.MIN_DELAY * RATE) + early
    assert measure(0.5 * played[too_early:], played_record(played)) is None


# --- no number without a clear echo ------------------------------------------------------------


def test_nothing_played_is_none_and_costs_no_correlation(monkeypatch):
    calls = []
    monkeypatch.setattr(roundtrip, "estimate", lambda *a: calls.append(a))
    assert measure(speech_like(5.0, RATE), played_record(np.array([]))) is None
    assert calls == []


@pytest.mark.parametrize("signal", ["speech", "bursts", "noise"])
def test_a_microphone_that_hears_only_its_own_noise_gives_no_number(signal):
    played = SIGNALS[signal](6.0, RATE)
    assert measure(noise(6.0, RATE, seed=9), played_record(played)) is None


def test_played_but_unheard_digital_silence_gives_no_number():
    played = speech_like(4.0, RATE)
    assert measure(np.zeros(4 * RATE, np.float32), played_record(played)) is None


@pytest.mark.parametrize("played", [steady_tone(6.0, RATE),
                                    tone_bursts(6.0, RATE, periodic=True)],
                         ids=["steady tone", "bursts every 300 ms"])
def test_a_periodic_sound_is_ambiguous_and_gives_no_number(played):
    """A steady tone matches its echo at every period, bursts at a fixed period every 300 ms
    within the 1 s searched: no delay can be told, so none is reported (rather than one of the
    periods at random). A tone's delay needs bursts at irregular times."""
    captured = echo_of(played, RATE, 0.08)
    assert measure(captured, played_record(played)) is None


# --- windows --------------------------------------------------------------------------------------


def test_the_delay_is_the_median_of_the_confident_windows():
    """Three 2 s windows hear the echo at 80, 90 and 80 ms, a fourth hears only a loud
    near-end voice (double talk): 80."""
    played = speech_like(8.0, RATE)
    parts = [echo_of(played, RATE, d)[i * 2 * RATE:(i + 1) * 2 * RATE]
             for i, d in enumerate((0.08, 0.09, 0.08))]
    talk = speech_like(2.0, RATE, seed=7) + 0.01 * echo_of(played, RATE, 0.08)[6 * RATE:]
    assert measure(np.concatenate(parts + [talk]), played_record(played)) == 80.0


def test_correlation_runs_once_a_window_and_on_the_last_partial_window(monkeypatch):
    calls = []
    real = roundtrip.estimate
    monkeypatch.setattr(roundtrip, "estimate", lambda *a: calls.append(1) or real(*a))
    played = speech_like(7.2, RATE)
    playback = played_record(played)
    assert measure(echo_of(played, RATE, 0.08)[:6 * RATE], playback) == 80.0
    assert len(calls) == 3  # 6 s: three windows, nothing left at the end
    calls.clear()
    assert measure(echo_of(played, RATE, 0.08)[:round(7.2 * RATE)], playback) == 80.0
    assert len(calls) == 4  # and 1.2 s at the end


def test_the_source_never_waits_for_a_correlation(monkeypatch):
    """A window is correlated on a thread of its own: the frame that fills it is delivered
    at once, however long the correlation takes (the emulated lab guest: most of a second)."""
    started, release = threading.Event(), threading.Event()

    def slow(*args):
        started.set()
        release.wait(10)
        return 0.08

    monkeypatch.setattr(roundtrip, "estimate", slow)
    played = speech_like(2.0, RATE)
    echo = EchoDelay(played_record(played))
    begun = time.monotonic()
    for i in range(0, 2 * RATE, 480):
        echo.observe(AudioFrame(int16(played[i:i + 480]), RATE, i, i / RATE))
    assert started.wait(5) and time.monotonic() - begun < 5  # not the 10 s of a wait
    release.set()
    assert echo.delay_ms() == 80.0


def test_a_short_capture_counts_from_half_a_second():
    played = speech_like(2.0, RATE)
    captured = echo_of(played, RATE, 0.08)
    assert measure(captured[:RATE], played_record(played)) == 80.0
    assert measure(captured[:round(0.3 * RATE)], played_record(played)) is None


def test_a_stall_in_the_capture_starts_a_new_window():
    """The microphone lost 50 ms at 0.3 s: what follows is placed at its own capture time,
    not after the samples before it (which would read as a delay 50 ms shorter)."""
    played = speech_like(3.0, RATE)
    heard = echo_of(played, RATE, 0.08)
    captured = np.concatenate((heard[:round(0.3 * RATE)], heard[round(0.35 * RATE):]))
    moved = lambda t: t if t < 0.3 else t + 0.05  # noqa: E731
    assert measure(captured, played_record(played), times=moved) == 80.0


# --- stopped and --expect, through the command line ------------------------------------------


@pytest.fixture
def capture(tmp_path, monkeypatch):
    """Run `ms capture` in-process on a file-backed microphone that hears `played` from
    capture time 0 with a delay of 80 ms (the stand-in for --play and a virtual echo
    microphone); `played` is put into the capture's Playback as a speaker would put it."""
    import mscli.capture as capture_module
    from mscli import session
    from mscli.cli import main

    monkeypatch.setenv("MS_STATE_DIR", str(tmp_path / "state"))

    def run(played: np.ndarray, *args: str) -> tuple[int, dict, dict]:
        mic = tmp_path / "mic.wav"
        write_wav(mic, with_noise(echo_of(speech_like(4.0, RATE), RATE, 0.08), 20.0), RATE)
        devices = tmp_path / "devices.json"
        devices.write_text(json.dumps({"devices": [
            {"kind": "audioinput", "label": "Echo Mic", "source": {"file": str(mic)}},
            {"kind": "videoinput", "label": "Cam"}]}))
        monkeypatch.setattr(session, "Playback", lambda: played_record(played))
        # and the capture counts as playing, as with --play: echo_delay is then measurable
        monkeypatch.setattr(capture_module, "plays_something", lambda args: True)
        events, report = tmp_path / "events.ndjson", tmp_path / "report.json"
        with pytest.raises(SystemExit) as code:
            main(["capture", "--devices", str(devices), "-t", "3.5", "--unpaced", "-o", "null",
                  "--events", str(events), "--report", str(report), "-y", *args])
        stopped = [e for e in map(json.loads, events.read_text().splitlines())
                   if e["event"] == "stopped"]
        return code.value.code, stopped[0]["detail"], json.loads(report.read_text())

    return run


def test_stopped_reports_the_echo_delay_and_the_expectation_holds(capture):
    code, detail, report = capture(speech_like(4.0, RATE), "-c", '{"audio": true, "video": true}',
                                   "--expect", "audio.echo_delay < 100")
    assert code == 0
    audio, = [t for t in detail["tracks"] if t["kind"] == "audio"]
    video, = [t for t in detail["tracks"] if t["kind"] == "video"]
    assert audio["echoDelay"] == 80.0 and "echoDelay" not in video
    result, = report["expectations"]
    assert result["measured"] == 80 and result["unit"] == "ms" and result["passed"]


def test_nothing_played_is_null_and_fails_the_expectation_saying_why(capture, capsys):
    code, detail, report = capture(np.array([], np.float32), "-c", '{"audio": true}',
                                   "--expect", "audio.echo_delay < 100")
    assert code == 6
    assert detail["tracks"][0]["echoDelay"] is None
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ms: expectation failed: audio.echo_delay < 100 (not measured: nothing ms played "
        "(--play, -o speaker) was heard clearly in what the microphone captured)")
    assert report["expectations"][0]["measured"] is None


@pytest.mark.parametrize("expect, says", [
    ("video.echo_delay < 100", "echo_delay is measured on audio, not video: write "
                               "audio.echo_delay"),
    ("audio.echo_delay < 0.1s", "echo_delay is in milliseconds, not 's': write 100"),
    ("audio.echo_dealy < 100", "did you mean 'echo_delay'?"),
])
def test_a_wrong_echo_delay_expectation_is_a_usage_error(ms, expect, says):
    result = ms("capture", "--fake", "-c", '{"audio": true, "video": true}', "-t", "1",
                "-o", "null", "--expect", expect)
    assert result.code == 2 and says in result.err


# --- end to end: --play to a virtual speaker, a virtual microphone that hears it ---------------


@pytest.mark.parametrize("cancelled", [False, True], ids=["raw", "echoCancellation"])
def test_play_heard_by_an_echo_microphone_reports_its_delay(ms, tmp_path, cancelled):
    """The speaker plays a voice from capture time 0; the microphone hears it 80 ms later at
    half its level: `stopped` says 80 ms and the expectation holds. With echo cancellation
    on as well: the delay is measured before the processing that removes the echo."""
    write_wav(tmp_path / "speech.wav", speech_like(2.0, RATE), RATE)
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": [
        {"kind": "audiooutput", "label": "Speaker"},
        {"kind": "audioinput", "label": "Mic",
         "source": {"echo": {"speaker": "Speaker", "delay": 0.08, "gain": 0.5}}}]}))
    events = tmp_path / "events.ndjson"
    constraints = json.dumps({"audio": {"echoCancellation": {"exact": cancelled}}})
    result = ms("capture", "--devices", str(devices), "-c", constraints, "-t", "2",
                "--play", str(tmp_path / "speech.wav"), "--speaker", "label:Speaker",
                "-o", "null", "--events", str(events), "--expect", "audio.echo_delay < 100")
    assert result.code == 0, result.err
    [stopped] = [e for e in map(json.loads, events.read_text().splitlines())
                 if e["event"] == "stopped"]
    [track] = stopped["detail"]["tracks"]
    assert track["echoDelay"] == pytest.approx(80, abs=2)

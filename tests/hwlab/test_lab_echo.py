"""What ms plays, heard back through a real sound card (issue 13): snd-aloop's playback side
is a speaker whose sound comes out, unchanged, on the capture side of the same card.

- `--play` tone bursts on `Loopback: PCM (hw:0,0)` while ms records `hw:0,1`: the tone
  arrives at its frequency and level (measured from the recording), and `stopped` reports the
  delay from the speaker to the capture (echoDelay, `--expect 'audio.echo_delay ...'`).
- `-o speaker:` plays a captured tone on the loopback card, and another ms hears it there.
- `echoCancellation: true` with a voice played: the echo in the recording is attenuated,
  measured against the same capture without it (echo return loss enhancement), over the
  samples captured: the emulated guest loses blocks when it cannot keep up with the canceller
  (and then echoDelay may find no clear window with it on; the virtual devices' test shows
  it measured before the processing, tests/test_roundtrip.py).

The guest runs the host's Python (hwlab/run.py binds the venv in), so it has the
pywebrtc-audio that pyproject.toml installs; the first test says so if it does not.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import wave

import av
import numpy as np
from _echo_signals import speech_like, tone_bursts, write_wav
from labtools import LAB, events_in, listed, recording, run_ms
from test_lab_capture import TonePlayer, loopback_input

pytestmark = LAB

RATE = 48000
TONE_HZ = 1230.0
ERLE_DB = 20.0  # issue 13: what echo cancellation must take off a played file's echo
SETTLED = 3.0  # seconds echo cancellation may take to find the echo before it is measured
PLAYER_DB = 20 * np.log10(0.5 / np.sqrt(2))  # TonePlayer's sine, amplitude 0.5: -9.03 dBFS


def loopback_speaker(n: int) -> dict:
    [entry] = [d for d in listed()[0]
               if d["kind"] == "audiooutput" and d["label"] == f"Loopback: PCM (hw:0,{n})"]
    return entry


def microphone(n: int, **extra) -> str:
    """Constraints for the loopback's capture side n: mono at the largest latency (the
    emulated guest cannot serve PortAudio at the lowest one without overruns)."""
    return json.dumps({"audio": {"deviceId": {"exact": loopback_input(n)["deviceId"]},
                                 "sampleRate": {"exact": RATE}, "channelCount": {"exact": 1},
                                 "latency": 1.0, **extra}})


def recorded(path) -> np.ndarray:
    with wave.open(str(path)) as f:
        assert (f.getframerate(), f.getnchannels()) == (RATE, 1)
        return np.frombuffer(f.readframes(f.getnframes()), np.int16) / 32768.0


def db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20)


def bursts_in(x: np.ndarray) -> list[np.ndarray]:
    """The stretches of x where the tone sounds (10 ms blocks above -40 dBFS), less a block
    at either end (a burst's edge falls inside one)."""
    blocks = len(x) // 480
    loud = np.sqrt(np.mean(x[:blocks * 480].reshape(blocks, 480) ** 2, axis=1)) > 0.01
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(int), [0]))))
    return [x[(a + 1) * 480:(b - 1) * 480] for a, b in zip(edges[::2], edges[1::2])
            if b - a > 4]


def sounding(x: np.ndarray) -> np.ndarray:
    """The 10 ms blocks of x where the tone sounds (above -40 dBFS), joined."""
    blocks = x[:len(x) // 480 * 480].reshape(-1, 480)
    return blocks[np.sqrt(np.mean(blocks ** 2, axis=1)) > 0.01].reshape(-1)


def peak_frequency(x: np.ndarray) -> float:
    """The strongest frequency of x (Hann window, parabolic interpolation between bins):
    unlike zero crossings, a lost or repeated block does not move it."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * RATE / len(x)


def captured_after(path, seconds: float) -> np.ndarray:
    """The samples a Matroska recording holds from `seconds` on, only those captured: a block
    the guest lost is a gap in the timeline there, not silence to average in."""
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) / 32768.0
                               for f in container.decode(audio=0) if f.time >= seconds])


def capture(tmp_path, name: str, constraints: str, *args: str,
            ext: str = "wav") -> tuple[int, dict, str]:
    """`ms capture` to NAME.EXT: (exit code, the audio track's stopped detail, stderr)."""
    out, log = tmp_path / f"{name}.{ext}", tmp_path / f"{name}.ndjson"
    # The emulated guest runs echo cancellation several times slower than real time: a 6 s
    # capture with it took over 120 s in a CI run on an idle host.
    done = run_ms("capture", "-c", constraints, "-o", str(out), "--events", str(log), *args,
                  check=False, timeout=400)
    assert log.exists(), f"ms capture exited {done.returncode}: {done.stderr}"
    stopped = [e for e in events_in(log) if e["event"] == "stopped"]
    assert stopped, f"no stopped event (exit {done.returncode}):\n{done.stderr}"
    return done.returncode, stopped[0]["detail"]["tracks"][0], done.stderr


def test_the_guest_has_the_audio_processing_module():
    assert importlib.util.find_spec("pywebrtc_audio") is not None, (
        f"{sys.executable} has no pywebrtc-audio: install the project (pip install -e .) in "
        "the venv the lab runs")
    caps = json.loads(run_ms("caps", loopback_input(1)["deviceId"], "--json").stdout)
    assert caps["echoCancellation"] == [True, False], caps


def test_a_tone_played_with_play_arrives_at_its_frequency_and_level_and_its_delay_is_reported(
        tmp_path):
    played = tone_bursts(8.0, RATE, frequency=TONE_HZ)
    write_wav(tmp_path / "bursts.wav", played, RATE)
    code, track, stderr = capture(
        tmp_path, "heard", microphone(1), "-t", "8", "--play", str(tmp_path / "bursts.wav"),
        "--speaker", loopback_speaker(0)["deviceId"], "--expect", "audio.echo_delay < 500")
    assert code == 0, stderr
    x = recorded(tmp_path / "heard.wav")
    heard = bursts_in(x)
    frequency = peak_frequency(sounding(x))
    level, sent = db(np.concatenate(heard)), db(np.concatenate(bursts_in(played)))
    # A block the emulated guest's capture loses (an overflow, counted) breaks a burst's
    # zero crossings, not its spectrum.
    print(f"\n--play {TONE_HZ} Hz bursts into hw:0,0, recorded from hw:0,1: {len(heard)} "
          f"bursts at {frequency:.2f} Hz, level {level:.2f} dBFS (played {sent:.2f}), "
          f"echoDelay {track['echoDelay']} ms, overflows {track.get('overflows')}")
    assert len(heard) >= 10
    assert abs(frequency / TONE_HZ - 1) < 0.01
    assert abs(level - sent) < 1.0  # the loopback passes samples unchanged
    # A loopback passes what plays at once: the delay is the error of the two ends' times
    # (-0.1 to 1.6 ms measured here, with the host idle or busy).
    assert track["echoDelay"] is not None and abs(track["echoDelay"]) < 20


def test_a_tone_played_with_o_speaker_is_heard_on_the_card(tmp_path):
    """ms records hw:0,1 (where a player's tone into hw:0,0 comes out) and plays what it
    records on hw:0,1's playback side, which comes out at hw:0,0's capture side, where a
    second ms, started once the first has three seconds of it, records it. The relay runs
    until that recording is done and is then stopped (SIGTERM): with a fixed -t of 12 s it
    could end before the second ms, slow to start in the emulated guest, began to listen
    (CI heard nothing once, while the relay's speaker had played 9.8 s); the three seconds
    cover the speaker's wait for a burst and a half at the microphone's 1 s latency."""
    relayed, relay_log = tmp_path / "relay.wav", tmp_path / "relay.ndjson"
    with TonePlayer(), recording(
            "-c", microphone(1), "-t", "90", "-o", str(relayed), "-o",
            f"speaker:{loopback_speaker(1)['deviceId']}", "--events", str(relay_log),
            out=relayed, written=6 * RATE) as relay:  # three seconds of 16-bit mono
        code, track, stderr = capture(tmp_path, "heard", microphone(0), "-t", "4")
        relay.terminate()
        _out, relay_err = relay.communicate(timeout=120)
    assert code == 0, stderr
    assert relay.returncode == 0, relay_err
    [stopped] = [e["detail"] for e in events_in(relay_log) if e["event"] == "stopped"]
    [speaker], [relay_track] = stopped["speakers"], stopped["tracks"]
    tone = sounding(recorded(tmp_path / "heard.wav"))
    frequency = peak_frequency(tone) if len(tone) else float("nan")
    print(f"\n-o speaker: the tone relayed through hw:0,1 to hw:0,0: sounding "
          f"{len(tone) / RATE:.2f} s, at {frequency:.2f} Hz, level {db(tone):.2f} dBFS "
          f"(played {PLAYER_DB:.2f}); the relay's microphone lost {relay_track['overflows']} "
          f"blocks, its speaker {speaker}")
    # The speaker's underruns and the samples its full buffer dropped are counted and
    # reported, never a crash: on the emulated guest they are many (278 underruns, 241,314
    # samples dropped with the host idle), so the tone comes through in pieces, each at its
    # frequency and level (a block an underrun cuts counts with its silence: 2 dB). A busy
    # host can starve the relay's microphone of nearly every block (1,190 of 1,200 lost, with
    # the load at 8 on 2 cores): the tone is required where it lost under a tenth.
    if relay_track["overflows"] < 120:
        assert len(tone) > RATE // 2
        assert abs(frequency / TONE_HZ - 1) < 0.01
        assert abs(db(tone) - PLAYER_DB) < 2.0


def test_echo_cancellation_attenuates_the_echo_of_a_played_voice(tmp_path):
    """The emulated guest barely keeps up with echo cancellation: its microphone loses
    blocks, counted as overflows. Those are gaps in the recording's timeline, so the echo is
    measured over the samples captured, each processed with the far end of its own time."""
    # 6 s: with the host busy, a 10 s capture with the canceller on took over the 120 s
    # run_ms allows (the guest processes what it did not lose several times slower than real
    # time).
    write_wav(tmp_path / "voice.wav", speech_like(6.0, RATE), RATE)
    play = ("-t", "6", "--play", str(tmp_path / "voice.wav"), "--speaker",
            loopback_speaker(0)["deviceId"])
    levels, delays, overflows = {}, {}, {}
    for on in (False, True):
        name = f"ec-{'on' if on else 'off'}"
        code, track, stderr = capture(
            tmp_path, name, microphone(1, echoCancellation={"exact": on}), *play,
            "--audio-codec", "pcm_s16le", ext="mka")
        assert code == 0, stderr
        levels[on], delays[on] = db(captured_after(tmp_path / f"{name}.mka", SETTLED)), \
            track["echoDelay"]
        overflows[on] = track.get("overflows")
    erle = levels[False] - levels[True]
    # With the host idle the guest kept up (29 of 600 blocks lost with the canceller on, none
    # without) and the echo fell by 30.2 dB. With the host busy (load 6-8 on 2 cores) it lost
    # 59-98 % of them with the canceller on, and the rest measured 36.7, 9.5 and 10.3 dB in
    # three runs (the canceller adapts across the gaps or does not). So the 20 dB of the issue
    # is required where the guest kept up (under a tenth lost), attenuation where it did not;
    # the virtual devices' tests hold ms to 20 dB everywhere.
    kept_up = overflows[True] < 0.1 * 600
    print(f"\necho cancellation over snd-aloop, a voice played into hw:0,0: echo "
          f"{levels[False]:.1f} dBFS without, {levels[True]:.1f} dBFS with (ERLE {erle:.1f} dB "
          f"after {SETTLED} s); echoDelay {delays[False]} / {delays[True]} ms, overflows "
          f"{overflows[False]} / {overflows[True]}")
    assert delays[False] is not None and abs(delays[False]) < 20
    assert erle >= (ERLE_DB if kept_up else 3.0)

"""Audio processing measured from ms's own recordings (issue 13's "done when"): a file-backed
virtual microphone plays a WAV the test writes (a synthetic voice, noise), `ms capture`
records it to WAV with and without the processing constraint, and the two are compared with
what went in. A setting that says true while nothing runs fails here: the processed recording
must differ from the raw one by the measured amounts."""

from __future__ import annotations

import json
import wave

import numpy as np

from _voice import at_level, dbfs, noise, to_int16, voice

RATE = 48000


def write_wav(path, samples: np.ndarray, rate: int = RATE) -> str:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_int16(samples).tobytes())
    return str(path)


def read_wav(path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (1, RATE)
        return np.frombuffer(w.readframes(w.getnframes()), np.int16) / 32768


def record(ms, tmp_path, signal: np.ndarray, audio, name: str) -> np.ndarray:
    """What ms records from a microphone playing `signal`, with audio constraints `audio`."""
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": [{
        "kind": "audioinput", "label": "File Mic",
        "source": {"file": write_wav(tmp_path / "in.wav", signal)}}]}))
    out = tmp_path / f"{name}.wav"
    r = ms("capture", "--devices", str(devices), "-c", json.dumps({"audio": audio}),
           "-t", str(len(signal) / RATE), "--unpaced", "-o", str(out), "--events", "none")
    assert r.code == 0, r.err
    return read_wav(out)


def test_noise_suppression_lowers_noise_and_keeps_speech(ms, tmp_path):
    # 2 s of noise alone, then 2 s of speech over the same noise (20 dB above it).
    speech = np.concatenate([np.zeros(2 * RATE, np.float32), at_level(voice(2, RATE), -20)])
    signal = speech + at_level(noise(4, RATE), -40)
    raw = record(ms, tmp_path, signal, True, "raw")
    processed = record(ms, tmp_path, signal, {"noiseSuppression": True}, "ns")
    assert np.array_equal(raw, to_int16(signal) / 32768)  # the default is raw audio
    assert len(processed) == len(raw)  # the last part block too
    noise_only = slice(RATE, 2 * RATE)  # after the suppressor's first second of learning
    speech_part = slice(int(2.5 * RATE), 4 * RATE)
    assert dbfs(raw[noise_only]) - dbfs(processed[noise_only]) >= 10
    assert abs(dbfs(processed[speech_part]) - dbfs(raw[speech_part])) <= 3


def test_gain_control_raises_a_quiet_voice(ms, tmp_path):
    signal = at_level(voice(6, RATE), -40)
    processed = record(ms, tmp_path, signal, {"autoGainControl": {"exact": True}}, "agc")
    late = slice(4 * RATE, 6 * RATE)  # the gain rises by at most 6 dB a second
    assert dbfs(processed[late]) - dbfs(signal[late]) >= 10


def test_settings_say_what_runs(ms, tmp_path):
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": [{"kind": "audioinput", "label": "Mic"}]}))

    def resolved(audio) -> dict:
        r = ms("resolve", "--devices", str(devices), "-c", json.dumps({"audio": audio}),
               "--json")
        assert r.code == 0, r.err
        return json.loads(r.out)["tracks"][0]["settings"]

    processing = ("echoCancellation", "autoGainControl", "noiseSuppression")
    assert [resolved(True)[k] for k in processing] == [False, False, False]
    assert [resolved({"echoCancellation": True, "autoGainControl": True})[k]
            for k in processing] == [True, True, False]
    r = ms("caps", "--devices", str(devices), "--json")
    assert r.code == 0, r.err
    caps = json.loads(r.out)[0]["capabilities"]
    assert [caps[k] for k in processing] == [[True, False]] * 3

"""Echo cancellation end to end (issue 13's "done when"): ms plays a voice with `--play` on a
virtual speaker; a virtual microphone hears that speaker 80 ms later at half the level, plus a
near-end talker from a file while the far end is quiet. `ms capture` records the microphone
raw and with echoCancellation, and the two recordings are compared: the echo is attenuated by
at least 20 dB (echo return loss enhancement) and the near-end voice stays within 3 dB.
Real time (--play is paced), about 3.5 s a capture."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _voice import at_level, dbfs, read_wav, voice, write_wav

RATE = 48000
SECONDS = 3.5
FAR_UNTIL = 2.5  # the far end talks until here, then is quiet while the near end talks
NEAR_FROM = 2.6


def room(tmp_path) -> str:
    far = at_level(voice(FAR_UNTIL, RATE, seed=1), -20)
    near = np.zeros(int(SECONDS * RATE), np.float32)
    talk = at_level(voice(SECONDS - NEAR_FROM, RATE, seed=3, pitch=210), -26)
    near[int(NEAR_FROM * RATE):int(NEAR_FROM * RATE) + len(talk)] = talk
    devices = {"devices": [
        {"kind": "audioinput", "label": "Room Mic",
         "source": {"echo": {"speaker": "Speaker", "delay": 0.08, "gain": 0.5},
                    "plus": {"file": write_wav(tmp_path / "near.wav", near)}}},
        {"kind": "audiooutput", "label": "Speaker"}]}
    (tmp_path / "devices.json").write_text(json.dumps(devices))
    write_wav(tmp_path / "far.wav", far)
    return str(tmp_path / "devices.json")


def record(ms, tmp_path, devices: str, audio, name: str) -> np.ndarray:
    out = tmp_path / f"{name}.wav"
    r = ms("capture", "--devices", devices, "-c", json.dumps({"audio": audio}),
           "-t", str(SECONDS), "--play", str(tmp_path / "far.wav"), "-o", str(out),
           "--events", "none")
    assert r.code == 0, r.err
    return read_wav(out)


@pytest.mark.slow  # 8 s of real time; test_audioproc_quality.py checks the same in-process
def test_echo_cancellation_removes_the_played_voice_and_keeps_the_near_talker(ms, tmp_path):
    devices = room(tmp_path)
    raw = record(ms, tmp_path, devices, True, "raw")
    cancelled = record(ms, tmp_path, devices, {"echoCancellation": True}, "aec")
    echo_only = slice(int(1.0 * RATE), int(FAR_UNTIL * RATE))  # after a second of adapting
    near_only = slice(int((FAR_UNTIL + 0.2) * RATE), int(SECONDS * RATE))  # the echo's tail gone
    assert dbfs(raw[echo_only]) > -30  # the microphone really hears the speaker
    erle = dbfs(raw[echo_only]) - dbfs(cancelled[echo_only])
    print(f"ERLE {erle:.1f} dB")
    assert erle >= 20, f"echo return loss enhancement {erle:.1f} dB"
    kept = dbfs(cancelled[near_only]) - dbfs(raw[near_only])
    print(f"near-end voice {kept:+.1f} dB")
    assert abs(kept) <= 3, f"near-end voice changed by {kept:.1f} dB"

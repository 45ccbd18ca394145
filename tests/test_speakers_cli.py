"""Speakers end to end: `ms capture` as a subprocess with virtual speakers that record what
they play and virtual microphones that hear them, compared sample by sample with the files
played; every error before recording."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from conftest import one_error_line


def write_wav(path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
        return data[:, 0].astype(float), w.getframerate()


def chirp(rate: int, seconds: float) -> np.ndarray:
    """A sweep: its cross-correlation has one sharp peak."""
    t = np.arange(int(rate * seconds)) / rate
    return np.round(9000 * np.sin(2 * np.pi * (300 * t + 900 * t * t))).astype(np.int16)


@pytest.fixture
def room(tmp_path):
    """A device file: a speaker that records what it plays, a microphone that hears it 80 ms
    later at half the level, and a microphone backed by a file; the files to play."""
    write_wav(tmp_path / "far.wav", chirp(44100, 0.6), 44100)
    write_wav(tmp_path / "near.wav", chirp(48000, 0.5)[::-1], 48000)
    devices = {"devices": [
        {"kind": "audioinput", "label": "Echo Mic",
         "source": {"echo": {"speaker": "Speaker", "delay": 0.08, "gain": 0.5}}},
        {"kind": "audioinput", "label": "File Mic", "source": {"file": "near.wav"}},
        {"kind": "audiooutput", "label": "Speaker", "sink": {"file": "played.wav"}},
        {"kind": "audiooutput", "label": "Quiet Speaker"},
        {"kind": "videoinput", "label": "Cam"}]}
    (tmp_path / "devices.json").write_text(json.dumps(devices))
    return tmp_path


def capture(ms, room, constraints, *args):
    return ms("capture", "--devices", str(room / "devices.json"), "-c", json.dumps(constraints),
              "--events", str(room / "events.ndjson"), *args)


def stopped(room) -> dict:
    events = [json.loads(line) for line in (room / "events.ndjson").read_text().splitlines()]
    return next(e for e in events if e["event"] == "stopped")["detail"]


def resampled(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    from mscli.media.convert import AudioConverter

    converter = AudioConverter(rate, 1, to, 1)
    out = [converter.convert(samples[:, None]), converter.flush()]
    return np.concatenate(out)[:, 0].astype(float)


def test_play_records_the_file_into_the_speakers_sink_and_the_echo_into_the_microphone(
        ms, room):
    result = capture(ms, room, {"audio": True}, "-t", "1.2", "--play",
                     str(room / "far.wav"), "--speaker", "label:Speaker", "-o",
                     str(room / "mic.wav"))
    assert result.code == 0, result.err
    # The speaker takes 48 kHz only: what it played is the 44.1 kHz file, resampled.
    played, rate = read_wav(room / "played.wav")
    expected = resampled(chirp(44100, 0.6), 44100, 48000)
    # The sink spans the capture: silence after the file ended.
    assert rate == 48000 and len(played) == round(1.2 * 48000)
    assert not played[len(expected):].any()
    played = played[:len(expected)]
    assert np.max(np.abs(played - expected)) <= 1
    # The microphone (the file's first audioinput: Echo Mic) heard it 80 ms later, halved.
    mic, mic_rate = read_wav(room / "mic.wav")
    assert mic_rate == 48000
    lag = np.argmax(np.correlate(mic, played, "full")) - (len(played) - 1)
    assert abs(lag / 48000 - 0.08) <= 0.002
    heard = mic[lag:lag + len(played)]
    assert np.dot(heard, played) / np.dot(played, played) == pytest.approx(0.5, abs=0.02)
    [speaker] = stopped(room)["speakers"]
    assert speaker["label"] == "Speaker" and speaker["via"] == "--play " + str(room / "far.wav")
    assert (speaker["sampleRate"], speaker["underruns"]) == (48000, 0)
    assert speaker["seconds"] == pytest.approx(0.6, abs=0.001)


def test_the_audio_track_plays_on_a_speaker_while_it_is_recorded(ms, room):
    listed = ms("devices", "--devices", str(room / "devices.json"), "--json").json()
    mic = next(d["deviceId"] for d in listed if d["label"] == "File Mic")
    result = capture(ms, room, {"audio": {"deviceId": {"exact": mic}}}, "-t", "0.4",
                     "-o", "speaker:label:Speaker", "-o", str(room / "rec.wav"))
    assert result.code == 0, result.err
    played, _ = read_wav(room / "played.wav")
    recorded, _ = read_wav(room / "rec.wav")
    near = chirp(48000, 0.5)[::-1].astype(float)
    assert len(recorded) == 19200 and np.array_equal(recorded, near[:19200])
    assert np.array_equal(played, near[:len(played)]) and len(played) == 19200
    [speaker] = stopped(room)["speakers"]
    assert speaker["via"] == "-o speaker:label:Speaker" and speaker["seconds"] == 0.4


def test_a_sink_that_exists_is_kept_without_y_and_replaced_with_it(ms, room):
    (room / "played.wav").write_bytes(b"mine")
    args = ("-t", "0.2", "--play", str(room / "far.wav"), "--speaker", "label:Speaker",
            "-o", "null")
    result = capture(ms, room, {"audio": True}, *args)
    assert result.code == 2
    assert "played.wav' exists: give -y/--overwrite" in one_error_line(result)
    assert (room / "played.wav").read_bytes() == b"mine"
    assert capture(ms, room, {"audio": True}, *args, "-y").code == 0
    assert read_wav(room / "played.wav")[1] == 48000


@pytest.mark.parametrize("constraints, args, code, message", [
    ({"audio": True}, ["-o", "speaker:label:Nope"], 3, "NotFoundError: no device is labelled"),
    ({"audio": True}, ["-o", "speaker:index:99"], 3, "NotFoundError: 'index:99'"),
    ({"audio": True}, ["-o", "speaker:label:Cam"], 2,
     "UsageError: -o speaker:label:Cam: 'label:Cam' is a videoinput, not a speaker"),
    ({"video": True}, ["-o", "speaker"], 2,
     "UsageError: -o speaker plays the audio track and the constraints request none"),
    ({"audio": True}, ["-o", "null", "--play", "{room}/devices.json"], 2,
     "UsageError: --play {room}/devices.json: "),
    ({"audio": True}, ["-o", "null", "--play", "{room}/far.wav", "--speaker", "label:Nope"],
     3, "NotFoundError: no device is labelled 'Nope'"),
    ({"audio": True}, ["-o", "null", "--speaker", "label:Speaker"], 2,
     "UsageError: --speaker says where --play plays"),
    ({"audio": True}, ["-o", "speaker", "--play", "{room}/far.wav"], 2,
     "UsageError: -o speaker and --play {room}/far.wav play on the same speaker"),
    ({"audio": True}, ["-o", "null", "--play", "{room}/far.wav", "--unpaced"], 2,
     "UsageError: --play plays in real time while capturing: drop --unpaced"),
    ({"audio": True}, ["-o", "speaker", "-o", "{room}/played.wav"], 2,
     "are the same file"),
])
def test_errors_before_anything_records(ms, room, constraints, args, code, message):
    args = [a.replace("{room}", str(room)) for a in args]
    result = capture(ms, room, constraints, "-t", "0.2", *args)
    assert result.code == code, result.err
    assert message.replace("{room}", str(room)) in one_error_line(result)
    assert not (room / "played.wav").exists()
    assert not (room / "events.ndjson").exists()  # nothing started


def test_caps_shows_what_a_speaker_takes(ms, room):
    result = ms("caps", "label:Speaker", "--devices", str(room / "devices.json"), "--json",
                "--modes")
    assert result.code == 0, result.err
    entry = result.json()
    assert entry["kind"] == "audiooutput"
    assert entry["capabilities"]["sampleRate"] == {"min": 48000, "max": 48000}
    assert entry["modes"] == {"sampleRate": [48000], "channelCount": {"min": 1, "max": 2}}
    fake = ms("caps", "label:Fake Speaker", "--fake", "--json").json()
    assert fake["channelCount"] == {"min": 1, "max": 2}

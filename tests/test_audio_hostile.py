"""The hostile pass over audio: odd sample rates and channel counts, played files and virtual
speakers, as a user would try them from the shell. Each test is a finding: it failed before
its fix."""

from __future__ import annotations

import json
import subprocess
import types
import wave

import pytest

from conftest import one_error_line


def wide_mic(tmp_path, rates) -> str:
    """A device file: a tone microphone of the sample rates `rates`, 1 to 8 channels."""
    path = tmp_path / "devices.json"
    path.write_text(json.dumps({"devices": [
        {"kind": "audioinput", "label": "Wide Mic", "sampleRate": rates,
         "channelCount": {"min": 1, "max": 8}, "source": "tone"}]}))
    return str(path)


def wav_format(path) -> tuple[int, int, int]:
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), w.getnframes()


@pytest.mark.parametrize("rate, seconds", [(11025, 0.5), (22050, 0.505)])
def test_a_limit_between_two_samples_ends_the_tone_at_the_limit(ms, tmp_path, rate, seconds):
    # -t 0.5 at 11025 Hz is sample 5512.5: the tone's last chunk was cut to whole samples and
    # the next one had none, delivered again and again: a WAV failed with 'unexpected
    # TypeError' and every encoded output spun at 100 % CPU for good (exit only by a kill).
    devices = wide_mic(tmp_path, [rate])
    out = tmp_path / "a.wav"
    try:
        result = ms("capture", "--devices", devices, "-c", '{"audio": true}', "-t", str(seconds),
                    "-o", str(out), "--events", "none", "--unpaced", timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the capture did not end at its -t limit")
    assert result.code == 0, result.err
    assert wav_format(out) == (rate, 1, round(seconds * rate))


@pytest.mark.parametrize("rate", [1, 2])
def test_the_tone_at_a_rate_shorter_than_its_click_still_plays(rate):
    # At 1 Hz the 2-sample click was longer than the whole second: the samples after second 0
    # failed ('could not broadcast input array from shape (0,)'), which ended the track with a
    # read error and left the recording empty.
    from mscli.media.tone import ToneGenerator

    tone = ToneGenerator(rate, 2)
    samples = tone.samples(0, 3 * rate)
    assert samples.shape == (3 * rate, 2)
    assert abs(int(samples[rate, 0])) > 0.45 * 32767  # the click of second 1


def test_a_microphone_at_1_hz_records_its_samples(ms, tmp_path):
    out = tmp_path / "a.wav"
    result = ms("capture", "--devices", wide_mic(tmp_path, [1]), "-c", '{"audio": true}',
                "-t", "3", "-o", str(out), "--events", "none", "--unpaced", timeout=20)
    assert result.code == 0, result.err
    assert "ended" not in result.err
    assert wav_format(out) == (1, 1, 3)


@pytest.mark.parametrize("name", ["a.opus", "a.mkv"])
def test_audio_the_encoder_never_coded_is_an_error_not_a_silent_file(ms, tmp_path, name):
    """3 Hz for 2 s is 6 samples: the encoder's resampler held them all and no packet was
    written; ms exited 0 and left a file nothing could read."""
    out = tmp_path / name
    result = ms("capture", "--devices", wide_mic(tmp_path, [3]), "-c", '{"audio": true}',
                "-t", "2", "-o", str(out), "--events", "none", "--unpaced", timeout=20)
    assert result.code == 1
    assert "coded none of its 6 samples at 3 Hz" in one_error_line(result)
    assert not out.exists() and (tmp_path / f"{name}.partial").exists()


def virtual_speaker(tmp_path, clock):
    from mscli.audioproc.farend import Playback
    from mscli.speakers.virtual import VirtualSpeaker
    from mscli.virtual import parse_device_file

    [device] = parse_device_file({"devices": [
        {"kind": "audiooutput", "label": "S", "sink": {"file": "p.wav"}}]}, tmp_path)
    device.device_id = "s"
    return VirtualSpeaker(device, Playback(), clock, 8000, 1, overwrite=False)


def test_a_virtual_speaker_plays_what_was_handed_over_only_up_to_the_capture_end(tmp_path):
    # --play hands its chunks 0.2 s ahead: a capture of 1 s left a 1.2 s sink WAV and
    # `stopped` said the speaker played 1.207 s; one of 0.2 s of audio in a 1 s capture
    # left a 0.2 s WAV, not the capture's length the README promises.
    import numpy as np

    clock = types.SimpleNamespace(now=lambda: 0.1)
    speaker = virtual_speaker(tmp_path, clock)
    for k in range(30):  # 10 ms chunks from 0 to 0.3 s, handed over early
        speaker.play(np.full((80, 1), k + 1, np.int16), k * 0.01)
    speaker.end(0.205)  # the capture stopped at 0.205 s
    speaker.play(np.full((80, 1), 99, np.int16), 0.3)  # too late: not played
    speaker.close()
    assert speaker.samples == 1640
    with wave.open(str(tmp_path / "p.wav")) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert len(data) == 1640 and data[-1] == 21


@pytest.mark.parametrize("file_seconds, played", [(0.1, 0.1), (2.0, 0.6)])
def test_a_played_file_leaves_a_sink_as_long_as_the_capture(ms, tmp_path, file_seconds,
                                                            played):
    import numpy as np

    with wave.open(str(tmp_path / "far.wav"), "wb") as w:
        w.setparams((1, 2, 48000, 0, "NONE", ""))
        w.writeframes(np.full(round(48000 * file_seconds), 1000, "<i2").tobytes())
    (tmp_path / "room.json").write_text(json.dumps({"devices": [
        {"kind": "audioinput", "label": "Mic", "source": "tone"},
        {"kind": "audiooutput", "label": "Speaker", "sink": {"file": "played.wav"}}]}))
    events = tmp_path / "events.ndjson"
    result = ms("capture", "--devices", str(tmp_path / "room.json"), "-c", '{"audio": true}',
                "-t", "0.6", "--play", str(tmp_path / "far.wav"), "-o", "null",
                "--events", str(events), timeout=30)
    assert result.code == 0, result.err
    stopped = [json.loads(line) for line in events.read_text().splitlines()][-1]
    assert stopped["detail"]["speakers"][0]["seconds"] == played
    assert wav_format(tmp_path / "played.wav") == (48000, 1, 28800)  # the capture's 0.6 s


def test_a_processing_binding_that_does_not_load_is_one_not_readable_line(ms, ms_env,
                                                                          tmp_path):
    # pywebrtc-audio found but failing to import (a shared library missing): the capture
    # said 'unexpected ImportError ... report it', exit 1.
    broken = tmp_path / "site" / "pywebrtc_audio"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        'raise ImportError("libwebrtc-audio-processing.so.1: cannot open shared object")\n')
    out = tmp_path / "a.wav"
    result = ms("capture", "--fake", "-c", '{"audio": {"noiseSuppression": true}}', "-t",
                "0.3", "-o", str(out), "--events", "none",
                env={"PYTHONPATH": f"{broken.parent}:{ms_env['PYTHONPATH']}"})
    assert result.code == 5, result.err
    line = one_error_line(result)
    assert line.startswith("ms: NotReadableError: noiseSuppression: ")
    assert "pywebrtc-audio" in line and "cannot open shared object" in line
    assert not out.exists()


def test_play_takes_a_regular_file_only(ms, tmp_path):
    # A FIFO without a writer held ms in the check for good (a FIFO with one lost what the
    # check read); a URL to a server that accepts and stays silent held it as long as the
    # server liked. A regular file only, refused at once.
    import os

    fifo = tmp_path / "far.wav"
    os.mkfifo(fifo)
    for path, says in ((str(fifo), "not a regular file (a FIFO, a device)"),
                       ("/dev/zero", "not a regular file"),
                       (str(tmp_path), "is a directory"),
                       ("http://127.0.0.1:9/far.wav", "give a local file (download it first)"),
                       (str(tmp_path / "missing.wav"), "No such file or directory")):
        result = ms("capture", "--fake", "-c", '{"audio": true}', "-t", "0.3", "--play", path,
                    "-o", "null", "--events", "none", timeout=20)
        assert result.code == 2, (path, result.err)
        assert says in one_error_line(result), path


def test_a_wav_takes_a_chunk_without_samples_as_nothing(tmp_path):
    # An empty chunk made the WAV writer fail with 'unexpected TypeError: memoryview: cannot
    # cast view with zeros in shape' (reached by the tone's empty chunk at an odd -t limit);
    # the recorder of every other container skips one.
    import numpy as np

    from mscli.sinks.wav import WavWriter

    with open(tmp_path / "a.wav", "wb") as out:
        writer = WavWriter(out, 8000, 2)
        writer.write(np.zeros((0, 2), np.int16))
        writer.write(np.ones((3, 2), np.int16))
        writer.close()
    assert wav_format(tmp_path / "a.wav") == (8000, 2, 3)


def test_a_speaker_that_resamples_plays_the_tracks_last_samples_before_it_ends(ms, tmp_path):
    # The speaker ends at the capture's end (above) only after the resampler gave back what
    # it held: 11025 Hz into an 8 kHz speaker played 0.998 s of a 1 s capture otherwise.
    (tmp_path / "room.json").write_text(json.dumps({"devices": [
        {"kind": "audioinput", "label": "Mic", "sampleRate": [11025], "source": "tone"},
        {"kind": "audiooutput", "label": "Speaker", "sampleRate": [8000],
         "sink": {"file": "played.wav"}}]}))
    events = tmp_path / "events.ndjson"
    result = ms("capture", "--devices", str(tmp_path / "room.json"), "-c", '{"audio": true}',
                "-t", "0.5", "-o", "speaker", "--events", str(events), timeout=30)
    assert result.code == 0, result.err
    stopped = [json.loads(line) for line in events.read_text().splitlines()][-1]
    assert stopped["detail"]["speakers"][0]["seconds"] == 0.5
    assert wav_format(tmp_path / "played.wav") == (8000, 1, 4000)


def test_a_sink_that_cannot_be_written_says_it_is_the_speakers(ms, tmp_path):
    # The sink's path comes from the device file: "'/…/played.wav' exists" alone did not say
    # which output of the command line it was.
    (tmp_path / "played.wav").write_bytes(b"keep")
    (tmp_path / "room.json").write_text(json.dumps({"devices": [
        {"kind": "audioinput", "label": "Mic", "source": "tone"},
        {"kind": "audiooutput", "label": "Speaker", "sink": {"file": "played.wav"}}]}))
    result = ms("capture", "--devices", str(tmp_path / "room.json"), "-c", '{"audio": true}',
                "-t", "0.3", "-o", "speaker", "--events", "none")
    assert result.code == 2
    line = one_error_line(result)
    assert line.startswith("ms: UsageError: -o speaker: the sink of speaker 'Speaker', ")
    assert "played.wav' exists: give -y/--overwrite" in line
    assert (tmp_path / "played.wav").read_bytes() == b"keep"


def test_a_speaker_routed_by_kind_is_the_speaker(ms, tmp_path):
    # -o audio=speaker (as -o video=- -o audio=FILE routes a file) said "cannot tell the
    # format of 'speaker' from its name: add an extension".
    events = tmp_path / "events.ndjson"
    result = ms("capture", "--fake", "-c", '{"audio": true, "video": true}', "-t", "0.3",
                "-o", "audio=speaker:label:Fake Speaker", "-o", f"video={tmp_path / 'v.y4m'}",
                "--events", str(events))
    assert result.code == 0, result.err
    stopped = [json.loads(line) for line in events.read_text().splitlines()][-1]
    assert stopped["detail"]["speakers"][0]["label"] == "Fake Speaker"
    refused = ms("capture", "--fake", "-c", '{"audio": true, "video": true}', "-t", "0.3",
                 "-o", "video=speaker", "--events", "none")
    assert refused.code == 2
    assert "a speaker plays audio: give -o audio=speaker" in one_error_line(refused)

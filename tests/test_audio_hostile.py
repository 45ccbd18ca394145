"""The hostile pass over audio: odd sample rates and channel counts, played files and virtual
speakers, as a user would try them from the shell. Each test is a finding: it failed before
its fix."""

from __future__ import annotations

import json
import subprocess
import wave

import pytest


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

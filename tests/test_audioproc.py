"""The processing stage (audioproc/apm.py) driven directly: its timing (10 ms blocks, the
timeline kept through gaps and resampling), echo cancellation against a Playback far end, and
the capabilities that say where the processing can run."""

from __future__ import annotations

import numpy as np
import pytest

from mscli import audioproc, virtual
from mscli.audioproc.apm import Processing
from mscli.audioproc.farend import Playback
from mscli.errors import DeviceFileError
from mscli.media.frames import AudioFrame

from _echo_signals import speech_like
from _voice import at_level, dbfs, noise, to_int16, voice

RATE = 48000


def settings(rate=RATE, channels=1, **on) -> dict:
    return {"sampleRate": rate, "channelCount": channels, "latency": 0.01, **on}


def feed(stage: Processing, data: np.ndarray, rate: int, chunks=(1024,), start_pts: int = 0):
    """`data` (int16, (n, channels)) to the stage in chunks of the given sizes (cycled); the
    frames it gave, and for each the number of input samples given before it came out."""
    out, pts, i = [], 0, 0
    while pts < len(data):
        n = chunks[i % len(chunks)]
        i += 1
        part = data[pts:pts + n]
        at = start_pts + pts
        pts += len(part)
        out += [(f, pts) for f in stage.process(AudioFrame(part, rate, at, at / rate))]
    return out + [(f, pts) for f in stage.flush()]


def joined(frames) -> np.ndarray:
    return np.concatenate([f.data for f, _ in frames])


@pytest.mark.parametrize("rate,channels", [(48000, 1), (16000, 2), (44100, 1), (48000, 20)])
def test_frames_keep_the_timeline_and_wait_for_their_last_sample(rate, channels):
    # 44.1 kHz is processed at 48 kHz (the standalone modules' rates): there and back keeps
    # the count and the timeline. 20 channels go through two groups (the binding aborts the
    # process above 16).
    data = np.repeat(to_int16(at_level(noise(1.0, rate), -30))[:, None], channels, axis=1)
    frames = feed(Processing(settings(rate, channels, noiseSuppression=True)), data, rate,
                  chunks=(1024, 333, 7, 2000), start_pts=4800)
    assert sum(f.samples for f, _ in frames) == len(data)
    pts = 4800
    for frame, given in frames:
        assert (frame.pts, frame.sample_rate, frame.channels) == (pts, rate, channels)
        assert frame.time == frame.pts / rate  # the capture time of its first sample
        assert frame.pts + frame.samples <= 4800 + given  # out only once its input is in
        pts += frame.samples
    # Processed in whole 10 ms blocks: nothing held past the block its last sample fills,
    # (plus the resampler's few samples at 44.1 kHz).
    for frame, given in frames[:-1]:
        assert 4800 + given - (frame.pts + frame.samples) < rate // 100 + 64


def test_a_gap_in_the_timeline_stays_a_gap():
    data = to_int16(at_level(noise(0.5, RATE), -30))[:, None]
    stage = Processing(settings(noiseSuppression=True))
    first = [f for f in stage.process(AudioFrame(data[:1000], RATE, 0, 0.0))]
    # 0.2 s later (a stall): the 1000 samples are all out, ending where they ended.
    after = list(stage.process(AudioFrame(data[1000:], RATE, 10600, 10600 / RATE)))
    before_gap = first + [f for f in after if f.pts < 10600]
    assert sum(f.samples for f in before_gap) == 1000
    assert max(f.pts + f.samples for f in before_gap) == 1000
    assert min(f.pts for f in after if f.pts >= 10600) == 10600


def far_and_near(seconds: float = 6.0, delay: float = 0.08, gain: float = 0.5):
    """A far-end voice for 4 s, then quiet; the microphone hears its echo (delayed, scaled)
    and, while the far end is quiet, a near-end voice."""
    far = at_level(voice(seconds, RATE, seed=5, pitch=200), -20)
    far[int(4 * RATE):] = 0
    d = int(delay * RATE)
    echo = gain * np.concatenate([np.zeros(d, np.float32), far[:-d]])
    near_voice = at_level(voice(seconds, RATE, seed=7), -30)
    near_voice[:int(4 * RATE)] = 0
    return to_int16(far), echo + near_voice, near_voice


def test_echo_cancellation_removes_the_played_echo_and_keeps_the_near_voice():
    far, mic, near_voice = far_and_near()
    playback = Playback()
    played = playback.speaker("speaker")
    for start in range(0, len(far), 4800):  # as a player adds it, 100 ms at a time
        played.add(far[start:start + 4800, None], RATE, start / RATE)
    stage = Processing(settings(echoCancellation=True), lambda: playback)
    out = joined(feed(stage, to_int16(mic)[:, None], RATE))[:, 0] / 32768
    echo_only, near_only = slice(2 * RATE, 4 * RATE), slice(int(4.5 * RATE), 6 * RATE)
    erle = dbfs(mic[echo_only]) - dbfs(out[echo_only])
    assert erle >= 20, erle
    assert abs(dbfs(out[near_only]) - dbfs(near_voice[near_only])) <= 3


@pytest.mark.parametrize("signal, delay", [("speech", 0.0), ("voice", 0.0), ("speech", -0.002)])
def test_echo_cancellation_of_a_loopback_is_not_thrown_off_by_the_input_latency(signal, delay):
    """A loopback card hears what is played at the very time it plays (echoDelay -0.2 to
    1.2 ms over snd-aloop), with a microphone set to a long latency (the lab asks for 1 s): the
    echo is cancelled as any other. (With the latency as the module's delay hint: 8 dB; with
    the far end given at the echo's own time, which leaves nothing to model it from: 3-14 dB.)"""
    far = to_int16(speech_like(6.0, RATE) if signal == "speech"
                   else at_level(voice(6.0, RATE, seed=5, pitch=200), -20))
    playback = Playback()
    playback.speaker("speaker").add(far[:, None], RATE, 0.0)
    shift = round(delay * RATE)
    heard = far[-shift:] if shift < 0 else far  # captured at 0: what played from -delay on
    echo = np.concatenate([heard, np.zeros(len(far) - len(heard), np.int16)])[:, None] // 2
    stage = Processing(dict(settings(echoCancellation=True), latency=0.2), lambda: playback)
    out = joined(feed(stage, echo, RATE))[:, 0] / 32768
    settled = slice(2 * RATE, 6 * RATE)
    erle = dbfs(echo[settled, 0] / 32768) - dbfs(out[settled])
    assert erle >= 20, erle


def test_echo_cancellation_with_nothing_played_keeps_the_voice():
    # The setting stays true and the canceller runs with a silent far end (none, or a
    # Playback nobody writes to): the voice passes.
    voice_only = at_level(voice(2.0, RATE), -25)
    for playback in (None, Playback()):
        stage = Processing(settings(echoCancellation=True), lambda: playback)
        out = joined(feed(stage, to_int16(voice_only)[:, None], RATE))[:, 0] / 32768
        assert stage.modules[0].echo is not None
        assert abs(dbfs(out[RATE:]) - dbfs(voice_only[RATE:])) <= 1


def test_processing_capabilities_follow_the_binding(monkeypatch, tmp_path):
    mic = {"kind": "audioinput", "label": "Mic"}
    fake = next(d for d in virtual.fake_devices() if d.kind == "audioinput")
    assert fake.audio.noise_suppression == (True, False)
    assert virtual.parse_device_file({"devices": [mic]}, tmp_path)[0].audio.echo_cancellation \
        == (True, False)
    monkeypatch.setattr(audioproc, "installed", lambda: False)
    fake = next(d for d in virtual.fake_devices() if d.kind == "audioinput")
    assert (fake.audio.echo_cancellation, fake.audio.auto_gain_control,
            fake.audio.noise_suppression) == ((False,),) * 3
    plain = virtual.parse_device_file({"devices": [mic]}, tmp_path)[0]
    assert plain.audio.auto_gain_control == (False,)
    # A file that allows both gets what can run; one that insists on true is told why not.
    both = virtual.parse_device_file(
        {"devices": [{**mic, "noiseSuppression": [True, False]}]}, tmp_path)[0]
    assert both.audio.noise_suppression == (False,)
    with pytest.raises(DeviceFileError, match=r"devices\[0\]\.noiseSuppression: .*"
                                              r"pip install pywebrtc-audio"):
        virtual.parse_device_file({"devices": [{**mic, "noiseSuppression": [True]}]},
                                  tmp_path)

"""A virtual microphone that hears a virtual speaker: `"source": {"echo": {...}, "plus": ...}`.

The microphone's own source (`plus`: the tone, a file, or silence without it) runs as it
would alone, on a stand-in for its track; each chunk it delivers gets what the speaker played
`delay` seconds earlier, scaled by `gain`, added (session.playback, audioproc/farend.py),
then goes to the real track. Played audio reaches the Playback before it plays (the player
hands it over ahead, the speaker sink when the track's frame is written), so a chunk hears
everything that played `delay` before it, for any delay beyond the writer's own lag.
"""

from __future__ import annotations

import copy

import numpy as np

from mscli.media.frames import AudioFrame
from mscli.sources.synthetic import ToneSource


class Hearing:
    """The track as the microphone's own source sees it: the same in every way, but its
    device's source is `plus`, and what it delivers has the echo added."""

    def __init__(self, track):
        spec = track.device.source
        echo = spec["echo"]
        self._track = track
        self.device = copy.copy(track.device)
        self.device.source = spec["plus"]
        self._played = track.playback.speaker(echo["device"].device_id)
        self._delay, self._gain = echo["delay"], echo["gain"]

    def __getattr__(self, name):
        return getattr(self._track, name)

    def deliver(self, frame: AudioFrame) -> None:
        heard = self._played.read(frame.time - self._delay, frame.samples, frame.sample_rate)
        if heard.any():
            mixed = frame.data + np.round(heard * (self._gain * 32768.0))[:, None]
            frame.data = np.clip(mixed, -32768, 32767).astype(np.int16)
        self._track.deliver(frame)


class Silence:
    def __init__(self, sample_rate: int, channels: int):
        self.sample_rate, self.channels = sample_rate, channels

    def samples(self, start: int, count: int) -> np.ndarray:
        return np.zeros((count, self.channels), np.int16)


class SilentSource(ToneSource):
    """An echo without `plus`: the microphone hears only the speaker."""

    name = "echo"

    def generator(self, rate: int, channels: int) -> Silence:
        return Silence(rate, channels)


def open_echo_source(track, clock, timing: dict):
    hearing = Hearing(track)
    plus = hearing.device.source
    if isinstance(plus, dict):
        from mscli.sources.file import FileSource

        return FileSource(hearing, clock, **timing)
    return (ToneSource if plus == "tone" else SilentSource)(hearing, clock, **timing)

"""One writer playing on one speaker: the device opened in a format it takes, a Feed in
front of it, and what `stopped` says about it."""

from __future__ import annotations

import numpy as np

from mscli import messages
from mscli.speakers import VIRTUAL_SPEAKER, speaker_format
from mscli.speakers.feed import Feed


def open_speaker(device, playback, clock, rate: int, channels: int, overwrite: bool,
                 burst: float = 0.0):
    """The speaker `device`, opened for audio of `rate` x `channels` (it may play another
    format: the Feed converts), from a writer that may hand over `burst` seconds at once.
    NotReadableError when a PortAudio speaker cannot open."""
    if device.backend == "portaudio":
        from mscli.speakers.portaudio import PortAudioSpeaker

        return PortAudioSpeaker(device, playback, clock, rate, channels, burst)
    from mscli.speakers.virtual import VirtualSpeaker

    caps = device.audio or VIRTUAL_SPEAKER
    return VirtualSpeaker(device, playback, clock, *speaker_format(caps, rate, channels),
                          overwrite)


class SpeakerOutput:
    """`via` says which option plays (for `stopped`): "-o speaker..." or "--play FILE"."""

    def __init__(self, device, via: str, playback, clock, rate: int, channels: int,
                 overwrite: bool, burst: float = 0.0):
        self.via = via
        self.speaker = open_speaker(device, playback, clock, rate, channels, overwrite, burst)
        self.feed = Feed(rate, channels, self.speaker.rate, self.speaker.channels)
        self._finished = False

    def write(self, data: np.ndarray, time: float) -> None:
        self._play(*self.feed.push(data, time))

    def finish(self) -> None:
        """The writer has nothing more: what the resampler held back plays, then silence."""
        if self._finished:
            return
        self._finished = True
        self._play(*self.feed.flush())
        self.speaker.finish()

    def end(self, time: float) -> None:
        """The capture ended at capture time `time`: the writer's last samples, held back by
        the resampler, play before the speaker ends there."""
        self.finish()
        self.speaker.end(time)

    def _play(self, data: np.ndarray, time: float) -> None:
        if len(data):
            self.speaker.play(data, time)

    def close(self) -> None:
        self.speaker.close()
        report = self.report()
        messages.detail(f"speaker {report['label']!r} ({self.via}): played "
                        f"{report['seconds']:.2f} s at {report['sampleRate']} Hz x "
                        f"{report['channelCount']}, {report['underruns']} underruns")

    def discard(self) -> None:
        self.speaker.discard()

    def report(self) -> dict:
        """This output in `stopped`: detail.speakers[i]."""
        device = self.speaker.device
        out = {"deviceId": device.device_id, "label": device.label, "via": self.via,
               "sampleRate": self.speaker.rate, "channelCount": self.speaker.channels,
               "seconds": round(self.speaker.samples / self.speaker.rate, 3),
               "underruns": self.speaker.underruns}
        if getattr(self.speaker, "dropped", 0):
            out["dropped"] = self.speaker.dropped
        return out

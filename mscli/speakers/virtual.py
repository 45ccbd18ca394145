"""A virtual speaker: plays each chunk at the capture time it is given, and records it.

What it plays goes to the session's Playback at that time (a virtual microphone with an
`echo` hears it from there) and, when its device file gives a `sink`, into a WAV at the rate
it plays: the WAV's first sample is capture time 0, silence stands where nothing played, so
a sample's place in the file is its capture time.
"""

from __future__ import annotations

import numpy as np

from mscli.speakers.feed import GAP_SAMPLES


class VirtualSpeaker:
    def __init__(self, device, playback, rate: int, channels: int, overwrite: bool):
        self.device = device
        self.rate, self.channels = rate, channels
        self.played = playback.speaker(device.device_id)
        self.underruns = 0  # nothing waits on a virtual speaker's clock: it never runs dry
        self.samples = 0  # played
        self.file = self._writer = None
        self._written = 0  # samples in the WAV
        sink = (device.source or {}).get("sink") if isinstance(device.source, dict) else None
        if sink is not None:
            self._open_sink(sink, overwrite)

    def _open_sink(self, path: str, overwrite: bool) -> None:
        from mscli.sinks.files import open_target
        from mscli.sinks.wav import WavWriter

        self.file = open_target(path, overwrite)
        try:
            self._writer = WavWriter(self.file, self.rate, self.channels)
        except BaseException:
            self.file.discard()
            raise

    def finish(self) -> None:
        pass

    def play(self, data: np.ndarray, time: float) -> None:
        self.played.add(data, self.rate, time)
        self.samples += len(data)
        if self._writer is None:
            return
        silence = round(time * self.rate) - self._written
        if silence > GAP_SAMPLES:
            self._writer.write(np.zeros((silence, self.channels), np.int16))
            self._written += silence
        self._writer.write(data)
        self._written += len(data)

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self.file.close()

    def discard(self) -> None:
        """After a failed start: remove the sink file ms created."""
        if self.file is not None:
            self.file.discard()

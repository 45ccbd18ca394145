"""A virtual speaker: plays each chunk at the capture time it is given, and records it.

What it plays goes to the session's Playback at that time (a virtual microphone with an
`echo` hears it from there) and, when its device file gives a `sink`, into a WAV at the rate
it plays: the WAV's first sample is capture time 0, silence stands where nothing played, so
a sample's place in the file is its capture time. A chunk is handed over before it plays (a
played file leads by 0.2 s): it goes into the WAV, and counts as played, once the capture's
clock has reached it, and the WAV ends where the capture ended (`end`), silence padded to it.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from mscli.speakers.feed import GAP_SAMPLES


class VirtualSpeaker:
    def __init__(self, device, playback, clock, rate: int, channels: int, overwrite: bool):
        self.device = device
        self.clock = clock
        self.rate, self.channels = rate, channels
        self.played = playback.speaker(device.device_id)
        self.underruns = 0  # nothing waits on a virtual speaker's clock: it never runs dry
        self.samples = 0  # played
        self.file = self._writer = None
        self._written = 0  # samples in the WAV
        self._pending: deque[tuple[np.ndarray, int]] = deque()  # (chunk, first sample) ahead
        self._ended = False
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
        if self._ended:
            return
        self.played.add(data, self.rate, time)  # an echo microphone hears it at its time
        self._pending.append((data, round(time * self.rate)))
        self._take(round(self.clock.now() * self.rate), cut=False)

    def end(self, time: float) -> None:
        """The capture ended at capture time `time`: what was handed over for later never
        played; the WAV runs to `time`."""
        if self._ended:
            return
        self._ended = True
        end = round(time * self.rate)
        self._take(end, cut=True)
        self._pending.clear()
        self._silence_to(end, 0)

    def _take(self, end: int, cut: bool) -> None:
        """Play the pending chunks that end by sample `end` (`cut`: the one across it too,
        up to `end`)."""
        while self._pending:
            data, start = self._pending[0]
            if start + len(data) > end:
                if not cut or start >= end:
                    return
                data = data[:end - start]
            self._pending.popleft()
            self.samples += len(data)
            if self._writer is not None:
                self._silence_to(start, GAP_SAMPLES)
                self._writer.write(data)
                self._written += len(data)

    def _silence_to(self, sample: int, tolerance: int) -> None:
        silence = sample - self._written
        if self._writer is not None and silence > tolerance:
            self._writer.write(np.zeros((silence, self.channels), np.int16))
            self._written += silence

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

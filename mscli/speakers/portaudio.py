"""A PortAudio speaker (sounddevice): an OutputStream fed from a bounded buffer.

The writer puts samples into the buffer and never waits: what does not fit is dropped and
counted (`dropped`). PortAudio's thread takes a block per callback; a block the buffer cannot
fill while the writer still plays is an underrun: the rest of the block is silence, counted in
`underruns` (never an exception into PortAudio). PortAudio's own output_underflow flag counts
too. A callback that has nothing at all before the first samples or after the writer finished
is silence, not an underrun.

A writer may come in bursts: a microphone opened with a long latency hands over its blocks a
latency's worth at a time, give or take. So playing starts (and starts again after an
underrun) once one and a half bursts are buffered, which leaves half a burst of slack for the
next one to be late, and the buffer holds three: a steady stream, later by that much, where a
buffer smaller than the bursts dropped most of them and ran dry between them (the hardware
lab's relay at a 1 s microphone latency: 278 underruns, 5 s of samples dropped in 12 s).

Each block goes to the session's Playback with the time its first sample leaves the speaker:
PortAudio's outputBufferDacTime on the capture clock, with the stream clock's offset to
time.monotonic() measured as the microphone source does (backends.portaudio.StreamClock).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from mscli.backends import portaudio
from mscli.errors import NotReadableError

BLOCK_SECONDS = 0.01
BUFFER_SECONDS = 0.5  # what the writer may be ahead of the speaker
OFFSET_BLOCKS = 20  # the clock offset is the best of the first this many callbacks


class SampleBuffer:
    """A bounded FIFO of int16 (samples, channels), safe between two threads."""

    def __init__(self, capacity: int, channels: int):
        self._data = np.zeros((capacity, channels), np.int16)
        self._start = 0  # index of the oldest sample
        self.size = 0
        self._lock = threading.Lock()

    def put(self, data: np.ndarray) -> int:
        """Append what fits; returns how many samples were taken."""
        with self._lock:
            capacity = len(self._data)
            count = min(len(data), capacity - self.size)
            end = (self._start + self.size) % capacity
            first = min(count, capacity - end)
            self._data[end:end + first] = data[:first]
            self._data[:count - first] = data[first:count]
            self.size += count
            return count

    def take(self, out: np.ndarray) -> int:
        """Fill `out` from the oldest samples; returns how many there were (the rest of
        `out` is left as it was)."""
        with self._lock:
            capacity = len(self._data)
            count = min(len(out), self.size)
            first = min(count, capacity - self._start)
            out[:first] = self._data[self._start:self._start + first]
            out[first:count] = self._data[:count - first]
            self._start = (self._start + count) % capacity
            self.size -= count
            return count


class PortAudioSpeaker:
    def __init__(self, device, playback, clock, rate: int, channels: int, burst: float = 0.0):
        """`burst`: the seconds of samples the writer may hand over at once."""
        self.device = device
        self.clock = clock
        self.played = playback.speaker(device.device_id)
        self.underruns = 0
        self.samples = 0  # played (taken by PortAudio)
        self.dropped = 0  # samples the full buffer could not take
        self.error: BaseException | None = None
        self._begun = False  # the first samples came
        self._finished = False  # the writer has nothing more
        self._stream_clock = portaudio.StreamClock(OFFSET_BLOCKS)
        self._stream = None
        self._flowing = False  # playing from the buffer; False: filling it to `_prebuffer`
        self._open(rate, channels, burst)
        self._prebuffer = max(round(self.rate * 1.5 * burst), 1)
        self._buffer = SampleBuffer(round(self.rate * max(BUFFER_SECONDS, 3 * burst)),
                                    self.channels)

    def _open(self, rate: int, channels: int, burst: float) -> None:
        label = self.device.label
        with portaudio.quiet_stderr():  # ALSA's start-up noise
            try:
                sd = portaudio._import_sounddevice()
            except Exception as e:  # BackendUnavailable: PortAudio is not installed
                raise NotReadableError(f"speaker {label!r}: {e}") from None
            index = portaudio.device_index(sd, self.device.source, "max_output_channels")
            if index is None:
                raise NotReadableError(f"speaker {label!r}: cannot open it: PortAudio does "
                                       "not list it any more (unplugged?)")
            info = sd.query_devices()[index]
            self.channels = max(1, min(channels, int(info["max_output_channels"])))
            self.rate = _rate(sd, index, self.channels, rate, info)
            try:
                self._stream = sd.OutputStream(
                    device=index, samplerate=self.rate, channels=self.channels, dtype="int16",
                    blocksize=max(1, round(self.rate * BLOCK_SECONDS)),
                    latency=burst if burst > 2 * BLOCK_SECONDS else "low",
                    callback=self._callback)
            except Exception as e:  # PortAudioError, ValueError: busy, unsupported settings
                raise NotReadableError(f"speaker {label!r}: cannot open it: {e}") from None
        portaudio.open_streams += 1
        try:
            self._stream.start()  # silence until the writer begins: no underrun before
        except Exception as e:
            self.close()
            raise NotReadableError(f"speaker {label!r}: cannot start it: {e}") from None

    def play(self, data: np.ndarray, time: float) -> None:
        """Queue samples; `time` is not used: the DAC says when they leave."""
        self._begun = True
        taken = self._buffer.put(data)
        self.dropped += len(data) - taken

    def finish(self) -> None:
        self._finished = True

    def end(self, time: float) -> None:
        """The capture's end: nothing to do, closing drops what is still queued."""

    # --- PortAudio's thread -----------------------------------------------------------------

    def _callback(self, outdata, frames, time_info, status) -> None:
        try:
            now = time.monotonic()
            ready = self._flowing or self._finished or self._buffer.size >= self._prebuffer
            got = self._buffer.take(outdata) if ready else 0
            outdata[got:] = 0
            ran_dry = ready and got < frames and self._begun and not self._finished
            if getattr(status, "output_underflow", False) or ran_dry:
                self.underruns += 1
            self._flowing = ready and not ran_dry
            self._stream_clock.measure(time_info.currentTime, now)
            self.samples += got
            if got:
                self.played.add(outdata[:got].copy(), self.rate,
                                self._leaves_at(time_info.outputBufferDacTime, now))
        except Exception as e:  # pragma: no cover - a bug here must not kill PortAudio
            self.error = e

    def _leaves_at(self, dac_time: float, now: float) -> float:
        leaves = self._stream_clock.monotonic(dac_time)
        if leaves is not None:
            return self.clock.at(leaves)
        latency = getattr(self._stream, "latency", 0.0) or 0.0  # a host without DAC times
        return self.clock.at(now) + float(latency)

    # --- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """A stop, or the end of the capture: what is still queued is not played."""
        stream, self._stream = self._stream, None
        portaudio.close_stream(stream)

    discard = close


def _rate(sd, index: int, channels: int, wanted: int, info: dict) -> int:
    """The writer's rate if the device takes it, else the device's default rate."""
    try:
        sd.check_output_settings(device=index, channels=channels, dtype="int16",
                                 samplerate=wanted)
        return int(wanted)
    except Exception:  # PortAudioError or ValueError: not at this rate
        return int(info.get("default_samplerate") or 48000)

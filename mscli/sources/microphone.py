"""A PortAudio microphone (sounddevice), captured through a callback that never blocks.

`open()` (before the capture clock starts) finds the device by its PortAudio name, which is
what the listing keyed it by (indices change as devices come and go), and opens an
InputStream in the track's settings: sample rate, channel count, a sample format for its
sample size, the latency asked for, and 10 ms blocks. A device that cannot be opened is
NotReadableError.

PortAudio's thread calls `_callback` with each block: it copies the samples into a bounded
queue with the block's ADC time and returns; a full queue loses the block (counted, never
waited for). The source thread drains the queue into the track. ADC times are on PortAudio's
stream clock; its offset to time.monotonic() is measured at the start from the first blocks:
each callback's `currentTime` paired with time.monotonic() read in the same callback, the
smallest difference winning (the least delayed call). `stream.time` is no good for this:
PortAudio's ALSA host raises "Error getting stream time" right after the start. So each
block's capture time is where its first sample was taken. Overflows (PortAudio's
input_overflow flag, or our queue full) are counted in the track's `overflows`, reported in
`stopped`, and their samples as frames never delivered in the track's statistics: a full
queue loses the block; PortAudio's flag does not say how much the host lost, so it counts as
one block (10 ms).

The stream finishing without our asking, or the sound card disappearing from /proc/asound
while no blocks come, ends the track (`read-error: ...` or `device-disconnected`).
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time

from mscli.backends import portaudio
from mscli.errors import NotReadableError
from mscli.media.frames import AudioFrame
from mscli.sources import SourceThread

BLOCK_SECONDS = 0.01  # one block per 10 ms, the chunk size the track's queue is sized for
QUEUE_BLOCKS = 200  # two seconds of blocks between PortAudio's thread and ours
OFFSET_BLOCKS = 20  # the clock offset is the best of the first this many blocks
POLL_SECONDS = 0.05  # the drain thread checks the stream and the card this often
DTYPES = {16: "int16", 24: "int32", 32: "int32"}  # PortAudio packs 24-bit samples into int32
ALSA_CARD = re.compile(r"\(hw:(\d+),\d+\)")


class MicrophoneSource(SourceThread):
    name = "microphone"

    def __init__(self, track, clock, **timing):
        super().__init__(track, clock, **timing)
        self.track.live = True  # a device does not wait for the sinks (even with --unpaced)
        self._stream = None
        self._queue: queue.Queue = queue.Queue(QUEUE_BLOCKS)
        self._finished = threading.Event()  # PortAudio stopped the stream
        self._stream_clock = portaudio.StreamClock(OFFSET_BLOCKS)
        self._card: tuple[str, str | None] | None = None  # ALSA card number and id, if any
        self._ended = False

    # --- opening --------------------------------------------------------------------------

    def open(self) -> None:
        if self._stream is not None:
            return
        settings = self.track.settings
        rate = int(settings["sampleRate"])
        self._rate = rate
        self._channels = int(settings.get("channelCount", 1))
        self._dtype = DTYPES.get(int(settings.get("sampleSize", 16)), "int16")
        with portaudio.quiet_stderr():  # ALSA's start-up noise
            try:
                sd = portaudio._import_sounddevice()
            except Exception as e:  # BackendUnavailable: PortAudio is not installed
                raise NotReadableError(f"{self.track.label}: {e}") from None
            index = self._find(sd)
            latency = settings.get("latency")
            try:
                self._stream = sd.InputStream(
                    device=index, samplerate=rate, channels=self._channels,
                    dtype=self._dtype, blocksize=max(1, round(rate * BLOCK_SECONDS)),
                    latency=latency if latency else "low", callback=self._callback,
                    finished_callback=self._finished.set)
            except Exception as e:  # PortAudioError, ValueError: busy, unsupported settings
                raise NotReadableError(
                    f"{self.track.label}: cannot open the microphone: {_message(e)}") from None
        portaudio.open_streams += 1
        self.track.overflows = 0
        self._card = _alsa_card(self.track.device.source.get("portaudio_name", ""))

    def _find(self, sd) -> int:
        index = portaudio.device_index(sd, self.track.device.source, "max_input_channels")
        if index is None:
            raise NotReadableError(f"{self.track.label}: cannot open the microphone: "
                                   "PortAudio does not list it any more (unplugged?)")
        return index

    # --- PortAudio's thread -----------------------------------------------------------------

    def _callback(self, indata, frames, time_info, status) -> None:
        """Copy and hand over; never block, never raise into PortAudio."""
        try:
            if status.input_overflow:
                self._lost(frames)
            block = (indata.copy(), time_info.inputBufferAdcTime, time_info.currentTime,
                     time.monotonic())
            self._queue.put_nowait(block)
        except queue.Full:
            self._lost(frames)
        except Exception as e:  # pragma: no cover - a bug here must not kill PortAudio
            self.error = e

    def _lost(self, frames: int) -> None:
        self.track.overflows += 1
        self.track.frames_lost(frames, self._rate)

    # --- the source thread --------------------------------------------------------------------

    def run(self) -> None:
        self.open()
        try:
            self._stream.start()
            self._drain()
        finally:
            self._close()

    def _drain(self) -> None:
        while not self._ended:
            try:
                data, adc_time, now, arrival = self._queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self.stopped:
                    return
                reason = self._why_silent()
                if reason is not None:
                    return self._end(reason)
                if self.past_limit(self.clock.now() - 0.5):
                    return self._finish()  # nothing came for the last stretch of -t
                continue
            if self.stopped:
                return
            self._stream_clock.measure(now, arrival)
            self._deliver(data, adc_time, arrival)

    def _deliver(self, data, adc_time: float, arrival: float) -> None:
        rate = self._rate
        count = len(data)
        taken = self._stream_clock.monotonic(adc_time)
        if taken is not None:
            t = self.clock.at(taken)
        else:  # a host API without ADC times: the block ended when it arrived
            t = self.clock.at(arrival) - count / rate
        if t < self.start_time:  # taken before the capture started: keep only what is after
            skip = min(count, int(round((self.start_time - t) * rate)))
            data, t = data[skip:], t + skip / rate
        if len(data):
            self.track.deliver(AudioFrame(_int16(data), rate, round(t * rate), t))
        if self.track.limit_reached:  # the track cuts the last block at the limit's sample
            self._finish()

    def _why_silent(self) -> str | None:
        """Why blocks stopped coming, if the stream or the card says so."""
        if self._card_gone():
            return "device-disconnected"
        if self._finished.is_set() or (self._stream is not None and not self._stream.active):
            return "read-error: the audio stream stopped"
        if self.error is not None:
            return f"read-error: {self.error}"
        return None

    def _card_gone(self) -> bool:
        if self._card is None:
            return False
        number, card_id = self._card
        try:
            with open(os.path.join(portaudio.PROC_ASOUND, f"card{number}", "id")) as f:
                return card_id is not None and f.read().strip() != card_id
        except OSError:
            return True  # the card is gone (or another took its number: see the id)

    def _end(self, reason: str) -> None:
        self._ended = True
        self.track.source_ended(reason, at=self.clock.now())

    def _finish(self) -> None:
        self._ended = True
        self.track.source_finished()

    def stop(self) -> None:
        super().stop()
        if self._thread.ident is None:
            self._close()  # opened but never started (a later source or output failed)

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        portaudio.close_stream(stream)


def _int16(data):
    """The track's samples are int16: 24- and 32-bit ones (in int32) keep their top bits."""
    if data.dtype.itemsize == 2:
        return data
    return (data >> 16).astype("int16")


def _alsa_card(name: str) -> tuple[str, str | None] | None:
    """(card number, card id) of an ALSA hardware device name like "X: PCM (hw:1,0)"."""
    match = ALSA_CARD.search(name)
    if not match:
        return None
    number = match.group(1)
    return number, portaudio._card_id(number)


def _message(e: Exception) -> str:
    text = str(e)
    if "Device unavailable" in text or "busy" in text.lower():
        return f"{text} (busy: another program may be using it)"
    return text

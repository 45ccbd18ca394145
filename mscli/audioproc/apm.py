"""The WebRTC audio processing module on one microphone track (pywebrtc-audio).

The track's audio, already at its settings' rate and channel count (track.AudioProcessor), is
cut into 10 ms blocks and runs through echo cancellation -> noise suppression -> automatic gain
control, each only where its setting is true. The binding's standalone modules are used: at
48 kHz its standalone NoiseSuppressor lowers white noise by ~18 dB where the combined
AudioProcessor manages ~7 dB, and echo cancellation and gain control measure the same either
way (README "Audio processing"; bench/audioproc.py). They run at 16, 32 or 48 kHz only, so a
track at another rate is resampled to 48 kHz for them and back (libswresample, which keeps
sample k of the input at sample k * ratio of the output: no time shift).

Timing: an output frame's pts (and time) is the track-timeline position of its first sample,
the capture time of that sample. A block is processed only once its last sample has arrived, so
the wait (up to 10 ms, plus the resampler's few held-back samples) shows in the track's latency
statistics, which measure from a frame's time to its delivery.

Echo cancellation's far end is what the capture plays (farend.Playback.mix) over the same span
of capture time as the block; the module estimates the echo path's delay itself. With nothing
played the far end is silence: the canceller still runs (and the setting stays true), ready for
a player that starts later.

Runs on the source's thread (the binding's objects are not thread-safe), never on PortAudio's
callback thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from mscli.media.frames import AudioFrame

RATES = (16000, 32000, 48000)  # the standalone modules' rates
PROCESSING_RATE = 48000  # what a track at another rate is processed at
NS_LEVEL = 2  # WebRTC's "high" suppression (18 dB), the level Chrome asks for
# The most channels one module takes: at 17 the binding's noise suppressor and echo canceller
# abort the process (a failed check in WebRTC), so wider tracks are processed in groups.
MAX_CHANNELS = 16
# Echo cancellation hears the far end this much before its time: an echo can only be modelled
# from what played before it, and a loopback card's echo comes at delay 0 (echoDelay -0.2 to
# 1.2 ms over snd-aloop, timestamps being what they are): without it the module took 3-14 dB
# off such an echo instead of ~30. What plays 5 ms ahead is known: players hand their samples
# over earlier than that, and a block is processed after its last sample was captured.
FAR_END_AHEAD = 0.005


def _binding(settings: dict):
    """The binding, imported; NotReadableError when it is found but does not load (a shared
    library missing, a wheel built for another Python): caps offered the processing."""
    try:
        import pywebrtc_audio
    except ImportError as e:
        from mscli.audioproc import PACKAGE, SETTINGS
        from mscli.errors import NotReadableError

        asked = [name for name in SETTINGS if settings.get(name) is True]
        raise NotReadableError(
            f"{' and '.join(asked)}: the audio processing module {PACKAGE} is installed but "
            f"does not load ({e}); reinstall it (pip install --force-reinstall {PACKAGE}) or "
            "ask for the processing off") from None
    return pywebrtc_audio


class Modules:
    """The binding's modules one track's settings ask for, at one rate; 10 ms blocks in."""

    def __init__(self, settings: dict, rate: int, channels: int,
                 playback: Callable[[], object] = lambda: None):
        webrtc = _binding(settings)
        self.rate, self.channels = rate, channels
        self.size = rate // 100
        self._playback = playback
        self._silence = np.zeros(self.size * channels, np.int16)
        self.echo = self.noise = self.gain = None
        if settings.get("echoCancellation") is True:
            # No delay hint: both ends' times are at the converters (ADC / DAC), so the far
            # end read at a block's own time is already aligned but for the echo's path, which
            # the module finds itself. Hinting the input latency on top made a loopback's
            # echo (delay 0) go uncancelled: 8 dB instead of 30 with a 0.2 s latency setting,
            # 10 dB over snd-aloop in the hardware lab.
            self.echo = webrtc.EchoCanceller(rate, channels, stream_delay_ms=0)
        if settings.get("noiseSuppression") is True:
            self.noise = webrtc.NoiseSuppressor(rate, channels, level=NS_LEVEL)
        if settings.get("autoGainControl") is True:
            self.gain = webrtc.GainController(rate, channels)

    def process(self, block: np.ndarray, time: float) -> np.ndarray:
        """One 10 ms block, int16 (size, channels), whose first sample was captured at `time`."""
        x = np.ascontiguousarray(block).reshape(-1)  # interleaved, as the binding takes it
        if self.echo is not None:
            x = self.echo.process(x, self._far_end(time))
        if self.noise is not None:
            x = self.noise.process(x)
        if self.gain is not None:
            x = self.gain.process(x)
        return x.reshape(self.size, self.channels)

    def _far_end(self, time: float) -> np.ndarray:
        playback = self._playback()
        if playback is None or not playback.playing:
            return self._silence
        far = playback.mix(time + FAR_END_AHEAD, self.size, self.rate)
        far = np.clip(np.round(far * 32768), -32768, 32767).astype(np.int16)
        return np.repeat(far, self.channels)  # the same reference in every channel


class Processing:
    """A track's frames in, processed frames out, on the same timeline.

    Frames come with contiguous pts until a gap (track.AudioProcessor leaves one for a stall):
    a run of contiguous samples ends there, its last part block is processed padded with
    silence and cut back, and a new run starts. Between runs nothing is processed."""

    def __init__(self, settings: dict, playback: Callable[[], object] = lambda: None):
        self.rate = settings["sampleRate"]
        self.channels = settings["channelCount"]
        self.processing_rate = self.rate if self.rate in RATES else PROCESSING_RATE
        self.size = self.processing_rate // 100
        self.modules = [Modules(settings, self.processing_rate,
                                min(MAX_CHANNELS, self.channels - first), playback)
                        for first in range(0, self.channels, MAX_CHANNELS)]
        self._run_pts: int | None = None  # pts of the current run's first sample
        self._taken = self._given = 0  # samples of the run in and out (track's rate)
        self._done = 0  # samples of the run processed (processing rate)
        self._pending = self._empty()
        self._to = self._back = None  # resamplers to and from the processing rate

    def process(self, frame: AudioFrame) -> Iterator[AudioFrame]:
        if self._run_pts is not None and frame.pts != self._run_pts + self._taken:
            yield from self.flush()
        if self._run_pts is None:
            self._start(frame.pts)
        self._taken += frame.samples
        data = frame.data if self._to is None else self._to.convert(frame.data)
        out = self._blocks(np.concatenate([self._pending, data]))
        yield from self._emit(out if self._back is None else self._back.convert(out))

    def flush(self) -> Iterator[AudioFrame]:
        """The end of a run: what is still held, processed."""
        if self._run_pts is None:
            return
        rest = self._pending if self._to is None \
            else np.concatenate([self._pending, self._to.flush()])
        pad = -len(rest) % self.size  # silence up to a whole block, cut off after
        padded = np.concatenate([rest, np.zeros((pad, self.channels), np.int16)])
        out = self._blocks(padded)[:len(rest)]
        if self._back is not None:
            out = np.concatenate([self._back.convert(out), self._back.flush()])
        # Resampling there and back may round the count by a sample: the run keeps its length.
        missing = self._taken - self._given
        out = np.concatenate([out[:missing], np.zeros((max(missing - len(out), 0),
                                                       self.channels), np.int16)])
        yield from self._emit(out)
        self._run_pts = None

    def _start(self, pts: int) -> None:
        self._run_pts, self._taken, self._given, self._done = pts, 0, 0, 0
        self._pending = self._empty()
        if self.rate not in RATES:
            from mscli.media.convert import AudioConverter

            self._to = AudioConverter(self.rate, self.channels, PROCESSING_RATE, self.channels)
            self._back = AudioConverter(PROCESSING_RATE, self.channels, self.rate, self.channels)

    def _blocks(self, data: np.ndarray) -> np.ndarray:
        """The whole blocks of `data` processed; the rest is kept for the next call."""
        size = self.size
        whole = len(data) // size * size
        self._pending = data[whole:]
        start = self._run_pts / self.rate
        out = [self._block(data[i:i + size], start + (self._done + i) / self.processing_rate)
               for i in range(0, whole, size)]
        self._done += whole
        return np.concatenate(out) if out else self._empty()

    def _block(self, block: np.ndarray, time: float) -> np.ndarray:
        if len(self.modules) == 1:
            return self.modules[0].process(block, time)
        groups = np.array_split(block, range(MAX_CHANNELS, self.channels, MAX_CHANNELS), axis=1)
        return np.concatenate([m.process(g, time) for m, g in zip(self.modules, groups)],
                              axis=1)

    def _emit(self, out: np.ndarray) -> Iterator[AudioFrame]:
        out = out[:self._taken - self._given]  # never past the run's input (resampler rounding)
        if len(out):
            pts = self._run_pts + self._given
            self._given += len(out)
            yield AudioFrame(out, self.rate, pts, pts / self.rate)

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.channels), np.int16)

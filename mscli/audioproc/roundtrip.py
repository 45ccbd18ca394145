"""The measured playout-to-capture delay of an audio track: how long what ms plays takes to
come back through the microphone (a room's or a device's audio latency).

What was played (`Playback.mix`, on the capture clock, each sample at the time it leaves the
speaker) is correlated with what the microphone captured, in windows of WINDOW seconds, at
every delay from MIN_DELAY to MAX_DELAY. The microphone's side is the frames its source
delivers, before the track converts or processes them: echo cancellation exists to remove
the very echo measured here, noise suppression and gain control reshape it, and the source's
frames carry the capture time of their first sample, the other end of the interval measured.

Each window's estimate is the delay of the strongest normalised cross-correlation, kept only
when the window is confident:
- the echo explains a part of what was captured (|correlation| >= MIN_CORRELATION; noise
  that was never played reached 0.033 in 60 half-second windows of noise against speech,
  tone bursts and noise);
- the peak is one: the correlation's envelope falls below half its peak within MAX_LOBE on
  either side (a pure tone correlates with itself at every period, so its envelope never
  falls: no delay can be told from a steady tone), and nowhere outside that lobe comes within
  AMBIGUITY of the peak (a train of bursts repeating within the delays searched matches as
  well one period away).
The track's delay is the median of its confident windows; none is None (nothing played, or
nothing heard clearly). The source's thread only gathers samples; each full window (at most
one every WINDOW seconds) and the last partial one are correlated on a thread of their own, so
that the source's frames never wait for it (in the hardware lab's emulated guest one window
takes most of a second, and a microphone played back by `-o speaker` stuttered while it ran on
the source's thread). Only a machine that falls two windows behind makes the source wait.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

WINDOW = 2.0  # seconds of capture per estimate: a few words of speech, several bursts
MIN_WINDOW = 0.5  # the last, partial window counts from this long
MAX_DELAY = 1.0  # seconds: a Bluetooth speaker's 200-300 ms with room to spare
# Sound cannot come back before it left, but the times can say so: a device that reports
# more output or input latency than it has makes the echo early by the difference, which is
# worth a number (it is the error echo cancellation has to absorb) rather than nothing.
MIN_DELAY = -0.1
# The echo explains at least 1 % (0.1 squared) of the captured power: an echo 15 dB below the
# microphone's noise still counts (0.17), noise alone stays three times below.
MIN_CORRELATION = 0.1
AMBIGUITY = 0.8  # the best match outside the peak's lobe, as a share of the peak
LOBE_LEVEL = 0.5  # the lobe of the peak: where the envelope stays above this share of it
MAX_LOBE = 0.2  # seconds either side: a wider lobe is a delay that cannot be told
# A chunk starting this far from where the window's samples end breaks the window (a stall,
# lost blocks): its samples would sit at the wrong delay. Within it, the sample count rules
# (block times jitter; the track's AudioProcessor follows the same rule).
BREAK_SECONDS = 0.02
# Played power below this (full scale 1.0, about -80 dBFS) is nothing played in the window.
SILENT_POWER = 1e-8
PENDING = 2  # windows handed to the correlating thread and not done, at most


class EchoDelay:
    """The delay of one audio track's echo of what the capture plays; `observe` each frame
    the source delivers (the source's thread), `delay_ms` when the capture stopped."""

    def __init__(self, playback, window: float = WINDOW):
        self.playback = playback
        self.window = window
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []  # mono float32 captured since _start
        self._count = 0
        self._start: float | None = None  # capture time of the window's first sample
        self._rate: int | None = None
        self.delays: list[float] = []  # seconds, one per confident window
        self._worker: ThreadPoolExecutor | None = None  # made when the first window closes
        self._pending: list = []  # the futures of the windows handed to it
        self._finished = False  # delay_ms was asked: a late frame changes nothing

    def observe(self, frame) -> None:
        """An AudioFrame as the source delivered it (int16, (samples, channels))."""
        if not self.playback.playing:
            return  # nothing played yet: nothing can come back
        with self._lock:
            if self._finished:
                return
            if self._start is not None and (
                    frame.sample_rate != self._rate or
                    abs(frame.time - self._start - self._count / self._rate) > BREAK_SECONDS):
                self._close_window(MIN_WINDOW)
            if self._start is None:
                self._start, self._rate = frame.time, frame.sample_rate
            self._chunks.append(frame.data.astype(np.float32).mean(axis=1) / 32768.0)
            self._count += len(frame.data)
            if self._count >= self.window * self._rate:
                self._close_window(self.window)

    def delay_ms(self) -> float | None:
        """The median delay of the confident windows in milliseconds (to 0.1), counting the
        last partial window; None when no window was confident."""
        with self._lock:
            if not self._finished:
                self._close_window(MIN_WINDOW)
                self._finished = True
            worker = self._worker
        if worker is not None:
            worker.shutdown(wait=True)  # the windows handed over, estimated
        if not self.delays:
            return None
        return round(float(np.median(self.delays)) * 1000, 1)

    def _close_window(self, shortest: float) -> None:
        """Hand the window's samples to the correlating thread if the window is at least
        `shortest` long; start anew."""
        self._pending = [f for f in self._pending if not f.done()]
        if self._start is not None and self._count >= shortest * self._rate:
            if len(self._pending) >= PENDING:
                self._pending.pop(0).result()  # fallen behind: memory stays bounded
            if self._worker is None:
                # Imported here: only a capture that plays something gets a window to
                # correlate, and concurrent.futures is ~1 ms of every capture's start-up.
                from concurrent.futures import ThreadPoolExecutor

                self._worker = ThreadPoolExecutor(1, thread_name_prefix="ms-echo-delay")
            self._pending.append(self._worker.submit(
                self._estimate, self._chunks, self._start, self._rate))
        self._chunks, self._count, self._start = [], 0, None

    def _estimate(self, chunks: list, start: float, rate: int) -> None:
        """One window's delay, on the correlating thread."""
        captured = np.concatenate(chunks)
        lead, late = round(MAX_DELAY * rate), round(-MIN_DELAY * rate)
        played = self.playback.mix(start - lead / rate, lead + len(captured) + late, rate)
        delay = estimate(captured, played, rate, lead)
        if delay is not None:
            self.delays.append(delay)  # list.append is atomic; read once the thread is done


def estimate(captured: np.ndarray, played: np.ndarray, rate: int,
             lead: int) -> float | None:
    """The delay in seconds at which `captured` best matches `played`, which starts `lead`
    samples before it and may run on past its end (the delays from `lead` samples down to
    minus what runs on); None when nothing was played or the match is not confident (module
    docstring)."""
    captured_power = float(np.dot(captured, captured))
    if captured_power <= 0 or float(np.dot(played, played)) <= SILENT_POWER * len(played):
        return None
    rho = correlation(captured, played)
    # captured[i] ~ played[i + m] for an echo delayed by d = (lead - m) / rate
    peak = int(np.argmax(np.abs(rho)))
    if abs(rho[peak]) < MIN_CORRELATION or not _single_peak(envelope(rho), peak, rate):
        return None
    return (lead - peak) / rate


def correlation(captured: np.ndarray, played: np.ndarray) -> np.ndarray:
    """rho[m] = <captured, played[m:m + n]> / (|captured| |played[m:m + n]|) for every m
    that fits (n = len(captured)): the share of the captured signal that played, m samples
    in, explains. A played stretch
    much quieter than the loudest is normalised as if it were a tenth as loud, so that a
    near-silent stretch's noise does not read as a match."""
    n = len(captured)
    max_lag = len(played) - n
    size = 1 << (n + len(played) - 1).bit_length()
    spectrum = np.fft.rfft(played, size) * np.conj(np.fft.rfft(captured, size))
    cross = np.fft.irfft(spectrum, size)[:max_lag + 1]
    energy = np.concatenate(([0.0], np.cumsum(played.astype(np.float64) ** 2)))
    stretch = energy[n:n + max_lag + 1] - energy[:max_lag + 1]  # power of played[m:m + n]
    stretch = np.maximum(stretch, 0.1 * stretch.max())
    return cross / np.sqrt(stretch * float(np.dot(captured, captured)))


def envelope(signal: np.ndarray) -> np.ndarray:
    """The magnitude of the analytic signal: a correlation's shape without its carrier (a
    tone burst's correlation oscillates at the tone; its envelope is one hump)."""
    size = len(signal)
    spectrum = np.fft.fft(signal)
    gain = np.zeros(size)
    gain[0] = 1.0
    gain[1:(size + 1) // 2] = 2.0
    if size % 2 == 0:
        gain[size // 2] = 1.0
    return np.abs(np.fft.ifft(spectrum * gain))


def _single_peak(shape: np.ndarray, peak: int, rate: int) -> bool:
    """The envelope has one clear hump at `peak` (module docstring)."""
    top = shape[peak]
    below = shape < LOBE_LEVEL * top
    lobe = round(MAX_LOBE * rate)
    left = np.flatnonzero(below[max(peak - lobe, 0):peak])
    right = np.flatnonzero(below[peak:peak + lobe + 1])
    if (not len(left) and peak > lobe) or (not len(right) and peak + lobe < len(shape) - 1):
        return False  # the hump is wider than MAX_LOBE: a steady tone, no single delay
    start = max(peak - lobe, 0) + left[-1] if len(left) else 0
    end = peak + right[0] if len(right) else len(shape)
    outside = np.concatenate((shape[:start], shape[end:]))
    return not len(outside) or outside.max() < AMBIGUITY * top

"""The virtual camera (moving pattern) and microphone (tone), with their scripted faults.

Frame n of the pattern has capture time n / rate exactly (the nominal time), so pts are exact
whether the source is paced in real time or runs `--unpaced` as fast as the sinks take frames.
Faults act on that same timeline: `mute` delivers nothing for its duration, `frameRate`
changes the spacing of frames, `end` and `disconnect` end the track.
"""

from __future__ import annotations

from fractions import Fraction

from mscli.devices import Fault
from mscli.media.frames import AudioFrame, VideoFrame
from mscli.sources import SourceThread

AUDIO_CHUNK_SECONDS = 0.01
END_REASONS = {"end": "device-ended", "disconnect": "device-disconnected"}


class FaultScript:
    """The device's faults as questions about a capture time."""

    def __init__(self, faults: tuple[Fault, ...]):
        self.faults = faults

    def ending(self, t: float) -> Fault | None:
        return next((f for f in self.faults
                     if f.event in END_REASONS and f.at <= t + 1e-9), None)

    def muted(self, t: float) -> bool:
        return any(f.event == "mute" and f.at <= t + 1e-9
                   and (f.duration is None or t < f.at + f.duration - 1e-9)
                   for f in self.faults)

    def rate(self, t: float, native: float) -> float:
        rate = native
        for f in self.faults:
            if f.event == "frameRate" and f.at <= t + 1e-9:
                rate = f.value
        return rate


class PatternSource(SourceThread):
    name = "pattern"

    def run(self) -> None:
        from mscli.media.pattern import PatternGenerator

        mode = self.track.mode
        native = Fraction(mode.frame_rate).limit_denominator(1001)
        generator = PatternGenerator(mode.width, mode.height, native)
        script = FaultScript(self.track.device.faults)
        t = 0.0
        while True:
            if self.past_limit(t):
                return self.track.source_finished()
            fault = script.ending(t)
            if fault is not None:
                if self.wait_until(fault.at):
                    self.track.source_ended(END_REASONS[fault.event], at=fault.at)
                return
            if not self.wait_until(t):
                return
            if not script.muted(t):
                index = round(t * native)  # the native frame slot: burned into the picture
                self.track.deliver(VideoFrame(generator.frame(index), mode.width, mode.height,
                                              index, 1 / native, t, index))
            t += 1.0 / script.rate(t, float(native))


class ToneSource(SourceThread):
    """The tone is generated at the track's own rate and channel count (a virtual microphone
    supports every value it lists natively), in 10 ms chunks."""

    name = "tone"

    def run(self) -> None:
        from mscli.media.tone import ToneGenerator

        rate = self.track.settings["sampleRate"]
        channels = self.track.settings["channelCount"]
        generator = ToneGenerator(rate, channels)
        chunk = max(1, round(rate * AUDIO_CHUNK_SECONDS))
        script = FaultScript(self.track.device.faults)
        k = 0
        while True:
            start = k * chunk
            t = start / rate
            if self.past_limit(t):
                return self.track.source_finished()
            fault = script.ending(t)
            if fault is not None:
                if self.wait_until(fault.at):
                    self.track.source_ended(END_REASONS[fault.event], at=fault.at)
                return
            count = chunk if self.until is None else \
                min(chunk, round(self.until * rate) - start)
            if not self.wait_until(t + count / rate):  # a chunk exists once recorded
                return
            if not script.muted(t):
                self.track.deliver(AudioFrame(generator.samples(start, count), rate, start, t))
            k += 1

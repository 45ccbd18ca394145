"""The virtual camera (moving pattern) and microphone (tone), with their scripted faults.

Frame n of the pattern has capture time n / rate exactly (the nominal time), so pts are exact
whether the source is paced in real time or runs `--unpaced` as fast as the sinks take frames.
Faults act on that same timeline: `mute` delivers nothing for its duration, `frameRate`
changes the spacing of frames, `end` and `disconnect` end the track (a `disconnect` with a
duration brings the device back afterwards, for --reconnect), `control` changes a camera
control as if someone turned it on the device (configurationchange); `black`, `freeze`,
`silence` and `clip` change what the frames show (faults.ContentFaults).

A source follows its track's mode and settings as they are when each frame is made, so an
applyConstraints that picks another native mode switches the generator in flight.
"""

from __future__ import annotations

from fractions import Fraction

from mscli.media.frames import AudioFrame, VideoFrame
from mscli.network.latency import epoch_number
from mscli.sources import SourceThread
from mscli.sources.faults import ContentFaults, FaultScript
from mscli.sources.virtual_camera import VirtualCameraSource

AUDIO_CHUNK_SECONDS = 0.01


class PatternSource(VirtualCameraSource):
    """The moving pattern, showing the device's controls as they are when each frame is
    made (virtual_camera.py)."""

    name = "pattern"

    def run(self) -> None:
        from mscli.media.pattern import PatternGenerator

        script = FaultScript(self.track.device.faults, self.start_time)
        content = ContentFaults(script)
        mode = generator = shown = None
        t = self.start_time
        epoch = self._epoch()
        while True:
            if self.track.mode != mode:
                mode = self.track.mode
                native = Fraction(mode.frame_rate).limit_denominator(1001)
                generator = PatternGenerator(mode.width, mode.height, native,
                                             controls=self.track.device.controls)
                shown = None
                t = self._align(t, native, epoch or 0)
            if not self.still_running(script, t) or not self.wait_until(t):
                return
            self.progress = t
            values = self.controls_at(script, t)
            if values is not shown:
                shown = values
                generator.set_controls(shown)
            if not script.muted(t):
                index = round(t * native)  # the native frame slot
                # burned into the picture: the slot, or the slot since the Unix epoch
                number = index if epoch is None else epoch_number(epoch + t, native)
                frame = VideoFrame(generator.frame(number), mode.width, mode.height, index,
                                   1 / native, t, index)
                if self.track.mode != mode:
                    # applyConstraints chose another native mode while this one waited for
                    # t: the track now takes frames of that mode only (a smaller old one
                    # cannot be scaled up, and ended the track): make t's frame in it.
                    continue
                self.track.deliver(content.video(frame))
            t += 1.0 / script.rate(t, float(native))

    def _epoch(self) -> Fraction | None:
        """The wall-clock time of capture time 0 when the burned-in numbers count from the
        Unix epoch (`"frameNumbers": "epoch"`, for glass-to-glass latency: network/latency.py),
        else None."""
        spec = self.track.device.source
        if isinstance(spec, dict) and spec["pattern"]["frameNumbers"] == "epoch":
            return Fraction(self.clock.wall(0.0))
        return None

    @staticmethod
    def _align(t: float, rate: Fraction, epoch: Fraction = 0) -> float:
        """The first frame time at or after t on the rate's grid (exact nominal times), a
        grid that starts at the wall clock's epoch when the numbers count from it: each
        frame's capture time is then exactly its number's."""
        slot = -(-(Fraction(t).limit_denominator(1_000_000) + epoch) * rate // 1)
        return float(slot / rate - epoch)


class ToneSource(SourceThread):
    """The tone is generated at the track's own rate and channel count (a virtual microphone
    supports every value it lists natively), in 10 ms chunks."""

    name = "tone"

    def run(self) -> None:
        script = FaultScript(self.track.device.faults, self.start_time)
        content = ContentFaults(script)
        generator = None
        t = self.start_time
        while True:
            rate = self.track.settings["sampleRate"]
            channels = self.track.settings["channelCount"]
            if generator is None or (generator.sample_rate, generator.channels) != \
                    (rate, channels):
                generator = self.generator(rate, channels)
            if not self.still_running(script, t):
                return
            start = round(t * rate)
            count = max(1, round(rate * AUDIO_CHUNK_SECONDS))
            if self.until is not None:
                count = min(count, round(self.until * rate) - start)
                if count < 1:  # the limit falls between samples (0.5 s at 11025 Hz): done
                    self.track.source_finished()
                    return
            if not self.wait_until((start + count) / rate):  # a chunk exists once recorded
                return
            self.progress = (start + count) / rate
            if not script.muted(t):
                self.track.deliver(content.audio(AudioFrame(generator.samples(start, count),
                                                            rate, start, t)))
            t = (start + count) / rate

    def generator(self, rate: int, channels: int):
        """What makes the samples: .samples(start, count), .sample_rate, .channels."""
        from mscli.media.tone import ToneGenerator

        return ToneGenerator(rate, channels)

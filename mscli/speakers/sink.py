"""`-o speaker[:DEVICE]`: the audio track played on a speaker, as one of the outputs."""

from __future__ import annotations

from mscli.outputs import Sink
from mscli.speakers.output import SpeakerOutput


class SpeakerSink(Sink):
    def __init__(self, plan, settings: dict[str, dict], playback, clock, overwrite: bool):
        super().__init__(plan, settings)
        rate, channels = self.audio_format
        self.output = SpeakerOutput(plan.device, f"-o {plan.target}", playback, clock, rate,
                                    channels, overwrite)

    def _write(self, frame) -> None:
        self.output.write(frame.data, frame.time)

    def _close(self) -> None:
        try:
            self.output.finish()
        finally:
            self.output.close()

    def discard(self) -> None:
        self.output.discard()

    def report(self) -> dict:
        return self.output.report()

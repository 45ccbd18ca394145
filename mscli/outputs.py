"""Where the tracks go: `-o PATH`, `-o -` (stdout) and `-o KIND=PATH`, checked before anything
is opened, then opened as one sink each (y4m, WAV, image, or a PyAV recording)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from fractions import Fraction

from mscli.errors import UsageError

KINDS = ("audio", "video")


@dataclass
class OutputPlan:
    target: str  # a path or "-"
    kinds: tuple[str, ...]  # which tracks it takes
    format: str  # a name from mscli.sinks.formats.FORMATS


def plan_outputs(specs: list[str], track_kinds: list[str], format_override: str | None,
                 overwrite: bool) -> list[OutputPlan]:
    """Check every -o against the tracks before anything opens; UsageError says why not."""
    from mscli.sinks.formats import check_output  # not recorder.py: no PyAV for y4m/WAV

    if not specs:
        raise UsageError("no output: give -o FILE (e.g. -o out.mkv), -o - for stdout, "
                         "or -o null to discard")
    plans, routed = [], set()
    for spec in specs:
        kind, target = _split(spec)
        if kind is not None and kind not in track_kinds:
            raise UsageError(f"-o {spec}: the constraints request no {kind} track")
        kinds = (kind,) if kind else tuple(k for k in KINDS if k in track_kinds)
        if target == "null":
            plans.append(OutputPlan(target, kinds, "null"))
        else:
            fmt = check_output(target, set(kinds), format_override, overwrite=overwrite)
            plans.append(OutputPlan(target, kinds, fmt))
        routed.update(kinds)
    if sum(p.target == "-" for p in plans) > 1:
        raise UsageError("only one output can be stdout (-o -)")
    for kind in track_kinds:
        if kind not in routed:
            raise UsageError(f"the {kind} track has no output: add -o {kind}=FILE "
                             f"or leave {kind} out of the constraints")
    return plans


def _split(spec: str) -> tuple[str | None, str]:
    for kind in KINDS:
        if spec.startswith(kind + "="):
            return kind, spec[len(kind) + 1:]
    return None, spec


class Sink:
    """One opened output: takes the frames of its tracks, in time order, in the format it was
    opened with."""

    done = False  # an image sink is done after its frame

    def __init__(self, plan: OutputPlan, settings: dict[str, dict]):
        self.plan = plan
        self.name = "<stdout>" if plan.target == "-" else plan.target
        video, audio = settings.get("video"), settings.get("audio")
        self.video_size = (video["width"], video["height"]) if video else None
        self.audio_format = (audio["sampleRate"], audio["channelCount"]) if audio else None
        self._converter = None

    def fit(self, frame):
        """An open file cannot change its picture size or sample format: after --reapply
        changed a track's settings, frames are scaled (or audio converted) to what it has."""
        from mscli.media.frames import AudioFrame, VideoFrame

        if isinstance(frame, VideoFrame):
            if self.video_size in (None, (frame.width, frame.height)):
                return frame
            from mscli.media.convert import scale_i420

            w, h = self.video_size
            data = scale_i420(frame.data, frame.width, frame.height, w, h)
            return VideoFrame(data, w, h, frame.pts, frame.time_base, frame.time, frame.index)
        if isinstance(frame, AudioFrame) and self.audio_format not in (
                None, (frame.sample_rate, frame.channels)):
            from mscli.media.convert import AudioConverter

            if self._converter is None or (self._converter.src_rate,
                                           self._converter.src_channels) != \
                    (frame.sample_rate, frame.channels):
                self._converter = AudioConverter(frame.sample_rate, frame.channels,
                                                 *self.audio_format)
            return self._converter.convert_frame(frame)
        return frame

    def write(self, frame) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    @property
    def bytes_written(self) -> int:
        return 0


class NullSink(Sink):
    def write(self, frame) -> None:
        pass


class _StreamSink(Sink):
    """y4m and WAV: ms's own writers on a file object ms opened (or stdout)."""

    def __init__(self, plan: OutputPlan, settings: dict[str, dict], overwrite: bool):
        super().__init__(plan, settings)
        if plan.target == "-":
            self._file = os.fdopen(sys.stdout.fileno(), "wb", closefd=False)
        else:
            self._file = open(plan.target, "wb" if overwrite else "xb")

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self._file.close()

    @property
    def bytes_written(self) -> int:
        return self.writer.bytes_written


class Y4MSink(_StreamSink):
    def __init__(self, plan: OutputPlan, settings: dict[str, dict], overwrite: bool):
        from mscli.sinks.y4m import Y4MWriter

        super().__init__(plan, settings, overwrite)
        video = settings["video"]
        rate = Fraction(video["frameRate"]).limit_denominator(1001)
        self.writer = Y4MWriter(self._file, video["width"], video["height"], rate)

    def write(self, frame) -> None:
        self.writer.write(frame)


class WavSink(_StreamSink):
    def __init__(self, plan: OutputPlan, settings: dict[str, dict], overwrite: bool):
        from mscli.sinks.wav import WavWriter

        super().__init__(plan, settings, overwrite)
        audio = settings["audio"]
        self.writer = WavWriter(self._file, audio["sampleRate"], audio["channelCount"])

    def write(self, frame) -> None:
        self.writer.write(frame)


class ImageSink(Sink):
    def __init__(self, plan: OutputPlan, settings: dict[str, dict]):
        super().__init__(plan, settings)
        self._bytes = 0

    def write(self, frame) -> None:
        from mscli.sinks.image import write_image

        if not self.done:
            self._bytes = write_image(frame, self.plan.target, self.plan.format)
            self.done = True

    @property
    def bytes_written(self) -> int:
        return self._bytes


class RecorderSink(Sink):
    def __init__(self, plan: OutputPlan, settings: dict[str, dict], options: dict):
        from mscli.sinks.recorder import AudioSpec, Recorder, VideoSpec

        super().__init__(plan, settings)
        video = audio = None
        if "video" in settings:
            s = settings["video"]
            video = VideoSpec(s["width"], s["height"],
                              Fraction(s["frameRate"]).limit_denominator(1001))
        if "audio" in settings:
            s = settings["audio"]
            audio = AudioSpec(s["sampleRate"], s["channelCount"])
        self.recorder = Recorder(plan.target, plan.format, video, audio, **options)

    def write(self, frame) -> None:
        from mscli.media.frames import VideoFrame

        if isinstance(frame, VideoFrame):
            self.recorder.write_video(frame)
        else:
            self.recorder.write_audio(frame)

    def close(self) -> None:
        self.recorder.close()

    @property
    def bytes_written(self) -> int:
        return self.recorder.bytes_written


def open_sink(plan: OutputPlan, settings: dict[str, dict], options: dict,
              overwrite: bool) -> Sink:
    """settings: the settings of each track kind the output takes."""
    if plan.format == "null":
        return NullSink(plan, settings)
    if plan.format == "y4m":
        return Y4MSink(plan, settings, overwrite)
    if plan.format == "wav":
        return WavSink(plan, settings, overwrite)
    if plan.format in ("png", "jpg"):
        return ImageSink(plan, settings)
    return RecorderSink(plan, settings, options)

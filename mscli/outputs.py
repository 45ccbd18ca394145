"""Where the tracks go: `-o PATH`, `-o -` (stdout), `-o KIND=PATH`, `-o speaker[:DEVICE]` and
`-o URL`, checked before anything is opened, then opened as one sink each (y4m, WAV, image, a
PyAV recording, a speaker: mscli/speakers, or a publication: mscli/network; WebRTC's
whip+http(s):// in whip.py)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction

from mscli import messages
from mscli.errors import AbortError, UsageError
from mscli.network.urls import protocol_of, scheme
from mscli.speakers.plan import is_speaker, refuse_shared, speaker_files

KINDS = ("audio", "video")


@dataclass
class OutputPlan:
    target: str  # a path or "-"
    kinds: tuple[str, ...]  # which tracks it takes
    format: str  # a name from mscli.sinks.formats.FORMATS, "speaker", "url" or "whip"
    device: object = None  # a speaker's Device; a URL's protocol (network/urls.py)


def plan_outputs(specs: list[str], track_kinds: list[str], format_override: str | None,
                 overwrite: bool, files: list[tuple[str, str]] = (),
                 devices=(), play=None) -> list[OutputPlan]:
    """Check every -o, and the other files ms writes (`files`: (option, path), e.g. --events
    and the reports; - is stdout), against the tracks and each other before anything opens;
    UsageError says why not. `devices`: where -o speaker:DEVICE looks; `play`: --play's
    speakers.plan.PlayPlan, whose speaker no -o may take."""
    from mscli.network.urls import check_whip, is_whip
    from mscli.sinks.files import check_target
    from mscli.sinks.formats import check_output  # not recorder.py: no PyAV for y4m/WAV

    if not specs:
        raise UsageError("no output: give -o FILE (e.g. -o out.mkv), -o - for stdout, "
                         "or -o null to discard")
    plans, routed, named = [], set(), []
    for spec in specs:
        kind, target = (None, spec) if is_speaker(spec) else _split(spec)
        if is_speaker(target):  # -o audio=speaker is -o speaker
            if kind not in (None, "audio"):
                raise UsageError(f"-o {spec}: a speaker plays audio: give -o audio={target} "
                                 f"or -o {target}")
            plans.append(_speaker_plan(target, track_kinds, devices))
            routed.add("audio")
            continue
        if kind is not None and kind not in track_kinds:
            raise UsageError(f"-o {spec}: the constraints request no {kind} track")
        kinds = (kind,) if kind else tuple(k for k in KINDS if k in track_kinds)
        if target == "null":
            plans.append(OutputPlan(target, kinds, "null"))
        elif is_whip(target):  # before the URLs: whip+http is no FFmpeg protocol
            check_whip(spec, target)
            plans.append(OutputPlan(target, kinds, "whip"))
        elif scheme(target) is not None:
            plans.append(OutputPlan(target, kinds, "url", protocol_of(spec, target)))
        else:
            fmt = check_output(target, set(kinds), format_override, overwrite=overwrite)
            plans.append(OutputPlan(target, kinds, fmt))
            named.append((f"-o {spec}", target))
        routed.update(kinds)
    if sum(p.target == "-" for p in plans) > 1:
        raise UsageError("only one output can be stdout (-o -)")
    for kind in track_kinds:
        if kind not in routed:
            raise UsageError(f"the {kind} track has no output: add -o {kind}=FILE "
                             f"or leave {kind} out of the constraints")
    refuse_shared(plans, play)
    sinks = speaker_files(plans, play)
    for option, path in [*files, *sinks]:
        try:
            if path != "-":
                check_target(path, overwrite)
        except UsageError as e:
            if (option, path) not in sinks:
                raise
            # A sink's path is in the device file, not on the command line: say whose it is.
            raise UsageError(f"{option} {e}") from None
        named.append((f"{option} {path}", path))
    _refuse_one_file_twice(named)
    return plans


def _speaker_plan(spec: str, track_kinds: list[str], devices) -> OutputPlan:
    from mscli.speakers.plan import speaker_of

    if "audio" not in track_kinds:
        raise UsageError(f"-o {spec} plays the audio track and the constraints request none: "
                         'add "audio": true to the constraints')
    return OutputPlan(spec, ("audio",), "speaker", speaker_of(spec, devices))


def _refuse_one_file_twice(named: list[tuple[str, str]]) -> None:
    """Two writers on one file leave it corrupt: the same path after resolving `.`, `..` and
    symlinks, the same inode (hard links, /dev/stdout and -), is a usage error."""
    from mscli.sinks.files import file_identity

    seen: list[tuple[str, set]] = []
    for option, target in named:
        keys = file_identity(target)
        for other, other_keys in seen:
            if keys & other_keys:
                raise UsageError(f"{other} and {option} are the same file: give each output "
                                 "its own path")
        seen.append((option, keys))


def _split(spec: str) -> tuple[str | None, str]:
    for kind in KINDS:
        if spec.startswith(kind + "="):
            return kind, spec[len(kind) + 1:]
    return None, spec


class Sink:
    """One opened output: takes the frames of its tracks, in time order, in the format it was
    opened with. A write that fails marks it failed and leaves the file ms was writing as
    PATH.partial (files.OutputFile.keep_partial), named in the error."""

    done = False  # an image sink is done after its frame
    failed = False
    file = None  # the OutputFile being written, when ms opened one

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
            data = scale_i420(frame.data, frame.width, frame.height, w, h, upscale=True)
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
        try:
            self._write(frame)
        except AbortError as e:
            raise self._failed(e) from None

    def close(self) -> None:
        """Finalises the output; after a failure only releases it (the error was raised)."""
        if self.failed:
            with contextlib.suppress(Exception):
                self._close()
            return
        try:
            self._close()
        except AbortError as e:
            raise self._failed(e) from None

    def discard(self) -> None:
        """After a failed start: release it, and remove the file if ms created it."""
        with contextlib.suppress(Exception):
            self._close()
        if self.file is not None:
            self.file.discard()

    def remove_created(self) -> bool:
        """After close: remove the file if ms created it (an output that took no frame);
        True if it did."""
        return self.file is not None and self.file.remove_created()

    def _failed(self, error: AbortError) -> AbortError:
        self.failed = True
        kept = self.file.keep_partial() if self.file is not None else None
        if kept is None:
            return error
        return AbortError(f"{error.message} (what was written is kept as {kept})")

    def _write(self, frame) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    @property
    def bytes_written(self) -> int:
        return 0


class NullSink(Sink):
    def _write(self, frame) -> None:
        pass


class _StreamSink(Sink):
    """y4m and WAV: ms's own writers on a file ms opened (or stdout)."""

    def __init__(self, plan: OutputPlan, settings: dict[str, dict], overwrite: bool):
        from mscli.sinks.files import open_target

        super().__init__(plan, settings)
        self.file = open_target(plan.target, overwrite)
        try:
            self.writer = self._writer(settings)
        except BaseException:  # the header did not go out: nothing worth keeping
            self.file.discard()
            raise

    def _writer(self, settings: dict[str, dict]):
        raise NotImplementedError

    def _write(self, frame) -> None:
        self.writer.write(frame)

    def _close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.file.close()

    @property
    def bytes_written(self) -> int:
        return self.writer.bytes_written


class Y4MSink(_StreamSink):
    def _writer(self, settings: dict[str, dict]):
        from mscli.sinks.y4m import Y4MWriter

        video = settings["video"]
        rate = Fraction(video["frameRate"]).limit_denominator(1001)
        return Y4MWriter(self.file, video["width"], video["height"], rate)


class WavSink(_StreamSink):
    def _writer(self, settings: dict[str, dict]):
        from mscli.sinks.wav import WavWriter

        audio = settings["audio"]
        return WavWriter(self.file, audio["sampleRate"], audio["channelCount"])


class ImageSink(Sink):
    """The first frame, encoded before the file opens (a frame that cannot be encoded leaves
    no file)."""

    def __init__(self, plan: OutputPlan, settings: dict[str, dict], overwrite: bool):
        super().__init__(plan, settings)
        self._overwrite = overwrite
        self._bytes = 0

    def _write(self, frame) -> None:
        from mscli.sinks.files import open_target, write_payload
        from mscli.sinks.image import encode_image

        if self.done:
            return
        from mscli.stopping import StoppedWaiting

        payload = encode_image(frame, self.plan.format)
        self.done = True
        try:
            self.file = open_target(self.plan.target, self._overwrite)
        except StoppedWaiting as stop:  # a FIFO with no reader yet: the other outputs go on
            messages.warn(str(stop))  # to their normal stop
            return
        self._bytes = write_payload(self.file, payload)

    def _close(self) -> None:
        if self.file is not None:
            self.file.close()

    def remove_created(self) -> bool:
        """No frame came, so no file was opened: True, as for the outputs whose empty file
        was removed, so that the user hears that there is no image."""
        return self.file is None

    @property
    def bytes_written(self) -> int:
        return self._bytes


class RecorderSink(Sink):
    def __init__(self, plan: OutputPlan, settings: dict[str, dict], options: dict,
                 overwrite: bool):
        from mscli.sinks.recorder import Recorder

        super().__init__(plan, settings)
        self.recorder = Recorder(plan.target, plan.format, *recorder_specs(settings),
                                 overwrite=overwrite, **options)
        self.file = self.recorder.output
        for note in self.recorder.notes:
            messages.detail(note)

    def _write(self, frame) -> None:
        write_frame(self.recorder, frame)

    def _close(self) -> None:
        self.recorder.close()

    @property
    def bytes_written(self) -> int:
        return self.recorder.bytes_written


def recorder_specs(settings: dict[str, dict]) -> tuple:
    """The recorder's (VideoSpec, AudioSpec) for tracks with these settings (None: no track)."""
    from mscli.sinks.recorder import AudioSpec, VideoSpec

    video = audio = None
    if "video" in settings:
        s = settings["video"]
        video = VideoSpec(s["width"], s["height"],
                          Fraction(s["frameRate"]).limit_denominator(1001))
    if "audio" in settings:
        s = settings["audio"]
        audio = AudioSpec(s["sampleRate"], s["channelCount"])
    return video, audio


def write_frame(recorder, frame) -> None:
    """A frame (or a stored packet) of any kind to a sinks.recorder.Recorder."""
    from mscli.media.frames import EncodedPacket, VideoFrame

    if isinstance(frame, EncodedPacket):
        recorder.write_packet(frame)
    elif isinstance(frame, VideoFrame):
        recorder.write_video(frame)
    else:
        recorder.write_audio(frame)


def open_sink(plan: OutputPlan, settings: dict[str, dict], options: dict,
              overwrite: bool, playback=None, clock=None, events=None,
              reconnect: bool = False) -> Sink:
    """settings: the settings of each track kind the output takes. A speaker adds what it
    plays to `playback` (the session's) at times on `clock`. A URL output reports on `events`
    and, with `reconnect`, comes back after its server went away."""
    if plan.format == "speaker":
        from mscli.speakers.sink import SpeakerSink

        return SpeakerSink(plan, settings, playback, clock, overwrite)
    if plan.format == "null":
        return NullSink(plan, settings)
    if plan.format == "whip":
        from mscli.network.whip_sink import WhipSink

        return WhipSink(plan, settings, clock, events, reconnect)
    if plan.format == "url":
        from mscli.network.publish import PublishSink

        return PublishSink(plan, settings, options, events, reconnect)
    if plan.format == "y4m":
        return Y4MSink(plan, settings, overwrite)
    if plan.format == "wav":
        return WavSink(plan, settings, overwrite)
    if plan.format in ("png", "jpg"):
        return ImageSink(plan, settings, overwrite)
    return RecorderSink(plan, settings, options, overwrite)

"""Recording to containers with PyAV.

`check_output` (formats.py, re-exported here) decides the format of an `-o` target and refuses
what cannot work, before anything is opened. `Recorder` encodes and muxes VideoFrames and
AudioFrames into one container (matroska, webm, mp4, mov, nut, ogg, opus, flac, wav) with
per-container codec defaults; y4m, WAV streams and single images have their own writers
(y4m.py, wav.py, image.py).

Choices that matter to users:
- Matroska/WebM: a cluster at least every second and every packet flushed, so a recording
  killed with SIGKILL is readable up to its last second or two.
- mp4/mov to something that cannot seek (a pipe): fragmented (frag_keyframe+empty_moov+
  delay_moov, keyframe every 2 s), since a plain mp4 needs to seek back to write its index.
- Opus only takes 8/12/16/24/48 kHz: other rates are resampled to 48 kHz by the encoder's
  input stage, timestamps preserved.
- A size the codec cannot code (odd, in H.264 and HEVC 4:2:0) is coded one column and/or row
  larger, the last one repeated; every other codec codes the track's size (geometry.py).
- Stream copy ("copy" as a codec): the stream is made from the source file's own stream and
  takes its packets as they are (write_packet); nothing is encoded or flushed for it.
- FFmpeg's log is captured while the output is set up, so errors say what FFmpeg said
  ("libx264: invalid width x height (16400x2)") rather than "Generic error".
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, BinaryIO

import av
import av.logging

if TYPE_CHECKING:  # imported where audio is written: a stream copy never loads numpy
    import numpy as np

from mscli import messages
from mscli.errors import AbortError, UsageError
from mscli.media.frames import AudioFrame, EncodedPacket, VideoFrame
from mscli.sinks.files import OutputFile, open_target, write_error
from mscli.sinks.formats import FORMATS, FormatInfo, resolve_format
from mscli.sinks.geometry import coded_size, encoder_frame, padding_note, size_options


@dataclass(frozen=True)
class VideoSpec:
    width: int
    height: int
    frame_rate: Fraction


@dataclass(frozen=True)
class AudioSpec:
    sample_rate: int
    channels: int


# --------------------------------------------------------------------------------------------
# FFmpeg's log and errors


_LOG_LOCK = threading.Lock()  # the log level is global: one set-up at a time changes it


@contextlib.contextmanager
def _ffmpeg_log():
    """Collects FFmpeg's error messages of this thread for the duration; yields the list."""
    with _LOG_LOCK:
        previous = av.logging.get_level()
        if previous is None or previous < av.logging.ERROR:
            av.logging.set_level(av.logging.ERROR)
        try:
            with av.logging.Capture() as logs:
                yield logs
        finally:
            av.logging.set_level(previous)


def _reason(error: BaseException, logs) -> str:
    lines: list[str] = []
    for entry in logs or ():
        name, message = entry[1], str(entry[2]).strip()
        text = f"{name}: {message}" if name else message
        if message and text not in lines:
            lines.append(text)
    if lines:
        return "; ".join(lines[-3:])
    if isinstance(error, av.FFmpegError):
        return error.strerror or str(error)
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


def parse_bitrate(value: int | str) -> int:
    """Bits per second from 2500000, "2500k", "2.5M"."""
    if isinstance(value, int):
        rate = value
    else:
        text = str(value).strip().lower()
        scale = 1
        if text and text[-1] in "km":
            scale = 1000 if text[-1] == "k" else 1_000_000
            text = text[:-1]
        try:
            rate = round(float(text) * scale)
        except ValueError:
            raise UsageError(f"invalid bitrate {value!r} (e.g. 2500k, 2M)") from None
    if rate <= 0:
        raise UsageError(f"invalid bitrate {value!r}")
    return rate


# The 4:2:0 pixel format of encoders for which it is not yuv420p: MJPEG codes full-range YUV
# (yuv420p, limited range, is refused), and yuvj420p has the scaler expand the range.
PIXEL_FORMATS = {"mjpeg": "yuvj420p"}
CRF_CODECS = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63),
              "libvpx": (4, 63), "libsvtav1": (0, 63), "libaom-av1": (0, 63)}
LOSSLESS = {"rawvideo", "ffv1", "pcm_s16le", "flac", "png"}
COPY = "copy"  # the codec name that stores the source's packets as they are


def _encoders(kind: str) -> list[str]:
    names = []
    for name in sorted(av.codecs_available):
        try:
            codec = av.Codec(name, "w")
        except Exception:
            continue
        if codec.type == kind:
            names.append(name)
    return names


def _name(codec: av.Codec | str) -> str:
    return codec if codec is COPY else codec.name


def _encoder(name: str, kind: str) -> av.Codec | str:
    """The encoder called `name`, or COPY."""
    if name == COPY:
        return COPY
    try:
        codec = av.Codec(name, "w")
    except Exception:
        import difflib  # only on the error path: ~1 ms of every capture's start-up

        close = difflib.get_close_matches(name, _encoders(kind), n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(sorted(close))}?)" if close else ""
        raise UsageError(f"unknown {kind} encoder {name!r}{hint}") from None
    if codec.type != kind:
        raise UsageError(f"{name!r} is an {codec.type} codec, not a {kind} one"
                         if codec.type == "audio" else
                         f"{name!r} is a {codec.type} codec, not a {kind} one")
    return codec


# --------------------------------------------------------------------------------------------
# The recorder


# x264 picks frame types in a lookahead thread of its own, serial, beside its frame threads.
# With fewer than 4 CPUs its automatic choice is one such thread (threads / 3 at veryfast, and it
# starts 1.5 threads per CPU); at 1920x1080 that thread took ~10 ms of every frame on 2 cores,
# 60 % of a core at 60 fps: the stage that fell behind first. Split in two it takes ~4.6 ms,
# and x264 ~7 % less CPU in all, for the same size and PSNR (bench/README.md, hd60). Like
# x264's own choice, only where each thread gets at least 128 rows.
LOOKAHEAD_MIN_HEIGHT = 256


def x264_lookahead(height: int) -> dict[str, str]:
    """The x264 option that puts its lookahead on two threads where x264 would use one."""
    if not 2 <= available_cpus() < 4 or height < LOOKAHEAD_MIN_HEIGHT:
        return {}
    return {"x264-params": "lookahead-threads=2"}


def available_cpus() -> int:
    """The CPUs this process may run on, which x264 counts to choose its threads."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity outside Linux
        return os.cpu_count() or 1


class Recorder:
    """Encodes and muxes one output file or stream.

    target: a path, "-" for stdout, or a binary stream (flushed but not closed at the end).
    A path is created, never replaced unless `overwrite` (files.open_output); writes go through
    files.OutputFile, so that no write error FFmpeg meets is lost.
    container_format: a name from FORMATS with a muxer (see check_output).
    crf applies to the video encoder; bitrate (bits/s, or "2M") to the video encoder when there
    is video, otherwise to the audio encoder; audio_bitrate to the audio encoder.
    copy_from: kind -> the media file whose first stream of that kind a "copy" codec stores.
    Everything is set up (encoders opened, header written) in the constructor, so a bad
    combination fails before the first frame. Not thread-safe beyond a lock around writes.
    """

    def __init__(self, target: str | BinaryIO, container_format: str,
                 video: VideoSpec | None, audio: AudioSpec | None,
                 video_codec: str | None = None, audio_codec: str | None = None,
                 crf: int | float | None = None, bitrate: int | str | None = None,
                 audio_bitrate: int | str | None = None, overwrite: bool = False,
                 copy_from: dict[str, str] | None = None, live: bool = False):
        if isinstance(container_format, FormatInfo):  # a network protocol's (mscli/network)
            fmt, info = container_format.name, container_format
        else:
            fmt = resolve_format(container_format)
            info = FORMATS[fmt]
        self.info = info
        self.live = live
        if info.muxer is None:
            raise UsageError(f"{fmt} is not written by the recorder (use its own writer)")
        if video is None and audio is None:
            raise UsageError("a recording needs a video or an audio track")
        if video is not None and "video" not in info.kinds:
            raise UsageError(f"{fmt} cannot carry video")
        if audio is not None and "audio" not in info.kinds:
            raise UsageError(f"{fmt} cannot carry audio")
        self.video_spec, self.audio_spec = video, audio
        self.format = fmt
        self._lock = threading.Lock()
        self._closed = False
        self._last_video_pts: int | None = None
        self.video_frames = 0
        self.audio_samples = 0
        self._audio_packets = 0  # coded: none from samples that went in is a broken file
        self.dropped_video = 0
        self.audio_filled = 0  # samples of silence put in gaps of the audio pts
        self.audio_trimmed = 0  # samples cut where audio pts overlapped
        self._next_audio_pts: int | None = None
        self.notes: list[str] = []  # what a user may want to know (-v): a padded size
        self.coded_size: tuple[int, int] | None = None  # the video's, see geometry.py
        self._copy_from = copy_from or {}
        self._copies: list = []  # the streams that store packets as they are

        # Codecs (validated before anything is opened).
        vcodec = acodec = None
        if video is not None:
            vname = video_codec or info.video_codec
            vcodec = _encoder(vname, "video")
            if crf is not None and _name(vcodec) not in CRF_CODECS:
                raise UsageError(f"--crf does not apply to {_name(vcodec)} "
                                 f"(it does to {', '.join(sorted(CRF_CODECS))})")
            if crf is not None:
                lo, hi = CRF_CODECS[vcodec.name]
                if not lo <= crf <= hi:
                    raise UsageError(f"--crf {crf} is out of range for {vcodec.name} "
                                     f"({lo}..{hi})")
        elif video_codec:
            raise UsageError("--video-codec given but there is no video track")
        elif crf is not None:
            raise UsageError("--crf applies to video and there is no video track")
        if audio is not None:
            aname = audio_codec or info.audio_codec
            acodec = _encoder(aname, "audio")
        elif audio_codec:
            raise UsageError("--audio-codec given but there is no audio track")
        vbit = abit = None
        if bitrate is not None:
            if video is not None:
                vbit = parse_bitrate(bitrate)
            else:
                abit = parse_bitrate(bitrate)
        if audio_bitrate is not None:
            abit = parse_bitrate(audio_bitrate)
        for codec, bits in ((vcodec, vbit), (acodec, abit)):
            if codec is COPY and bits is not None:
                raise UsageError("a bitrate does not apply to copy (nothing is encoded)")
            if codec not in (None, COPY) and bits is not None and codec.name in LOSSLESS:
                raise UsageError(f"a bitrate does not apply to {codec.name} (lossless)")

        # Where it goes, opened once everything above is valid.
        if isinstance(target, os.PathLike):
            target = os.fspath(target)
        if hasattr(target, "url"):  # a network destination: FFmpeg's protocol writes to it
            self.output = target
        else:
            self.output = open_target(target, overwrite) if isinstance(target, str) else \
                OutputFile(target, owned=False)
        self.name = self.output.name
        self.seekable = seekable = self.output.seekable()
        options = self._container_options(seekable)
        self._flush_each = options.get("flush_packets") == "1"
        self.container = None
        try:
            with _ffmpeg_log() as logs:
                try:
                    self.container = av.open(getattr(self.output, "url", self.output), "w",
                                             format=info.muxer,
                                             container_options=options)
                    self.video_stream = self.audio_stream = None
                    if vcodec is COPY:
                        self.video_stream = self._add_copy("video")
                    elif video is not None:
                        self.video_stream = self._add_video(vcodec, video, crf, vbit, seekable)
                    if acodec is COPY:
                        self.audio_stream = self._add_copy("audio")
                    elif audio is not None:
                        self.audio_stream = self._add_audio(acodec, audio, abit)
                    self.container.start_encoding()
                except ValueError as e:  # PyAV's own checks (codec not in this container...)
                    if hasattr(self.output, "url") and isinstance(e, av.FFmpegError):
                        # FFmpeg's EINVAL or bad data while connecting: the server's answer
                        raise self._write_failure(e, f"cannot record to {self.name}", logs) \
                            from None
                    raise UsageError(f"cannot record {fmt} to {self.name}: {e}") from None
                except (av.FFmpegError, OSError) as e:
                    raise self._write_failure(e, f"cannot record to {self.name}", logs) \
                        from None
        except BaseException:
            self._discard()
            raise

    # -- set-up ----------------------------------------------------------------------------

    def _container_options(self, seekable: bool) -> dict[str, str]:
        options: dict[str, str] = {}
        muxer = self.info.muxer
        if muxer in ("matroska", "webm"):
            options["cluster_time_limit"] = "1000"  # ms
            options["flush_packets"] = "1"
        if muxer in ("mp4", "mov") and not seekable:
            # delay_moov: the moov waits for the first fragment, so it can carry the edit list
            # that compensates B-frame delay and AAC priming (without it, a pipe's mp4 plays
            # video 67 ms and audio 21 ms late, out of sync by 45 ms).
            options["movflags"] = "frag_keyframe+empty_moov+delay_moov+default_base_moof"
        if not seekable:
            options["flush_packets"] = "1"
        options.update(getattr(self.output, "muxer_options", {}))  # a network destination's
        if self.video_spec is not None and self.audio_spec is not None:
            # Do not hold one stream's packets for long waiting for the other's.
            options["max_interleave_delta"] = "1000000"
        return options

    def _add_video(self, codec: av.Codec, spec: VideoSpec, crf, bitrate, seekable):
        rate = Fraction(spec.frame_rate).limit_denominator(1_000_000)
        options: dict[str, str] = {}
        name = codec.name
        if name in ("libx264", "libx265"):
            options["preset"] = "veryfast"
            if self.live:
                options["tune"] = "zerolatency"  # no lookahead, no B-frames, sliced threads
            elif name == "libx264":
                options.update(x264_lookahead(spec.height))
        elif name == "libvpx-vp9":
            options.update({"deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
            if crf is None and bitrate is None:
                crf = 32
            if crf is not None:
                options["b"] = "0"
        elif name == "libvpx":
            options.update({"deadline": "realtime", "cpu-used": "8"})
        elif name == "libsvtav1":
            options["preset"] = "10"
        if not messages.verbose:  # their banners bypass FFmpeg's log level: -v shows them
            if name == "libx265":
                options["x265-params"] = "log-level=error"
            elif name == "libsvtav1":
                os.environ.setdefault("SVT_LOG", "1")  # errors only; read when SVT starts
        if crf is not None:
            options["crf"] = str(crf)
        if self.live:
            # A receiver that joins (or rejoins) waits at most 2 s for a picture; no B-frames,
            # which would hold frames back. Here only: x264 settings given in two places
            # (these options and the codec context) overwrite each other.
            options.update({"g": str(max(1, round(2 * float(rate)))), "bf": "0"})
        formats = [f.name for f in (codec.video_formats or ())]
        pix_fmt = PIXEL_FORMATS.get(name) or \
            ("yuv420p" if not formats or "yuv420p" in formats else formats[0])
        size = (spec.width, spec.height)
        coded = coded_size(codec, pix_fmt, *size)
        options.update(size_options(codec, pix_fmt, *coded))
        stream = self.container.add_stream(name, rate=rate, options=options)
        if coded != size:
            self.notes.append(padding_note(self.name, codec, pix_fmt, size, coded))
        stream.width, stream.height = self.coded_size = coded
        stream.pix_fmt = pix_fmt
        stream.codec_context.time_base = 1 / rate
        stream.time_base = 1 / rate
        if bitrate is not None:
            stream.bit_rate = bitrate
        if name == "libvpx-vp9":
            stream.codec_context.thread_count = os.cpu_count() or 1
        if name == "libx264" and not self.live:  # live: zerolatency's slice threads
            # Frame threads, as the ffmpeg CLI does, rather than PyAV's default of slice
            # threads: ~10% less wall time for the same encode on two cores (bench/capture.py
            # b), for two frames more of encoder delay.
            stream.codec_context.thread_type = "FRAME"
        if self.info.muxer in ("mp4", "mov") and not seekable:
            stream.codec_context.gop_size = max(1, round(2 * float(rate)))
        return stream

    def _add_audio(self, codec: av.Codec, spec: AudioSpec, bitrate):
        rate = spec.sample_rate
        rates = codec.audio_rates
        if rates and rate not in rates:
            higher = [r for r in rates if r >= rate]
            rate = min(higher) if higher else max(rates)
        from mscli.media.convert import audio_layout  # numpy's module: not for a copy

        stream = self.container.add_stream(codec.name, rate=rate)
        stream.layout = audio_layout(spec.channels)
        formats = [f.name for f in (codec.audio_formats or ())]
        if formats:
            stream.format = "s16" if "s16" in formats else formats[0]
        stream.time_base = Fraction(1, rate)
        if bitrate is not None:
            stream.bit_rate = bitrate
        self._audio_layout = audio_layout(spec.channels)
        return stream

    def _add_copy(self, kind: str):
        """A stream made from the source file's own (or a camera's native stream), for its
        packets as they are."""
        path = self._copy_from.get(kind)
        if path is None:
            raise UsageError(f"--{kind}-codec copy: the {kind} track has no stored packets to "
                             "copy (only a file-backed device has them); give an encoder")
        if not isinstance(path, str):  # sources/camera_copy.NativeStream
            stream = path.add_to(self.container)
            self._copies.append(stream)
            return stream
        with av.open(path) as source:
            template = getattr(source.streams, kind)[0]
            stream = self.container.add_stream_from_template(template)
            stream.time_base = template.time_base
        self._copies.append(stream)
        return stream

    def _discard(self) -> None:
        """After a failed set-up: close what was opened, remove the file if we created it."""
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.close()
        self.output.discard()

    def _write_failure(self, error: BaseException, what: str, logs=None) -> BaseException:
        """The error to raise: the OSError the file met (FFmpeg may have reported it as
        another, or not at all) as write_error says, else FFmpeg's reason."""
        recorded = self.output.error or (error if isinstance(error, BrokenPipeError) else None)
        if recorded is not None:
            return write_error(self.name, recorded)
        return AbortError(f"{what}: {_reason(error, logs)}")

    # -- writing ---------------------------------------------------------------------------

    @property
    def bytes_written(self) -> int:
        return self.output.bytes_written

    def write_video(self, frame: VideoFrame) -> None:
        spec = self.video_spec
        if self.video_stream is None:
            raise ValueError("this recording has no video track")
        if frame.width != spec.width or frame.height != spec.height:
            raise ValueError(f"frame is {frame.width}x{frame.height}, the recording "
                             f"{spec.width}x{spec.height}")
        tb = self.video_stream.codec_context.time_base
        pts = frame.pts if frame.time_base == tb else round(frame.pts * frame.time_base / tb)
        with self._lock:
            if self._last_video_pts is not None and pts <= self._last_video_pts:
                self.dropped_video += 1  # two frames in one frame interval: keep the first
                return
            self._last_video_pts = pts
            av_frame = encoder_frame(frame, *self.coded_size)
            av_frame.pts = pts
            av_frame.time_base = tb
            self._encode(self.video_stream, av_frame)
            self.video_frames += 1

    def write_packet(self, item: EncodedPacket) -> None:
        """A stored packet of a copied stream, its timestamps already on the capture
        timeline (in its own time base, which the muxer rescales)."""
        stream = self.video_stream if item.kind == "video" else self.audio_stream
        if stream not in self._copies:
            raise ValueError(f"this recording does not copy {item.kind}")
        with self._lock:
            item.packet.stream = stream
            self._mux([item.packet])
            if item.kind == "video":
                self.video_frames += 1
            else:
                self.audio_samples += item.samples

    def write_audio(self, frame: AudioFrame) -> None:
        spec = self.audio_spec
        if self.audio_stream is None:
            raise ValueError("this recording has no audio track")
        if frame.sample_rate != spec.sample_rate or frame.channels != spec.channels:
            raise ValueError(f"audio is {frame.sample_rate} Hz x {frame.channels}, the "
                             f"recording {spec.sample_rate} Hz x {spec.channels}")
        if frame.samples == 0:
            return
        import numpy as np

        data = np.ascontiguousarray(frame.data, np.int16)
        rate = frame.sample_rate
        with self._lock:
            # Audio encoders count samples and ignore pts, so the timeline is kept here: a gap
            # in pts (a mute) becomes silence, an overlap is cut; jitter under 1 ms is absorbed.
            pts = frame.pts
            expected = self._next_audio_pts
            if expected is not None:
                tolerance = max(1, rate // 1000)
                gap = pts - expected
                if gap > tolerance:
                    self.audio_filled += gap
                    for start in range(0, gap, rate):
                        n = min(rate, gap - start)
                        self._encode_audio(np.zeros((n, spec.channels), np.int16),
                                           expected + start, rate)
                elif gap < -tolerance:
                    cut = min(-gap, len(data))
                    self.audio_trimmed += cut
                    data = data[cut:]
                    if len(data) == 0:
                        return
                    pts += cut
                pts = max(pts, expected) if abs(gap) > tolerance else expected
            self._encode_audio(data, pts, rate)
            self.audio_samples += frame.samples

    def _encode_audio(self, data: np.ndarray, pts: int, rate: int) -> None:
        av_frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16",
                                              layout=self._audio_layout)
        av_frame.sample_rate = rate
        av_frame.time_base = Fraction(1, rate)
        av_frame.pts = pts
        self._encode(self.audio_stream, av_frame)
        self._next_audio_pts = pts + len(data)

    def _encode(self, stream, av_frame) -> None:
        try:
            packets = stream.encode(av_frame)
        except (av.FFmpegError, OSError) as e:
            raise self._write_failure(e, f"cannot write {self.name}") from None
        if stream is self.audio_stream:
            self._audio_packets += len(packets)
        self._mux(packets)

    def _mux(self, packets) -> None:
        if self._closed:
            raise ValueError("recorder is closed")
        try:
            if packets:
                self.container.mux(packets)
                if self._flush_each:
                    self.output.flush()
        except (av.FFmpegError, OSError) as e:
            raise self._write_failure(e, f"cannot write {self.name}") from None
        if self.output.error is not None:  # met by FFmpeg, which went on
            raise write_error(self.name, self.output.error)

    # -- the end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Flush the encoders, write the trailer, close the file: complete afterwards, or an
        error (the first write error, even one FFmpeg met while closing and did not report)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._finish()
            except BaseException:
                with contextlib.suppress(Exception):
                    self.output.close()
                raise
            self.output.close()
            if self.output.error is not None:
                raise write_error(self.name, self.output.error)

    def _finish(self) -> None:
        try:
            for stream in (self.video_stream, self.audio_stream):
                if stream is not None and stream not in self._copies:
                    packets = stream.encode(None)
                    if stream is self.audio_stream:
                        self._audio_packets += len(packets)
                    if packets:
                        self.container.mux(packets)
            self._check_audio_coded()
            self.container.close()
        except (av.FFmpegError, OSError) as e:
            raise self._write_failure(e, f"cannot finish {self.name}") from None
        except ValueError:  # the target stream was closed by its owner
            pass

    def _check_audio_coded(self) -> None:
        """Samples in, no packet out (a few Hz: the encoder's resampler held them) is a file
        nothing can read: an error, not a recording."""
        if self.audio_samples and not self._audio_packets and self.audio_stream not in self._copies:
            raise AbortError(f"cannot finish {self.name}: the {self.audio_stream.name} encoder "
                             f"coded none of its {self.audio_samples} samples at "
                             f"{self.audio_spec.sample_rate} Hz; record longer or at 8000 Hz+")

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""Helpers for the media tests: decode what was written and read the pattern back."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from mscli.media.frames import AudioFrame, VideoFrame
from mscli.media.pattern import PatternGenerator, read_frame_number
from mscli.media.tone import ToneGenerator, find_clicks


def y_plane(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane of a decoded frame, without the line padding."""
    plane = frame.planes[0]
    return np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:frame.height,
                                                                       :frame.width]


def video_frames(width: int, height: int, rate, count: int, start: int = 0):
    gen = PatternGenerator(width, height, rate)
    tb = 1 / Fraction(rate)
    for i in range(start, start + count):
        yield VideoFrame(gen.frame(i), width, height, i, tb, float(i * tb), i)


def audio_frames(rate: int, channels: int, seconds: float, chunk: int = 1024):
    gen = ToneGenerator(rate, channels)
    total = round(seconds * rate)
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        yield AudioFrame(gen.samples(start, n), rate, start, start / rate)


def decode(source) -> dict:
    """Everything tests check in a file or bytes: per video frame its pts time, code and mean
    luma; the first audio channel as float with the time of its first sample."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    out = {"numbers": [], "times": [], "means": [], "size": None, "rate": None,
           "audio": None, "audio_t0": None, "sample_rate": None, "channels": None,
           "video_codec": None, "audio_codec": None}
    chunks = []
    with av.open(source) as container:
        streams = list(container.streams.video[:1]) + list(container.streams.audio[:1])
        for stream in streams:
            if stream.type == "video":
                out["video_codec"] = stream.codec_context.name
                out["rate"] = stream.average_rate
            else:
                out["audio_codec"] = stream.codec_context.name
        for frame in container.decode(*streams):
            if isinstance(frame, av.VideoFrame):
                y = y_plane(frame)
                out["size"] = (frame.width, frame.height)
                out["numbers"].append(read_frame_number(y))
                out["times"].append(frame.time)
                out["means"].append(float(y.mean()))
            else:
                if out["audio_t0"] is None:
                    out["audio_t0"] = frame.time
                    out["sample_rate"] = frame.sample_rate
                    out["channels"] = frame.layout.nb_channels
                a = frame.to_ndarray()
                if frame.format.is_packed:
                    a = a.reshape(-1, frame.layout.nb_channels).T
                a = a[0]
                if np.issubdtype(a.dtype, np.integer):
                    a = a / 32768.0
                chunks.append(a.astype(np.float32))
    if chunks:
        out["audio"] = np.concatenate(chunks)
    return out


def clicks(decoded: dict) -> list[float]:
    return [decoded["audio_t0"] + t for t in find_clicks(decoded["audio"],
                                                         decoded["sample_rate"])]


def flashes(decoded: dict) -> list[float]:
    return [t for t, m in zip(decoded["times"], decoded["means"]) if m > 170]

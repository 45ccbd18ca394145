"""Decoding what ms wrote, for the capture tests: frames with their times and burned-in
numbers, audio samples, y4m streams."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from mscli.media.pattern import is_flash, read_frame_number
from mscli.media.tone import find_clicks


def decode_video(path) -> list[dict]:
    """[{time, number, flash, width, height}] for every decoded frame."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            y = frame.to_ndarray(format="gray")
            frames.append({"time": float(frame.pts * frame.time_base), "pts": frame.pts,
                           "number": read_frame_number(y), "flash": is_flash(y),
                           "width": frame.width, "height": frame.height})
    return frames


def decode_audio(path) -> tuple[np.ndarray, int, float]:
    """(int16 samples (n, channels), sample rate, start time in seconds)."""
    parts, rate, start = [], None, None
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout=stream.layout, rate=stream.rate)
        for frame in container.decode(audio=0):
            if start is None:
                start = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
            rate = frame.sample_rate
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1, stream.channels))
    return np.concatenate(parts), rate, start or 0.0


def read_y4m(data: bytes) -> tuple[dict, list[np.ndarray]]:
    """Header tags and the Y planes of a y4m stream."""
    tags, frames = read_y4m_yuv(data)
    return tags, [y for y, _, _ in frames]


def read_y4m_yuv(data: bytes) -> tuple[dict, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Header tags and the (Y, U, V) planes of each frame of a 4:2:0 y4m stream."""
    header, _, rest = data.partition(b"\n")
    tags = {t[:1].decode(): t[1:].decode() for t in header.split()[1:]}
    width, height = int(tags["W"]), int(tags["H"])
    cw, ch = (width + 1) // 2, (height + 1) // 2
    size = width * height + 2 * cw * ch
    frames, pos = [], 0
    while pos < len(rest):
        assert rest[pos:pos + 6] == b"FRAME\n", f"bad frame marker at {pos}"
        pos += 6
        frame = np.frombuffer(rest, np.uint8, size, pos)
        luma = width * height
        frames.append((frame[:luma].reshape(height, width),
                       frame[luma:luma + cw * ch].reshape(ch, cw),
                       frame[luma + cw * ch:].reshape(ch, cw)))
        pos += size
    return tags, frames


def sync_offsets(path) -> list[float]:
    """For each flash in the video, seconds from the flash to the nearest click."""
    video = decode_video(path)
    samples, rate, start = decode_audio(path)
    clicks = [start + c for c in find_clicks(samples, rate)]
    flashes = [f["time"] for f in video if f["flash"]]
    assert flashes and clicks, (flashes, clicks)
    return [min((c - t for c in clicks), key=abs) for t in flashes]


def frame_rate(tags: dict) -> Fraction:
    num, den = tags["F"].split(":")
    return Fraction(int(num), int(den))

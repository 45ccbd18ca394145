"""What a media file offers when it backs a virtual device.

The bar is "FFmpeg can really decode it", not "FFmpeg opened it": a header alone can claim
anything (a 164-byte file of noise probes as adpcm at a sample rate of -2103432375 with no
channels), and a device file accepted on such a claim only fails later, mid-capture. So each
probe decodes the stream's first frame and takes its numbers from that frame, the same numbers
the file source delivers, and refuses numbers no recorder can use. Every refusal is a
ValueError whose message says what is wrong with the file in one line.
"""

from __future__ import annotations

import functools
import os

from mscli.devices import MAX_FRAME_RATE, MIN_FRAME_RATE, VideoMode

MAX_PACKETS = 256  # a decodable stream gives a frame within a few packets; noise never does
MAX_SIDE = 16384  # the same bounds as a mode declared in a device file
MAX_SAMPLE_RATE = 1_000_000
MAX_CHANNELS = 64
DEFAULT_RATE = 30  # a stream that states no rate at all: what the file source assumes
# What each file gave, by the file's identity: a capture probes it when it loads the device
# file and again when it checks a stream copy (each a decode, 10-15 ms of CPU for 720p H.264).
_PROBED: dict[tuple, object] = {}


def _once_per_file(probe):
    """`probe(path, ...)`, run again only for a file that changed (or cannot be stat'ed)."""

    @functools.wraps(probe)
    def cached(path: str, *args):
        try:
            st = os.stat(path)
        except OSError:
            return probe(path, *args)  # its own error says why
        key = (probe.__name__, path, *args, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key not in _PROBED:
            _PROBED[key] = probe(path, *args)
        return _PROBED[key]

    return cached


@_once_per_file
def probe_video_mode(path: str) -> VideoMode:
    """The file's video stream as one native mode; ValueError if it has none it can decode."""
    stream, frame = _first_frame(path, "video")
    rate = float(stream.average_rate or stream.guessed_rate or DEFAULT_RATE)
    _within(frame.width, 1, MAX_SIDE, "a frame width")
    _within(frame.height, 1, MAX_SIDE, "a frame height")
    _within(rate, MIN_FRAME_RATE, MAX_FRAME_RATE, "a frame rate")
    return VideoMode(frame.width, frame.height, round(rate, 3))


@_once_per_file
def probe_audio(path: str) -> tuple[int, int]:
    """(sample rate, channel count) of the file's audio as decoded; ValueError if it has no
    audio stream it can decode."""
    _stream, frame = _first_frame(path, "audio")
    channels = frame.layout.nb_channels
    _within(frame.sample_rate, 1, MAX_SAMPLE_RATE, "a sample rate")
    _within(channels, 1, MAX_CHANNELS, "a channel count")
    return frame.sample_rate, channels


@_once_per_file
def stores_timestamps(path: str, kind: str) -> bool:
    """Whether the file's first `kind` stream stores timestamps: a raw elementary stream
    (H.264 in .h264) stores none, and its packets' presentation order is then unknown
    until they are decoded. Judged on the first packets that carry data."""
    import av

    with av.open(path) as container:
        stream = getattr(container.streams, kind)[0]
        for count, packet in enumerate(container.demux(stream)):
            if packet.size and (packet.pts is not None or packet.dts is not None):
                return True
            if count >= MAX_PACKETS:
                break
    return False


def _first_frame(path: str, kind: str):
    """(stream, first decoded frame) of the file's first `kind` stream."""
    import av

    try:
        with av.open(path) as container:
            return first_decoded(container, kind)
    except av.FFmpegError as e:
        raise ValueError(f"FFmpeg cannot decode it ({e.strerror or type(e).__name__})") from None
    except (OSError, UnicodeError, MemoryError) as e:  # PyAV lets some failures through as-is
        raise ValueError(f"cannot read it ({getattr(e, 'strerror', None) or e})") from None


def first_decoded(container, kind: str):
    """(stream, first decoded frame) of an open container's first `kind` stream; ValueError
    if it has none, or none within MAX_PACKETS packets. FFmpeg's errors pass through."""
    streams = getattr(container.streams, kind)
    if not streams:
        raise ValueError(f"has no {kind} stream")
    stream = streams[0]
    for count, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            return stream, frame
        if count >= MAX_PACKETS:
            break
    raise ValueError(f"its {kind} stream has no frame FFmpeg can decode")


def _within(value: float, lowest: float, highest: float, what: str) -> None:
    if not lowest <= value <= highest:
        raise ValueError(f"FFmpeg reports {what} of {value:g}, which no recorder can use "
                         "(is it really a media file?)")

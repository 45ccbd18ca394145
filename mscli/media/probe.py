"""What a media file offers when it backs a virtual device."""

from __future__ import annotations

from mscli.devices import VideoMode


def probe_video_mode(path: str) -> VideoMode:
    """The file's video stream as one native mode; ValueError if it has none."""
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise ValueError(f"{path!r} has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or 30
            return VideoMode(stream.codec_context.width, stream.codec_context.height,
                             round(float(rate), 3))
    except av.FFmpegError as e:
        raise ValueError(f"cannot read {path!r}: {e}") from None


def probe_audio(path: str) -> tuple[int, int]:
    """(sample rate, channel count) of the file's audio stream; ValueError if it has none."""
    import av

    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise ValueError(f"{path!r} has no audio stream")
            ctx = container.streams.audio[0].codec_context
            return ctx.sample_rate, ctx.channels
    except av.FFmpegError as e:
        raise ValueError(f"cannot read {path!r}: {e}") from None

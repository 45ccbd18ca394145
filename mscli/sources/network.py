"""A network stream read as a device (`"source": {"url": ...}` in a device file): PyAV demux
and decode, frames handed to the track as they arrive, like a camera's.

Capture times follow the stream's own timestamps (network/timeline.py), anchored on arrival:
packets come in bursts (a TCP segment, the demuxer waiting for the next frame's start), and
stamping each frame with its arrival would put two frames in one output slot and drop one.

A stall is the track's mute watchdog's business (no frame for 3.5 frame intervals: `mute`;
the next frame: `unmute`). No packet for the source's `timeout` (network/probe.py
STALL_SECONDS) is a lost stream, and the end of the stream is the end: both fire `ended`
(reasons "connection-lost", "end-of-stream"), which --reconnect answers by reopening the URL
(network/reconnect.py).
"""

from __future__ import annotations

import time

from mscli.errors import NotReadableError, quoted
from mscli.media.frames import AudioFrame, VideoFrame
from mscli.network.latency import GlassToGlass
from mscli.network.probe import NetworkUnreachable, open_stream
from mscli.network.reconnect import CONNECTION_LOST, END_OF_STREAM
from mscli.network.timeline import StreamTimeline
from mscli.sources import SourceThread


# No frame for this long is a stall (mute), whatever the frame rate: the jitter of a network
# stream is not one (an mpegts demuxer holds each frame until the next one starts, a lost TCP
# segment is resent after 200 ms or more), and the mute still comes within a second.
MUTE_SECONDS = 0.5


class NetworkSource(SourceThread):
    name = "network"
    mute_seconds = MUTE_SECONDS

    def __init__(self, track, clock, *, opened=None, **timing):
        super().__init__(track, clock, **timing)
        self._container = opened  # already open: a reconnect's, or the one `caps` probed
        self.timeline = StreamTimeline()
        self.glass = GlassToGlass() if track.kind == "video" else None
        self._resampler = None
        self._index = -1  # frames decoded

    def open(self) -> None:
        """Connects before the outputs open: an unreachable stream is a NotReadableError."""
        spec = self.track.device.source
        if self._container is None:
            self._container = spec.pop("opened", None)
        if self._container is None:
            try:
                self._container = open_stream(spec)
            except NetworkUnreachable as e:
                raise NotReadableError(f"{quoted(self.track.label)}: cannot read "
                                       f"{quoted(spec['url'])}: {e}") from None

    def glass_to_glass(self):
        """The receiving track's glass-to-glass latency for `stopped` (video only)."""
        return self.glass.summary() if self.glass is not None else None

    def run(self) -> None:
        import av

        container, self._container = self._container, None
        try:
            stream = (container.streams.video if self.track.kind == "video"
                      else container.streams.audio)[0]
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if self.stopped:
                        return
                    self._deliver(frame)
                if self.past_limit(self.clock.now()):
                    return self.track.source_finished()
            self.track.source_ended(END_OF_STREAM)
        except (av.FFmpegError, OSError) as e:
            if not self.stopped:
                # FFmpeg's read timeout ("Immediate exit requested") or a reset connection;
                # udp and rtmp readers see a sender that went away as EIO (field.md).
                self.track.source_ended(END_OF_STREAM if isinstance(e, EOFError)
                                        else CONNECTION_LOST)
        finally:
            container.close()

    def _deliver(self, frame) -> None:
        arrival, wall = self.clock.now(), time.time()
        stamp = None if frame.pts is None else float(frame.pts * frame.time_base)
        t = self.timeline.place(stamp, arrival)
        if self.track.kind == "video":
            data = frame.to_ndarray(format="yuv420p").reshape(-1)
            if stamp is not None:
                luma = data[:frame.width * frame.height].reshape(frame.height, frame.width)
                self.glass.observe(luma, stamp, wall)
            self._index += 1
            self.track.deliver(VideoFrame(data, frame.width, frame.height, self._index,
                                          frame.time_base, t, self._index))
        else:
            self.track.deliver(self._audio(frame, t))

    def _audio(self, frame, t: float) -> AudioFrame:
        """Decoded audio as interleaved s16 at the stream's own rate and channel count."""
        import av
        import numpy as np

        channels = frame.layout.nb_channels
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout=frame.layout,
                                                rate=frame.sample_rate)
        parts = [f.to_ndarray().reshape(-1, channels) for f in self._resampler.resample(frame)]
        data = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return AudioFrame(data, frame.sample_rate, round(t * frame.sample_rate), t)

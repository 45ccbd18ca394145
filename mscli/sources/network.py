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
from mscli.media.frames import VideoFrame
from mscli.network.latency import GlassToGlass
from mscli.network.probe import NetworkUnreachable, open_stream
from mscli.network.reconnect import CONNECTION_LOST, END_OF_STREAM
from mscli.network.timeline import StreamTimeline
from mscli.sources import SourceThread
from mscli.sources.file import S16Audio


# No frame for this long is a stall (mute), whatever the frame rate: the jitter of a network
# stream is not one (an mpegts demuxer holds each frame until the next one starts, a lost TCP
# segment is resent after 200 ms or more), and the mute still comes within a second.
MUTE_SECONDS = 0.5


class NetworkSource(SourceThread):
    name = "network"
    mute_seconds = MUTE_SECONDS

    def __init__(self, track, clock, *, opened=None, **timing):
        super().__init__(track, clock, **timing)
        self._container = opened  # already open: a reconnect's, or the one capture probed
        self.timeline = StreamTimeline()
        # glass-to-glass latency, in the track's `stopped` stats (video only)
        self.glass = GlassToGlass() if track.kind == "video" else None
        self._audio = S16Audio()
        self._index = -1  # frames decoded

    def open(self) -> None:
        """Connects before the outputs open: an unreachable stream is a NotReadableError."""
        self.track.live = True  # a stream does not wait for the sinks (even with --unpaced)
        spec = self.track.device.source
        if self._container is None:
            self._container = spec.pop("opened", None)
        if self._container is None:
            try:
                self._container = open_stream(spec)
            except NetworkUnreachable as e:
                raise NotReadableError(f"{quoted(self.track.label)}: cannot read "
                                       f"{quoted(spec['url'])}: {e}") from None
        if not self._streams():
            self._container.close()
            raise NotReadableError(f"{quoted(self.track.label)}: {quoted(spec['url'])} has no "
                                   f"{self.track.kind}")

    def _streams(self):
        return getattr(self._container.streams, self.track.kind)

    def run(self) -> None:
        import av

        stream = self._streams()[0]
        container, self._container = self._container, None
        try:
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
        """Hands the decoded frame to the track, dated by the timeline (which may hold it
        for a moment, and then hand over several)."""
        arrival, wall = self.clock.now(), time.time()
        stamp = None if frame.pts is None else float(frame.pts * frame.time_base)
        if self.track.kind == "video":
            data = frame.to_ndarray(format="yuv420p").reshape(-1)
            if stamp is not None:
                luma = data[:frame.width * frame.height].reshape(frame.height, frame.width)
                self.glass.observe(luma, stamp, wall)
            frame = (data, frame.width, frame.height, frame.time_base)
        for t, item in self.timeline.add(stamp, arrival, frame):
            if self.track.kind == "video":
                data, width, height, time_base = item
                self._index += 1
                self.track.deliver(VideoFrame(data, width, height, self._index, time_base, t,
                                              self._index))
            else:
                self.track.deliver(self._audio(item, t))

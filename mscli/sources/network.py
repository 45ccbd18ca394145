"""A network stream read as a device (`"source": {"url": ...}` in a device file): PyAV demux
and decode, frames handed to the track as they arrive, like a camera's. The devices of one
URL read one connection, demuxed on one of their threads (network/stream.py).

Capture times follow the stream's own timestamps (network/timeline.py), anchored on arrival,
one anchor for the stream's video and audio: packets come in bursts (a TCP segment, the
demuxer waiting for the next frame's start), and stamping each frame with its arrival would
put two frames in one output slot and drop one.

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
from mscli.network.probe import NetworkUnreachable
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
        self._connection = opened  # a reconnect's (network/stream.py Connection)
        # glass-to-glass latency, in the track's `stopped` stats (video only)
        self.glass = GlassToGlass() if track.kind == "video" else None
        self._audio = S16Audio()
        self._index = -1  # frames decoded

    def open(self) -> None:
        """Connects before the outputs open (or joins the connection the stream's other
        device, or the probe, made): an unreachable stream is a NotReadableError."""
        self.track.live = True  # a stream does not wait for the sinks (even with --unpaced)
        spec = self.track.device.source
        if self._connection is None:
            try:
                self._connection = spec["shared"].connect()
            except NetworkUnreachable as e:
                raise NotReadableError(f"{quoted(self.track.label)}: cannot read "
                                       f"{quoted(spec['url'])}: {e}") from None
        if self.track.kind not in self._connection.streams():
            if not self._connection.reading:
                self._connection.close()
            raise NotReadableError(f"{quoted(self.track.label)}: {quoted(spec['url'])} has no "
                                   f"{self.track.kind}")
        self._connection.attach(self.track.kind, self)

    def run(self) -> None:
        self._connection.run(self)

    def prepare(self, frame, stamp: float | None):
        """What the track will take of a decoded frame, made on arrival (the glass-to-glass
        latency is read off the picture as it arrives)."""
        if self.track.kind == "audio":
            return frame
        data = frame.to_ndarray(format="yuv420p").reshape(-1)
        if stamp is not None:
            luma = data[:frame.width * frame.height].reshape(frame.height, frame.width)
            self.glass.observe(luma, stamp, time.time())
        return data, frame.width, frame.height, frame.time_base

    def hand(self, prepared, t: float) -> None:
        """The frame to the track at capture time t (the stream's timeline says when)."""
        if self.track.kind == "audio":
            self.track.deliver(self._audio(prepared, t))
            return
        data, width, height, time_base = prepared
        self._index += 1
        self.track.deliver(VideoFrame(data, width, height, self._index, time_base, t,
                                      self._index))

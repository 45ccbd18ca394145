"""One network stream, read by every device of a device file that names its URL: one
connection at a time, one demuxer, one timeline.

A sender's video and audio travel in one stream (one MPEG-TS, one FLV, one RTSP session). A
connection per device could not read them both from a sender that connects once (tcp, rtsp
or rtmp with ms listening: the second device would wait for a second sender) nor from one
udp port (a datagram reaches one socket), and would date each kind on an anchor of its own.
So the devices that name one URL share a SharedStream (the device file links them,
network/spec.py). Each connection it makes is read by one demuxer: the thread of the first of
its sources that starts demuxes for them all and hands each decoded frame to the source of
its kind, dated on the connection's timeline (network/timeline.py); the other sources'
threads have nothing to do.
"""

from __future__ import annotations

import threading

from mscli.network.probe import NetworkUnreachable, failure_reason, open_stream
from mscli.network.reconnect import CONNECTION_LOST, END_OF_STREAM
from mscli.network.timeline import StreamTimeline

KINDS = ("video", "audio")


class SharedStream:
    """The stream the devices naming one URL read: its source spec (theirs, checked equal)
    and the connection they read now."""

    def __init__(self, spec: dict):
        self.spec = spec
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    def connect(self) -> Connection:
        """The open connection, made if there is none (NetworkUnreachable if it cannot be)."""
        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = Connection(open_stream(self.spec))
            return self._connection

    def reconnect(self) -> Connection:
        """A new connection in place of the one that ended (--reconnect)."""
        connection = Connection(open_stream(self.spec))
        with self._lock:
            self._connection = connection
        return connection

    def close(self) -> None:
        """Closes the connection unless a capture reads it (the probe of caps, resolve)."""
        with self._lock:
            if self._connection is not None and not self._connection.reading:
                self._connection.close()


class Connection:
    """One open container and the sources reading it, at most one per kind."""

    def __init__(self, container):
        self.container = container
        self.timeline = StreamTimeline()
        self._lock = threading.Lock()
        self._sources: dict[str, object] = {}  # kind -> NetworkSource
        self._firsts: dict[str, tuple] = {}  # kind -> (stream, frame) the probe decoded
        self.reading = False  # a source's thread demuxes it
        self.closed = False

    def streams(self) -> dict:
        """kind -> the container's first stream of it (the one a device of that kind reads)."""
        return {kind: getattr(self.container.streams, kind)[0] for kind in KINDS
                if getattr(self.container.streams, kind)}

    def attach(self, kind: str, source) -> None:
        with self._lock:
            self._sources[kind] = source
        if kind == "video":  # its frames on the recording's grid (network/timeline.py)
            self.timeline.align_to(1 / source.track.settings["frameRate"])

    def first_frame(self, kind: str):
        """(stream, first decoded frame) of `kind`, for a device's modes. The packets of both
        kinds read meanwhile are decoded too (their frames go unused, before the capture):
        a skipped video packet would leave the decoder without its reference frames until
        the next keyframe. NetworkUnreachable if the stream gives none."""
        import av

        from mscli.media.probe import MAX_PACKETS

        streams = self.streams()
        if kind not in streams:
            raise NetworkUnreachable(f"has no {kind} stream")
        try:
            packets = () if kind in self._firsts else \
                self.container.demux(list(streams.values()))
            for count, packet in enumerate(packets):
                for frame in packet.decode():
                    self._firsts.setdefault(packet.stream.type, (packet.stream, frame))
                # checked before the next packet is read: one read and not decoded is lost
                if kind in self._firsts or count >= MAX_PACKETS:
                    break
        except av.FFmpegError as e:
            raise NetworkUnreachable(failure_reason(e)) from None
        except OSError as e:  # PyAV lets some socket failures through as they are
            raise NetworkUnreachable(e.strerror or str(e)) from None
        if kind not in self._firsts:
            raise NetworkUnreachable(f"its {kind} stream has no frame FFmpeg can decode")
        return self._firsts[kind]

    def run(self, source) -> None:
        """Called on each attached source's thread: the first one demuxes for all, until the
        stream ends, the user's limit, or every source stopped."""
        with self._lock:
            if self.reading:
                return
            self.reading = True
        try:
            self._demux(source)
        finally:
            self.close()

    def close(self) -> None:
        self.closed = True
        self.container.close()

    def _live(self) -> dict:
        with self._lock:
            return {k: s for k, s in self._sources.items() if not s.stopped}

    def _demux(self, first) -> None:
        import av

        streams = self.streams()
        try:
            for packet in self.container.demux(list(streams.values())):
                live = self._live()
                if not live:
                    return
                source = live.get(packet.stream.type)
                if source is not None:
                    for frame in packet.decode():
                        self._deliver(source, frame)
                if first.past_limit(first.clock.now()):
                    for source in live.values():
                        source.track.source_finished()
                    return
            self._end(END_OF_STREAM)
        except (av.FFmpegError, OSError) as e:
            # FFmpeg's read timeout ("Immediate exit requested") or a reset connection;
            # udp and rtmp readers see a sender that went away as EIO (field.md).
            self._end(END_OF_STREAM if isinstance(e, EOFError) else CONNECTION_LOST)

    def _deliver(self, source, frame) -> None:
        """The decoded frame to its source, dated on the stream's one timeline (which may
        hold it for a moment, and then hand over several, of either kind)."""
        stamp = None if frame.pts is None else float(frame.pts * frame.time_base)
        arrival = source.clock.now()
        item = (source, source.prepare(frame, stamp))
        for t, (to, prepared) in self.timeline.add(stamp, arrival, item, source.track.kind):
            if not to.stopped:
                to.hand(prepared, t)

    def _end(self, reason: str) -> None:
        for source in self._live().values():
            source.track.source_ended(reason)

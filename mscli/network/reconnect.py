"""--reconnect for network sources: a stream that ended (its sender stopped, the connection
dropped) is reopened in the background, with backoff, until it answers or the capture stops;
the session then puts a new track on it (addtrack), as for a camera that came back.

Reopening runs on a thread of its own: an attempt may wait OPEN_SECONDS for a server that is
gone, and the writer must go on writing the other tracks meanwhile.
"""

from __future__ import annotations

import threading

from mscli.network.probe import NetworkUnreachable, stream_mode

# The reasons a network source's track ends with (`ended` detail.reason)
END_OF_STREAM = "end-of-stream"
CONNECTION_LOST = "connection-lost"
NETWORK_ENDINGS = (END_OF_STREAM, CONNECTION_LOST)
BACKOFF = (0.25, 0.5, 1.0, 2.0)  # seconds between attempts; the last repeats


class StreamReturns:
    """The ended network tracks being reopened; `ready()` hands over those that answered. The
    tracks of one stream (its video and audio) wait for one new connection."""

    def __init__(self, wake: threading.Condition):
        self._wake = wake
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._waiting: dict[int, list] = {}  # id of a SharedStream -> its tracks being reopened
        self._ready: list[tuple[object, object]] = []  # (ended track, open Connection)

    @property
    def pending(self) -> bool:
        with self._lock:
            return bool(self._waiting or self._ready)

    def watch(self, track) -> None:
        """Reopens `track`'s stream until it answers (or stop()); a track whose stream is
        being reopened already waits for that connection."""
        shared = track.device.source["shared"]
        with self._lock:
            waiting = self._waiting.setdefault(id(shared), [])
            waiting.append(track)
            if len(waiting) > 1:
                return
        threading.Thread(target=self._reopen, args=(shared,), name="ms-reconnect",
                         daemon=True).start()

    def ready(self) -> list[tuple[object, object]]:
        """(ended track, its stream open again) for each stream that came back since."""
        with self._lock:
            ready, self._ready = self._ready, []
        return ready

    def stop(self) -> None:
        self._stop.set()

    def _reopen(self, shared) -> None:
        attempt = 0
        while not self._stop.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)]):
            attempt += 1
            try:
                connection = shared.reconnect()
            except NetworkUnreachable:
                continue
            with self._lock:
                tracks = list(self._waiting[id(shared)])
            try:
                for track in tracks:
                    stream, frame = connection.first_frame(track.kind)
                    if track.kind == "video" and track.device.source.get("probed"):
                        track.device.modes = (stream_mode(stream, frame),)  # the stream's again
            except NetworkUnreachable:
                connection.close()
                continue
            with self._lock:
                tracks = self._waiting.pop(id(shared))
                if self._stop.is_set():
                    connection.close()
                    return
                self._ready.extend((track, connection) for track in tracks)
            with self._wake:
                self._wake.notify_all()
            return
        with self._lock:
            self._waiting.pop(id(shared), None)

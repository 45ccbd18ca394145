"""--reconnect for network sources: a stream that ended (its sender stopped, the connection
dropped) is reopened in the background, with backoff, until it answers or the capture stops;
the session then puts a new track on it (addtrack), as for a camera that came back.

Reopening runs on a thread of its own: an attempt may wait OPEN_SECONDS for a server that is
gone, and the writer must go on writing the other tracks meanwhile.
"""

from __future__ import annotations

import threading

from mscli.network.probe import NetworkUnreachable, first_frame, open_stream, stream_mode

# The reasons a network source's track ends with (`ended` detail.reason)
END_OF_STREAM = "end-of-stream"
CONNECTION_LOST = "connection-lost"
NETWORK_ENDINGS = (END_OF_STREAM, CONNECTION_LOST)
BACKOFF = (0.25, 0.5, 1.0, 2.0)  # seconds between attempts; the last repeats


class StreamReturns:
    """The ended network tracks being reopened; `ready()` hands over those that answered."""

    def __init__(self, wake: threading.Condition):
        self._wake = wake
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._waiting: set[str] = set()  # ids of the tracks still being reopened
        self._ready: list[tuple[object, object]] = []  # (ended track, open container)

    @property
    def pending(self) -> bool:
        with self._lock:
            return bool(self._waiting or self._ready)

    def watch(self, track) -> None:
        """Reopens `track`'s stream until it answers (or stop())."""
        with self._lock:
            self._waiting.add(track.id)
        threading.Thread(target=self._reopen, args=(track,), name="ms-reconnect",
                         daemon=True).start()

    def ready(self) -> list[tuple[object, object]]:
        """(ended track, its stream open again) for each stream that came back since."""
        with self._lock:
            ready, self._ready = self._ready, []
        return ready

    def stop(self) -> None:
        self._stop.set()

    def _reopen(self, track) -> None:
        spec = track.device.source
        kind = track.kind
        attempt = 0
        while not self._stop.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)]):
            attempt += 1
            try:
                container = open_stream(spec)
            except NetworkUnreachable:
                continue
            try:
                stream, frame = first_frame(container, kind)
            except NetworkUnreachable:
                container.close()
                continue
            if kind == "video" and spec.get("probed"):  # the modes were the stream's: again
                track.device.modes = (stream_mode(stream, frame),)
            with self._lock:
                self._waiting.discard(track.id)
                if self._stop.is_set():
                    container.close()
                    return
                self._ready.append((track, container))
            with self._wake:
                self._wake.notify_all()
            return
        with self._lock:
            self._waiting.discard(track.id)

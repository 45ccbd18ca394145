"""`-o URL`: a publication to a server, encoded and sent on its own thread.

The session's writer only queues frames here, so a slow or stalled server never stalls the
other outputs: the queue holds at most QUEUE_SECONDS of capture time (older frames are dropped
and counted), and a server that takes nothing for STALL_SECONDS is an error (without
--reconnect). The connection is made when the output opens, before the capture starts: a
refused one is `cannot publish to URL: ...` and nothing else is recorded.

A connection lost mid-stream is an error at the writer's next frame (the session then
finalises the local files), or, with --reconnect, a `removetrack` event (target "output",
detail.output the URL), retries after BACKOFF seconds, and an `addtrack` event once the
server takes the stream again: a new connection with fresh encoders, starting on a keyframe.
Frames captured while it was away are not sent.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time

from mscli import messages
from mscli.errors import AbortError
from mscli.network.urls import ANSWER_SECONDS, PROTOCOLS, ffmpeg_url, format_info
from mscli.outputs import Sink, recorder_specs, write_frame

QUEUE_SECONDS = 2.0  # capture time queued for a slow server before the oldest is dropped
STALL_SECONDS = ANSWER_SECONDS  # a server that takes nothing for this long is gone
CLOSE_SECONDS = 5.0  # how long closing waits for the last frames to go out
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before each retry; then every 8 s


class Destination:
    """What the recorder writes to instead of a file: FFmpeg's protocol opens the URL."""

    def __init__(self, url: str, protocol: str):
        self.name = url  # what messages name: the user's URL
        self.url = ffmpeg_url(url, protocol)
        self.muxer_options = dict(PROTOCOLS[protocol].muxer_options)
        self.error = None  # a file's first OSError; FFmpeg's protocol reports its own
        self.bytes_written = 0

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        pass  # flush_packets: FFmpeg sends each packet as it is muxed

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass


def publish_error(url: str, error: Exception, what: str = "cannot publish to",
                  lost: bool = False) -> AbortError:
    """The recorder's error (`cannot record to URL: reason`, or the OSError of a connection
    that went away, e.g. BrokenPipeError, which must not pass for stdout's) in publishing
    terms; `lost`: the connection had been working."""
    if isinstance(error, AbortError):
        reason = error.message.split(f"{url}: ", 1)[-1]
    else:
        reason = getattr(error, "strerror", None) or str(error)
    if lost:
        reason = f"the connection was lost ({reason})"
    return AbortError(f"{what} {url}: {reason}")


class PublishSink(Sink):
    def __init__(self, plan, settings: dict[str, dict], options: dict, events,
                 reconnect: bool, monotonic=time.monotonic):
        super().__init__(plan, settings)
        self._protocol = plan.device
        self._specs = recorder_specs(settings)
        self._options = options
        self._events = events
        self._reconnect = reconnect
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._queue: collections.deque = collections.deque()
        self._closing = False
        self._error: AbortError | None = None  # the worker's, raised on the writer's thread
        self._progress = monotonic()  # when the worker last finished a frame
        self._waiting = self._progress  # when the queue last went from empty to not
        self.sent = 0  # frames and audio chunks handed to the connection
        self.dropped = 0  # those not sent: the queue was full, or the server away
        self.reconnects = 0
        self.recorder = self._connect()
        for note in self.recorder.notes:
            messages.detail(note)
        self._thread = threading.Thread(target=self._run, name=f"publish {plan.target}",
                                        daemon=True)
        self._thread.start()

    def _connect(self):
        from mscli.sinks.recorder import Recorder

        start = self._monotonic()
        try:
            return Recorder(Destination(self.plan.target, self._protocol),
                            format_info(self._protocol), *self._specs, live=True,
                            **self._options)
        except (AbortError, OSError) as e:
            # FFmpeg gave up at its bound (or the system's): its words ("invalid data") mislead
            waited = self._monotonic() - start
            if waited >= ANSWER_SECONDS:
                raise AbortError(f"cannot publish to {self.plan.target}: no answer within "
                                 f"{waited:.0f} s (is the server up, and not hung?)") from None
            raise publish_error(self.plan.target, e) from None

    # -- the writer's side ------------------------------------------------------------------

    def _write(self, frame) -> None:
        with self._cond:
            if self._error is not None:
                raise self._error
            now = self._monotonic()
            if not self._queue:
                self._waiting = now
            elif now - max(self._progress, self._waiting) > STALL_SECONDS and \
                    self.recorder is not None and not self._reconnect:
                raise AbortError(f"cannot publish to {self.plan.target}: the server took "
                                 f"nothing for {STALL_SECONDS:.0f} s")
            self._queue.append(frame)
            while self._queue[-1].time - self._queue[0].time > QUEUE_SECONDS:
                self._queue.popleft()
                self.dropped += 1
            self._cond.notify()

    def _close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(CLOSE_SECONDS)
        if self._thread.is_alive():
            raise AbortError(f"cannot finish publishing to {self.plan.target}: the server "
                             f"took nothing for {CLOSE_SECONDS:.0f} s")
        if self.dropped:
            messages.warn(f"{self.plan.target}: {self.dropped} frames and audio chunks not "
                          "sent (the server was slow or away)")
        if self._error is not None:
            raise self._error

    def report(self) -> dict:
        """For the `stopped` event: what became of the publication."""
        return {"output": self.plan.target, "frames": self.sent, "dropped": self.dropped,
                "reconnects": self.reconnects}

    # -- the worker's side ------------------------------------------------------------------

    def _next(self):
        """The next frame to send, or None once closing with nothing left."""
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            return self._queue.popleft() if self._queue else None

    def _run(self) -> None:
        try:
            self._send()
        except Exception as e:  # noqa: BLE001 - the writer raises it, not this thread
            self._error = publish_error(self.plan.target, e)

    def _send(self) -> None:
        while True:
            frame = self._next()
            if frame is None:
                break
            try:
                write_frame(self.recorder, frame)
                self.sent += 1
            except (AbortError, OSError) as e:
                if not self._lost(publish_error(self.plan.target, e, lost=True)):
                    return
            self._progress = self._monotonic()
        try:
            self.recorder.close()
        except (AbortError, OSError) as e:
            self._error = publish_error(self.plan.target, e, "cannot finish publishing to")

    def _lost(self, error: AbortError) -> bool:
        """The connection failed: True once it is back (--reconnect), False if it is not."""
        recorder, self.recorder = self.recorder, None
        with contextlib.suppress(Exception):
            recorder.close()
        if not self._reconnect:
            with self._cond:
                self._error = error
                self._queue.clear()
            return False
        url = self.plan.target
        self._events.emit("removetrack", target="output",
                          detail={"output": url, "reason": error.message.split(f"{url}: ")[-1]})
        lost_at, attempt = self._monotonic(), 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closing,
                                    BACKOFF[min(attempt, len(BACKOFF) - 1)])
                self.dropped += len(self._queue)
                self._queue.clear()
                if self._closing:
                    return False
            attempt += 1
            try:
                self.recorder = self._connect()
            except AbortError:  # still refused: wait longer
                continue
            self.reconnects += 1
            self._events.emit("addtrack", target="output",
                              detail={"output": url, "attempts": attempt,
                                      "away": round(self._monotonic() - lost_at, 3)})
            return True

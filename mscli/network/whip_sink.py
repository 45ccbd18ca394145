"""`-o whip+http(s)://…`: the tracks published over WebRTC (whip.py), as one of the outputs.

Frames become av frames stamped with their capture times: video at RTP's 90 kHz, audio in
samples. H.264 codes even sizes only (sinks/geometry.py), so an odd picture is padded by a
repeated edge whichever codec the endpoint picks.

The session is made when the output opens, before the capture starts: a refused one is an
AbortError and nothing is recorded. A connection lost mid-stream is an AbortError at the
writer's next frame (the session then finalises the local files), or, with --reconnect, a
`removetrack` event (target "output", detail.output the URL), new sessions tried on a thread
of their own after BACKOFF seconds, and an `addtrack` event once one is up. Frames captured
while it was away are not sent (counted in `dropped`).
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction

from mscli import messages
from mscli.errors import AbortError
from mscli.network.publish import BACKOFF  # the URL outputs' schedule: one for every -o URL
from mscli.outputs import Sink


class WhipSink(Sink):
    def __init__(self, plan, settings: dict[str, dict], clock, events=None,
                 reconnect: bool = False):
        super().__init__(plan, settings)
        self._clock = clock
        self._events = events
        self._reconnect = reconnect
        self._closing = threading.Event()
        self._lock = threading.Lock()  # the client, between the writer and the retries
        self._retry: threading.Thread | None = None
        self.dropped = 0  # frames and audio chunks not sent: the endpoint away, or slow
        self.sent = 0  # by the sessions that ended
        self.reconnects = 0
        self.client = self._session()

    def _session(self):
        from mscli.network.whip import WhipClient

        return WhipClient(self.plan.target, self.plan.kinds, f"-o {self.plan.target}",
                          self._clock.now)

    def _write(self, frame) -> None:
        from mscli.media.frames import VideoFrame

        with self._lock:
            client = self.client
        if client is not None and client.error is not None:
            if not self._reconnect:
                raise client.error
            self._lost(client)
            client = None
        if client is None:
            self.dropped += 1
            return
        if isinstance(frame, VideoFrame):
            client.send("video", video_frame(frame))
        else:
            client.send("audio", audio_frame(frame))

    def _lost(self, client) -> None:
        """--reconnect: says so, and tries new sessions until one is up or the stop."""
        with self._lock:
            self.client = None
        self._retire(client)
        reason = client.error.message.split(f"{self.plan.target}: ", 1)[-1]
        self._events.emit("removetrack", target="output",
                          detail={"output": self.plan.target, "reason": reason})
        self._retry = threading.Thread(target=self._come_back, name="whip reconnect",
                                       daemon=True)
        self._retry.start()

    def _come_back(self) -> None:
        lost_at, attempt = time.monotonic(), 0
        while not self._closing.wait(BACKOFF[min(attempt, len(BACKOFF) - 1)]):
            attempt += 1
            try:
                client = self._session()
            except AbortError:  # still away: wait longer
                continue
            with self._lock:
                if not self._closing.is_set():
                    self.client, client = client, None
            if client is not None:  # up just as the capture stopped
                client.close()
                return
            self.reconnects += 1
            self._events.emit("addtrack", target="output",
                              detail={"output": self.plan.target, "attempts": attempt,
                                      "away": round(time.monotonic() - lost_at, 3)})
            return

    def _close(self) -> None:
        """Ends the session (a retry under way ends on its own: it sees the stop)."""
        with self._lock:
            self._closing.set()
            client, self.client = self.client, None
        if client is not None:
            error = client.error
            self._retire(client)
            if error is not None and not self.failed:
                raise error
        if self.dropped:
            messages.warn(f"{self.plan.target}: {self.dropped} frames and audio chunks not "
                          "sent (the endpoint was away or took them too slowly)")

    def _retire(self, client) -> None:
        """Ends a session; its counts join the output's."""
        client.close()
        self.sent += client.sent
        self.dropped += client.dropped

    def report(self) -> dict:
        """For the `stopped` event, as the other URL outputs (network/publish.py)."""
        with self._lock:
            live = self.client.sent if self.client is not None else 0
        return {"output": self.plan.target, "frames": self.sent + live,
                "dropped": self.dropped, "reconnects": self.reconnects}

    def discard(self) -> None:
        self._close()


def video_frame(frame):
    """An av.VideoFrame of `frame` (even size), pts its capture time at 90 kHz."""
    from mscli.network.whip import VIDEO_CLOCK
    from mscli.sinks.geometry import to_av_frame

    out = to_av_frame(frame, frame.width + frame.width % 2, frame.height + frame.height % 2)
    out.pts = round(frame.time * VIDEO_CLOCK)
    out.time_base = Fraction(1, VIDEO_CLOCK)
    return out


def audio_frame(frame):
    """An av.AudioFrame of `frame` (s16; Opus takes mono or stereo: the first two channels
    of more), pts its first sample's number."""
    import av

    data = frame.data[:, :2] if frame.channels > 2 else frame.data
    layout = "mono" if data.shape[1] == 1 else "stereo"
    out = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout=layout)
    out.sample_rate = frame.sample_rate
    out.pts = frame.pts
    out.time_base = Fraction(1, frame.sample_rate)
    return out

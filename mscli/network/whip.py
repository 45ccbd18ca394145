"""A WHIP client (WebRTC-HTTP Ingestion Protocol, RFC 9725) through aiortc: `-o
whip+http://HOST:PORT/PATH` publishes the capture to a WebRTC media server.

The exchange: POST the SDP offer (Content-Type application/sdp); the endpoint answers 201 with
its SDP and a Location, the session's resource, which a DELETE ends. aiortc gathers every
candidate before the offer is made (no trickle), which is what WHIP's simplest form expects.

aiortc runs on an asyncio loop of its own thread. The writer (ms's main thread) hands frames
over in `send()`, which never blocks: each track keeps a bounded buffer and drops its oldest
frame when the encoder falls behind (counted in `dropped`). Frames keep their capture times as
RTP timestamps.

ICE runs over the URL's host: besides the machine's addresses, the one it uses to reach that
host is a candidate (aioice leaves 127.0.0.1 out, so without it an endpoint on loopback is out
of reach on a machine with no other interface), and no public STUN server is asked
(aiortc's default is Google's): a WHIP server is reached directly.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request

from mscli.errors import AbortError
from mscli.network.urls import http_url

HTTP_SECONDS = 10.0  # the POST and the DELETE
CONNECT_SECONDS = 10.0  # ICE + DTLS after the answer: a failure within this bound
# The endpoint's RTCP receiver reports come about every second (aiortc: 0.5-1.5 s, Chrome and
# pion: 1 s); none for this long, and the endpoint is gone (ICE consent would take 30 s).
LOST_SECONDS = 4.0
WATCH_SECONDS = 0.25
LOST_DELETE_SECONDS = 2.0
# At the stop, for the frames still buffered to be encoded and sent (a loaded machine's
# encoder can be a second or more behind).
DRAIN_SECONDS = 5.0
# Buffered frames per track before the oldest is dropped: ~1 s of 30 fps video and of audio
# in 10 ms chunks (a loaded machine's first encoder takes a while to open).
BUFFERED = {"video": 30, "audio": 100}
VIDEO_CLOCK = 90000  # RTP's video clock: frames' pts are in these units
OPUS_CLOCK = 48000


def quiet_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for aiortc on which a background task's unretrieved error prints
    nothing. When a connection fails, aiortc's own tasks (ICE, DTLS) fail after it, and asyncio
    would print their tracebacks on stderr beside ms's one line saying what failed; ms's own
    coroutines run through futures whose errors it takes and reports."""
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)
    return loop


class _Buffer:
    """Frames handed over by the writer thread, taken by aiortc's loop; bounded, oldest
    dropped, so the writer never waits for the network."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int):
        self._loop = loop
        self._frames: collections.deque = collections.deque(maxlen=size)
        self._ready = asyncio.Event()
        self.dropped = 0
        self.taken = 0  # frames aiortc took to encode and send
        self.closed = False

    def put(self, item) -> None:  # writer thread
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(item)
        self._loop.call_soon_threadsafe(self._ready.set)

    def close(self) -> None:  # writer thread: recv() ends once the buffer is empty
        self.closed = True
        self._loop.call_soon_threadsafe(self._ready.set)

    def __len__(self) -> int:
        return len(self._frames)

    async def get(self):
        """The next frame, or None once closed and empty."""
        while not self._frames:
            if self.closed:
                return None
            self._ready.clear()
            if self._frames or self.closed:
                continue
            await self._ready.wait()
        self.taken += 1
        return self._frames.popleft()


def _track_class(kind: str):
    """aiortc's MediaStreamTrack fed from a _Buffer (aiortc is imported only here)."""
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    class BufferedTrack(MediaStreamTrack):
        def __init__(self, buffer: _Buffer):
            super().__init__()
            self.kind = kind
            self.buffer = buffer
            self.first: float | None = None  # the first frame's capture time

        async def recv(self):
            frame = await self.buffer.get()
            if frame is None:
                self.stop()
                raise MediaStreamError
            if self.first is None:
                self.first = float(frame.pts * frame.time_base)
            return frame

        def timestamp(self, seconds: float) -> int | None:
            """The RTP timestamp aiortc gives capture time `seconds`, before its origin:
            video keeps the pts (90 kHz); Opus counts 48 kHz samples from the first frame."""
            if kind == "video":
                return round(seconds * VIDEO_CLOCK)
            return None if self.first is None else round((seconds - self.first) * OPUS_CLOCK)

    return BufferedTrack


class WhipClient:
    """One WHIP session: `kinds` ("video", "audio") tracks, sent from `send(kind, frame)` with
    av frames whose pts are capture times (video at VIDEO_CLOCK). Raises AbortError (one
    line) when the endpoint refuses or the connection cannot be made; `error` holds the loss
    of an established connection."""

    def __init__(self, target: str, kinds: tuple[str, ...], option: str, capture_now=None):
        self.option = option  # "-o whip+http://…", for messages
        # The capture clock (seconds): sender reports then place both tracks on it.
        self._capture_now = capture_now
        self.url = http_url(target)
        self.location: str | None = None
        self.error: AbortError | None = None
        self._closing = False
        self._loop = quiet_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="whip",
                                        daemon=True)
        self._thread.start()
        self.buffers = {k: _Buffer(self._loop, BUFFERED[k]) for k in kinds}
        self._pc = None
        self._tracks = []  # the BufferedTracks
        self._watcher = None  # the _watch task, a concurrent Future
        try:
            self._connect()
        except BaseException:
            self._shutdown()
            raise

    # --- the writer's side ------------------------------------------------------------------

    def send(self, kind: str, frame) -> None:
        if self.error is not None:
            raise self.error
        self.buffers[kind].put(frame)

    @property
    def dropped(self) -> int:
        """Frames and audio chunks the buffers dropped (the sender fell behind)."""
        return sum(b.dropped for b in self.buffers.values())

    @property
    def sent(self) -> int:
        """Frames and audio chunks handed to aiortc's senders."""
        return sum(b.taken for b in self.buffers.values())

    def close(self) -> None:
        """Send what is buffered (up to DRAIN_SECONDS), DELETE the session, close."""
        self._closing = True
        try:
            if self.error is None:
                self._call(self._drain(), DRAIN_SECONDS + 1)
        finally:
            self._shutdown()

    # --- set-up ---------------------------------------------------------------------------

    def _connect(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        allow_route_to(parts.hostname, port)
        offer = self._call(self._offer(), HTTP_SECONDS)
        answer = self._post(offer)
        self._call(self._answer(answer), CONNECT_SECONDS + 1)
        self._watcher = asyncio.run_coroutine_threadsafe(self._watch(), self._loop)

    async def _offer(self) -> str:
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender

        from mscli.network.whip_reports import CaptureReports

        self._pc = pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for kind, buffer in self.buffers.items():
            track = _track_class(kind)(buffer)
            self._tracks.append(track)
            transceiver = pc.addTransceiver(track, direction="sendonly")
            if kind == "audio":  # WebRTC's mandatory codec; PCMU/PCMA would be 8 kHz
                transceiver.setCodecPreferences(
                    [c for c in RTCRtpSender.getCapabilities("audio").codecs
                     if c.mimeType.lower() == "audio/opus"])
            if self._capture_now is not None:
                CaptureReports(transceiver.sender, self._capture_now, track.timestamp)
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp

    def _post(self, offer: str) -> str:
        request = urllib.request.Request(self.url, data=offer.encode(), method="POST",
                                         headers={"Content-Type": "application/sdp"})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_SECONDS) as response:
                status, body = response.status, response.read()
                location = response.headers.get("Location")
        except urllib.error.HTTPError as e:
            raise AbortError(f"{self.option}: the WHIP endpoint refused the session: "
                             f"HTTP {e.code} {e.reason}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise AbortError(f"{self.option}: cannot reach the WHIP endpoint: "
                             f"{getattr(reason, 'strerror', None) or reason}") from None
        if status != 201 or not location:
            raise AbortError(f"{self.option}: the WHIP endpoint answered HTTP {status}"
                             f"{'' if location else ' without a Location'}; a WHIP endpoint "
                             "answers 201 Created with a Location")
        self.location = urllib.parse.urljoin(self.url, location)
        return body.decode("utf-8", "replace")

    async def _answer(self, sdp: str) -> None:
        from aiortc import RTCSessionDescription

        pc = self._pc
        connected = asyncio.Event()
        pc.on("connectionstatechange", connected.set)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except ValueError as e:  # aiortc's word for an answer it cannot use
            raise AbortError(f"{self.option}: the WHIP endpoint's answer is not usable: "
                             f"{e}") from None
        deadline = self._loop.time() + CONNECT_SECONDS
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed"):
                raise AbortError(f"{self.option}: the WebRTC connection failed (ICE/DTLS "
                                 "with the endpoint's candidates)")
            connected.clear()
            left = deadline - self._loop.time()
            if left <= 0:
                raise AbortError(f"{self.option}: no WebRTC connection within "
                                 f"{CONNECT_SECONDS:g} s (ICE/DTLS): are the endpoint's "
                                 "candidates reachable from here?")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(connected.wait(), left)

    # --- running --------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Marks the connection lost when it fails or closes without us, or when the
        endpoint's receiver reports stop coming (a killed endpoint says nothing)."""
        pc = self._pc
        heard = datetime.datetime.now(datetime.timezone.utc)
        while not self._closing:
            await asyncio.sleep(WATCH_SECONDS)
            if self._closing:
                return
            now = datetime.datetime.now(datetime.timezone.utc)
            for sender in pc.getSenders():
                for stat in (await sender.getStats()).values():
                    if stat.type == "remote-inbound-rtp":
                        heard = max(heard, stat.timestamp)
            silent = (now - heard).total_seconds()
            if pc.connectionState in ("failed", "closed") or silent > LOST_SECONDS:
                why = (f"the connection {pc.connectionState}" if silent <= LOST_SECONDS
                       else f"nothing heard from the endpoint for {silent:.0f} s")
                self.error = AbortError(f"{self.option}: the WebRTC connection was lost "
                                        f"({why}); publishing stopped")
                return

    async def _drain(self) -> None:
        """Until every track's sender has sent its last frame and met the end."""
        for buffer in self.buffers.values():
            buffer.close()
        deadline = self._loop.time() + DRAIN_SECONDS
        while any(t.readyState == "live" for t in self._tracks) and \
                self._loop.time() < deadline:
            await asyncio.sleep(0.02)

    # --- shutting down --------------------------------------------------------------------

    def _shutdown(self) -> None:
        """DELETE the session (if there is one), close the peer connection, stop the loop.
        Never raises: the stop goes on."""
        self._closing = True
        if self._watcher is not None:
            self._watcher.cancel()
        if self.location is not None:
            # After a loss too: a server that only went quiet frees the session; one that is
            # gone refuses at once, or the short wait bounds an unreachable host.
            request = urllib.request.Request(self.location, method="DELETE")
            with contextlib.suppress(OSError, urllib.error.URLError):
                urllib.request.urlopen(request, timeout=HTTP_SECONDS if self.error is None
                                       else LOST_DELETE_SECONDS).close()
        if self._pc is not None:
            with contextlib.suppress(Exception):
                self._call(self._pc.close(), 5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self._loop.close()

    def _call(self, coroutine, timeout: float):
        """Runs `coroutine` on the loop; its result, its exception, or AbortError on timeout."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise AbortError(f"{self.option}: WebRTC did not answer within {timeout:g} s") \
                from None


# --- ICE over the URL's host ----------------------------------------------------------------

_ROUTES: set[str] = set()


def route_address(host: str, port: int) -> str | None:
    """This machine's address on the route to host:port (a UDP connect sends nothing)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(address)
            return s.getsockname()[0]
    except OSError:
        return None


def allow_route_to(host: str, port: int) -> None:
    """Adds the address that reaches host to the host candidates aioice gathers: it lists the
    interfaces' addresses but leaves out 127.0.0.1 (and ::1), the only route to an endpoint
    on this machine when there is no other interface."""
    import aioice.ice

    address = route_address(host, port)
    if address is None:
        return
    _ROUTES.add(address)
    gather = aioice.ice.get_host_addresses
    if getattr(gather, "widened", False):
        return

    def widened(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        found = gather(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        extra = [a for a in sorted(_ROUTES) if a not in found
                 and (use_ipv6 if ":" in a else use_ipv4)]
        return found + extra

    widened.widened = True
    aioice.ice.get_host_addresses = widened

"""RTCP sender reports on the capture clock, so that a receiver puts audio and video in sync.

A receiver (a browser, a media server) places each stream on the sender's wall clock through
its sender reports: an NTP time and the RTP timestamp of that same instant (RFC 3550 6.4.1).
aiortc pairs the NTP time a packet was sent at with that packet's RTP timestamp, which is the
capture time of what it carries: each stream is placed late by its own capture-to-send delay.
For audio that delay is a whole Opus packet (20 ms: a packet goes out once its last sample is
in), for video a few ms of encoding, so a receiver shows audio ~17 ms behind the video before
anything else (measured: tests/test_whip.py).

Here each report's RTP timestamp is replaced by the one of its NTP time on the capture
timeline. The timestamps aiortc stamps are the capture times ms gave (video: pts at 90 kHz;
audio: samples from the first frame's) plus a random origin aiortc keeps to itself; the origin
is the first report's timestamp minus the frame last sent in full, taken when no frame is
half sent. Until then a report goes out as aiortc made it.
"""

from __future__ import annotations

import time

NTP_UNIX = 2208988800  # seconds from 1900 (NTP) to 1970
WRAP = 2 ** 32


class CaptureReports:
    """Hooks one aiortc RTCRtpSender. `capture_now()`: the capture clock's time now;
    `timestamp(seconds)`: the RTP timestamp (before aiortc's origin) of a capture time, or
    None while unknown (audio before its first frame)."""

    def __init__(self, sender, capture_now, timestamp):
        self._capture_now = capture_now
        self._timestamp = timestamp
        self._origin: int | None = None
        self._sent: int | None = None  # the last frame whose packets all went out
        self._pending: int | None = None  # a frame being sent
        self._next_frame, self._send_rtcp = sender._next_encoded_frame, sender._send_rtcp
        sender._next_encoded_frame, sender._send_rtcp = self.next_frame, self.send_rtcp

    async def next_frame(self, codec):
        # aiortc asks for the next frame once every packet of the previous one is sent.
        if self._pending is not None:
            self._sent, self._pending = self._pending, None
        frame = await self._next_frame(codec)
        if frame is not None:
            self._pending = frame.timestamp
        return frame

    async def send_rtcp(self, packets) -> None:
        from aiortc.rtp import RtcpSrPacket

        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                self.correct(packet.sender_info)
        await self._send_rtcp(packets)

    def correct(self, info) -> None:
        if self._origin is None and self._pending is None and self._sent is not None:
            self._origin = (info.rtp_timestamp - self._sent) % WRAP
        if self._origin is None or not info.ntp_timestamp:
            return
        ntp = (info.ntp_timestamp >> 32) - NTP_UNIX + (info.ntp_timestamp & 0xFFFFFFFF) / WRAP
        at = self._timestamp(self._capture_now() - (time.time() - ntp))
        if at is not None:
            info.rtp_timestamp = (self._origin + at) % WRAP

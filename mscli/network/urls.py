"""Which `-o` targets are URLs, and how each protocol is published, decided before anything
opens. No PyAV here: planning the outputs costs no heavy import.

FFmpeg's protocols carry one container each: MPEG-TS over udp, tcp and RTP (FFmpeg's
rtp_mpegts), FLV over RTMP, and RTSP's own RTP streams announced with RECORD. Protocol options
go in the URL's query (`udp://host:port?pkt_size=1316`): PyAV opens outputs without an options
dict, and FFmpeg reads them from there.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from mscli.errors import UsageError

# WHIP (network/whip.py) is told apart here: that module loads asyncio and urllib.request.
WHIP_SCHEMES = ("whip+http://", "whip+https://")
WHIP_INSTALL_HINT = "pip install 'mscli[webrtc]'"


# How long FFmpeg may wait for a server: to connect, to answer, to take what it is sent (the
# same 10 s after which a publication that took nothing is lost, network/publish.py). PyAV
# opens an output without its interrupt callback and holding the GIL: unbounded, a server that
# accepts the connection and says nothing (hung, or a socket nobody accepts on) froze ms for
# good, deaf to SIGTERM and -t. tcp:// takes it in the URL, rtsp:// as a muxer option; rtmp://
# has no such option in FFmpeg (a hung RTMP server still blocks the open).
ANSWER_SECONDS = 10
ANSWER_MICROSECONDS = ANSWER_SECONDS * 1_000_000


@dataclass(frozen=True)
class Protocol:
    muxer: str
    video_codec: str
    audio_codec: str  # one the container takes: AAC for FLV, MPEG-TS and RTSP alike
    muxer_options: tuple[tuple[str, str], ...] = ()


PROTOCOLS = {
    "udp": Protocol("mpegts", "libx264", "aac"),
    "tcp": Protocol("mpegts", "libx264", "aac"),
    "rtp": Protocol("rtp_mpegts", "libx264", "aac"),
    # FLV's header would be rewritten with the duration at the end: a stream cannot seek.
    "rtmp": Protocol("flv", "libx264", "aac", (("flvflags", "no_duration_filesize"),)),
    # FFmpeg's wait for the server's replies is bounded only by this (see ANSWER_SECONDS)
    "rtsp": Protocol("rtsp", "libx264", "aac", (("timeout", str(ANSWER_MICROSECONDS)),)),
}
# Schemes people publish to that this build cannot: what to say instead.
UNSUPPORTED = {
    "srt": "the FFmpeg inside PyAV is built without SRT: publish over rtmp:// or rtsp:// to a "
           "server that serves SRT too (MediaMTX does), or pipe ms to an ffmpeg that has it: "
           "ms capture ... -o - | ffmpeg -i - -c copy -f mpegts srt://HOST:PORT",
    "rtmps": "rtmps:// is not supported yet: publish over rtmp:// (e.g. to a local relay)",
}


def format_info(protocol: str):
    """The recorder's FormatInfo for publishing over `protocol` (a key of PROTOCOLS)."""
    from mscli.sinks.formats import FormatInfo

    p = PROTOCOLS[protocol]
    return FormatInfo(protocol, p.muxer, frozenset({"video", "audio"}), (), p.video_codec,
                      p.audio_codec, f"{p.muxer} over {protocol}")


def ffmpeg_url(target: str, protocol: str) -> str:
    """The URL FFmpeg opens for `target`: a tcp:// one gets the ANSWER_SECONDS bound in its
    query, unless the user set FFmpeg's timeout there already."""
    parts = urllib.parse.urlsplit(target)
    if protocol != "tcp" or "timeout" in urllib.parse.parse_qs(parts.query):
        return target
    query = "&".join(q for q in (parts.query, f"timeout={ANSWER_MICROSECONDS}") if q)
    return parts._replace(query=query).geturl()


def scheme(target: str) -> str | None:
    """The URL scheme of an -o target (lower case), or None for a path, -, null, speaker."""
    head, sep, _ = target.partition("://")
    if not sep or not head or not all(c.isalnum() or c in "+.-" for c in head):
        return None
    return head.lower()


def protocol_of(spec: str, target: str) -> str:
    """The protocol ms publishes `target` with, or a UsageError saying what would work."""
    name = scheme(target)
    if name in PROTOCOLS:
        check_address(spec, target, name)
        return name
    if name in UNSUPPORTED:
        raise UsageError(f"-o {spec}: {UNSUPPORTED[name]}")
    raise UsageError(f"-o {spec}: ms cannot publish to {name}:// (it publishes to "
                     f"{', '.join(s + '://' for s in PROTOCOLS)})")


# Where FFmpeg falls back on a port of its own; udp, tcp and rtp have none to fall back on.
DEFAULT_PORTS = {"rtmp": 1935, "rtsp": 554}


def check_address(spec: str, target: str, protocol: str) -> None:
    """A host, and a port in 1-65535 (or the protocol's default), before anything opens:
    FFmpeg took a port over 65535 modulo 65536 (udp:// then sent to another port and ms
    exited 0), and said "connection lost" for a missing port."""
    example = f"{protocol}://127.0.0.1:{DEFAULT_PORTS.get(protocol, 5000)}" + \
        ("/live/cam" if protocol in DEFAULT_PORTS else "")
    try:
        parts = urllib.parse.urlsplit(target)
    except ValueError as e:  # an unclosed [IPv6 literal
        raise UsageError(f"-o {spec}: not a valid URL ({e}; e.g. {example})") from None
    try:
        port = parts.port
    except ValueError:  # not a number, or outside 0-65535
        port = 0
    if not parts.hostname:
        raise UsageError(f"-o {spec}: the URL names no host (e.g. {example})")
    if port is None and protocol not in DEFAULT_PORTS or port == 0:
        raise UsageError(f"-o {spec}: {protocol}:// needs a port in 1-65535 after the host "
                         f"(e.g. {example})")


def is_whip(target: str) -> bool:
    return target.lower().startswith(WHIP_SCHEMES)


def http_url(target: str) -> str:
    """The endpoint's http(s) URL of a whip+http(s) target."""
    return target[len("whip+"):]


def check_whip(spec: str, target: str) -> None:
    """Before anything opens: a URL with a host, and aiortc installed."""
    parts = urllib.parse.urlsplit(http_url(target))
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number in 0-65535)
    except ValueError:
        parts = None
    if parts is None or not parts.hostname:
        raise UsageError(f"-o {spec}: not a URL with a host and a port ms can use (e.g. "
                         "whip+http://127.0.0.1:8889/cam/whip)")
    try:
        import aiortc  # noqa: F401  (imports PyAV: only a capture with a WHIP output gets here)
    except ImportError:
        raise UsageError(f"-o {spec}: publishing over WebRTC needs aiortc: "
                         f"{WHIP_INSTALL_HINT}") from None

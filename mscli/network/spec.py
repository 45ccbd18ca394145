"""A network source in a device file: `"source": {"url": URL, "transport": ..., "timeout": S}`,
checked as strictly as the rest of the file (mscli/virtual.py), without connecting anywhere."""

from __future__ import annotations

from urllib.parse import urlsplit

from mscli.errors import DeviceFileError, quoted
from mscli.jsoninput import show_json as _show
from mscli.network.probe import LISTENING, SCHEMES, STALL_SECONDS, TRANSPORTS
from mscli.virtual import _encodable, _expect_object, _positive


def parse_network(value: dict, path: str) -> dict:
    """`{"url": URL, "transport": "tcp" | "udp", "timeout": SECONDS, "listen": BOOL}`: a
    stream read as the device (sources/network.py). transport is rtsp's; timeout: seconds
    without a packet after which the stream counts as lost (the track ends); listen: ms waits
    on the URL's port for a sender to push to it (rtsp RECORD, rtmp publish, tcp), as long as
    the timeout, rather than connecting to a server."""
    _expect_object(value, path, ("url", "transport", "timeout", "listen"), required=("url",))
    url = value["url"]
    if not isinstance(url, str) or "\0" in url or not url.isprintable():
        raise DeviceFileError(f"{path}.url: expected a URL like rtsp://HOST/PATH, "
                              f"got {_show(url)}")
    _encodable(url, f"{path}.url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port that is no number raises here)
    except ValueError as e:
        raise DeviceFileError(f"{path}.url: {quoted(url)} is not a valid URL ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise DeviceFileError(f"{path}.url: a network source is one of "
                              f"{', '.join(s + '://' for s in SCHEMES)}, got {quoted(url)}")
    if not parts.hostname:
        raise DeviceFileError(f"{path}.url: {quoted(url)} names no host")
    if scheme in ("udp", "tcp") and not parts.port:
        raise DeviceFileError(f"{path}.url: {quoted(url)} names no port ({scheme}:// has no "
                              "default one)")
    if "transport" in value:
        if scheme != "rtsp":
            raise DeviceFileError(f"{path}.transport: only an rtsp:// source has a transport "
                                  f"choice, not {scheme}://")
        if value["transport"] not in TRANSPORTS:
            raise DeviceFileError(f"{path}.transport: expected one of {', '.join(TRANSPORTS)}, "
                                  f"got {_show(value['transport'])}")
    timeout = _positive(value.get("timeout", STALL_SECONDS), f"{path}.timeout", integer=False,
                        most=3600)
    if scheme == "srt":
        _need_protocol(scheme, f"{path}.url")
    listen = value.get("listen", False)
    if not isinstance(listen, bool):
        raise DeviceFileError(f"{path}.listen: expected true or false, got {_show(listen)}")
    if listen and scheme not in LISTENING:
        hint = " (udp:// always receives on the URL's port)" if scheme == "udp" else ""
        raise DeviceFileError(f"{path}.listen: ms listens for a sender on "
                              f"{', '.join(s + '://' for s in LISTENING)} only, not "
                              f"{scheme}://{hint}")
    spec = {"url": url, "timeout": float(timeout)}
    if listen:
        spec["listen"] = True
    if scheme == "rtsp":
        spec["transport"] = value.get("transport", "tcp")
    return spec


def _need_protocol(scheme: str, path: str) -> None:
    """A protocol the FFmpeg build may lack (srt): checked here, so the file fails at once.
    Imports PyAV, as a file source does, only for such a device."""
    from mscli.network.probe import protocol_available

    if not protocol_available(scheme):
        raise DeviceFileError(f"{path}: this FFmpeg build (PyAV's) has no {scheme} protocol; "
                              f"publish the stream over rtmp, rtsp or udp instead, or read it "
                              f"through a relay (e.g. srt-live-transmit to udp)")


def share_streams(sources: list[tuple[str, dict]]) -> None:
    """Links the network sources of one device file that name one URL (`sources`: (path,
    parsed spec)): their devices read one stream through one connection (network/stream.py),
    its video and audio on one timeline. So they must open it alike: the same transport,
    timeout and listen."""
    from mscli.network.stream import SharedStream

    first: dict[str, tuple[str, dict]] = {}
    for path, spec in sources:
        options = {k: v for k, v in spec.items() if k != "probe"}
        seen, opened = first.setdefault(spec["url"], (path, options))
        if opened != options:
            differ = sorted(k for k in {*opened, *options} if opened.get(k) != options.get(k))
            raise DeviceFileError(f"{path}: {quoted(spec['url'])} is also {seen}'s stream, "
                                  f"opened otherwise ({', '.join(differ)}): the devices of one "
                                  "URL read one connection; give them the same transport, "
                                  "timeout and listen")
    shared = {url: SharedStream(options) for url, (_, options) in first.items()}
    for _, spec in sources:
        spec["shared"] = shared[spec["url"]]

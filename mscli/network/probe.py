"""Opening a network stream as a device: the URL's FFmpeg options, a bounded open, and the
modes a stream offers when its device file declares none.

When a stream is contacted: never by `ms devices` (it runs on every Tab press), only by the
commands that need its modes: `ms caps`, `ms resolve` and `ms capture` probe each network
device whose modes (video) or sampleRate and channelCount (audio) the device file does not
declare, within OPEN_SECONDS; one that cannot be reached is a NotReadableError (exit 5)
naming the device and its URL. Declared modes are used as they are, without connecting
before the capture opens the stream.

Opening waits for the first packets only as long as it must: FFmpeg's stream probing reads
5 MB or 5 s by default (1.3-6 s measured here, field.md), so probesize and analyzeduration are
bounded; `fflags=nobuffer` is not used, as it drops the frames before the first keyframe's
group is complete.
"""

from __future__ import annotations

import math
import threading
import time
from urllib.parse import urlsplit

from mscli.devices import AUDIO_INPUT, MAX_FRAME_RATE, MIN_FRAME_RATE, VIDEO_INPUT, ValueSet, \
    VideoMode
from mscli.errors import NotReadableError, quoted

SCHEMES = ("rtsp", "rtmp", "http", "https", "udp", "tcp", "srt")
LISTENING = ("rtsp", "rtmp", "tcp")  # where ms may wait for a sender to push (`"listen": true`)
TRANSPORTS = ("tcp", "udp")  # rtsp's own choice: RTP interleaved in the TCP connection, or not
OPEN_SECONDS = 5.0  # connecting and reading the first frames: a stream that is there takes ~0.7 s
# No packet for this long is a lost connection (udp has no connection to lose, and a server
# that vanished without a FIN leaves tcp waiting): the track ends. A device file may say more.
STALL_SECONDS = 5.0
PROBE_SIZE = 1_000_000  # bytes: a 720p keyframe fits
ANALYZE_MICROSECONDS = 500_000  # of stream: a keyframe every 0.5 s is found


def ffmpeg_options(spec: dict) -> dict[str, str]:
    """FFmpeg's options for opening the source `spec` (spec.py's {"url", ...})."""
    options = {"probesize": str(PROBE_SIZE), "analyzeduration": str(ANALYZE_MICROSECONDS)}
    scheme = urlsplit(spec["url"]).scheme.lower()
    if scheme == "rtsp":
        options["rtsp_transport"] = spec.get("transport", "tcp")
    elif scheme == "udp":
        # A reader late by a moment must not end the stream: drop what overflows, go on.
        options.update(fifo_size="278876", overrun_nonfatal="1")
    if spec.get("listen"):
        options.update(_listen_options(scheme, spec.get("timeout", STALL_SECONDS)))
    return options


def _listen_options(scheme: str, seconds: float) -> dict[str, str]:
    """Wait for a sender to connect (push into ms), as long as the source's timeout; each
    protocol spells it its own way and unit."""
    whole = str(max(1, math.ceil(seconds)))
    return {"rtsp": {"rtsp_flags": "listen", "listen_timeout": whole},
            "rtmp": {"listen": "1", "timeout": whole},
            "tcp": {"listen": "1", "listen_timeout": str(round(seconds * 1000))}}[scheme]


STOP_POLL_SECONDS = 0.05  # how often the wait for an opening stream looks for a stop


def open_seconds(spec: dict) -> float:
    """How long opening may take: connecting and probing, or waiting for a sender (listen)
    for as long as the source's timeout."""
    if spec.get("listen"):
        return spec.get("timeout", STALL_SECONDS) + OPEN_SECONDS
    return OPEN_SECONDS


def open_stream(spec: dict):
    """The opened PyAV container of the network source `spec`; NetworkUnreachable if it cannot
    be opened in time (open_seconds). Reads time out after the source's stall time.

    FFmpeg opens on a thread of its own: waiting in it, the main thread would not see a Ctrl-C
    until FFmpeg gave up, as long as a listening source's timeout (up to an hour); waiting for
    that thread, it sees it at once, and a capture's stop signal too (StoppedWaiting: the
    capture opens its devices with its signals caught, stopping.py)."""
    from mscli.stopping import STOP_REQUESTED, StoppedWaiting

    outcome: list = []

    def run() -> None:
        try:
            outcome.append((_open(spec), None))
        except BaseException as e:  # noqa: BLE001 - raised again on the caller's thread
            outcome.append((None, e))

    opener = threading.Thread(target=run, name="ms-open", daemon=True)
    opener.start()
    main = threading.current_thread() is threading.main_thread()
    while opener.is_alive():
        opener.join(STOP_POLL_SECONDS)
        if main and STOP_REQUESTED.is_set():  # a reconnecting thread's stop is the session's
            raise StoppedWaiting(f"{quoted(spec['url'])}: stopped while waiting for the stream; "
                                 "nothing recorded")
    container, error = outcome[0]
    if error is not None:
        raise error
    return container


def _open(spec: dict):
    import av

    start, seconds = time.monotonic(), open_seconds(spec)
    try:
        return av.open(spec["url"], options=ffmpeg_options(spec),
                       timeout=(seconds, spec.get("timeout", STALL_SECONDS)))
    except av.FFmpegError as e:
        if time.monotonic() - start >= seconds:  # interrupted: rtsp says "invalid data"
            raise NetworkUnreachable(f"no answer within {seconds:g} s") from None
        raise NetworkUnreachable(failure_reason(e)) from None
    except OSError as e:  # PyAV lets some socket failures through as they are
        raise NetworkUnreachable(e.strerror or str(e)) from None


class NetworkUnreachable(Exception):
    """The stream cannot be opened or gives no frame: the message says why, in a few words."""


def failure_reason(error) -> str:
    text = error.strerror or type(error).__name__
    # FFmpeg says "Immediate exit requested" when its open was interrupted by the timeout
    return "no answer within the time allowed" if "exit requested" in text.lower() else text


def protocol_available(scheme: str) -> bool:
    """Whether PyAV's FFmpeg has the protocol (srt depends on the build): an empty URL of it
    is refused at once, by a missing protocol as such and by a present one as invalid."""
    import av

    try:
        av.open(f"{scheme}://", timeout=0.1).close()
    except av.ProtocolNotFoundError:
        return False
    except (av.FFmpegError, OSError):
        pass
    return True


def probe_sources(devices, keep: bool = False) -> None:
    """Fills in the modes of the network devices that declare none, by opening their streams
    (one connection for the devices of one URL); NotReadableError for one that cannot be
    reached. keep (capture): the connection stays open for the capture: a sender that serves
    one connection (ffmpeg's `?listen=1`, a sender pushing to ms) would not make a second."""
    shared = []
    try:
        for device in devices:
            spec = device.source
            if isinstance(spec, dict) and "url" in spec and spec.get("probe"):
                shared.append(spec["shared"])
                try:
                    _fill(device, spec)
                except NetworkUnreachable as e:
                    raise NotReadableError(f"{quoted(device.label)}: cannot read "
                                           f"{quoted(spec['url'])}: {e} (declare the device's "
                                           "modes in its device file to list it without "
                                           "connecting)") from None
    except BaseException:
        keep = False
        raise
    finally:
        for stream in shared if not keep else ():
            stream.close()


def _fill(device, spec: dict) -> None:
    kind = "video" if device.kind == VIDEO_INPUT else "audio"
    stream, frame = spec["shared"].connect().first_frame(kind)
    if device.kind == VIDEO_INPUT:
        device.modes = (stream_mode(stream, frame),)
        spec["probed"] = True  # a reconnect takes them from the stream again
    elif device.kind == AUDIO_INPUT:
        found = {"sampleRate": ValueSet.of(frame.sample_rate),
                 "channelCount": ValueSet.range(1, frame.layout.nb_channels)}
        device.audio = device.audio._replace(**{
            attr: found[name] for name, attr in (("sampleRate", "sample_rate"),
                                                 ("channelCount", "channel_count"))
            if name in spec["probe"]})
    spec["probe"] = ()


def stream_mode(stream, frame) -> VideoMode:
    """The native mode of a video stream: the decoded size at the stream's rate."""
    rate = float(stream.average_rate or stream.guessed_rate or 30)
    rate = min(MAX_FRAME_RATE, max(MIN_FRAME_RATE, round(rate, 3)))
    return VideoMode(frame.width, frame.height, rate)

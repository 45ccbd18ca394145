"""Microphones and speakers through PortAudio (sounddevice), imported only when asked for.

`import sounddevice` loads the PortAudio library and initialises it, which on Linux makes ALSA
print a screenful of `Unknown PCM cards.pcm.rear`-style lines on fd 2. Those lines say nothing
a user can act on, so fd 2 points at /dev/null while PortAudio starts and while devices are
probed; MS_VERBOSE=1 lets them through.

Capabilities come from probing: `check_input_settings` for the standard sample rates, sample
sizes and channel counts (it asks the host API whether a stream could open; none is started).
Keys come from the host API and the ALSA card id + device number, never PortAudio's index,
which changes as devices come and go.

PortAudio lists the devices it found when it was initialised and never looks again
(sounddevice#125, portaudio#447). So every listing after the first in one process (`ms devices
--watch` polls) initialises it again, unless a stream of ours is open (`open_streams`). Such a
listing reuses the capabilities probed for an input already seen (same name, channels and
rates): probing opens the device a dozen times, which costs about 4 s in the hardware lab.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys

from mscli.audioproc import processing_capabilities
from mscli.backends import Found, physical_device
from mscli.devices import AUDIO_INPUT, AUDIO_OUTPUT, AudioCaps, Device, ValueSet

INSTALL_HINT = "PortAudio not found: audio devices are not listed (apt-get install libportaudio2)"
NO_LIBRARY = "the PortAudio library is not installed (apt-get install libportaudio2)"
STANDARD_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
SAMPLE_SIZES = (("int16", 16), ("int24", 24), ("int32", 32), ("float32", 32))
MAX_PROBED_CHANNELS = 8  # every count up to this one is probed; beyond it only the maximum
ALSA_HW = re.compile(r"\(hw:(\d+),(\d+)\)")
PROC_ASOUND = "/proc/asound"
DEV_SND = "/dev/snd"
SYSFS_DIR = "/sys"


def _import_sounddevice():
    """The sounddevice module, or BackendUnavailable naming what to install."""
    try:
        import sounddevice
    except OSError as e:  # the module is there, the PortAudio library is not
        from mscli.catalog import BackendUnavailable

        raise BackendUnavailable(INSTALL_HINT, reason=NO_LIBRARY) from e
    return sounddevice


@contextlib.contextmanager
def quiet_stderr():
    """Send fd 2 (where ALSA writes) to /dev/null for a while, unless MS_VERBOSE=1."""
    if os.environ.get("MS_VERBOSE") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no fd 2 at all: nothing to protect
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


open_streams = 0  # streams ms holds open (microphones, speakers): no re-initialising then
_listed = False  # whether this process listed devices before
_cannot_refresh = False  # said once that new devices cannot be seen


def enumerate_devices() -> list[Device]:
    """Inputs as audioinput, outputs as audiooutput; each kind's default first."""
    global _listed
    with quiet_stderr():
        sd = _import_sounddevice()
        warnings = []
        if _listed and not open_streams:
            warnings = refresh(sd)
        _listed = True
        found = _enumerate(sd)
    found.warnings.extend(warnings)
    for kind, direction in ((AUDIO_INPUT, "input"), (AUDIO_OUTPUT, "output")):
        if not any(d.kind == kind for d in found):
            found.absent[kind] = why_no_sound(direction)
    return found


def why_no_sound(direction: str) -> str:
    """Why PortAudio lists no input (or output): what the system shows of its sound cards."""
    if not sys.platform.startswith("linux"):
        return f"PortAudio lists no {direction} device"
    try:
        with open(os.path.join(PROC_ASOUND, "cards")) as f:
            cards = f.read()
    except OSError:
        return f"no sound card (no {PROC_ASOUND}: no sound driver is loaded)"
    if not cards.strip() or "no soundcards" in cards:
        return f"no sound card ({PROC_ASOUND}/cards lists none)"
    try:
        nodes = [os.path.join(DEV_SND, n) for n in sorted(os.listdir(DEV_SND))
                 if n.startswith("control")]
    except OSError:
        nodes = []
    if not nodes:
        return (f"no {DEV_SND} device nodes for the sound cards "
                "(in a container, pass them through)")
    if not any(os.access(n, os.R_OK | os.W_OK) for n in nodes):
        return (f"permission denied on {DEV_SND} (join the 'audio' group: "
                "sudo usermod -aG audio $USER, then log in again)")
    return f"PortAudio lists no {direction} on the sound cards in {PROC_ASOUND}/cards"


def refresh(sd) -> list[str]:
    """Initialise PortAudio again so that it sees the sound cards plugged in (or removed)
    since it started; [] or a warning, once, when this sounddevice cannot."""
    global _cannot_refresh
    terminate = getattr(sd, "_terminate", None)
    initialize = getattr(sd, "_initialize", None)
    if terminate is None or initialize is None:
        if _cannot_refresh:
            return []
        _cannot_refresh = True
        return ["this sounddevice cannot re-initialise PortAudio: sound cards plugged in "
                "after the start are not seen (restart ms)"]
    terminate()
    initialize()
    return []


def _enumerate(sd) -> Found:
    found = Found()
    hostapis = list(sd.query_hostapis())
    if not hostapis:
        return found
    # The default host API only: on Windows the others list the same hardware again
    # (MME, DirectSound, WASAPI …); on Linux it is ALSA, which sees every card.
    api_index = _default_hostapi(sd, hostapis)
    api = hostapis[api_index]
    devices = [d for d in sd.query_devices() if d["hostapi"] == api_index]
    keys: dict[str, int] = {}
    for kind, channels_key, default_key in (
            (AUDIO_INPUT, "max_input_channels", "default_input_device"),
            (AUDIO_OUTPUT, "max_output_channels", "default_output_device")):
        listed = []
        for info in devices:
            if info[channels_key] <= 0:
                continue
            key, group = _keys(api["name"], info["name"])
            n = keys.get(kind + key, 0)
            keys[kind + key] = n + 1
            # ordinal: which of the devices of this name it is, to find it again when opening
            device = Device(
                kind, info["name"], key + (f"#{n}" if n else ""), group, "portaudio",
                source={"portaudio_name": info["name"], "hostapi": api["name"],
                        "ordinal": _same_name_before(devices, info, channels_key)})
            if kind == AUDIO_INPUT:
                device.audio = _probe_once(sd, api["name"], info)
            listed.append((info["index"] != api[default_key], device))
        listed.sort(key=lambda pair: pair[0])  # stable: the default first, then PortAudio order
        found.extend(device for _not_default, device in listed)
    return found


_probed: dict = {"module": None, "caps": {}}  # per sounddevice module: (api, info) -> caps


def _probe_once(sd, api: str, info: dict) -> AudioCaps:
    """probe_input, remembered for the process; a probe that found nothing is not kept (the
    device may only have been busy)."""
    if _probed["module"] is not sd:
        _probed.update(module=sd, caps={})
    key = (api, info["name"], info["max_input_channels"], info.get("default_samplerate"),
           info.get("default_low_input_latency"), info.get("default_high_input_latency"))
    caps = _probed["caps"].get(key)
    if caps is None:
        caps = probe_input(sd, info)
        if caps.sample_size is not None:
            _probed["caps"][key] = caps
    return caps


def close_stream(stream) -> None:
    """Abort and close a stream of ours (None: already closed): the blocks in flight are not
    wanted, and a stream whose device went away may refuse even this."""
    global open_streams
    if stream is None:
        return
    open_streams -= 1
    try:
        stream.abort()
        stream.close()
    except Exception:  # PortAudioError from a device that is gone
        pass


class StreamClock:
    """PortAudio's stream time (ADC and DAC times) on time.monotonic(): the offset is the
    smallest difference between a callback's `currentTime` and time.monotonic() read in the
    same callback, over the first `blocks` callbacks (the least delayed call wins).
    `stream.time` is no good for this: PortAudio's ALSA host raises "Error getting stream
    time" right after the start."""

    def __init__(self, blocks: int = 20):
        self.offset: float | None = None  # monotonic - stream time
        self._left = blocks

    def measure(self, stream_time: float, monotonic_time: float) -> None:
        if self._left <= 0 or not stream_time > 0:
            return
        self._left -= 1
        offset = monotonic_time - stream_time
        if self.offset is None or offset < self.offset:
            self.offset = offset

    def monotonic(self, stream_time: float) -> float | None:
        """A stream time on time.monotonic(); None before a measure or without the time
        (a host API that gives none reports 0)."""
        if not stream_time > 0 or self.offset is None:
            return None
        return stream_time + self.offset


def device_index(sd, source: dict, channels_key: str) -> int | None:
    """The device's current PortAudio index, from the name, host API and ordinal it was
    listed by (indices change as devices come and go); None when PortAudio lists it no more.
    channels_key: "max_input_channels" or "max_output_channels"."""
    apis = [api["name"] for api in sd.query_hostapis()]
    same = [d["index"] for d in sd.query_devices()
            if d["name"] == source["portaudio_name"] and d[channels_key] > 0
            and apis[d["hostapi"]] == source.get("hostapi", apis[d["hostapi"]])]
    ordinal = source.get("ordinal", 0)
    return same[ordinal] if ordinal < len(same) else None


def output_caps(device: Device) -> AudioCaps | None:
    """What a listed speaker takes, probed when asked (`ms caps`), not on every listing:
    probing opens the device a dozen times. None when PortAudio lists it no more."""
    with quiet_stderr():
        sd = _import_sounddevice()
        index = device_index(sd, device.source, "max_output_channels")
        if index is None:
            return None
        return probe_output(sd, dict(sd.query_devices()[index], index=index))


def _same_name_before(devices: list, info: dict, channels_key: str) -> int:
    return sum(1 for d in devices if d["index"] < info["index"] and d[channels_key] > 0
               and d["name"] == info["name"])


def _default_hostapi(sd, hostapis) -> int:
    try:
        index = int(sd.default.hostapi)
    except (AttributeError, TypeError, ValueError):
        index = 0
    return index if 0 <= index < len(hostapis) else 0


def _keys(hostapi: str, name: str) -> tuple[str, str]:
    """(key, group_key) for one PortAudio device name.

    ALSA hardware devices are named like "Loopback: PCM (hw:0,1)": the card number can change
    from boot to boot, the card id ("Loopback", from /proc/asound/card0/id) does not. Other
    names ("default", "pulse", "sysdefault") are stable themselves.
    """
    match = ALSA_HW.search(name)
    if match:
        card, device = match.groups()
        card_id = _card_id(card)
        if card_id:
            return (f"portaudio:{hostapi}:card:{card_id}:{device}",
                    _card_group(card) or f"alsa-card:{card_id}")
    return f"portaudio:{hostapi}:name:{name}", f"portaudio-own:{hostapi}:{name}"


def _card_id(card: str) -> str | None:
    try:
        with open(os.path.join(PROC_ASOUND, f"card{card}", "id")) as f:
            return f.read().strip() or None
    except OSError:
        return None


def _card_group(card: str) -> str | None:
    """The sound card's physical device, so a webcam's microphone groups with its camera."""
    physical = physical_device(os.path.join(SYSFS_DIR, "class", "sound", f"card{card}",
                                            "device"))
    if physical:
        return "sysfs:" + physical.removeprefix(SYSFS_DIR.rstrip("/"))
    return None


def probe_input(sd, info: dict) -> AudioCaps:
    """AudioCaps of one input, from what check_input_settings accepts.

    Probed one dimension at a time around the first setting that works (every combination
    would open the device hundreds of times): channel counts, sample rates and sample sizes,
    each with the other two held at that setting.
    """
    # The hardware's own processing is not reachable through PortAudio: ms runs its own.
    return _probe(sd.check_input_settings, info, "input")._replace(
        **processing_capabilities())


def probe_output(sd, info: dict) -> AudioCaps:
    """AudioCaps of one output (a speaker): the formats check_output_settings accepts."""
    return _probe(sd.check_output_settings, info, "output")


def _probe(check, info: dict, direction: str) -> AudioCaps:
    """The formats `check` (sd.check_input_settings or check_output_settings) accepts."""
    index = info["index"]
    max_channels = int(info[f"max_{direction}_channels"])
    default_rate = float(info.get("default_samplerate") or 48000)

    def ok(channels: int, dtype: str, rate: float) -> bool:
        try:
            check(device=index, channels=channels, dtype=dtype, samplerate=rate)
            return True
        except Exception:  # PortAudioError or ValueError: unsupported combination
            return False

    base = next(((c, d, r) for c in dict.fromkeys((1, 2, max_channels))
                 if c <= max_channels
                 for d, _bits in SAMPLE_SIZES
                 for r in dict.fromkeys((default_rate, 48000.0, 44100.0))
                 if ok(c, d, r)), None)
    if base is None:
        # Nothing opens (busy, or a sound server that is not running): what PortAudio says.
        return AudioCaps(sample_rate=ValueSet.of(int(default_rate)),
                         channel_count=ValueSet.range(1, max_channels),
                         latency=_latency(info, direction))
    base_channels, base_dtype, base_rate = base
    counts = sorted(set(range(1, min(max_channels, MAX_PROBED_CHANNELS) + 1)) | {max_channels})
    channels = [c for c in counts if c == base_channels or ok(c, base_dtype, base_rate)]
    rates = {r for r in STANDARD_RATES if r == base_rate or ok(base_channels, base_dtype, r)}
    rates.add(int(base_rate) if base_rate == int(base_rate) else base_rate)
    sizes = {bits for dtype, bits in SAMPLE_SIZES
             if dtype == base_dtype or ok(base_channels, dtype, base_rate)}
    # Every probed count works: the whole range (counts above 8 are assumed between 8 and max).
    channel_set = ValueSet.range(1, max_channels) if channels == counts \
        else ValueSet.of(*channels)
    return AudioCaps(sample_rate=ValueSet.of(*sorted(rates)),
                     sample_size=ValueSet.of(*sorted(sizes)),
                     channel_count=channel_set, latency=_latency(info, direction))


def _latency(info: dict, direction: str) -> ValueSet | None:
    low = info.get(f"default_low_{direction}_latency")
    high = info.get(f"default_high_{direction}_latency")
    if low is None or high is None:
        return None
    low, high = float(low), float(high)
    return ValueSet.range(min(low, high), max(low, high))

"""Speakers as consumers: what ms plays, and to which audiooutput device.

- `-o speaker[:DEVICE]` plays the audio track (sink.py), `--play FILE [--speaker DEVICE]`
  plays a file's audio while capturing (player.py); both are checked before anything opens
  (plan.py).
- A speaker is a PortAudio output stream (portaudio.py) or a virtual speaker (virtual.py),
  fed through feed.py (the writer's chunks converted to what the device takes). Every speaker
  adds what it plays to the session's Playback (audioproc/farend.py) with the capture time
  its samples leave it.
- A virtual microphone can hear a virtual speaker (echo.py).

This module is imported by `ms caps` and by the device-file parser: no numpy, no PyAV.
"""

from __future__ import annotations

from mscli.devices import AudioCaps, ValueSet

# What a virtual speaker takes unless its device file says otherwise: 48 kHz, mono or stereo.
VIRTUAL_SPEAKER = AudioCaps(sample_rate=ValueSet.of(48000), channel_count=ValueSet.range(1, 2))


def nearest(values: ValueSet, wanted: float) -> float:
    """The value of `values` a device takes for `wanted`: wanted itself when it may, else the
    nearest one (a range clamps, a list picks the closest, the higher on a tie)."""
    if values.is_range:
        return min(max(wanted, values.lo), values.hi)
    return min(values.values, key=lambda v: (abs(v - wanted), -v))


def speaker_format(caps: AudioCaps, rate: int, channels: int) -> tuple[int, int]:
    """(sample rate, channel count) a virtual speaker plays audio of `rate` x `channels` at."""
    return (int(nearest(caps.sample_rate, rate)),
            int(nearest(caps.channel_count, channels)))


def probe_speaker(device) -> None:
    """Fill in what a PortAudio speaker takes (`ms caps`): listings leave it out, since
    probing opens the device a dozen times. A virtual speaker has its own already."""
    if device.audio is None and device.backend == "portaudio":
        from mscli.backends.portaudio import output_caps

        device.audio = output_caps(device)

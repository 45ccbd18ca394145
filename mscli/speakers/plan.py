"""Which speakers a capture plays on, checked before anything opens.

`-o speaker` / `-o speaker:DEVICE` and `--play FILE [--speaker DEVICE]` name a speaker as
DEVICE names a device elsewhere (deviceId, label:TEXT, index:N); without one, the default
speaker (the first audiooutput listed). A speaker that is not there is NotFoundError; a device
that is no speaker, a file --play cannot decode, or one speaker played twice is a usage
error. A virtual speaker's `sink` file is an output like -o's (exists without -y: refused).
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from mscli.devices import AUDIO_OUTPUT
from mscli.errors import NotFoundError, UsageError, quoted

PREFIX = "speaker"


class PlayPlan(NamedTuple):
    path: str
    device: object  # the speaker's Device
    rate: int  # the file's audio, as decoded
    channels: int


def is_speaker(spec: str) -> bool:
    return spec == PREFIX or spec.startswith(PREFIX + ":")


def find_speaker(devices, selector: str | None, option: str):
    """The speaker `selector` names (None: the default one)."""
    from mscli.catalog import find_device

    if selector is None:
        speakers = [d for d in devices if d.kind == AUDIO_OUTPUT]
        if not speakers:
            raise NotFoundError(f"{option}: no speaker found (`ms devices` lists what there "
                                "is)")
        return speakers[0]
    device = find_device(devices, selector)
    if device.kind != AUDIO_OUTPUT:
        raise UsageError(f"{option}: {selector!r} is a {device.kind}, not a speaker "
                         "(audiooutput); `ms devices` lists the speakers")
    return device


def speaker_kinds(outputs: list[str], play: str | None, speaker: str | None) -> set[str] | None:
    """The device kinds finding a capture's speakers needs listed: none without a speaker,
    the speakers for the default one, every kind (None) for one a DEVICE names: index:N counts
    in `ms devices` order, and a camera's label must be refused as no speaker, not unknown."""
    named = [spec for spec in outputs if is_speaker(spec)]
    if speaker is not None or any(spec != PREFIX for spec in named):
        return None
    return {AUDIO_OUTPUT} if named or play is not None else set()


def speaker_of(spec: str, devices):
    """The speaker of `-o speaker[:DEVICE]`."""
    selector = spec[len(PREFIX) + 1:] if spec != PREFIX else None
    return find_speaker(devices, selector, f"-o {spec}")


def sink_file(device) -> str | None:
    """The WAV a virtual speaker records what it plays into, if its device file says so."""
    source = device.source
    return source.get("sink") if isinstance(source, dict) else None


def speaker_files(plans, play: PlayPlan | None) -> list[tuple[str, str]]:
    """The files the speakers played on write, as (what writes it, path), for the checks
    every output file gets (exists without -y, two writers on one file)."""
    files = []
    for option, device in _players(plans, play):
        sink = sink_file(device)
        if sink:
            files.append((f"{option}: the sink of speaker {device.label!r},", sink))
    return files


def _players(plans, play: PlayPlan | None) -> list[tuple[str, object]]:
    """(option, speaker Device) of everything that plays."""
    users = [(f"-o {p.target}", p.device) for p in plans if p.format == "speaker"]
    if play is not None:
        users.append((f"--play {play.path}", play.device))
    return users


def plan_play(path: str | None, selector: str | None, devices, paced: bool) -> PlayPlan | None:
    """--play FILE [--speaker DEVICE], or None without --play."""
    if path is None:
        if selector is not None:
            raise UsageError("--speaker says where --play plays: give --play FILE too "
                             "(to play the captured audio, use -o speaker:DEVICE)")
        return None
    if not paced:
        raise UsageError("--play plays in real time while capturing: drop --unpaced")
    _refuse_unregular(path)
    from mscli.media.probe import probe_audio

    try:
        rate, channels = probe_audio(path)
    except ValueError as e:
        raise UsageError(f"--play {path}: {e}; give a file with audio FFmpeg decodes") \
            from None
    return PlayPlan(path, find_speaker(devices, selector, "--speaker"), rate, channels)


def _refuse_unregular(path: str) -> None:
    """--play opens its file twice, to check it and to play it: a FIFO waits for a writer
    (for good, with none) and loses what the check read; a URL waits as long as its server
    keeps the connection silent. A regular file only."""
    try:
        info = os.stat(path)
    except OSError as e:
        hint = "a local file (download it first)" if "://" in path else "a media file"
        raise UsageError(f"--play {quoted(path)}: {e.strerror}; give {hint}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"--play {quoted(path)}: is a directory; give a media file")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"--play {quoted(path)}: not a regular file (a FIFO, a device): "
                         "--play reads its file twice; give a media file")


def refuse_shared(plans, play: PlayPlan | None) -> None:
    """One writer per speaker: two would have to be mixed, which ms does not do."""
    seen: dict[str, str] = {}
    for option, device in _players(plans, play):
        if device.device_id in seen:
            raise UsageError(f"{seen[device.device_id]} and {option} play on the same "
                             f"speaker ({device.label!r}): give each its own speaker")
        seen[device.device_id] = option

"""Stream copy (`--video-codec copy`, `--audio-codec copy`): a file-backed device's packets go to
the outputs as they are stored, with no decode and no encode (sources/file.py demuxes,
sinks/recorder.py muxes); a V4L2 camera's MJPEG, H.264 or YUYV buffers go to them as the
driver delivers them (sources/camera_copy.py).

A stored packet can only be what the file holds, so everything that would change the media is
refused before anything opens, naming the setting that prevents it: a track whose settings are
not the file stream's own (a crop, a scale, a decimated rate, a resampled or remixed audio
track), device faults that alter or drop frames (black, freeze, control, frameRate, mute,
silence, clip: an inter frame after a dropped one does not decode), a device with controls
(they change the pixels; a camera's act before it codes the picture, so they stay), a camera
mode that is not native to the track or whose format has no stored form, audio processing (echoCancellation, noiseSuppression,
autoGainControl: they change the samples), --reapply (it may change the settings
mid-recording), an output that takes decoded frames (y4m, WAV, an image), a file stream stored
without timestamps (a raw .h264: its presentation order is unknown until decoded), and a
container that does not take the codec.
Content conditions are not measured on a copied track (nothing is decoded), so an --expect on
them is refused too; the track statistics are counted as usual.
"""

from __future__ import annotations

import io
from dataclasses import replace

from mscli.audioproc import SETTINGS
from mscli.errors import MediaError, UsageError, quoted

COPY = "copy"  # the codec name that asks for it (recorder.COPY, without importing PyAV here)
KINDS = ("video", "audio")
# Faults a copied track cannot have: they alter what a frame shows or drop frames.
CHANGING_FAULTS = ("black", "freeze", "control", "frameRate", "mute", "silence", "clip")
DECODED_FORMATS = {"y4m": "y4m", "wav": "WAV", "png": "PNG", "jpg": "JPEG"}


def copied_kinds(recorder: dict) -> frozenset[str]:
    """The track kinds the recorder options (video_codec, audio_codec) ask to copy."""
    return frozenset(k for k in KINDS if recorder.get(f"{k}_codec") == COPY)


def copy_sources(recorder: dict, tracks) -> dict:
    """The recorder options, with where each copied track's packets come from."""
    sources = {t.kind: _stored_form(t) for t in tracks if t.copy}
    return dict(recorder, copy_from=sources) if sources else recorder


def _stored_form(track):
    """What the recorder makes a copied stream from: a media file's path, or a camera's
    native stream (`track` a session track or a selection: both have device and mode)."""
    source = track.device.source
    if isinstance(source, dict) and "file" in source:
        return source["file"]
    from mscli.sources.camera_copy import native_stream

    return native_stream(track.mode)


def check_copy(selections, plans, args, recorder: dict) -> None:
    """UsageError naming what prevents the copy the options ask for; opens no output."""
    copied = copied_kinds(recorder)
    if not copied:
        return
    # Imported past the return: a capture that copies nothing would load the expectation
    # language for nothing (checks/verdict.py).
    from mscli.checks.expectations import metric_of

    first = f"--{next(k for k in KINDS if k in copied)}-codec copy"
    if args.reapply:
        raise UsageError(f"{first}: --reapply may change the track's settings, which stored "
                         "packets cannot follow; drop one of them")
    for selection in selections:
        if selection.kind in copied:
            _check_track(f"--{selection.kind}-codec copy", selection)
    for e in args.expect:
        if e.kind in copied and metric_of(e.metric).reads == "content":
            raise UsageError(f"--expect {quoted(e.text)}: content is not measured on a "
                             f"copied track (--{e.kind}-codec copy decodes nothing); give an "
                             "encoder or drop this --expect")
    settings = {s.kind: s.settings for s in selections}
    sources = {s.kind: _stored_form(s) for s in selections if s.kind in copied}
    for plan in plans:
        for kind in copied.intersection(plan.kinds):
            _check_output(kind, plan, settings, dict(recorder, copy_from=sources))


def _check_track(option: str, selection) -> None:
    device = selection.device
    source = device.source
    if selection.kind == "video" and device.backend == "v4l2":
        why = _camera_not_copyable(selection)
        if why:
            raise UsageError(f"{option}: {why}")
        return  # its controls act in the camera, before it codes the picture
    if not (isinstance(source, dict) and "file" in source):
        raise UsageError(f"{option}: {device.label!r} is not file-backed or a V4L2 "
                         "camera; only a media file's stored packets and a camera's own "
                         "MJPEG, H.264 or YUYV can be copied (give an encoder)")
    fault = next((f for f in device.faults if f.event in CHANGING_FAULTS), None)
    if fault is not None:
        raise UsageError(f"{option}: {device.label!r} has a {fault.event} fault at {fault.at:g} "
                         "s, which changes or drops frames that stored packets carry as they "
                         "are; remove the fault or give an encoder")
    if selection.kind == "video" and device.controls:
        raise UsageError(f"{option}: {device.label!r} has controls "
                         f"({', '.join(sorted(device.controls))}), which change the pixels of "
                         "stored packets; remove them from the device file or give an encoder")
    processing = [name for name in SETTINGS if selection.settings.get(name) is True]
    if processing:
        raise UsageError(f"{option}: {device.label!r} has {processing[0]} on, which changes "
                         "the samples that stored packets carry as they are; drop that "
                         "constraint or give an encoder")
    why = _not_native(selection, source["file"])
    if why:
        raise UsageError(f"{option}: {why}")


def _camera_not_copyable(selection) -> str | None:
    """Why a camera track cannot be stored as the driver delivers it, or None: a format
    with no stored form, or settings that are not the native mode's own."""
    from mscli.sources.camera_copy import COPYABLE

    mode, label = selection.mode, repr(selection.device.label)
    if mode is None or mode.pixel_format not in COPYABLE:
        fmt = getattr(mode, "pixel_format", None) or "unknown"
        return (f"{label} delivers {fmt} in this mode, which has no stored form ms copies "
                "(MJPEG, H.264 and YUYV do); ask for a size and rate it delivers in one of "
                "them (`ms caps` lists its modes), or give an encoder")
    return _other_video(selection.settings, mode, label, "delivers")


def _other_video(s: dict, mode, source: str, verb: str) -> str | None:
    """Why video settings are not the native `mode` of `source`, or None."""
    if (s["width"], s["height"]) != (mode.width, mode.height):
        return (f"the track is {s['width']}x{s['height']}, {source} {verb} "
                f"{mode.width}x{mode.height} (a crop or scale needs encoding)")
    if abs(s["frameRate"] - mode.frame_rate) > 0.005 * mode.frame_rate:
        return (f"the track runs at {s['frameRate']:g} fps, {source} at "
                f"{mode.frame_rate:g} (fewer frames per second needs encoding)")
    return None


def _not_native(selection, path: str) -> str | None:
    """Why the track's settings are not the file stream's own, or None."""
    from mscli.media.probe import probe_audio, probe_video_mode, stores_timestamps

    s = selection.settings
    if not stores_timestamps(path, selection.kind):
        return (f"{path!r} stores no timestamps (a raw elementary stream), so its packets' "
                "presentation times are unknown until they are decoded; put it in a "
                f"container first (ffmpeg -r {s.get('frameRate', 30):g} -i FILE -c copy "
                "FILE.mp4) or give an encoder")
    if selection.kind == "video":
        return _other_video(s, probe_video_mode(path), "the file's stream", "is")
    rate, channels = probe_audio(path)
    if (s["sampleRate"], s["channelCount"]) != (rate, channels):
        return (f"the track is {s['sampleRate']} Hz x {s['channelCount']}, the file's stream "
                f"{rate} Hz x {channels} (resampling or remixing needs encoding; ask for "
                f"{{\"sampleRate\": {rate}, \"channelCount\": {channels}}} in -c to copy)")
    return None


def _check_output(kind: str, plan, settings: dict, recorder: dict) -> None:
    """The output stores packets, in a container that takes their codec: tried by setting up
    the same recording in memory (no file opened)."""
    from mscli.outputs import open_sink

    option = f"--{kind}-codec copy"
    stored = "file's" if isinstance(recorder["copy_from"][kind], str) else "camera's"
    shown = "-" if plan.target == "-" else plan.target
    if plan.format == "null":
        return
    if plan.format == "speaker":
        raise UsageError(f"{option}: -o {plan.target} plays decoded audio, and a copied track "
                         "decodes nothing; give an encoder or drop the speaker")
    if plan.format in DECODED_FORMATS:
        raise UsageError(f"{option}: {shown} is written by ms's own "
                         f"{DECODED_FORMATS[plan.format]} writer, which takes decoded frames; "
                         "record to .mkv, .mp4 or .nut" +
                         (" (-f matroska for -o -)" if plan.target == "-" else ""))
    if plan.format == "url":  # tried in the protocol's container, in memory, unconnected
        from mscli.network.urls import format_info

        plan = replace(plan, format=format_info(plan.device))
    try:
        sink = open_sink(replace(plan, target=io.BytesIO()),
                         {k: settings[k] for k in plan.kinds}, recorder, overwrite=False)
    except MediaError as e:
        if not e.message.startswith("cannot record"):  # an option's own error (--crf...)
            raise
        reason = e.message.split(": ", 1)[1]  # FFmpeg's, without the in-memory target
        raise UsageError(f"{option}: {shown} ({getattr(plan.format, 'muxer', plan.format)}) "
                         f"cannot take the {stored} stream: "
                         f"{reason}") from None
    sink.discard()

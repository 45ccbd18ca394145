"""Output formats and the checks that come before any output is opened: `check_output` decides
the format of an `-o` target (extension or `-f`) and refuses what cannot work, opening nothing.

Kept apart from recorder.py, and free of PyAV and OpenCV, so that deciding where the tracks go
costs no heavy import: a capture to y4m or WAV never loads `av` (~0.1-0.2 s of start-up here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mscli.errors import UsageError
from mscli.sinks.files import check_target

# --------------------------------------------------------------------------------------------
# Formats


@dataclass(frozen=True)
class FormatInfo:
    name: str  # ms's name, returned by check_output
    muxer: str | None  # FFmpeg muxer for PyAV formats; None for ms's own writers
    kinds: frozenset[str]
    extensions: tuple[str, ...]
    video_codec: str | None = None
    audio_codec: str | None = None
    description: str = ""


FORMATS: dict[str, FormatInfo] = {f.name: f for f in (
    FormatInfo("matroska", "matroska", frozenset({"video", "audio"}), (".mkv", ".mka"),
               "libx264", "libopus", "Matroska"),
    FormatInfo("webm", "webm", frozenset({"video", "audio"}), (".webm",),
               "libvpx-vp9", "libopus", "WebM"),
    FormatInfo("mp4", "mp4", frozenset({"video", "audio"}), (".mp4", ".m4v"),
               "libx264", "aac", "MP4"),
    FormatInfo("mov", "mov", frozenset({"video", "audio"}), (".mov",),
               "libx264", "aac", "QuickTime"),
    FormatInfo("nut", "nut", frozenset({"video", "audio"}), (".nut",),
               "rawvideo", "pcm_s16le", "NUT"),
    FormatInfo("y4m", None, frozenset({"video"}), (".y4m",), description="YUV4MPEG2"),
    FormatInfo("wav", "wav", frozenset({"audio"}), (".wav",), None, "pcm_s16le", "WAV"),
    FormatInfo("ogg", "ogg", frozenset({"audio"}), (".ogg", ".oga"), None, "libopus", "Ogg"),
    FormatInfo("opus", "opus", frozenset({"audio"}), (".opus",), None, "libopus", "Ogg Opus"),
    FormatInfo("flac", "flac", frozenset({"audio"}), (".flac",), None, "flac", "FLAC"),
    FormatInfo("png", None, frozenset({"video"}), (".png",), description="PNG image"),
    FormatInfo("jpg", None, frozenset({"video"}), (".jpg", ".jpeg"), description="JPEG image"),
)}

# Other names -f accepts (FFmpeg's, and the obvious ones).
FORMAT_ALIASES = {"mkv": "matroska", "mka": "matroska", "yuv4mpegpipe": "y4m",
                  "yuv4mpeg": "y4m", "jpeg": "jpg", "mjpeg": "jpg", "oga": "ogg", "m4v": "mp4",
                  "image2": None}
EXTENSIONS = {ext: f.name for f in FORMATS.values() for ext in f.extensions}
IMAGE_FORMATS = frozenset({"png", "jpg"})
# Where each kind goes when -o - has no -f (contract.md).
STDOUT_DEFAULTS = {frozenset({"video", "audio"}): "matroska", frozenset({"video"}): "y4m",
                   frozenset({"audio"}): "wav"}


def _did_you_mean(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]}?)" if close else ""


def resolve_format(name: str) -> str:
    """ms's format name for a -f value; UsageError when unknown."""
    key = name.strip().lower()
    if key in FORMATS:
        return key
    if FORMAT_ALIASES.get(key):
        return FORMAT_ALIASES[key]
    names = sorted(FORMATS) + sorted(k for k, v in FORMAT_ALIASES.items() if v)
    raise UsageError(f"unknown output format {name!r}{_did_you_mean(key, names)}; "
                     f"known formats: {', '.join(sorted(FORMATS))}")


def check_output(path_or_dash: str, kinds: set[str], format_override: str | None = None, *,
                 stdout_is_tty: bool | None = None, overwrite: bool | None = None) -> str:
    """The format ms will write `path_or_dash` in, for tracks of `kinds` ({"video", "audio"}),
    or a UsageError saying why it cannot work. Opens nothing.

    `-` is stdout: refused on a terminal; elsewhere (a pipe, a redirected file) the default
    is matroska (audio + video), y4m (video) or wav (audio) unless `format_override`.
    `stdout_is_tty` overrides the detection (for tests).
    `overwrite=False` refuses an existing file (-y not given).
    """
    kinds = set(kinds)
    if not kinds or not kinds <= {"video", "audio"}:
        raise UsageError(f"nothing to write: track kinds {sorted(kinds)!r}")
    target = str(path_or_dash)
    if target == "-":
        if os.isatty(1) if stdout_is_tty is None else stdout_is_tty:
            raise UsageError("stdout is a terminal: redirect it to a file or a pipe, "
                             "or give -o FILE")
        fmt = resolve_format(format_override) if format_override else \
            STDOUT_DEFAULTS[frozenset(kinds)]
    else:
        if not target:
            raise UsageError("empty output path")
        if format_override:
            fmt = resolve_format(format_override)
        else:
            ext = os.path.splitext(target)[1].lower()
            if not ext:
                raise UsageError(f"cannot tell the format of {target!r} from its name: add an "
                                 f"extension ({', '.join(sorted(EXTENSIONS))}) or give -f FORMAT")
            if ext not in EXTENSIONS:
                raise UsageError(f"unknown output extension {ext!r} in {target!r}"
                                 f"{_did_you_mean(ext, EXTENSIONS)}; known: "
                                 f"{', '.join(sorted(EXTENSIONS))} (or give -f FORMAT)")
            fmt = EXTENSIONS[ext]
    info = FORMATS[fmt]
    extra = kinds - info.kinds
    if extra:
        kind = extra.pop()
        only = "video" if kind == "audio" else "audio"
        alt = "-o audio=FILE.wav" if kind == "audio" else "-o video=FILE.mkv"
        raise UsageError(f"{info.description or fmt} ({fmt}) carries {only} only and cannot take "
                         f"the {kind} track: send it to its own output ({alt}) or use a "
                         f"container that holds both (.mkv)")
    if target != "-":
        check_target(target, overwrite)
    return fmt

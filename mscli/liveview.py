"""The live view on a terminal's stderr: a status line (elapsed time, frames, fps, drops,
bytes written, audio level, muted tracks and the content conditions that hold: BLACK, FROZEN,
SILENT, CLIPPING), with --stats a line of the latest track statistics, and the event log under
them. Nothing of it goes to stdout, and none of it is drawn when stderr is not a terminal."""

from __future__ import annotations

import math
import sys
import time
from collections import deque

REFRESH_SECONDS = 0.1
EVENT_LINES = 12


class LiveView:
    def __init__(self, show_events: bool):
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=sys.stderr, highlight=False)
        self.show_events = show_events
        self._events: deque = deque(maxlen=EVENT_LINES)
        self._stats: dict[str, dict] = {}  # trackId -> its latest `stats` event
        self._live = Live(console=self.console, auto_refresh=False, transient=False)
        self._last_draw = 0.0
        self._session = None
        self._terminal_gone = False

    def __enter__(self) -> "LiveView":
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._session is not None:
            self._draw(self._session)
        try:
            self._live.__exit__(*exc)  # also puts sys.stdout back, terminal or not
        except OSError:
            pass

    def add_event(self, record: dict) -> None:
        if record["event"] == "stats":  # one line, updated in place, not a log entry each
            self._stats[record["trackId"]] = record
        elif self.show_events:
            self._events.append(record)

    def update(self, session) -> None:
        self._session = session
        now = time.monotonic()
        if now - self._last_draw >= REFRESH_SECONDS:
            self._last_draw = now
            self._draw(session)

    def _draw(self, session) -> None:
        from rich.console import Group
        from rich.text import Text

        if self._terminal_gone:
            return
        lines = [Text(self._status(session), style="bold")]
        if self._stats:
            lines.append(Text(stats_line(self._stats.values())))
        for record in self._events:
            lines.append(Text(event_line(record), style=_EVENT_STYLE.get(record["event"], "")))
        try:
            self._live.update(Group(*lines), refresh=True)
        except OSError:  # the terminal hung up (a dropped ssh session): the capture goes on
            self._terminal_gone = True

    def _status(self, session) -> str:
        elapsed = session.clock.now()
        video = [t for t in session.tracks if t.kind == "video"]
        frames = sum(t.frames for t in video)
        parts = [f"{_clock(elapsed)}"]
        if video:
            parts.append(f"{frames} frames  {_fps(session, video):5.1f} fps")
        drops = sum(t.drops for t in session.tracks)
        parts.append(f"{drops} dropped")
        parts.append(_size(sum(output.sink.bytes_written for output in session.outputs)))
        level = _audio_level(session)
        if level is not None:
            parts.append(level)
        muted = [t.label for t in session.tracks if t.muted]
        if muted:
            parts.append("MUTED: " + ", ".join(muted))
        parts.extend(_conditions(session.tracks))
        return "  ".join(parts)


_EVENT_STYLE = {"mute": "yellow", "unmute": "green", "ended": "red",
                "overconstrained": "magenta", "configurationchange": "cyan",
                "content": "yellow", "stopped": "bold"}
# A content condition as the status line names it (beside MUTED)
_SHOUTED = {"black": "BLACK", "frozen": "FROZEN", "silence": "SILENT", "clipping": "CLIPPING"}


def _conditions(tracks) -> list[str]:
    """'BLACK: Desk Camera' for each content condition that holds on a live track now."""
    holding: dict[str, list[str]] = {}
    for track in tracks:
        if track.content is not None and track.ready_state == "live":
            for name in track.content.active():
                holding.setdefault(name, []).append(track.label)
    return [f"{_SHOUTED[name]}: {', '.join(labels)}" for name, labels in holding.items()]


def _fps(session, video) -> float:
    """The written video's rate over its last frames' timestamps (WRITTEN_RATE_SECONDS of
    capture time); 0 while the video is muted. After the stop it stays at its last value."""
    live = [t for t in video if t.ready_state == "live"]
    if live and all(t.muted for t in live):
        return 0.0
    return session.written_video.rate() or 0.0


def stats_line(records) -> str:
    """The latest statistics of each track, compactly: video frames delivered, discarded and
    never delivered; audio milliseconds delivered and lost, and the average latency."""
    parts = []
    for record in records:
        s = record["detail"]
        if record["kind"] == "video":
            lost = s["totalFrames"] - s["deliveredFrames"] - s["discardedFrames"]
            parts.append(f"{record['label']}: {s['deliveredFrames']} delivered, "
                         f"{s['discardedFrames']} discarded, {lost} lost")
        else:
            lost = s["totalFramesDuration"] - s["deliveredFramesDuration"]
            latency = "" if s["averageLatency"] is None else \
                f", latency {s['averageLatency']:.1f} ms"
            parts.append(f"{record['label']}: {s['deliveredFramesDuration'] / 1000:.1f} s "
                         f"delivered, {lost:.0f} ms lost{latency}")
    return "stats  " + "  |  ".join(parts)


def event_line(record: dict) -> str:
    who = f" {record['kind']} {record['label']!r}" if record.get("label") else ""
    detail = ", ".join(f"{k}={v}" for k, v in _shown_detail(record).items())
    return f"  {record['time']:8.3f}s  {record['event']}{who}" + (f"  ({detail})" if detail
                                                                   else "")


def _shown_detail(record: dict) -> dict:
    """What a person reads of an event's detail: not every track's statistics, and of a
    configurationchange the new values only (the full settings are in the NDJSON)."""
    detail = record["detail"]
    if record["event"] == "configurationchange":
        return {name: detail["settings"].get(name) for name in detail.get("changed", ())}
    return {k: v for k, v in detail.items() if k != "tracks"}


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes):02d}:{secs:05.2f}"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _audio_level(session) -> str | None:
    """A meter from the last audio frame written: dBFS and a bar."""
    level = getattr(session, "audio_level", None)
    if level is None:
        return None
    db = 20 * math.log10(max(level, 1e-6))
    filled = max(0, min(20, round((db + 60) / 3)))
    return f"audio {db:6.1f} dBFS [{'#' * filled}{'.' * (20 - filled)}]"

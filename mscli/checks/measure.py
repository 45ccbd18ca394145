"""What each metric measured, from the `stopped` detail and the capture's event history only
(interface.md), and whether each expectation held.

Per track (`detail.tracks[i]`): frames = stats.deliveredFrames; fps = deliveredFrames over the
time the source's frames cover (`duration` spans the first to the last of totalFrames, so the
time is duration x totalFrames / (totalFrames - 1): 60 frames at 30 fps span 59/30 s and cover
2 s, and a track decimated to 15 fps delivers 30 of them); drops = the frames never delivered,
stats.totalFrames - deliveredFrames - discardedFrames (a frame decimated to the asked rate is
discarded on purpose, not dropped; audio has no discarded frames); black, frozen, silence = content seconds; level, peak = content dBFS; clipping =
content samples; latency.p50/p99 = the latency summary in ms; echo_delay = echoDelay, the
measured playout-to-capture delay in ms; events.NAME = how many NAME events carry the track's
id.

A kind may have had several tracks (--reconnect replaces one that went away): counts and
seconds add up, fps is over all their frames and time, peak, latency and echo_delay take the
worst track, level the power mean weighted by duration.

A value that cannot be measured (no frame delivered, no latency measured, content analysis
off) is None with the reason: the expectation fails, since nothing shows that it held.
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

from mscli.checks.expectations import EVENTS_PREFIX, Expectation, metric_of, number_text

COMPARE = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
           "==": operator.eq, "!=": operator.ne}
# Measured values are rounded as reports show them, and compared as shown: 'video.fps == 30
# (measured 30)' never fails on a 29.995 nobody saw. fps to 0.1: `duration` is rounded to the
# millisecond, which moves 59 intervals at 30 fps by up to 0.008 fps.
DECIMALS = {"fps": 1, "s": 3, "ms": 1, "dBFS": 1}
WHY_NOT = {
    "stats": "the tracks kept no statistics",
    "content": "content analysis was off",
    "latency": "no frame was written with its latency measured",
    "fps": "fewer than two frames came from the source",
    "echo": "nothing ms played (--play, -o speaker) was heard clearly in what the microphone "
            "captured",
}


class Result(NamedTuple):
    expectation: Expectation
    measured: float | None
    passed: bool
    why_not: str | None = None  # why nothing was measured

    def line(self) -> str:
        """'video.fps >= 24 (measured 12.3)' as the failure line and the reports say it."""
        return f"{self.expectation.text} ({self.measured_text()})"

    def measured_text(self) -> str:
        if self.measured is None:
            return f"not measured: {self.why_not}"
        unit = self.expectation.unit
        shown = number_text(self.measured)
        return f"measured {shown} {unit}" if unit in ("s", "ms", "dBFS") else f"measured {shown}"


def evaluate(expectations: list[Expectation], detail: dict, history: list[dict]) -> list[Result]:
    """Each expectation's result, in the order given."""
    return [_result(e, detail, history) for e in expectations]


def _result(expectation: Expectation, detail: dict, history: list[dict]) -> Result:
    tracks = [t for t in detail["tracks"] if t["kind"] == expectation.kind]
    value, why_not = measure(expectation.metric, tracks, history)
    if value is None:
        return Result(expectation, None, False, why_not)
    return Result(expectation, value, COMPARE[expectation.op](value, expectation.value))


def measure(metric: str, tracks: list[dict], history: list[dict]) -> tuple[float | None,
                                                                           str | None]:
    """The metric over these tracks (one kind's), rounded as shown; or None and why not."""
    if metric.startswith(EVENTS_PREFIX):
        ids = {t["trackId"] for t in tracks}
        name = metric[len(EVENTS_PREFIX):]
        return float(sum(1 for e in history if e["event"] == name and e["trackId"] in ids)), None
    reads = metric_of(metric).reads
    try:
        value = MEASURES[metric](tracks)
    except (KeyError, TypeError):  # a part of the detail the metric reads is absent
        return None, WHY_NOT[reads]
    if value is None:
        return None, WHY_NOT[metric if metric in WHY_NOT else reads]
    digits = DECIMALS.get(metric_of(metric).unit)
    return (float(round(value, digits)) if digits is not None else float(value)), None


def _total(key: str, part: str):
    return lambda tracks: sum(t[part][key] for t in tracks)


def _fps(tracks: list[dict]) -> float | None:
    """Frames delivered per second of the time the source's frames cover. `duration` runs
    from the first of its totalFrames to the last: one frame interval short of that time."""
    covered = [(t["stats"]["deliveredFrames"], t["duration"] * total / (total - 1))
               for t in tracks if (total := t["stats"]["totalFrames"]) > 1]
    seconds = sum(s for _, s in covered)
    return sum(n for n, _ in covered) / seconds if seconds > 0 else None


def _drops(tracks: list[dict]) -> int:
    return sum(t["stats"]["totalFrames"] - t["stats"]["deliveredFrames"]
               - t["stats"].get("discardedFrames", 0) for t in tracks)


def _level(tracks: list[dict]) -> float:
    """The power mean of the tracks' RMS levels, weighted by how long each lasted."""
    levels = [t["content"]["level"] for t in tracks]
    weights = [t["duration"] for t in tracks]
    if sum(weights) <= 0:  # chunks, no span: each counts the same
        weights = [1.0] * len(tracks)
    power = sum(w * 10 ** (level / 10) for w, level in zip(weights, levels)) / sum(weights)
    return 10 * math.log10(power) if power > 0 else min(levels)


def _worst(key: str, part: str, scale: float = 1.0):
    """The largest value over the tracks that have `part` (a track that wrote no frame has
    no latency); None when none has it."""
    def worst(tracks: list[dict]) -> float | None:
        values = [t[part][key] * scale for t in tracks if part in t]
        return max(values) if values else None
    return worst


def _echo_delay(tracks: list[dict]) -> float | None:
    """The longest delay measured on the tracks; None when none heard what was played."""
    delays = [t["echoDelay"] for t in tracks if t.get("echoDelay") is not None]
    return max(delays) if delays else None


MEASURES = {
    "frames": _total("deliveredFrames", "stats"),
    "fps": _fps,
    "drops": _drops,
    "black": _total("black", "content"),
    "frozen": _total("frozen", "content"),
    "silence": _total("silence", "content"),
    "clipping": _total("clipping", "content"),
    "level": _level,
    "peak": _worst("peak", "content"),
    "latency.p50": _worst("p50", "latency", 1000.0),
    "latency.p99": _worst("p99", "latency", 1000.0),
    "echo_delay": _echo_delay,
}

"""The expectation language of `--expect 'KIND.METRIC OP VALUE'` (contract.md, Checks for CI).

KIND is video or audio, OP one of >= <= > < == !=, VALUE a number, optionally followed by the
metric's own unit (`24fps`, `0.5s`, `100ms`, `-40dBFS` or `-40dB`). Parsed when the command line is read, so a
mistake is a usage error (exit 2) before anything opens, quoting the expectation, naming the
part that is wrong and what to write instead.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from mscli.errors import UsageError, did_you_mean, quoted
from mscli.events import EVENT_NAMES

KINDS = ("video", "audio")
OPERATORS = (">=", "<=", "==", "!=", ">", "<")
# What people type for an operator the language spells otherwise.
MISSPELT_OPERATORS = {"=>": ">=", "=<": "<=", "=": "==", "<>": "!=", "~=": "!=",
                      "\u2265": ">=", "\u2264": "<=", "\u2260": "!="}  # also ≥ ≤ ≠
_OPERATOR = re.compile(r"[<>=!~]+|[\u2265\u2264\u2260]")
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)")


class Metric(NamedTuple):
    kinds: tuple[str, ...]  # the track kinds it is measured on
    unit: str  # how reports show its values
    reads: str  # what it reads: stats, content, latency, echo (the stopped detail) or events


METRICS = {
    "frames": Metric(KINDS, "frames", "stats"),
    "fps": Metric(("video",), "fps", "stats"),
    "drops": Metric(KINDS, "frames", "stats"),
    "black": Metric(("video",), "s", "content"),
    "frozen": Metric(("video",), "s", "content"),
    "silence": Metric(("audio",), "s", "content"),
    "level": Metric(("audio",), "dBFS", "content"),
    "peak": Metric(("audio",), "dBFS", "content"),
    "clipping": Metric(("audio",), "samples", "content"),
    "latency.p50": Metric(KINDS, "ms", "latency"),
    "latency.p99": Metric(KINDS, "ms", "latency"),
    "echo_delay": Metric(("audio",), "ms", "echo"),
}
EVENTS_PREFIX = "events."
EVENT_METRIC = Metric(KINDS, "events", "events")
# Events a track has: the others (devicechange, stopped) belong to no track.
TRACK_EVENTS = tuple(name for name in EVENT_NAMES if name not in ("devicechange", "stopped"))
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds"}
SECONDS = {"s": 1.0, "ms": 0.001}  # a time in another unit: the hint converts it
EXAMPLE = "'video.fps >= 24'"


class Expectation(NamedTuple):
    kind: str
    metric: str  # a METRICS name, or events.NAME
    op: str
    value: float
    text: str  # as reports show it: 'video.fps >= 24'

    @property
    def unit(self) -> str:
        return metric_of(self.metric).unit


def metric_of(name: str) -> Metric:
    return EVENT_METRIC if name.startswith(EVENTS_PREFIX) else METRICS[name]


def number_text(value: float) -> str:
    """A number as a person writes it: 24, not 24.0."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def metric_names(kind: str) -> list[str]:
    return [name for name, m in METRICS.items() if kind in m.kinds] + ["events.NAME"]


def parse_expectation(text: str) -> Expectation:
    """One --expect; UsageError (quoting it) when it is not KIND.METRIC OP VALUE."""
    def wrong(why: str) -> UsageError:
        return UsageError(f"--expect {quoted(text)}: {why}")

    operators = _OPERATOR.findall(text)
    if not operators:
        raise wrong("no comparison: write KIND.METRIC OP VALUE with OP one of "
                    f"{' '.join(OPERATORS)}, e.g. {EXAMPLE}")
    op = operators[0]
    if op not in OPERATORS:
        hint = MISSPELT_OPERATORS.get(op)
        raise wrong(f"unknown comparison {op!r}" + (f": write {hint!r}" if hint else
                                                     f"; use one of {' '.join(OPERATORS)}"))
    if len(operators) > 1:
        raise wrong(f"one comparison per --expect, found {', '.join(map(repr, operators))}: "
                    "give --expect again for another")
    left, right = (part.strip() for part in text.split(op, 1))
    kind, metric = _subject(left, wrong)
    value = _value(right, metric, wrong)
    return Expectation(kind, metric, op, value, f"{kind}.{metric} {op} {number_text(value)}")


def _subject(left: str, wrong) -> tuple[str, str]:
    """KIND.METRIC, checked: the kind, the metric, and that the metric is the kind's."""
    if not left:
        raise wrong(f"nothing before the comparison: write KIND.METRIC, e.g. {EXAMPLE}")
    kind, dot, metric = left.partition(".")
    if not dot or kind == EVENTS_PREFIX[:-1]:
        if left in METRICS or left.startswith(EVENTS_PREFIX):
            kinds = metric_of(left).kinds
            raise wrong(f"name the track kind: {' or '.join(f'{k}.{left}' for k in kinds)}")
        raise wrong(f"expected KIND.METRIC, got {left!r} (KIND is video or audio, e.g. "
                    f"{EXAMPLE})")
    if kind not in KINDS:
        raise wrong(f"unknown track kind {kind!r}{did_you_mean(kind, KINDS)}: video or audio")
    if metric.startswith(EVENTS_PREFIX):
        _check_event(metric[len(EVENTS_PREFIX):], wrong)
        return kind, metric
    if metric not in METRICS:
        raise wrong(f"unknown {kind} metric {metric!r}"
                    f"{did_you_mean(metric, metric_names(kind))}; {kind} metrics: "
                    f"{', '.join(metric_names(kind))}")
    if kind not in METRICS[metric].kinds:
        other = METRICS[metric].kinds[0]
        raise wrong(f"{metric} is measured on {other}, not {kind}: write {other}.{metric}")
    return kind, metric


def _check_event(name: str, wrong) -> None:
    if name not in TRACK_EVENTS:
        hint = did_you_mean(name, TRACK_EVENTS)
        raise wrong(f"no track event {name!r}{hint}; events.NAME counts one of "
                    f"{', '.join(TRACK_EVENTS)}")


def _value(right: str, metric: str, wrong) -> float:
    """VALUE: a finite number, with the metric's own unit or none."""
    match = _NUMBER.fullmatch(right)
    if match is None:
        raise wrong(f"expected a number after the comparison, got {right!r} (e.g. {EXAMPLE})")
    number, unit = match.groups()
    value = float(number)
    if not math.isfinite(value):
        raise wrong(f"{number!r} is too large a number")
    own = metric_of(metric).unit
    if unit and unit.lower() not in (own.lower(), "db" if own == "dBFS" else own.lower()):
        if unit.lower() in SECONDS and own in SECONDS:  # the same time in the metric's unit
            number = number_text(value * SECONDS[unit.lower()] / SECONDS[own])
        raise wrong(f"{metric} is in {UNIT_NAMES.get(own, own)}, not {unit!r}: write {number}")
    return value


def check_captured(expectations: list[Expectation], kinds: list[str], *, unpaced: bool,
                   content: bool = True, plays: bool = False) -> None:
    """Before anything opens: every expectation is on a track the capture has, and about
    something the capture will measure (not latency --unpaced, not content --no-content, not
    an echo delay when the capture plays nothing: `plays` is --play or -o speaker)."""
    for e in expectations:
        if e.kind not in kinds:
            raise UsageError(f"--expect {quoted(e.text)}: the constraints request no {e.kind} "
                             f"track; add \"{e.kind}\": true to -c or drop this --expect")
        reads = metric_of(e.metric).reads
        if unpaced and reads == "latency":
            raise UsageError(f"--expect {quoted(e.text)}: latency is measured on paced "
                             "captures only; drop --unpaced or this --expect")
        if not content and reads == "content":
            raise UsageError(f"--expect {quoted(e.text)}: --no-content turns off what it "
                             "measures; drop one of them")
        if not plays and reads == "echo":
            raise UsageError(f"--expect {quoted(e.text)}: the echo delay is of what ms plays, "
                             "and this capture plays nothing; add --play FILE or -o speaker")

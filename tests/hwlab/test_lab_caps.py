"""`ms caps --modes` against what v4l2-ctl --list-formats-ext reports for the same node."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from labtools import CAMERA_NODE, LAB, camera, run_ms

pytestmark = LAB

FORMAT = re.compile(r"^\s*\[\d+\]: '(.+?)' \(")
DISCRETE_SIZE = re.compile(r"^\s*Size: Discrete (\d+)x(\d+)")
RANGE_SIZE = re.compile(r"^\s*Size: (?:Stepwise|Continuous) (\d+)x(\d+) - (\d+)x(\d+)")
DISCRETE_RATE = re.compile(r"^\s*Interval: Discrete [\d.]+s \(([\d.]+) fps\)")
RANGE_RATE = re.compile(r"^\s*Interval: (?:Stepwise|Continuous) .*\(([\d.]+)-([\d.]+) fps\)")


def v4l2_ctl_modes(node: str) -> tuple[dict, dict]:
    """{fourcc: {(w, h): {fps}}} for discrete sizes; {fourcc: (min, max) sizes} for ranges."""
    text = subprocess.run(["v4l2-ctl", "-d", node, "--list-formats-ext"], check=True,
                          capture_output=True, text=True).stdout
    discrete: dict = {}
    ranges: dict = {}
    fmt = size = None
    for line in text.splitlines():
        if m := FORMAT.match(line):
            fmt, size = m.group(1), None
            discrete.setdefault(fmt, {})
        elif m := DISCRETE_SIZE.match(line):
            size = (int(m.group(1)), int(m.group(2)))
            discrete[fmt].setdefault(size, set())
        elif m := RANGE_SIZE.match(line):
            w0, h0, w1, h1 = map(int, m.groups())
            ranges[fmt] = ((w0, h0), (w1, h1))
            size = None
        elif (m := DISCRETE_RATE.match(line)) and size:
            discrete[fmt][size].add(round(float(m.group(1)), 3))
        elif (m := RANGE_RATE.match(line)) and size:
            discrete[fmt][size].update({round(float(m.group(1)), 3),
                                        round(float(m.group(2)), 3)})
    return discrete, ranges


@pytest.fixture(scope="module")
def ours():
    out = json.loads(run_ms("caps", camera()["deviceId"], "--modes", "--json").stdout)
    table: dict = {}
    for mode in out["modes"]:
        size = (mode["width"], mode["height"])
        table.setdefault(mode["pixelFormat"], {}).setdefault(size, set()).add(
            round(mode["frameRate"], 3))
    return out, table


def test_modes_match_v4l2_ctl(ours):
    discrete, ranges = v4l2_ctl_modes(CAMERA_NODE)
    _out, table = ours
    assert discrete, "v4l2-ctl listed no formats"
    assert set(table) == set(discrete) | set(ranges)
    for fmt, sizes in discrete.items():
        if fmt in ranges:
            continue
        assert table[fmt] == sizes, f"{fmt}: ms and v4l2-ctl differ"
    for fmt, (lo, hi) in ranges.items():  # a range: ms offers its ends and sizes between
        got = sorted(table[fmt], key=lambda s: s[0] * s[1])
        assert got[0] == lo and got[-1] == hi


def test_capabilities_span_the_modes(ours):
    out, table = ours
    caps = out["capabilities"]
    assert caps["width"] == {"min": 1, "max": max(w for f in table.values() for w, _ in f)}
    assert caps["height"]["max"] == max(h for f in table.values() for _, h in f)
    assert caps["frameRate"]["max"] == max(r for f in table.values() for s in f.values()
                                           for r in s)
    assert caps["resizeMode"] == ["none", "crop-and-scale"]
    assert caps["deviceId"] == out["deviceId"]


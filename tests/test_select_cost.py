"""How the work of SelectSettings grows with its input, counted rather than timed.

A count of Python function calls is the same on every machine and under any load, so these
tests cannot flake; bench/resolve.py has the seconds. Each pins down the growth that made a
hostile input under the size caps hang (issue 10, finding 5).
"""

from __future__ import annotations

import sys

from mscli.catalog import assign_ids
from mscli.constraints import parse_stream_constraints
from mscli.devices import VIDEO_INPUT, Device, VideoMode
from mscli.ids import IdHasher
from mscli.select import select_settings
from mscli.virtual import fake_devices

HASHER = IdHasher(b"x" * 32)


def calls(constraints: dict, devices: list[Device]) -> int:
    """Python function calls made by SelectSettings for the video track of `constraints`."""
    track = parse_stream_constraints(constraints).video
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        count += event == "call"

    sys.setprofile(profile)
    try:
        select_settings(track, devices, "video")
    finally:
        sys.setprofile(None)
    return count


def distinct_sets(n: int) -> list[dict]:
    """n satisfiable advanced sets, no two alike (a repeated set is recognised as such)."""
    return [{"width": {"min": 1 + i % 7}, "frameRate": {"max": 30 + i}} for i in range(n)]


def many_modes(n: int) -> list[Device]:
    modes = tuple(VideoMode(16 + i % 1600, 16 + 7 * i % 1200, 1.0 + i % 60) for i in range(n))
    return assign_ids([Device(VIDEO_INPUT, "Many", "test:many", "own:many", "test",
                              modes=modes)], HASHER)


def test_advanced_sets_cost_grows_linearly_with_their_number():
    # Before: every set was checked against every member accepted so far, O(N^2): 400 sets
    # cost 14 times what 100 did. Linear: 4 times, give or take the fixed part.
    devices = assign_ids(fake_devices(), HASHER)
    base = calls({"video": True}, devices)
    hundred = calls({"video": {"advanced": distinct_sets(100)}}, devices) - base
    four_hundred = calls({"video": {"advanced": distinct_sets(400)}}, devices) - base
    assert four_hundred <= 4.5 * hundred, (hundred, four_hundred)


def test_met_advanced_sets_do_not_search_every_mode_again():
    # Before: 40 sets on a camera with 24,800 modes took 35 s, each set searching all 49,600
    # regions. A set that the last candidate found still meets needs no search: 40 of them
    # cost less than one resolution without advanced sets.
    devices = many_modes(2000)
    base = calls({"video": True}, devices)
    with_sets = calls({"video": {"advanced": distinct_sets(40)}}, devices)
    assert with_sets - base < base, (base, with_sets)


def test_repeated_advanced_sets_are_decided_once():
    # A set met or skipped before cannot change the answer: its repeats cost a few calls
    # each, not a search of the camera's 1,000 regions.
    devices = many_modes(500)
    for advanced in ({"width": {"max": 1000}}, {"width": {"min": 5000}}):
        once = calls({"video": {"advanced": [advanced]}}, devices)
        many = calls({"video": {"advanced": [advanced] * 5000}}, devices)
        assert (many - once) / 4999 < 10, (advanced, once, many)


def test_sets_beyond_what_any_mode_offers_are_skipped_without_a_search():
    # Each of these is unmet, and was a search of every region: 400 of them on 24,800 modes
    # took 30 s. A required range outside all the modes offer needs no search.
    devices = many_modes(2000)
    base = calls({"video": True}, devices)
    unmet = [{"width": {"exact": 16 + i}, "height": {"exact": 5000}} for i in range(100)]
    assert calls({"video": {"advanced": unmet}}, devices) - base < base / 10


def test_unmet_sets_within_reach_do_not_search_every_mode():
    # Each set asks for a native size (resizeMode "none") whose width and height some modes
    # have, but no one mode has both: within reach, yet unmet, so each was a check of every
    # region (40 of them on 24,800 modes took 3.5 s). The index leaves the few native modes
    # of that width or height: 40 such sets cost less than a fifth of one resolution.
    devices = many_modes(2000)
    base = calls({"video": True}, devices)
    sets = [{"width": 17 + 2 * i, "height": 1210 - i, "resizeMode": "none"} for i in range(40)]
    unmet, plain = (parse_stream_constraints(c).video
                    for c in ({"video": {"advanced": sets}}, {"video": True}))
    assert select_settings(unmet, devices, "video") == select_settings(plain, devices, "video")
    assert calls({"video": {"advanced": sets}}, devices) - base < base / 5


def test_sets_no_run_of_the_index_rules_out_alone_do_not_search_those_runs():
    # All 2,000 modes are 640 wide, half of them 480 high (below 30 fps) and half 720 high
    # (above it): "640x480 at 30 fps or more, native" keeps 1,000 regions by its height and
    # 1,000 by its frame rate, none in both. Checking either run cost ~5 calls a region;
    # intersecting the runs costs next to none (after a check of the first few).
    modes = tuple(VideoMode(640, 480, 1 + 28 * i / 1000) for i in range(1000)) + \
        tuple(VideoMode(640, 720, 31 + 29 * i / 1000) for i in range(1000))
    devices = assign_ids([Device(VIDEO_INPUT, "Many", "test:many", "own:many", "test",
                                 modes=modes)], HASHER)
    base = calls({"video": True}, devices)
    sets = [{"width": 640, "height": 480, "frameRate": {"min": 30 + i / 1000},
             "resizeMode": "none"} for i in range(40)]
    assert calls({"video": {"advanced": sets}}, devices) - base < base / 5

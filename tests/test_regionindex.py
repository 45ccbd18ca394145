"""The region index (mscli/regionindex.py) answers exactly what checking every region answers.

SelectSettings keeps or skips each advanced set on whether some region meets it; the index
only narrows which regions are checked. If it left out a region that meets the requirements,
a set would be skipped that a browser applies. So, for drawn devices and requirements, and
especially values within the comparison tolerance of what a mode offers (where a margin that
is too thin would cut), the index finds a region exactly when some region meets them, and
what it finds meets them.
"""

from __future__ import annotations

from unittest import mock

from hypothesis import given
from hypothesis import strategies as st
from test_select import (
    AUDIO_NAMES,
    PROPERTY,
    VIDEO_NAMES,
    _required_list,
    cameras,
    devices,
    known_ids,
    microphones,
    required_sets,
)

from mscli.constraints import EPSILON, parse_track_constraints
from mscli import regionindex
from mscli.regionindex import RegionIndex
from mscli.requirements import Requirements
from mscli.select import _regions, _universe

NUDGES = (0.5, 0.99, 1.01, 2.0, 1e3)  # times EPSILON: inside the tolerance, then beyond


@st.composite
def edge_sets(draw, regions):
    """Required members just beyond an end of what one region offers (a minimum above its
    highest value, a maximum below its lowest, or an exact value there), by a few EPSILON:
    feasible() accepts those within its tolerance."""
    region = draw(st.sampled_from(regions))
    out = {}
    for name in draw(st.lists(st.sampled_from(region.NUMERIC), min_size=1, max_size=2,
                              unique=True)):
        offered = region.offers(name)
        if offered:
            side = draw(st.sampled_from((0, 1)))
            value = offered[0][side] * (1 + (2 * side - 1) * draw(st.sampled_from(NUDGES))
                                        * EPSILON)
            out[name] = {draw(st.sampled_from(("exact", ("max", "min")[side]))): value}
    return out


@PROPERTY
@given(st.data(), st.sampled_from(("video", "audio")))
def test_property_index_finds_a_region_exactly_when_one_meets_the_requirements(data, kind):
    devs = devices(*data.draw(cameras() if kind == "video" else microphones()))
    regions = [r for order, d in enumerate(devs) for r in _regions(d, order)]
    index = RegionIndex(regions)
    # The few regions drawn here make short runs: intersecting them is drawn too (all of
    # the shortest run, or all but its first region).
    short_run = data.draw(st.sampled_from((0, 1, regionindex.SHORT_RUN)))
    with mock.patch.object(regionindex, "SHORT_RUN", short_run):
        _check_requirements(data, kind, devs, regions, index)


def _check_requirements(data, kind, devs, regions, index):
    ids = known_ids(devs)
    required = Requirements.none(_universe(devs))
    for _ in range(data.draw(st.integers(1, 4))):
        names = VIDEO_NAMES if kind == "video" else AUDIO_NAMES
        members = data.draw(edge_sets(regions) | required_sets(ids, bare_ok=False, names=names))
        basic = parse_track_constraints(members, kind).basic
        trial = required.plus(_required_list(basic, kind))
        meets = any(r.feasible(trial) for r in regions)
        found = index.first_meeting(trial)
        assert (found is not None) == meets, (members, trial.bounds)
        assert found is None or found.feasible(trial)
        assert not (meets and index.out_of_reach(trial)), (members, trial.bounds)
        if meets:
            required = trial  # as SelectSettings accepts a set, tightening the next ones

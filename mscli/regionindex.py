"""Finding a region that meets a set of required constraints without checking every region.

SelectSettings asks, for each advanced set, whether any region (a native mode and resize
mode of a device, or a microphone: see select.py) meets the requirements with that set
added. A set that none meets, although each of its values alone is offered by some mode,
used to be a check of every region: 0.05 s for the 49,600 regions of 24,800 modes, and 40
such sets took 3.5 s.

Here the regions are split into groups that the discrete requirements (ids, facingMode,
resizeMode, existence) treat alike, so one check decides a whole group. Inside a group, per
numeric name, the regions are sorted by the lower and by the upper end of the interval they
offer; a required interval then cuts, by bisection, the run of regions whose offered
interval can overlap it. Only the regions in every run (each name's, both orders), and the
first few of the shortest, are checked with feasible(), which stays the one exact answer:
the index only leaves out regions feasible() would refuse. Their offered interval misses the
required one widened by MARGIN, far wider than the tolerance feasible() compares with
(EPSILON).

When an interval's lower and upper ends grow together (native sizes are points, cropped
sizes run from 1 to the native size), one order is sorted by both and the run is cut at
both ends: a required width of 640 then leaves the native modes 640 wide.

What is left is a product, smaller: a set checks the regions in all its runs, and building
the runs costs their length (about 2 ms a set when each run holds 12,400 regions).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from operator import itemgetter, le
from typing import NamedTuple

MARGIN = 1e-3  # relative; constraints.EPSILON is 1e-6
SHORT_RUN = 16  # regions checked before runs of thousands are intersected


class _Order(NamedTuple):
    """A group's regions in one order (their positions in the group), with the interval ends
    that are sorted in it (None for an end that is not)."""

    positions: list
    lows: list | None
    highs: list | None

    def run(self, lo: float, hi: float) -> tuple[int, int]:
        """Where the regions of this order whose interval can overlap [lo, hi] start and
        end."""
        start = bisect_left(self.highs, _widen(lo, -1)) if self.highs is not None else 0
        end = bisect_right(self.lows, _widen(hi, 1)) if self.lows is not None \
            else len(self.positions)
        return start, end


def _order(entries: list, key: int) -> _Order:
    """entries: (low, high, position); sorted by end `key`, then the other."""
    ranked = sorted(entries, key=itemgetter(key, 1 - key))
    lows, highs = [e[0] for e in ranked], [e[1] for e in ranked]
    return _Order([e[2] for e in ranked], lows if _sorted(lows) else None,
                  highs if _sorted(highs) else None)


def _sorted(values: list) -> bool:
    return all(map(le, values, values[1:]))


def _widen(x: float, direction: int) -> float:
    """An interval's end moved out by MARGIN. A region feasible() accepts offers an interval
    within EPSILON * max(1, |end|) of the required one, and MARGIN covers that on either
    side many times over (the two ends are within a factor of two of each other there)."""
    return x if math.isinf(x) else x + direction * MARGIN * max(1.0, abs(x))


class _Group:
    """Regions of one device that share their fixed settings: fixed_ok() answers alike."""

    def __init__(self, regions: list):
        self.regions = regions
        self._offered: dict[str, list | None] = {}  # built when first asked, as the orders
        self._orders: dict[str, tuple[_Order, _Order]] = {}

    def offered(self, name: str) -> list | None:
        """(low, high, position) for each region; None when some region offers no single
        interval for the name (then the name prunes nothing)."""
        if name not in self._offered:
            offers = [r.offers(name) for r in self.regions]
            entries = [(*o[0], i) for i, o in enumerate(offers)
                       if len(o) == 1 and isinstance(o[0], tuple)]
            self._offered[name] = entries if len(entries) == len(self.regions) else None
        return self._offered[name]

    def reach(self, name: str) -> tuple[float, float] | None:
        entries = self.offered(name)
        if entries is None:
            return None
        return min(map(itemgetter(0), entries)), max(map(itemgetter(1), entries))

    def candidates(self, required):
        """The regions that may meet `required`, lazily: the first SHORT_RUN of the shortest
        run its numeric names cut (a region there meets most sets that some region meets),
        then the rest of that run that is in every other run too. With 24,800 modes of one
        width, half of one height and half fast enough, each run alone leaves 12,400
        regions, and none is in all three."""
        runs = []
        for name, (lo, hi) in required.bounds.items():
            entries = self.offered(name)
            if entries is None:
                continue
            if name not in self._orders:
                self._orders[name] = (_order(entries, 0), _order(entries, 1))
            for order in self._orders[name]:
                start, end = order.run(lo, hi)
                runs.append(order.positions[start:end])
        if not runs:
            yield from self.regions
            return
        runs.sort(key=len)
        yield from (self.regions[i] for i in runs[0][:SHORT_RUN])
        kept = set(runs[0][SHORT_RUN:])
        for run in runs[1:]:
            if not kept:
                return
            kept.intersection_update(run)
        yield from (self.regions[i] for i in sorted(kept))


class RegionIndex:
    """Built as it is asked: what a question needs is computed the first time it is asked
    (a resolution without advanced sets never asks)."""

    def __init__(self, regions: list):
        self.regions = regions
        self._groups: list[_Group] | None = None
        self._reach: dict[str, tuple[float, float] | None] = {}

    def out_of_reach(self, required) -> bool:
        """Whether a required interval misses all that the regions offer: a set asking for
        more than any mode has (40,000 of them fit in a 1 MiB file) is skipped without
        visiting each group."""
        for name, (lo, hi) in required.bounds.items():
            if name not in self._reach:
                self._reach[name] = self._span(name)
            reach = self._reach[name]
            if reach is not None and (hi < reach[0] or lo > reach[1]):
                return True
        return False

    def first_meeting(self, required):
        """A region that meets `required`, or None when none does."""
        for group in self.groups():
            if not group.regions[0].fixed_ok(required):
                continue
            found = next((r for r in group.candidates(required) if r.feasible(required)), None)
            if found is not None:
                return found
        return None

    def groups(self) -> list[_Group]:
        if self._groups is None:
            groups: dict[tuple, list] = {}
            for region in self.regions:
                groups.setdefault((region.order, tuple(region.fixed.items())), []).append(region)
            self._groups = [_Group(members) for members in groups.values()]
        return self._groups

    def _span(self, name: str) -> tuple[float, float] | None:
        """The smallest and largest value any region offers for a name, widened by MARGIN
        as a required interval would be; None when some region offers no single interval
        for it."""
        reaches = [group.reach(name) for group in self.groups()]
        if None in reaches:
            return None
        return _widen(min(r[0] for r in reaches), -1), _widen(max(r[1] for r in reaches), 1)

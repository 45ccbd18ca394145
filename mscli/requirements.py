"""The required constraints of a track, folded into what a candidate is checked against.

SelectSettings adds the required members of each accepted advanced set to those of the basic
set. Kept as a list, every later check walked every member accepted so far: N advanced sets
cost O(N^2) checks of each region (80,000 sets in a 1 MiB file took over a minute). Folded,
the members of one name become one interval (numeric) or one set of allowed values
(discrete), so a check costs the same however many sets were accepted.

Folding changes no answer. A numeric member is met when lo - tol(lo) <= x <= hi + tol(hi)
(constraints.satisfies), and b - tol(b) and b + tol(b) both grow with b: meeting every member
is meeting the intersection of their intervals. A discrete member is checked against each
value a device can have for that name (its ids, facingMode, the two resizeModes, the booleans
of its audio processing); a value is allowed when every member accepts it.
"""

from __future__ import annotations

import math

from mscli.constraints import NUMERIC_TYPES, PROPERTIES, Constraint, numeric_bounds, satisfies

UNBOUNDED = (-math.inf, math.inf)


class Requirements:
    """Immutable; `plus()` gives a new one. `key` tells two equal requirements apart cheaply."""

    __slots__ = ("universe", "bounds", "allowed", "presence", "impossible", "key")

    def __init__(self, universe: dict, bounds: dict, allowed: dict, presence: dict,
                 impossible: bool):
        self.universe = universe  # discrete name -> every value a candidate may have
        self.bounds = bounds  # numeric name -> (lo, hi), possibly empty (lo > hi)
        self.allowed = allowed  # discrete name -> frozenset of the universe's values allowed
        self.presence = presence  # name -> whether the setting must exist (the boolean form)
        self.impossible = impossible  # the boolean form asked both ways: nothing meets it
        self.key = (tuple(sorted(bounds.items())), tuple(sorted(allowed.items())),
                    tuple(sorted(presence.items())), impossible)

    @classmethod
    def none(cls, universe: dict) -> "Requirements":
        return cls(universe, {}, {}, {}, False)

    def plus(self, constraints: list[Constraint]) -> "Requirements":
        bounds, allowed, presence = dict(self.bounds), dict(self.allowed), dict(self.presence)
        impossible = self.impossible
        for c in constraints:
            if c.exists is not None:
                impossible |= presence.setdefault(c.name, c.exists) != c.exists
            elif PROPERTIES[c.name].type in NUMERIC_TYPES:
                (lo, hi), (c_lo, c_hi) = bounds.get(c.name, UNBOUNDED), numeric_bounds(c)
                bounds[c.name] = (max(lo, c_lo), min(hi, c_hi))
            else:
                values = allowed.get(c.name, self.universe.get(c.name, ()))
                allowed[c.name] = frozenset(v for v in values if satisfies(c, v))
        return Requirements(self.universe, bounds, allowed, presence, impossible)

    def bound(self, name: str) -> tuple[float, float]:
        return self.bounds.get(name, UNBOUNDED)

    def admits(self, name: str, value) -> bool:
        """Whether a discrete value meets every member on `name`."""
        allowed = self.allowed.get(name)
        return allowed is None or value in allowed

    def names(self) -> set[str]:
        """The names some member constrains."""
        return {*self.bounds, *self.allowed, *self.presence}

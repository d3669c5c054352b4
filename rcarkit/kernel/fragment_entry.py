"""One line of a kernel fragment (:class:`FragmentEntry`) and its kinds.

Shared by the fragment planner (:mod:`rcarkit.kernel.fragment`) and the
Kconfig tree (:mod:`rcarkit.kernel.tree`), which resolves entries' dependencies;
kept apart so neither imports the other at run time.
"""

from dataclasses import dataclass, field
from typing import List

REQUESTED = "requested"
DEPENDENCY = "dependency"
IMPOSSIBLE = "impossible"
OBSOLETE = "obsolete"
KINDS = (REQUESTED, DEPENDENCY, IMPOSSIBLE, OBSOLETE)


@dataclass
class FragmentEntry:
    symbol: str                 # without CONFIG_
    value: str                  # "y" | "m" | "n" | number | quoted string, as in .config
    kind: str                   # requested | dependency | impossible | obsolete
    profiles: List[str] = field(default_factory=list)
    reason: str = ""
    needed_by: List[str] = field(default_factory=list)
    note: str = ""
    expected: str = ""          # the profile's expectation (y, y/m, >=N ...), requested only
    alternatives: List[str] = field(default_factory=list)   # any_of: the other candidates
    optional: bool = False      # requested only by optional rules (only with --with-optional)

    def config_line(self):
        """The line as it appears in a .config / fragment."""
        if self.value == "n":
            return "# CONFIG_%s is not set" % self.symbol
        return "CONFIG_%s=%s" % (self.symbol, self.value)

    def to_dict(self):
        return {"symbol": self.symbol, "value": self.value, "kind": self.kind,
                "profiles": list(self.profiles), "reason": self.reason,
                "needed_by": list(self.needed_by), "note": self.note,
                "alternatives": list(self.alternatives), "optional": self.optional,
                "line": self.config_line() if self.kind in (REQUESTED, DEPENDENCY) else None}


def quote_string(value):
    """A string symbol's value as .config writes it (double-quoted, escaped)."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')

"""Results as data: :class:`Finding` rows grouped in a :class:`Report`.

``check-kernel`` and ``check-node`` both produce a Report; one printer
(:mod:`rcarkit.render`) turns any Report into a table, Markdown or JSON. A
Finding is one checked item: what was expected, what was found, the status,
whether it is required, why it matters and who documents it.

Statuses (the JSON ``status`` field):

``ok``                         present with an acceptable value
``missing``                    absent or ``n``
``wrong-value``                present with a value that does not satisfy the rule
``obsolete-skipped``           the option no longer exists in this kernel version
``not-applicable-for-version`` the option does not exist yet in this kernel version
``unsupported-arch``           (check-kernel, row ``ARCH``) the profile does not support
                               the config's architecture; required, so NOT READY
``undecided``                  (check-kernel) the config states no kernel version and the
                               verdict depends on it: the option exists in part of the
                               version range its symbols allow; fails (never ok) until
                               ``--kernel-version`` decides it
``unavailable``                (check-kernel) the option cannot be enabled on this
                               architecture/config (CGROUP_HUGETLB on 32-bit ARM without
                               ARM_LPAE, ``kernel-symbols.toml`` ``unavailable_without``);
                               never written into a fragment; fails only a required rule
``not-a-symbol``               (check-kernel) no kernel version defines the option (a
                               misremembered name, ``never_existed`` in kernel-symbols.toml);
                               the note says what was probably meant; never fails
``warning``                    (check-node) not fatal, but worth a look
``unknown``                    (check-node) could not be read
"""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from rcarkit.errors import EXIT_FINDINGS, EXIT_OK

SCHEMA_VERSION = 1

OK = "ok"
MISSING = "missing"
WRONG = "wrong-value"
OBSOLETE = "obsolete-skipped"
NOT_YET = "not-applicable-for-version"
WARNING = "warning"
UNKNOWN = "unknown"
UNSUPPORTED_ARCH = "unsupported-arch"
UNDECIDED = "undecided"
UNAVAILABLE = "unavailable"
NOT_A_SYMBOL = "not-a-symbol"
FAILING = (MISSING, WRONG, UNSUPPORTED_ARCH, UNDECIDED)
STATUSES = (OK, MISSING, WRONG, OBSOLETE, NOT_YET, WARNING, UNKNOWN, UNSUPPORTED_ARCH, UNDECIDED,
            UNAVAILABLE, NOT_A_SYMBOL)


@dataclass
class Finding:
    group: str
    name: str
    expected: str
    actual: Optional[str]
    status: str
    required: bool
    reason: str
    sources: Tuple[dict, ...] = ()
    note: str = ""
    symbols: Tuple[str, ...] = ()
    provisional: bool = False
    #: the symbols of ``symbols`` that exist in the checked kernel, in rule
    #: order: what a fragment may set (check-kernel fills it in)
    settable: Tuple[str, ...] = ()

    @property
    def failing(self):
        # an option the architecture cannot have blocks only a required rule
        return self.status in FAILING or (self.status == UNAVAILABLE and self.required)

    def to_dict(self):
        return {"profile": self.group, "option": self.name, "symbols": list(self.symbols),
                "expected": self.expected, "actual": self.actual, "status": self.status,
                "required": self.required, "reason": self.reason,
                "source": list(self.sources), "note": self.note,
                "provisional": self.provisional}


@dataclass
class Group:
    name: str
    title: str
    findings: List[Finding] = field(default_factory=list)
    info: dict = field(default_factory=dict)


@dataclass
class Report:
    command: str
    subject: dict
    groups: List[Group]
    notes: List[str] = field(default_factory=list)
    subject_line: str = ""
    #: what a group is, for the verdict ("in 3 profiles"); check-node groups
    #: its findings by area
    group_noun: str = "profile"
    #: short words the verdict always ends with ("weave unmaintained")
    caveats: List[str] = field(default_factory=list)

    def findings(self):
        for group in self.groups:
            for finding in group.findings:
                yield finding

    def failing(self, required=True):
        return [f for f in self.findings() if f.failing and f.required == required]

    @property
    def exit_code(self):
        return EXIT_FINDINGS if self.failing(required=True) else EXIT_OK

    @property
    def provisional(self):
        return any(f.provisional for f in self.findings())

    def counts(self):
        counts = {s: 0 for s in STATUSES}
        for f in self.findings():
            counts[f.status] += 1
        return counts

    #: the verdict is the last line of an 80-column table, after "VERDICT: "
    VERDICT_WIDTH = 71

    def verdict(self):
        """One line: READY/NOT READY with counts. The failing profiles are named,
        else counted, and "optional missing" and "(defconfig)" kept in full,
        as far as the line fits."""
        req = self.failing(required=True)
        groups = sorted(set(f.group for f in req))
        total = sum(1 for f in self.findings() if f.required and f.status == OK)
        # options, not rows: an option several profiles need is one thing to change
        missing_names = set(f.name for f in req if f.status == MISSING)
        arch_rows = [f for f in req if f.status == UNSUPPORTED_ARCH]
        wrong_names = set(f.name for f in req if f.status == WRONG) - missing_names
        undecided_names = set(f.name for f in req if f.status == UNDECIDED) - missing_names \
            - wrong_names
        opt = set(f.name for f in self.failing(required=False)) - missing_names - wrong_names \
            - undecided_names
        missing, wrong = len(missing_names), len(wrong_names)
        unavailable_names = set(f.name for f in req if f.status == UNAVAILABLE)
        counts = (["unsupported on %s" % arch_rows[0].actual] if arch_rows else []) + \
                 (["%d required unavailable here" % len(unavailable_names)]
                  if unavailable_names else []) + \
                 (["%d required missing" % missing] if missing else []) + \
                 (["%d wrong value" % wrong] if wrong else []) + \
                 (["%d undecided (version unknown)" % len(undecided_names)]
                  if undecided_names else [])
        head = ("READY: all %d required checks pass" % total if not req else
                "NOT READY: " + ", ".join(counts))
        noun = self.group_noun
        where = [""] if not req else [" (%s)" % ", ".join(groups),
                                      " in %d %s%s" % (len(groups), noun, "s"[:len(groups) > 1]),
                                      ""]
        optional = [""] if not opt else ["; %d optional missing" % len(opt),
                                         "; %d optional" % len(opt)]
        if opt and self.caveats:   # "weave unmaintained" matters more than the count
            optional.append("")
        provisional = [""] if not self.provisional else ["; provisional (defconfig)",
                                                         "; provisional"]
        # which profiles (or how many) fail matters more than the long wording
        caveat = "; " + ", ".join(self.caveats) if self.caveats else ""
        candidates = [head + w + o + p + caveat for w in where for o in optional
                      for p in provisional]
        fitting = [c for c in candidates if len(c) <= self.VERDICT_WIDTH]
        return fitting[0] if fitting else min(candidates, key=len)

    def to_dict(self):
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            **self.subject,
            "groups": [dict(name=g.name, title=g.title, **g.info) for g in self.groups],
            "options": [f.to_dict() for f in self.findings()],
            "summary": self.counts(),
            "notes": list(self.notes),
            "verdict": self.verdict(),
            "exit_code": self.exit_code,
        }

"""The verdict line of a Report: counts that match the findings, the group noun
of the command, and at most 71 characters (it follows "VERDICT: " in an
80-column table)."""

from rcarkit.report import Finding, Group, Report


def _report(statuses, groups=("a", "b", "c", "d", "e", "f"), **kwargs):
    out = []
    for i, name in enumerate(groups):
        findings = [Finding(group=name, name="OPT_%d_%d" % (i, j), expected="y", actual=None,
                            status=status, required=required, reason="r")
                    for j, (status, required) in enumerate(statuses)]
        out.append(Group(name=name, title=name, findings=findings))
    return Report(command="t", subject={}, groups=out, **kwargs)


def test_only_wrong_values_are_not_called_missing():
    verdict = _report([("wrong-value", True)], groups=("a",)).verdict()
    assert verdict == "NOT READY: 1 wrong value (a)"


def test_group_noun_is_the_commands():
    rows = [("missing", True)] * 2 + [("wrong-value", True)] + [("missing", False)]
    long_names = tuple("group-with-a-long-name-%d" % i for i in range(6))
    assert "in 6 profiles" in _report(rows, groups=long_names).verdict()
    node = _report(rows, groups=long_names, group_noun="area").verdict()
    assert "profile" not in node
    assert node.startswith("NOT READY: 12 required missing, 6 wrong value in 6 areas")


def test_verdict_fits_and_counts_match():
    rows = [("missing", True)] * 40 + [("wrong-value", True)] * 7 + [("missing", False)] * 30
    report = _report(rows, groups=tuple("profile-%02d" % i for i in range(15)))
    verdict = report.verdict()
    assert len(verdict) <= Report.VERDICT_WIDTH
    assert verdict.startswith("NOT READY: 600 required missing, 105 wrong value")
    assert "450 optional" in verdict
    ready = _report([("ok", True)], groups=("a", "b")).verdict()
    assert ready == "READY: all 2 required checks pass"

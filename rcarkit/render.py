"""The one printer: a :class:`rcarkit.report.Report` as text, Markdown or JSON.

The text table is made for an 80-column serial console: rows are grouped by
profile, one line per option (status, option, expected, actual); a row that
is not ``ok`` is followed by its reason in full, wrapped under the option, so
the reason has the whole width. It ends with a one-line verdict. ``tabulate`` is imported only for
Markdown (it is slow to import, and ``check-kernel`` must start fast).
"""

import json
import os
import textwrap

FORMATS = ("table", "json", "markdown")

_STATUS_LABEL = {
    "ok": "ok",
    "missing": "MISSING",
    "wrong-value": "WRONG",
    "obsolete-skipped": "obsolete",
    "not-applicable-for-version": "n/a-ver",
    "warning": "warn",
    "unknown": "unknown",
}


def width():
    try:
        value = int(os.environ.get("COLUMNS", "80"))
    except ValueError:
        value = 80
    return max(60, min(value, 200))


def _visible(report, only_missing):
    for group in report.groups:
        rows = [f for f in group.findings if not only_missing or f.failing]
        if rows:
            yield group, rows


def _label(finding):
    text = _STATUS_LABEL.get(finding.status, finding.status)
    if finding.failing and not finding.required:
        text = text.lower() + "(opt)"
    if finding.provisional:
        text += "?"
    return text


def _wrap(text, size):
    if not text:
        return [""]
    return textwrap.wrap(text, size, break_long_words=True, break_on_hyphens=False) or [""]


def _option_lines(name, size):
    parts = name.split(" | ")
    lines = []
    for i, part in enumerate(parts):
        chunk = part + (" |" if i < len(parts) - 1 else "")
        lines.extend(_wrap(chunk, size))
    return lines


def render_table(report, only_missing=False):
    """Rows of STATUS, OPTION, EXPECT, ACTUAL; a failing or skipped row is
    followed by its reason (and note) wrapped under the option, so the reason
    gets the full width instead of a narrow column."""
    total = width()
    out = []
    if report.subject_line:
        out.extend(textwrap.wrap(report.subject_line, total, subsequent_indent="  ",
                                 break_on_hyphens=False))
    for note in report.notes:
        out.extend(textwrap.wrap("note: " + note, total, subsequent_indent="      ",
                                 break_on_hyphens=False))
    heads = ("STATUS", "OPTION", "EXPECT", "ACTUAL")
    for group, rows in _visible(report, only_missing):
        w_status = max(len(heads[0]), max(len(_label(f)) for f in rows))
        w_exp = min(10, max(len(heads[2]), max(len(f.expected) for f in rows)))
        w_act = min(22, max(len(heads[3]), max(len(f.actual or "-") for f in rows)))
        room = total - (2 + w_status + 1 + 1 + w_exp + 1 + w_act)
        w_opt = min(room, 36, max(len(heads[1]), max(len(f.name) for f in rows)))
        widths = (w_status, w_opt, w_exp, w_act)
        indent = " " * (2 + w_status + 1)
        out.append("")
        out.append(_clip(group.title, total))
        out.append(("  " + _row(heads, widths)).rstrip())
        for f in rows:
            names = [f.name] if len(f.name) <= w_opt else _option_lines(f.name, w_opt)
            cells = [[_label(f)], names, _wrap(f.expected, w_exp), _wrap(f.actual or "-", w_act)]
            for i in range(max(len(c) for c in cells)):
                line = [c[i] if i < len(c) else "" for c in cells]
                out.append(("  " + _row(line, widths)).rstrip())
            if f.status == "ok":
                continue
            why = f.reason
            if f.note:
                why = "%s [%s]" % (why, f.note)
            out.extend(indent + line for line in _wrap(why, total - len(indent)))
    if only_missing and not any(True for _ in _visible(report, True)):
        out.append("")
        out.append("nothing missing")
    out.append("")
    out.append("VERDICT: " + report.verdict())
    return "\n".join(out) + "\n"


def _row(cells, widths):
    return " ".join(str(c).ljust(w) for c, w in zip(cells, widths))


def _clip(text, size):
    return text if len(text) <= size else text[:size - 3] + "..."


def render_markdown(report, only_missing=False):
    from tabulate import tabulate
    out = ["# rcarkit %s" % report.command, ""]
    if report.subject_line:
        out += ["`%s`" % report.subject_line, ""]
    for note in report.notes:
        out += ["> note: %s" % note, ""]
    for group, rows in _visible(report, only_missing):
        out += ["## %s" % group.title, ""]
        table = []
        for f in rows:
            why = f.reason + (" (%s)" % f.note if f.note and f.status != "ok" else "")
            srcs = ", ".join("[%s](%s)" % (s["title"], s["url"]) if s.get("url") else s["title"]
                             for s in f.sources)
            table.append(["`%s`" % f.name.replace("|", "\\|"), f.expected, f.actual or "-",
                          _label(f), why.replace("|", "\\|"), srcs.replace("|", "\\|")])
        out.append(tabulate(table, headers=["option", "expected", "actual", "status", "why",
                                            "source"], tablefmt="github"))
        out.append("")
    if only_missing and not any(True for _ in _visible(report, True)):
        out += ["nothing missing", ""]
    out.append("**Verdict:** %s" % report.verdict())
    return "\n".join(out) + "\n"


def render_json(report, only_missing=False):
    data = report.to_dict()
    if only_missing:
        data["options"] = [o for o in data["options"] if o["status"] in ("missing", "wrong-value")]
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def render(report, fmt="table", only_missing=False):
    if fmt == "json":
        return render_json(report, only_missing)
    if fmt == "markdown":
        return render_markdown(report, only_missing)
    return render_table(report, only_missing)

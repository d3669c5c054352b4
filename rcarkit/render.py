"""The one printer: a :class:`rcarkit.report.Report` as text, Markdown or JSON.

The text table is made for an 80-column serial console: rows are grouped by
profile, one line per option (status, option, expected, actual); a row that
is not ``ok`` is followed by its reason in full, wrapped under the option, so
the reason has the whole width. It ends with a one-line verdict. Markdown
tables pad only their short columns and cite sources by number (a Sources list
ends the document); ``tabulate`` is imported only for the Markdown matrix (it
is slow to import, and ``check-kernel`` must start fast).

With ``color=True`` (the CLI passes it only for a table on a terminal, never
with NO_COLOR or ``--no-color``) statuses and the verdict are coloured with
ANSI codes added around the padded cells, so the layout is the same.
"""

import math
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
    "unsupported-arch": "NO-ARCH",
    "undecided": "UNDECIDED",
    "unavailable": "n/a-arch",
    "not-a-symbol": "no-such",
}


_RED, _YELLOW, _GREEN, _DIM, _RESET = "\033[1;31m", "\033[33m", "\033[32m", "\033[2m", "\033[0m"


def _status_color(text):
    """The colour of a status label or matrix cell (capitals = required)."""
    word = text.split("(")[0].rstrip("?")
    if word in ("MISSING", "WRONG", "NO-ARCH", "UNDECIDED"):
        return _RED
    if word in ("missing", "wrong", "warn", "unknown", "undecided"):
        return _YELLOW
    if word == "ok":
        return _GREEN
    if word in ("obsolete", "n/a-ver"):
        return _DIM
    return ""


def paint_verdict(text, color):
    """The verdict, green when ready, red otherwise (when ``color``)."""
    if not color:
        return text
    good = text.startswith(("READY", "OK"))
    return "%s%s%s" % ("\033[1;32m" if good else _RED, text, _RESET)


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
    """``textwrap.wrap(text, size, break_on_hyphens=False)``; plain text (words
    separated by single spaces, none longer than a line) is filled here with
    the same greedy rule, several times faster (check-kernel wraps ~1,000)."""
    if not text:
        return [""]
    words = text.split()
    if " ".join(words) != text or max(map(len, words)) > size:
        return textwrap.wrap(text, size, break_long_words=True, break_on_hyphens=False) or [""]
    if len(text) <= size:
        return [text]
    lines, line = [], words[0]
    for word in words[1:]:
        if len(line) + 1 + len(word) <= size:
            line += " " + word
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _option_lines(name, size):
    parts = name.split(" | ")
    lines = []
    for i, part in enumerate(parts):
        chunk = part + (" |" if i < len(parts) - 1 else "")
        lines.extend(_wrap(chunk, size))
    return lines


def render_table(report, only_missing=False, color=False):
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
                out.append(("  " + _row(line, widths, (0,) if color else ())).rstrip())
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
    out.append("VERDICT: " + paint_verdict(report.verdict(), color))
    return "\n".join(out) + "\n"


def _row(cells, widths, painted=()):
    """Cells padded to ``widths``; those at the ``painted`` indexes get their
    status colour around the text, the padding left plain."""
    out = []
    for i, (c, w) in enumerate(zip(cells, widths)):
        text = str(c)
        color = _status_color(text) if i in painted and text else ""
        out.append(color + text + (_RESET if color else "") + " " * (w - len(text)))
    return " ".join(out)


def _clip(text, size):
    return text if len(text) <= size else text[:size - 3] + "..."


def _short_list(text, size=16):
    """``arm64,x86,powerpc,s390`` as ``arm64,x86,+2``: a long list (the ARCH row)
    would widen every padded line of its table; the JSON keeps it whole."""
    parts = text.split(",")
    if len(text) <= size or len(parts) < 3:
        return text
    return "%s,+%d" % (",".join(parts[:2]), len(parts) - 2)


def render_markdown(report, only_missing=False):
    """Markdown that reads as text too: the short columns padded, the reason
    last and not, and each source a numbered reference (``[3]``) to the document's
    Sources list, so no line carries a title and a URL per row (the reports
    had 623-character lines)."""
    out = ["# rcarkit %s" % report.command, ""]
    if report.subject_line:       # a code span may continue on the next line
        out += textwrap.wrap("`%s`" % report.subject_line, 100, break_long_words=False,
                             break_on_hyphens=False) + [""]
    for note in report.notes:
        out += textwrap.wrap("> note: %s" % note, 100, subsequent_indent="> ",
                             break_long_words=False, break_on_hyphens=False) + [""]
    sources = _SourceList()
    for group, rows in _visible(report, only_missing):
        out += ["## %s" % group.title, ""]
        table = []
        for f in rows:
            why = f.reason + (" (%s)" % f.note if f.note and f.status != "ok" else "")
            table.append(["`%s`" % f.name.replace("|", "\\|"), _short_list(f.expected),
                          f.actual or "-",
                          _label(f), ", ".join(sources.ref(s) for s in f.sources),
                          why.replace("|", "\\|")])
        out += _markdown_table(["option", "expected", "actual", "status", "source", "why"],
                               table, padded=5)
        out.append("")
    if only_missing and not any(True for _ in _visible(report, True)):
        out += ["nothing missing", ""]
    out.append("**Verdict:** %s" % report.verdict())
    out += sources.render()
    return "\n".join(out) + "\n"


def _markdown_table(headers, rows, padded):
    """A GitHub table; the first ``padded`` columns are padded to line up."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)][:padded]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(widths[i]) if i < padded else str(c)
                                 for i, c in enumerate(cells)) + " |"
    rule = "|" + "|".join("-" * (widths[i] + 2) if i < padded else "---"
                          for i in range(len(headers))) + "|"
    return [line(headers), rule] + [line(r) for r in rows]


class _SourceList:
    """Sources numbered in order of first use: ``[n]`` in the tables, one
    ``n. title <url>`` line each under "Sources", and a ``[n]: url`` link
    definition so ``[n]`` links straight to the document when rendered."""

    def __init__(self):
        self.keys = {}
        self.items = []

    def ref(self, source):
        key = (source.get("title", ""), source.get("url", ""))
        if key not in self.keys:
            self.items.append(key)
            self.keys[key] = len(self.items)
        return "[%d]" % self.keys[key]

    def render(self):
        if not self.items:
            return []
        out = ["", "## Sources", ""]
        for n, (title, url) in enumerate(self.items, 1):
            head = "%d. " % n
            text = title.replace("|", "\\|") + (" <%s>" % url if url else "")
            out.extend(textwrap.wrap(text, 100, initial_indent=head,
                                     subsequent_indent=" " * len(head),
                                     break_long_words=False, break_on_hyphens=False))
        out.append("")
        out += ["[%d]: %s" % (n, url) for n, (title, url) in enumerate(self.items, 1) if url]
        return out


def render_json(report, only_missing=False):
    data = report.to_dict()
    if only_missing:
        data["options"] = [o for o in data["options"] if o["status"] in ("missing", "wrong-value")]
    import json   # only for --format json: the table does without
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def render(report, fmt="table", only_missing=False, color=False):
    if fmt == "json":
        return render_json(report, only_missing)
    if fmt == "markdown":
        return render_markdown(report, only_missing)
    return render_table(report, only_missing, color)


# --- several configs at once: one matrix, options x configs -----------------

_CELL_LABEL = {"ok": "ok", "missing": "missing", "wrong-value": "wrong",
               "obsolete-skipped": "obsolete", "not-applicable-for-version": "n/a-ver",
               "warning": "warn", "unknown": "unknown", "unsupported-arch": "no-arch",
               "undecided": "undecided"}


def _cell(finding):
    """A matrix cell: failing required options in capitals, as in the table."""
    if finding is None:
        return "-"
    text = _CELL_LABEL.get(finding.status, finding.status)
    if finding.failing and finding.required:
        text = text.upper()
    return text + ("?" if finding.provisional else "")


def _matrix_rows(reports, only_missing):
    """[(group, [(name, expected, required, [finding or None per report])])],
    in the order of the first report that has each group and option."""
    groups, order = {}, []
    for index, report in enumerate(reports):
        for group in report.groups:
            if group.name not in groups:
                groups[group.name] = (group, {})
                order.append(group.name)
            rows = groups[group.name][1]
            for f in group.findings:
                row = rows.setdefault(f.name, [f.name, f.expected, f.required,
                                               [None] * len(reports)])
                row[3][index] = f
    out = []
    for name in order:
        group, rows = groups[name]
        kept = [tuple(r) for r in rows.values()
                if not only_missing or any(f is not None and f.failing for f in r[3])]
        if kept:
            out.append((group, kept))
    return out


def render_matrix(columns, fmt="table", only_missing=False, color=False):
    """Several reports of the same check side by side: one row per option,
    one column per report. ``columns`` is ``[(label, report)]``; the label
    (the config as given) is printed once, in a numbered legend."""
    labels = [label for label, _ in columns]
    reports = [report for _, report in columns]
    if fmt == "json":
        return _matrix_json(labels, reports, only_missing)
    if fmt == "markdown":
        return _matrix_markdown(labels, reports, only_missing)
    return _matrix_table(reports, only_missing, color)


def _matrix_table(reports, only_missing, color=False):
    total = width()
    out = ["%d configs, one column each:" % len(reports)]
    tag_w = len(str(len(reports)))
    for i, report in enumerate(reports, 1):
        out.extend(textwrap.wrap(report.subject_line, total,
                                 initial_indent="  %*d  " % (tag_w, i),
                                 subsequent_indent=" " * (4 + tag_w), break_on_hyphens=False))
    for i, report in enumerate(reports, 1):
        for note in report.notes:
            out.extend(textwrap.wrap("note %d: %s" % (i, note), total,
                                     subsequent_indent="      ", break_on_hyphens=False))
    w_cell = max(7, tag_w)
    for group, rows in _matrix_rows(reports, only_missing):
        cells = [[_cell(f) for f in row[3]] for row in rows]
        w_cell = max([w_cell] + [len(c) for r in cells for c in r])
    heads = ["OPTION", "EXPECT"] + [str(i) for i in range(1, len(reports) + 1)]
    any_rows = False
    for group, rows in _matrix_rows(reports, only_missing):
        any_rows = True
        w_exp = min(10, max(len(heads[1]), max(len(r[1]) for r in rows)))
        room = total - 2 - (1 + w_exp) - len(reports) * (1 + w_cell)
        names = [r[0] + ("" if r[2] else " (opt)") for r in rows]
        w_opt = max(12, min(room, 36, max(len(heads[0]), max(len(n) for n in names))))
        widths = [w_opt, w_exp] + [w_cell] * len(reports)
        out.append("")
        out.append(_clip(group.title, total))
        out.append(("  " + _row(heads, widths)).rstrip())
        for name, row in zip(names, rows):
            lines = [name] if len(name) <= w_opt else _option_lines(name, w_opt)
            cols = [lines, _wrap(row[1], w_exp)] + [[_cell(f)] for f in row[3]]
            for i in range(max(len(c) for c in cols)):
                line = [c[i] if i < len(c) else "" for c in cols]
                painted = range(2, len(widths)) if color else ()
                out.append(("  " + _row(line, widths, painted)).rstrip())
    if only_missing and not any_rows:
        out += ["", "nothing missing"]
    out += ["", "VERDICT:"]
    for i, report in enumerate(reports, 1):
        out.append("  %*d  %s" % (tag_w, i, paint_verdict(report.verdict(), color)))
    return "\n".join(out) + "\n"


def _matrix_markdown(labels, reports, only_missing):
    from tabulate import tabulate
    out = ["# rcarkit %s: %d configs" % (reports[0].command, len(reports)), ""]
    for i, report in enumerate(reports, 1):
        out.append("%d. `%s`" % (i, report.subject_line or labels[i - 1]))
    out.append("")
    for group, rows in _matrix_rows(reports, only_missing):
        out += ["## %s" % group.title, ""]
        table = [["`%s`" % r[0].replace("|", "\\|") + ("" if r[2] else " (opt)"), r[1]]
                 + [_cell(f) for f in r[3]] for r in rows]
        out.append(tabulate(table, headers=["option", "expected"]
                            + [str(i) for i in range(1, len(reports) + 1)], tablefmt="github"))
        out.append("")
    out.append("**Verdicts:**")
    out.append("")
    out += ["%d. %s" % (i, r.verdict()) for i, r in enumerate(reports, 1)]
    return "\n".join(out) + "\n"


def _matrix_json(labels, reports, only_missing):
    """``configs``: each config's own document (the one-config schema);
    ``matrix``: one row per option with a status per config (null where the
    config's check has no such row)."""
    from rcarkit.report import SCHEMA_VERSION
    import json
    docs = [json.loads(render_json(r, only_missing)) for r in reports]
    for label, doc in zip(labels, docs):
        doc["input"] = label
    matrix = [{"profile": group.name, "option": name, "expected": expected,
               "required": required,
               "status": [f.status if f is not None else None for f in findings]}
              for group, rows in _matrix_rows(reports, only_missing)
              for name, expected, required, findings in rows]
    data = {"schema_version": SCHEMA_VERSION, "command": reports[0].command,
            "kind": "matrix", "inputs": labels, "configs": docs, "matrix": matrix,
            "verdicts": [r.verdict() for r in reports],
            "exit_code": max(r.exit_code for r in reports)}
    return json.dumps(data, indent=2) + "\n"


def json_safe(value):
    """NaN/inf floats (unknown bounds) become null, recursively: JSON has no NaN."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value

"""A :class:`rcarkit.fleet.model.FleetReport` as HTML (self-contained) and Markdown.

``fleet_files(report, formats)`` returns ``{file: text}``: ``fleet.html`` /
``fleet.md`` (one row per board with its three verdicts and to-do titles,
then the fleet checks with their details and sources) and, per host,
``hosts/NAME/report.html`` / ``report.md`` / ``storage.svg`` (the board
dossier of :mod:`rcarkit.dossier.render`), linked from the fleet table.
"""

from rcarkit.dossier.render import STATUS_WORD, md_cell, template_env, dossier_files


def render_fleet_html(report, links=True):
    rows = list(zip(report.hosts, report.rows()))
    return template_env().get_template("fleet.html.j2").render(
        title="rcarkit fleet report: %d boards" % len(report.hosts), f=report, rows=rows,
        directory=report.directory, status_word=STATUS_WORD, links=links)


def render_fleet_markdown(report):
    out = ["# rcarkit fleet report: %d boards" % len(report.hosts), "",
           "| host | hostname | kernel | kernel options | node | storage |",
           "|---|---|---|---|---|---|"]
    for row in report.rows():
        out.append("| [%s](hosts/%s/report.md) | %s | %s | %s |" % (
            row[0], row[0], md_cell(row[1]), md_cell(row[2]),
            " | ".join("**%s**" % STATUS_WORD[s] for s in row[3:])))
    out += ["", "## Checks only a fleet can make", ""]
    for c in report.checks:
        out.append("- **%s** %s: %s" % (c.status.upper(), c.check, c.summary))
        out += ["  - %s" % d for d in c.details]
        if c.source:
            out.append("  - source: %s" % c.source)
    return "\n".join(out) + "\n"


def fleet_files(report, formats=("html", "md")):
    files = {}
    if "html" in formats:
        files["fleet.html"] = render_fleet_html(report)
    if "md" in formats:
        files["fleet.md"] = render_fleet_markdown(report)
    for h in report.hosts:
        for name, text in dossier_files(h.dossier, formats).items():
            files["hosts/%s/%s" % (h.name, name)] = text
    return files

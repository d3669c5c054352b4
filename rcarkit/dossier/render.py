"""A :class:`rcarkit.dossier.model.Dossier` as self-contained HTML and as Markdown.

``render_html(dossier)``: one page, CSS in a ``<style>`` element and the
storage picture as inline SVG (:mod:`rcarkit.dossier.plot`); no scripts, no
fonts, images or styles from the network, so it opens from a USB stick or an
air-gapped laptop. The template is ``templates/dossier.html.j2`` (jinja2,
autoescaped: every value from the documents is escaped).

``render_markdown(dossier, svg_name)``: the same sections as text; the
picture is the separate SVG file ``svg_name`` linked as an image (Markdown
viewers do not run inline SVG), and the storage numbers are a table too.

``dossier_files(dossier, formats)`` returns ``{file name: text}`` for
``formats`` in ``("html", "md")``: ``report.html``, ``report.md`` and, with
Markdown and a storage document, ``storage.svg``.
"""

import os

from rcarkit.dossier.model import NOT_CHECKED, NOT_READY, READY, fmt_ms
from rcarkit.dossier.plot import storage_svg

STATUS_WORD = {READY: "READY", NOT_READY: "NOT READY", NOT_CHECKED: "not checked"}
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


def template_env():
    import jinja2
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                              autoescape=True, keep_trailing_newline=True)


def render_html(dossier):
    """See the module doc."""
    template = template_env().get_template("dossier.html.j2")
    return template.render(d=dossier, svg=storage_svg(dossier.etcd),
                           status_word=STATUS_WORD, ms=fmt_ms)


def md_cell(text):
    return str(text if text is not None else "-").replace("|", "\\|").replace("\n", " ")


def render_markdown(dossier, svg_name="storage.svg"):
    """See the module doc."""
    out = ["# %s" % dossier.title, ""]
    out += ["%s  " % line for line in dossier.subject] + [""]
    out += ["| area | status | verdict |", "|---|---|---|"]
    for a in dossier.areas:
        out.append("| %s | **%s** | %s |" % (a.area, STATUS_WORD[a.status], md_cell(a.verdict)))
    out += ["", "## What to do, in order", ""]
    if not dossier.todo:
        out.append("Nothing: every checked area is ready.")
    for i, t in enumerate(dossier.todo, 1):
        out += ["%d. **%s** (%s)  " % (i, t.title, t.area), "   %s" % t.why, "",
                "   ```sh"] + ["   " + c for c in t.commands] + ["   ```", "",
                "   writes: %s" % ", ".join("`%s`" % f for f in t.files), ""]
    etcd = dossier.etcd
    if etcd:
        rec = etcd.get("recommendation") or {}
        out += ["", "## Storage: fdatasync latency as etcd's WAL sees it", ""]
        if storage_svg(etcd):
            out += ["![fdatasync latency CDF per path, etcd's 10 ms line, p99 intervals](%s)"
                    % svg_name, ""]
        out += ["| path | device | engine | samples | p50 | p90 | p99 [95% CI] | p99.9 | max |",
                "|---|---|---|---:|---:|---:|---|---:|---:|"]
        for m in etcd.get("measurements") or []:
            s, dev = m.get("stats") or {}, m.get("device") or {}
            ci = s.get("p99_ci_ms") or [None, None]
            out.append("| %s | %s %s | %s | %s | %s | %s | %s [%s - %s] | %s | %s |" % (
                md_cell(m.get("label") or m.get("path")), md_cell(dev.get("fstype")),
                md_cell(dev.get("kind")), md_cell(m.get("engine")), s.get("count"),
                fmt_ms(s.get("p50_ms")), fmt_ms(s.get("p90_ms")), fmt_ms(s.get("p99_ms")),
                fmt_ms(ci[0]), fmt_ms(ci[1]), fmt_ms(s.get("p999_ms")), fmt_ms(s.get("max_ms"))))
        out += ["", "**Verdict %s**: etcd --heartbeat-interval=%s --election-timeout=%s" % (
            rec.get("verdict"), rec.get("heartbeat_interval_ms"), rec.get("election_timeout_ms")),
            ""]
        out += ["- %s" % w for w in rec.get("why") or []]
        refs = rec.get("references") or {}
        if refs:
            out += [""] + ["[%s] %s  " % kv for kv in refs.items()]
    for name, doc in (("kernel", dossier.kernel), ("node", dossier.node)):
        if not doc:
            continue
        out += ["", "## %s" % ("Kernel options per profile" if name == "kernel"
                               else "Node checks per area"), "", doc.get("verdict") or "", ""]
        for g in doc.get("groups") or []:
            rows = [o for o in doc.get("options") or [] if o.get("profile") == g.get("name")]
            out += ["### %s" % (g.get("title") or g.get("name")), "",
                    "| status | %s | expected | actual | why it matters | source |"
                    % ("option" if name == "kernel" else "check"), "|---|---|---|---|---|---|"]
            for o in rows:
                status = o.get("status") + ("" if o.get("required") else " (optional)")
                srcs = ", ".join("[%s](%s)" % (s.get("id"), s.get("url"))
                                 for s in o.get("source") or [])
                out.append("| %s | %s | %s | %s | %s | %s |" % (
                    status, md_cell(o.get("option")), md_cell(o.get("expected")),
                    md_cell(o.get("actual")), md_cell(o.get("reason")), srcs))
            out.append("")
    out += ["", "## Inputs", ""] + ["- %s: %s" % (a.area, a.source or "not given")
                                    for a in dossier.areas]
    return "\n".join(out).rstrip("\n") + "\n"


def dossier_files(dossier, formats=("html", "md")):
    """See the module doc."""
    files = {}
    if "html" in formats:
        files["report.html"] = render_html(dossier)
    if "md" in formats:
        files["report.md"] = render_markdown(dossier)
        svg = storage_svg(dossier.etcd)
        if svg:
            files["storage.svg"] = '<?xml version="1.0" encoding="UTF-8"?>\n' + svg
    return files

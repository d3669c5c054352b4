"""Markdown output (and reports/) stays readable as text: sources are numbered
references to one Sources list instead of a title and URL per row (623- and
678-character lines before). Held to check-kernel's own JSON through a real
CommonMark renderer (markdown-it-py, typer's dependency via rich): each row's
links are exactly that option's documented sources."""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import CONFIGS, REPO

RCAR_49 = "rcar-gen3_bsp-v2.23.1_linux-4.9.0.config"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel"] + list(args),
                          capture_output=True, text=True, cwd=str(REPO), timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def _readable(text):
    """Every line but a table row's reason fits 120 columns."""
    for line in text.splitlines():
        if line.startswith("| "):
            cells = line.split(" | ")
            assert len(line) - len(cells[-1]) <= 120, line
        else:
            assert len(line) <= 120 or len(line.split()) <= 2, line


def test_rows_link_their_own_sources(shared_dir):
    markdown_it = pytest.importorskip("markdown_it")
    args = [str(CONFIGS / RCAR_49), "--all-profiles"]
    md = _run(*args, "--format", "markdown").stdout
    doc = json.loads(_run(*args, "--format", "json").stdout)
    _readable(md)
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    rows = re.findall(r"<tr>\s*<td><code>(.*?)</code></td>(.*?)</tr>", html, re.S)
    assert len(rows) == len(doc["options"])
    for (name, cells), option in zip(rows, doc["options"]):
        assert name.replace("&amp;", "&") == option["option"]
        source_cell = re.findall(r"<td>(.*?)</td>", cells, re.S)[3]
        hrefs = re.findall(r'href="([^"]+)"', source_cell)
        wanted = [s["url"] for s in option["source"] if s.get("url")]
        assert [h.replace("&amp;", "&") for h in hrefs] == wanted, option["option"]
        assert len(re.findall(r"\[?\d+\]?", re.sub(r"<[^>]+>", "", source_cell))) == \
            len(option["source"])
    # the Sources list names every cited document once, with its title
    titles = {s["title"] for o in doc["options"] for s in o["source"]}
    listed = md.split("\n## Sources\n", 1)[1]
    for title in titles:
        assert " ".join(title.split()) in " ".join(listed.split())
    assert len(re.findall(r"^\d+\. ", listed, re.M)) == len(
        {(s["title"], s.get("url", "")) for o in doc["options"] for s in o["source"]})


def test_reports_are_readable(shared_dir, tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "make_reports.py"),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    reports = sorted(tmp_path.glob("*.md"))
    assert len(reports) == 7          # six configs and the index
    for path in reports:
        _readable(path.read_text())
    index = (tmp_path / "README.md").read_text()
    for path in reports:
        if path.name != "README.md":
            assert "]: %s\n" % path.name in index       # the index links every report

"""``rcarkit check-kernel A B C``: one matrix, options x configs.

Every cell is held to the single-config run of that config (its own JSON,
the documented one-config schema), so the matrix cannot drift from what
check-kernel says about each config alone."""

import json
import os
import subprocess
import sys

import pytest

from conftest import CONFIGS, REPO

TRIO = ["rcar-gen3_bsp-v2.9.0_linux-4.4.0.config",        # NOT READY, many
        "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config",     # NOT READY, fewer
        "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config"]   # READY
SHORT = {"ok": "ok", "missing": "missing", "wrong-value": "wrong",
         "obsolete-skipped": "obsolete", "not-applicable-for-version": "n/a-ver"}


def _run(*args):
    return subprocess.run([sys.executable, "-m", "rcarkit", "check-kernel"] + list(args),
                          cwd=str(CONFIGS), capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="80"))


@pytest.fixture(scope="module")
def singles(shared_dir):
    return [json.loads(_run(name, "--format", "json", "--cni", "calico").stdout)
            for name in TRIO]


def test_json_matrix_agrees_with_each_config_alone(singles):
    proc = _run(*TRIO, "--format", "json", "--cni", "calico")
    doc = json.loads(proc.stdout)
    assert proc.returncode == max(s["exit_code"] for s in singles) == 1
    assert doc["kind"] == "matrix" and doc["inputs"] == TRIO
    assert doc["exit_code"] == proc.returncode
    for single, embedded in zip(singles, doc["configs"]):
        embedded = dict(embedded)
        embedded.pop("input")
        assert embedded == single          # each column is the one-config document
    status = {(s_i, o["profile"], o["option"]): o["status"]
              for s_i, s in enumerate(singles) for o in s["options"]}
    rows = {(r["profile"], r["option"]) for r in doc["matrix"]}
    assert rows == {(p, o) for _, p, o in status}
    for row in doc["matrix"]:
        assert row["status"] == [status.get((i, row["profile"], row["option"]))
                                 for i in range(len(TRIO))]


def test_text_matrix_cells_and_verdicts(singles):
    proc = _run(*TRIO, "--cni", "calico")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [l for l in lines if len(l) > 80]
    assert lines[-4:] == ["VERDICT:"] + ["  %d  %s" % (i, s["verdict"])
                                         for i, s in enumerate(singles, 1)]
    # a row is the option's cells in config order, as each config alone says
    by_name = [{o["option"]: o for o in s["options"] if o["profile"] == "calico-iptables"}
               for s in singles]
    start = next(i for i, l in enumerate(lines) if l.startswith("calico-iptables:"))
    section = lines[start:lines.index("", start)]
    checked = 0
    for name in by_name[0]:
        if " | " in name or len(name) > 30:
            continue
        row = [l for l in section if l.split()[:1] == [name]]
        assert row, name
        cells = row[0].split()[-3:]
        expect = []
        for single in by_name:
            o = single[name]
            cell = SHORT[o["status"]]
            expect.append(cell.upper() if o["status"] in ("missing", "wrong-value")
                          and o["required"] else cell)
        assert cells == expect, (name, cells, expect)
        checked += 1
    assert checked >= 10


def test_only_missing_keeps_rows_failing_anywhere(singles):
    doc = json.loads(_run(*TRIO, "--format", "json", "--cni", "calico",
                          "--only-missing").stdout)
    failing = {(o["profile"], o["option"]) for s in singles for o in s["options"]
               if o["status"] in ("missing", "wrong-value")}
    assert {(r["profile"], r["option"]) for r in doc["matrix"]} == failing


def test_markdown_matrix(singles):
    proc = _run(*TRIO, "--format", "markdown")
    assert proc.returncode == 1
    assert "| option" in proc.stdout and "**Verdicts:**" in proc.stdout


def test_emit_takes_one_config(shared_dir, tmp_path):
    proc = _run(*TRIO[:2], "--emit-fragment", str(tmp_path / "k8s.cfg"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "one config" in proc.stderr
    assert not (tmp_path / "k8s.cfg").exists()


def test_a_bad_config_among_several_is_one_line_exit_2(shared_dir):
    proc = _run(TRIO[0], "no-such.config")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no-such.config" in proc.stderr

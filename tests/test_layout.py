"""The package layout: domains as subpackages, no import cycles, the CLI on top.

Walks every ``import`` statement of ``rcarkit/`` (module level and inside
functions: a lazy import is still a dependency) with :mod:`ast`.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "rcarkit"
DOMAINS = ("kernel", "etcd", "node", "yocto", "dossier", "fleet", "cli")
#: Modules allowed over ~500 lines must say why in their docstring ("long because").
MAX_LINES = 500


def _module_name(path):
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(name, path, known):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + ["%s.%s" % (base, a.name) for a in node.names]
        for t in targets:
            if t in known and t != name:
                found.add(t)
    return found


def _graph():
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def test_domains_are_subpackages():
    for domain in DOMAINS:
        assert (PKG / domain / "__init__.py").is_file(), domain
    flat = sorted(p.name for p in PKG.glob("*.py"))
    # only the shared pieces stay at the top: report model, render, files,
    # safe_read (capped reads of hostile input), errors
    assert flat == ["__init__.py", "__main__.py", "errors.py", "files.py", "render.py",
                    "report.py", "safe_read.py"], flat


def test_no_import_cycles():
    graph = _graph()
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # importing a package runs its __init__, not its submodules: an edge to a
            # package only counts as an edge to its __init__
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles: %s" % cycles


def test_library_never_imports_the_cli():
    for name, deps in _graph().items():
        if name.startswith("rcarkit.cli") or name == "rcarkit.__main__":
            continue
        assert not [d for d in deps if d.startswith("rcarkit.cli")], name


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_module_size_or_reason(path):
    lines = path.read_text(encoding="utf-8").count("\n")
    if lines <= MAX_LINES:
        return
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert "long because" in doc.lower(), (
        "%s has %d lines: split it or say why in its docstring ('Long because ...')"
        % (path.relative_to(PKG), lines))


def test_cycle_detector_can_fail(tmp_path, monkeypatch):
    """The walker sees a cycle made of lazy (function-level) imports."""
    pkg = tmp_path / "rcarkit"
    (pkg / "kernel").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "kernel" / "__init__.py").write_text("")
    (pkg / "kernel" / "a.py").write_text("def f():\n    from rcarkit.kernel import b\n")
    (pkg / "kernel" / "b.py").write_text("def g():\n    from .a import f\n")
    monkeypatch.setattr(__import__(__name__), "PKG", pkg)
    graph = _graph()
    assert "rcarkit.kernel.b" in graph["rcarkit.kernel.a"]
    assert "rcarkit.kernel.a" in graph["rcarkit.kernel.b"]


def test_public_api_in_the_package_docstring_resolves():
    """Every :func:/:mod: the package docstring names exists (the manual stays true)."""
    import importlib
    import re
    import rcarkit
    doc = re.sub(r"\s+", "", rcarkit.__doc__)     # refs may be wrapped across lines
    refs = re.findall(r":(func|mod):`(rcarkit[\w.]*)`", doc)
    assert len(refs) >= 12
    for kind, ref in refs:
        if kind == "mod":
            importlib.import_module(ref)
            continue
        module, name = ref.rsplit(".", 1)
        assert hasattr(importlib.import_module(module), name), ref


def test_python_dash_m_rcarkit_works():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "rcarkit", "--version"], capture_output=True,
                       text=True, cwd=str(PKG.parent))
    assert r.returncode == 0 and r.stdout.startswith("rcarkit "), r


def test_every_package_is_in_the_wheel():
    """pyproject's explicit package list names every package directory (a missing
    one installs fine from a checkout and breaks only from a wheel)."""
    import re
    text = (PKG.parent / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(re.findall(r'"(rcarkit[\w.]*)"',
                            re.search(r"packages = \[(.*?)\]", text, re.S).group(1)))
    found = {_module_name(p) for p in PKG.rglob("__init__.py")}
    assert found - listed == set(), "add to [tool.setuptools] packages: %s" % (found - listed)

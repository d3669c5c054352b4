"""Generated files: atomic, idempotent, and hand edits survive without --force."""

import os

import pytest

from rcarkit.errors import RcarkitError
from rcarkit.files import GeneratedTree, atomic_write_text, write_single


def test_generated_tree_protects_hand_edits(tmp_path):
    root = tmp_path / "layer"
    files = {"conf/layer.conf": "A\n", "README": "B\n"}
    assert len(GeneratedTree(root).write(files)) == 2
    before = os.stat(root / "README").st_mtime_ns
    assert GeneratedTree(root).write(files) == []  # identical: nothing rewritten
    assert os.stat(root / "README").st_mtime_ns == before
    (root / "README").write_text("my notes\n")
    with pytest.raises(RcarkitError) as info:
        GeneratedTree(root).write({"conf/layer.conf": "A2\n", "README": "B2\n"})
    assert "README" in str(info.value) and "--force" in str(info.value)
    # nothing was written: the refusal comes before any write
    assert (root / "conf/layer.conf").read_text() == "A\n"
    GeneratedTree(root, force=True).write({"conf/layer.conf": "A2\n", "README": "B2\n"})
    assert (root / "README").read_text() == "B2\n"
    # a file rcarkit wrote and nobody touched is updated without force
    GeneratedTree(root).write({"conf/layer.conf": "A3\n", "README": "B2\n"})
    assert (root / "conf/layer.conf").read_text() == "A3\n"


def test_foreign_file_is_not_overwritten(tmp_path):
    (tmp_path / "x.cfg").write_text("user\n")
    with pytest.raises(RcarkitError):
        GeneratedTree(tmp_path).write({"x.cfg": "ours\n"})
    with pytest.raises(RcarkitError):
        write_single(tmp_path / "x.cfg", "ours\n")
    write_single(tmp_path / "x.cfg", "ours\n", force=True)
    assert (tmp_path / "x.cfg").read_text() == "ours\n"


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_text(tmp_path / "a" / "b.txt", "x")
    assert os.listdir(tmp_path / "a") == ["b.txt"]
    with pytest.raises(RcarkitError):
        atomic_write_text(tmp_path / "a" / "b.txt" / "c", "x")

"""Crafted ELF headers, a templates folder without templates, a dependency
chain too deep to evaluate (issue 10 item 4): one error line naming the file,
exit 2, never a traceback (which exits 1 and reads as "findings")."""

import shutil
import struct
import zlib

import pytest

from conftest import REPO
from hostile import RSS_LIMIT_KB, assert_one_line_error, run_measured

CFG = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"

SHT_PROGBITS, SHT_STRTAB, SHF_COMPRESSED = 1, 3, 0x800


def elf64(size=None, payload=b"", flags=0):
    """An ELF64 relocatable with one PROGBITS section named .modinfo.

    ``size`` is what its header claims (default: the payload's length): past
    ``ssize_t`` it made pyelftools raise OverflowError (311 of 17,000 fuzzed
    ELFs in issue 10). Laid out as the ELF spec (gABI) says: 64-byte header,
    section headers of 64 bytes, names in .shstrtab.
    """
    names = b"\0.modinfo\0.shstrtab\0"
    shoff, nsec = 64, 3
    data_off = shoff + 64 * nsec
    names_off = data_off + len(payload)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header = ident + struct.pack("<HHIQQQIHHHHHH", 1, 183, 1, 0, 0, shoff, 0, 64, 0, 0, 64,
                                 nsec, 2)
    section = struct.pack("<IIQQQQIIQQ", 1, SHT_PROGBITS, 2 | flags, 0, data_off,
                          len(payload) if size is None else size, 0, 0, 1, 0)
    shstrtab = struct.pack("<IIQQQQIIQQ", 11, SHT_STRTAB, 0, 0, names_off, len(names), 0, 0,
                           1, 0)
    return header + b"\0" * 64 + section + shstrtab + payload + names


def zlib_bomb(expanded=512 << 20):
    """An ELF compressed-section payload (Elf64_Chdr + zlib) of ``expanded`` zeros."""
    comp = zlib.compressobj(9)
    block = b"\0" * (1 << 20)
    out = [comp.compress(block) for _ in range(expanded >> 20)]
    out.append(comp.flush())
    return struct.pack("<IIQQ", 1, 0, expanded, 1) + b"".join(out)


@pytest.mark.parametrize("size", [1 << 63, (1 << 64) - 1])
def test_elf_section_size_past_ssize_t(tmp_path, size):
    image = tmp_path / "vmlinux"
    image.write_bytes(elf64(size=size))
    result = run_measured(tmp_path, "check-kernel", image)
    assert_one_line_error(result)
    assert str(image) in result.stderr and "damaged ELF" in result.stderr


def test_compressed_elf_section_is_not_inflated(tmp_path):
    """pyelftools inflates an SHF_COMPRESSED section whole, uncapped."""
    image = tmp_path / "vmlinux"
    image.write_bytes(elf64(payload=zlib_bomb(), flags=SHF_COMPRESSED))
    result = run_measured(tmp_path, "check-kernel", image)
    assert_one_line_error(result)
    assert result.hwm_kb < RSS_LIMIT_KB, result.hwm_kb


def test_module_with_huge_section_size(tmp_path):
    from rcarkit.errors import RcarkitError
    from rcarkit.node.modules import read_modinfo
    for blob in (elf64(size=1 << 63), elf64(payload=zlib_bomb(64 << 20), flags=SHF_COMPRESSED)):
        ko = tmp_path / "x.ko"
        ko.write_bytes(blob)
        with pytest.raises(RcarkitError) as info:
            read_modinfo(str(ko))
        assert str(ko) in str(info.value)


def _yocto(tmp_path, configs_dir, templates):
    return run_measured(tmp_path, "yocto-layer", configs_dir / CFG, "-o", tmp_path / "L",
                        env={"RCARKIT_YOCTO_TEMPLATES": str(templates)})


@pytest.mark.parametrize("case", ["empty", "absent", "fifo"])
def test_templates_env_without_templates(tmp_path, configs_dir, case):
    import os
    templates = tmp_path / "templates"
    if case != "absent":
        templates.mkdir()
    if case == "fifo":
        for name in ("layer.conf.j2", "README.j2", "COPYING.MIT.j2", "kernel.bbappend.j2"):
            os.mkfifo(str(templates / name))
    result = _yocto(tmp_path, configs_dir, templates)
    assert_one_line_error(result)
    assert "RCARKIT_YOCTO_TEMPLATES" in result.stderr and str(templates) in result.stderr
    assert not (tmp_path / "L").exists()


def test_broken_template_names_file_and_line(tmp_path, configs_dir):
    templates = tmp_path / "templates"
    shutil.copytree(str(REPO / "yocto_layer" / "templates"), str(templates))
    readme = templates / "README.j2"
    lines = readme.read_text().count("\n")
    with open(str(readme), "a") as fh:
        fh.write("{% if %}\n")
    result = _yocto(tmp_path, configs_dir, templates)
    assert_one_line_error(result)
    assert "%s:%d:" % (readme, lines + 1) in result.stderr


def test_deep_dependency_chain_names_the_kconfig(tmp_path):
    """A 3,000-symbol ``depends on`` chain overflowed Python's stack while the
    values were evaluated; the error named no file."""
    from test_hostile_cli import _chain, _tree, _verify
    tree = _tree(tmp_path / "linux", _chain(3000))
    result = _verify(tmp_path, tree, "CONFIG_A=y\n")
    assert_one_line_error(result)
    assert str(tree / "Kconfig") in result.stderr

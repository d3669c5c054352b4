"""The config reader on real configs, compressed files, kernel images and bad input.

Expected values come from the files themselves (read here with plain grep-like
code or with the kernel's own scripts/extract-ikconfig), never from rcarkit.
"""

import gzip
import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rcarkit.errors import ConfigError
from rcarkit.kernel.config import KernelVersion, load_config, parse_config_text

from conftest import CONFIGS, SHARED_CONFIGS, SHARED_DEFCONFIGS

RCAR_414 = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"


def grep_values(text):
    """Independent reading: last assignment wins, 'is not set' is n."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            values[key[7:]] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            values[line[9:-len(" is not set")]] = "n"
    return values


def read_text(path):
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode()


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_every_shared_config_parses_with_header_version(configs_dir, name):
    cfg = load_config(configs_dir / name)
    text = read_text(configs_dir / name)
    assert cfg.values == grep_values(text)
    assert cfg.kind == "full"
    assert str(cfg.version) == SHARED_CONFIGS[name]
    header_arch = [l for l in text.splitlines()[:5] if "Kernel Configuration" in l][0]
    assert header_arch.split()[1] == "Linux/%s" % cfg.arch


@pytest.mark.parametrize("name", SHARED_DEFCONFIGS)
def test_defconfig_is_provisional_and_versionless(configs_dir, name):
    cfg = load_config(configs_dir / name)
    assert cfg.kind == "defconfig" and cfg.is_provisional
    assert cfg.version is None
    assert cfg.values == grep_values(read_text(configs_dir / name))
    assert load_config(configs_dir / name, kernel_version="6.12").version == (6, 12, 0)


def test_kconfig_semantics_last_wins_strings_hex_crlf(tmp_path):
    text = ("# Linux/arm64 5.10.0 Kernel Configuration\r\n"
            "CONFIG_A=y\r\n# CONFIG_B is not set\r\nCONFIG_A=m\r\n"
            'CONFIG_CMDLINE="console=ttySC0,115200 root=/dev/mmcblk0p1"\r\n'
            "CONFIG_PHYS=0x48000000\r\nCONFIG_NR=-1\r\nCONFIG_B=y\r\n")
    path = tmp_path / "crlf.config"
    path.write_bytes(text.encode())
    cfg = load_config(path)
    assert cfg.get("A") == "m"
    assert cfg.get("CONFIG_B") == "y"
    assert cfg.get("CMDLINE") == '"console=ttySC0,115200 root=/dev/mmcblk0p1"'
    assert cfg.get("PHYS") == "0x48000000"
    assert cfg.get("NR") == "-1"
    assert cfg.version == (5, 10, 0) and cfg.arch == "arm64"


def test_version_parsing():
    assert KernelVersion.parse("5.4.0-26-generic") == (5, 4, 0)
    assert KernelVersion.parse("6.1") == (6, 1, 0)
    assert KernelVersion.parse("4.14.75-ltsi-yocto-standard") < KernelVersion.parse("4.19")
    assert KernelVersion.parse("banana") is None


def test_gzip_and_xz_configs(tmp_path, configs_dir):
    src = (configs_dir / RCAR_414).read_bytes()
    (tmp_path / "c.gz").write_bytes(gzip.compress(src))
    (tmp_path / "c.xz").write_bytes(lzma.compress(src))
    expected = grep_values(src.decode())
    for name, origin in (("c.gz", "gzip"), ("c.xz", "xz")):
        cfg = load_config(tmp_path / name)
        assert cfg.values == expected and cfg.origin == origin


# --- configs embedded in kernel images -------------------------------------

IKCONFIG_ASM = r"""
asm (
"	.pushsection .rodata, \"a\"		\n"
"	.ascii \"IKCFG_ST\"			\n"
"	.global kernel_config_data		\n"
"kernel_config_data:				\n"
"	.incbin \"%s\"	\n"
"	.global kernel_config_data_end		\n"
"kernel_config_data_end:			\n"
"	.ascii \"IKCFG_ED\"			\n"
"	.popsection				\n"
);
int padding[4096] = {1};
int main(void) { return 0; }
"""


@pytest.fixture(scope="module")
def kernel_images(tmp_path_factory, configs_dir):
    """A vmlinux-like ELF built with the asm of the kernel's kernel/configs.c, its raw
    objcopy image (like arm64 Image), and that image gzip'ed (Image.gz)."""
    if not shutil.which("gcc") or not shutil.which("objcopy"):
        pytest.skip("gcc/objcopy not installed: apt-get install gcc binutils")
    work = tmp_path_factory.mktemp("ikconfig")
    config = (configs_dir / RCAR_414).read_bytes()
    (work / "config_data.gz").write_bytes(gzip.compress(config, 9))
    (work / "configs.c").write_text(IKCONFIG_ASM % (work / "config_data.gz"))
    subprocess.run(["gcc", "-O0", "-o", str(work / "vmlinux"), str(work / "configs.c")], check=True)
    subprocess.run(["objcopy", "-O", "binary", str(work / "vmlinux"), str(work / "Image")], check=True)
    (work / "Image.gz").write_bytes(gzip.compress((work / "Image").read_bytes()))
    stripped = work / "vmlinux.stripped"
    subprocess.run(["objcopy", "--strip-all", str(work / "vmlinux"), str(stripped)], check=True)
    return work, config


@pytest.mark.parametrize("name,origin", [("vmlinux", "vmlinux"), ("vmlinux.stripped", "vmlinux"),
                                         ("Image", "image"), ("Image.gz", "image")])
def test_embedded_config(kernel_images, name, origin):
    work, config = kernel_images
    cfg = load_config(work / name)
    assert cfg.origin == origin
    assert cfg.values == grep_values(config.decode())
    assert cfg.version == (4, 14, 75)


@pytest.mark.parametrize("name", ["vmlinux", "Image", "Image.gz"])
def test_embedded_config_agrees_with_extract_ikconfig(kernel_images, kernel_tree_61, name):
    """The kernel's own scripts/extract-ikconfig is the oracle."""
    work, _ = kernel_images
    script = kernel_tree_61 / "scripts" / "extract-ikconfig"
    out = subprocess.run(["sh", str(script), str(work / name)], capture_output=True, check=True)
    assert load_config(work / name).values == grep_values(out.stdout.decode())


# --- bad input: one clear error each -----------------------------------------

def error_for(path):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_errors_name_the_file_and_the_problem(tmp_path, configs_dir):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert "empty file" in error_for(empty) and str(empty) in error_for(empty)

    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 64)
    assert "binary" in error_for(garbage)

    truncated = tmp_path / "cut.gz"
    truncated.write_bytes(gzip.compress((configs_dir / RCAR_414).read_bytes())[:5000])
    assert "truncated gzip" in error_for(truncated)

    assert "is a directory" in error_for(tmp_path)
    assert "no such file" in error_for(tmp_path / "nope.config")

    noconfig = tmp_path / "README"
    noconfig.write_text("# just a comment\n\n")
    assert "no CONFIG_ lines" in error_for(noconfig)

    prose = tmp_path / "notes.txt"
    prose.write_text("CONFIG_A=y\nhello world\n")
    msg = error_for(prose)
    assert "%s:2:" % prose in msg and "not a kernel config line" in msg

    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb") as fh:
        block = b"CONFIG_X=y\n" * 100000
        for _ in range(40):  # 44 MB of text
            fh.write(block)
    assert "decompression bomb" in error_for(bomb)

    xzbomb = tmp_path / "bomb.xz"
    xzbomb.write_bytes(lzma.compress(b"\0" * (300 << 20)))
    assert "decompression bomb" in error_for(xzbomb)


def test_parse_rejects_bad_kernel_version():
    with pytest.raises(ConfigError):
        parse_config_text("CONFIG_A=y\n", kernel_version="latest")

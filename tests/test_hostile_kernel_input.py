"""Hostile kernel inputs (issue 10 items 1, 3, 11): decompression bombs made of
IKCFG markers, huge plain text, FIFOs and devices. Each test is the issue's
reproduction; each child must exit 2 with one line and stay under 200 MB."""

import gzip
import os

import pytest

from hostile import RSS_LIMIT_KB, assert_one_line_error, run_measured

CFG = "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config"


def test_gzip_bomb_of_ikcfg_markers(tmp_path):
    """Issue 10 item 1, verbatim: 2 KB of gzip, 100,000 IKCFG_ST markers each
    followed by a gzip magic. Old code: each failed marker's saved exception
    kept a copy of the rest of the blob (quadratic; OOM)."""
    bomb = tmp_path / "m.gz"
    bomb.write_bytes(gzip.compress(b"\0" * 100 + b"IKCFG_ST\x1f\x8b" * 100000, 9))
    assert bomb.stat().st_size < 4096
    result = run_measured(tmp_path, "check-kernel", bomb, timeout=60)
    assert_one_line_error(result)
    assert result.hwm_kb is not None and result.hwm_kb < RSS_LIMIT_KB, result.hwm_kb


@pytest.mark.parametrize("layout", ["raw", "gzip-late", "full-markers"])
def test_marker_cap_holds_for_any_number_of_markers(tmp_path, layout):
    """The same attack uncompressed, with the markers past the first 64 KiB
    (the streamed path), and with markers each followed by a gzip header."""
    if layout == "raw":
        data = b"\0" * 100 + b"IKCFG_ST\x1f\x8b" * 400000
    elif layout == "gzip-late":
        data = gzip.compress(b"\0" * 200000 + b"IKCFG_ST\x1f\x8b" * 400000, 9)
    else:
        data = gzip.compress(b"\0" * 100 + b"IKCFG_ST\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"
                             * 300000, 9)
    path = tmp_path / "bomb"
    path.write_bytes(data)
    result = run_measured(tmp_path, "check-kernel", path, timeout=60)
    assert_one_line_error(result)
    assert result.hwm_kb is not None and result.hwm_kb < RSS_LIMIT_KB, result.hwm_kb


def test_big_plain_text_is_capped_before_it_is_read(tmp_path, configs_dir):
    """Issue 10 item 11: a 315 MB text config cost 4.9 GB RSS. Plain text is
    capped at the decompressed-text limit (8 MiB) before being read whole."""
    big = tmp_path / "big.config"
    line = b"CONFIG_FOO=y\n"
    with open(str(big), "wb") as fh:
        fh.write((configs_dir / CFG).read_bytes())
        chunk = line * (1 << 16)
        for _ in range(40 * (1 << 20) // len(chunk)):
            fh.write(chunk)
    result = run_measured(tmp_path, "check-kernel", big, timeout=60)
    assert_one_line_error(result)
    assert "not a kernel config" in result.stderr
    assert result.hwm_kb < 100 * 1024, result.hwm_kb


def test_a_real_config_still_reads(tmp_path, configs_dir):
    result = run_measured(tmp_path, "check-kernel", configs_dir / CFG)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr


def _fifo(tmp_path, name="fifo"):
    path = tmp_path / name
    os.mkfifo(str(path))
    return path


@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "link-to-zero"])
def test_check_kernel_refuses_non_regular_inputs(tmp_path, target):
    """Issue 10 item 3: a FIFO without a writer hung; /dev/zero read 512 MiB."""
    if target == "fifo":
        path = _fifo(tmp_path)
    elif target == "link-to-zero":
        path = tmp_path / "config"
        path.symlink_to("/dev/zero")
    else:
        path = target
    result = run_measured(tmp_path, "check-kernel", path, timeout=30)
    assert_one_line_error(result)
    assert "not a regular file" in result.stderr


def test_stdin_still_reads(tmp_path, configs_dir):
    with open(str(configs_dir / CFG), "rb") as fh:
        result = run_measured(tmp_path, "check-kernel", "-", stdin=fh)
    assert result.returncode in (0, 1), result.stderr

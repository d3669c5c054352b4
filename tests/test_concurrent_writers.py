"""Two ``yocto-layer`` runs into the same directory at once (issue 10 item 9),
as real processes: 20 rounds, half into a fresh directory, half over the
layer the previous round left.

Each round must end one of two ways: both exit 0 (one waited for the other's
lock) and the layer is byte for byte the layer a single run writes; or one
exits 2 with the one-line "another rcarkit is writing" message and the other
exits 0, with the same layer. Never a mixed layer, never a temporary
``.NAME.XXXXXXXX`` file left, and a later run never refuses a file as
"changed by hand". Old code: 2 of 40 concurrent pairs left a mixed layer.
"""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import CONFIGS, REPO

CFGS = [CONFIGS / "rcar-gen3_bsp-v3.21.0_linux-4.14.75.config",
        CONFIGS / "rpi-bcm2711_defconfig_fed50901.expanded-on-debian-6.12.117.config"]
ROUNDS = 20


def _layer(directory):
    out = {}
    for dirpath, _, names in os.walk(str(directory)):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, str(directory))] = fh.read()
    return out


def _start(cfg, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "rcarkit", "yocto-layer", str(cfg), "-o",
                             str(out)] + list(extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))


def _finish(proc):
    stdout, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    return proc.returncode, stderr


@pytest.mark.slow
def test_two_concurrent_yocto_layer_runs(tmp_path):
    out = tmp_path / "meta-k8s"
    # the layer one run writes, for each of the two configs, at the same path
    reference = {}
    for cfg in CFGS:
        code, stderr = _finish(_start(cfg, out))
        assert code == 0, stderr
        reference[cfg] = _layer(out)
        shutil.rmtree(str(out))
    assert reference[CFGS[0]] != reference[CFGS[1]]     # a mix would be visible

    outcomes = {"both": 0, "locked": 0}
    for round_ in range(ROUNDS):
        if round_ % 2 == 0 and out.exists():
            shutil.rmtree(str(out))
        # same config in both runs half the time, different configs otherwise:
        # then the winner's layer is whichever ran last, never a mix
        cfgs = [CFGS[round_ % 2], CFGS[(round_ // 2) % 2]]
        procs = [_start(cfg, out) for cfg in cfgs]
        results = [_finish(p) for p in procs]
        codes = sorted(code for code, _ in results)
        layer = _layer(out)
        assert codes in ([0, 0], [0, 2]), results
        if codes == [0, 2]:
            loser = [stderr for code, stderr in results if code == 2][0]
            assert loser.count("\n") == 1 and "another rcarkit is writing" in loser, loser
            outcomes["locked"] += 1
        else:
            outcomes["both"] += 1
        assert layer in (reference[cfgs[0]], reference[cfgs[1]]), \
            "round %d: mixed layer: %s" % (round_, sorted(
                rel for rel in layer if layer[rel] != reference[cfgs[0]].get(rel)))
        assert not [rel for rel in layer if os.path.basename(rel).startswith(".")
                    and rel != ".rcarkit-manifest.json"], sorted(layer)
        # a later run over what the pair left: never "changed by hand"
        code, stderr = _finish(_start(cfgs[0], out))
        assert code == 0, stderr
        assert _layer(out) == reference[cfgs[0]]
    assert sum(outcomes.values()) == ROUNDS

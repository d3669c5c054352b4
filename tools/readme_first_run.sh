#!/usr/bin/env bash
# The README's two set-up commands as a new user runs them on a stock Debian 12
# board: in a fresh `git clone` of this repository, with only Debian's own
# /usr/bin/python3 on PATH (externally managed, PEP 668), the commands read from
# README.md (tools/readme_commands.py), not copied here.
#
# Command 1 (install.sh && rcarkit check-kernel) runs in one clone with Debian's
#   python3-venv hidden (an `ensurepip` that fails to import on PYTHONPATH, as on
#   a stock install without that package), so install.sh takes its pip bootstrap
#   path. It must exit 0 (ready) or 1 (findings; the README says so) and print
#   the verdict; 2 or anything else fails.
# Command 2 (bash .ci/run) is the script that runs this one: in a second clone
#   it runs with a small pytest selection as arguments, which makes it do all its
#   set-up (apt, install.sh without the stub, the venv) and skip this check, so it
#   does not recurse. The selection runs without ../shared beside the clone, so
#   it also shows those tests skipping with a reason.
# Needs root (command 2's apt-get) and PyPI. About a minute with pip's cache warm.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
stock_path=/usr/sbin:/usr/bin:/sbin:/bin
tmp=$(mktemp -d /var/tmp/rcarkit-readme-first-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail() {
    echo "readme_first_run: FAIL: $*" >&2
    exit 1
}

python=$(PATH=$stock_path command -v python3) || fail "no python3 on $stock_path"
managed=$("$python" -c 'import os, sysconfig; print(os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))')
echo "readme_first_run: $python ($("$python" -V 2>&1)), externally managed: $managed"

cmd1=$("$python" "$repo/tools/readme_commands.py" 1)
cmd2=$("$python" "$repo/tools/readme_commands.py" 2)
[ "$cmd2" = "bash .ci/run" ] || fail "command 2 is no longer 'bash .ci/run' ($cmd2): update this script"

mkdir "$tmp/no-ensurepip/ensurepip" -p
echo 'raise ModuleNotFoundError("No module named ensurepip (python3-venv is not installed)")' \
    >"$tmp/no-ensurepip/ensurepip/__init__.py"

clean_env=(env -i HOME="$HOME" PATH="$stock_path" LANG=C.UTF-8 RCARKIT_TEST_CACHE="${RCARKIT_TEST_CACHE:-/var/tmp/rcarkit-cache}")
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    if [ -n "${!name:-}" ]; then clean_env+=("$name=${!name}"); fi
done

git clone -q "$repo" "$tmp/one"
echo "readme_first_run: command 1: $cmd1"
rc=0
(cd "$tmp/one" && "${clean_env[@]}" PYTHONPATH="$tmp/no-ensurepip" sh -c "$cmd1") \
    >"$tmp/out1" 2>"$tmp/err1" || rc=$?
grep "^VERDICT: " "$tmp/out1" || true
case $rc in
    0|1) ;;
    *) cat "$tmp/err1" >&2; fail "command 1 exited $rc" ;;
esac
grep -q "bootstrapping pip" "$tmp/err1" || { cat "$tmp/err1" >&2; fail "command 1 did not bootstrap pip without ensurepip"; }
grep -q "^VERDICT: " "$tmp/out1" || fail "command 1 printed no verdict"

git clone -q "$repo" "$tmp/two"
selection="-q -p no:cacheprovider tests/test_first_run.py tests/test_yocto_cli.py"
echo "readme_first_run: command 2: $cmd2 $selection"
(cd "$tmp/two" && "${clean_env[@]}" sh -c "$cmd2 $selection") >"$tmp/out2" 2>&1 \
    || { cat "$tmp/out2" >&2; fail "command 2 failed"; }
tail -n 1 "$tmp/out2"
grep -q "skipped" "$tmp/out2" || fail "without ../shared, no test skipped"
echo "readme_first_run: ok"

#!/bin/sh
# Install rcarkit into ./.venv with the python3 on PATH (Debian's own is fine):
#
#     sh install.sh                 # pip install -e .  (rcarkit and its dependencies)
#     sh install.sh -e '.[test]'    # any pip arguments instead (.ci/run adds the test tools)
#
# Then run .venv/bin/rcarkit, or `. .venv/bin/activate` to put rcarkit on PATH.
#
# Why a venv: Debian 12, Ubuntu 24.04 and Raspberry Pi OS mark their python3
# "externally managed" (PEP 668), so pip refuses to install outside a venv. A venv
# in the clone needs no root, leaves apt's Python packages alone and goes away with
# `rm -rf .venv`. --break-system-packages is not used: it can replace apt-installed
# modules (click, jinja2, ...) under the system tools that depend on them.
#
# Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate package,
# python3-venv, which a stock install lacks. Then the venv is made --without-pip
# and pip is bootstrapped from its wheel on PyPI (checked against PyPI's sha256),
# the index pip then installs the dependencies from; still no root or apt needed.
# (With python3-venv installed, or on Raspberry Pi OS, plain `python3 -m venv`.)
#
# Environment: RCARKIT_VENV (default: .venv beside this script); PYTHON (default python3).
set -eu

case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)
venv=${RCARKIT_VENV:-$here/.venv}
case $venv in /*) ;; *) venv=$PWD/$venv ;; esac
python=${PYTHON:-python3}

die() {
    echo "install.sh: error: $*" >&2
    exit 2
}

command -v "$python" >/dev/null 2>&1 || die "$python not found: install Python 3.9 or later (apt install python3)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || die "rcarkit needs Python 3.9 or later; $python is $("$python" -V 2>&1)"

if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    if "$python" -c 'import ensurepip' >/dev/null 2>&1; then
        "$python" -m venv "$venv" || die "could not create the venv $venv"
    else
        "$python" -m venv --without-pip "$venv" || die "could not create the venv $venv"
    fi
fi

if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    echo "install.sh: no ensurepip (Debian's python3-venv): bootstrapping pip from PyPI" >&2
    wheel=$("$venv/bin/python" - "$venv" <<'EOF'
# Download the newest pip wheel that runs on this Python, check its sha256
# against PyPI's, and print its path.
import hashlib, json, os, re, sys, urllib.parse, urllib.request

def newest_fitting(releases):
    def key(version):
        return [int(p) if p.isdigit() else -1 for p in re.split(r"[.]", version)]
    for version in sorted(releases, key=key, reverse=True):
        if not re.fullmatch(r"[0-9.]+", version):        # no pre-releases
            continue
        for f in releases[version]:
            need = re.fullmatch(r">=\s*3\.(\d+)", (f.get("requires_python") or ">=3.0").strip())
            if (f["packagetype"] == "bdist_wheel" and not f.get("yanked") and need
                    and sys.version_info[:2] >= (3, int(need.group(1)))):
                return f
    raise SystemExit("no pip wheel on PyPI runs on Python %d.%d" % sys.version_info[:2])

try:
    with urllib.request.urlopen("https://pypi.org/pypi/pip/json", timeout=60) as r:
        wheel = newest_fitting(json.load(r)["releases"])
        url = urllib.parse.urljoin(r.geturl(), wheel["url"])   # a mirror may answer relative URLs
    with urllib.request.urlopen(url, timeout=300) as r:
        body = r.read(64 << 20)
except (OSError, ValueError, KeyError) as exc:
    raise SystemExit("cannot download pip from PyPI (%s)" % exc)
if hashlib.sha256(body).hexdigest() != wheel["digests"]["sha256"]:
    raise SystemExit("the pip wheel from PyPI does not match its sha256")
path = os.path.join(sys.argv[1], wheel["filename"])
with open(path, "wb") as out:
    out.write(body)
print(path)
EOF
) || die "could not bootstrap pip into $venv; install python3-venv (apt install python3-venv) and run again"
    # a pip wheel runs as a zip: it installs itself into the venv
    "$venv/bin/python" "$wheel/pip" install -q --disable-pip-version-check --no-index "$wheel" \
        || die "could not install pip into $venv from $wheel"
    rm -f "$wheel"
fi

cd "$here"
if [ "$#" -eq 0 ]; then
    set -- -e .
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" \
    || die "pip install $* failed (see above)"
echo "install.sh: rcarkit is in $venv (run $venv/bin/rcarkit, or . $venv/bin/activate)" >&2

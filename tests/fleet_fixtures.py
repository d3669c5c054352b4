"""Simulated boards for the fleet playbook: fixture roots and sshd on loopback.

Used by tests/test_fleet_ssh.py and benchmarks/fleet.py (not a test module).

* :func:`make_roots`: N board roots (``build_board`` of test_check_node: a
  ready board each, own hostname, MAC and product_uuid) with the planted
  faults given: ``dup_uuid=(i, j)`` gives board j board i's product_uuid,
  ``drop_option=(k, "VXLAN")`` removes the option from board k's
  ``proc/config.gz``.
* :class:`SshFleet`: one ``/usr/sbin/sshd`` per board on 127.0.0.1 (a free
  port each), a generated host key and client key, logins as the current user
  with that key only; :meth:`SshFleet.inventory` writes an Ansible inventory
  whose hosts carry ``rcarkit_root``.
"""

import getpass
import gzip
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _ko_factory(base):
    cache = {}
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)

    def make(name, vermagic):
        key = (name, vermagic)
        if key not in cache:
            src = base / ("%s-%d.c" % (name, len(cache)))
            src.write_text('static const char __attribute__((section(".modinfo"), used)) '
                           'm[] = "vermagic=%s\\0name=%s\\0license=GPL";\n' % (vermagic, name))
            obj = src.with_suffix(".o")
            subprocess.run(["gcc", "-c", str(src), "-o", str(obj)], check=True)
            cache[key] = obj.read_bytes()
        return cache[key]
    return make


def make_roots(base, count, dup_uuid=None, drop_option=None):
    """Board roots base/board-01 .. (see the module doc); returns their paths."""
    sys.path.insert(0, str(HERE))
    try:
        from test_check_node import build_board
    finally:
        sys.path.remove(str(HERE))
    from rcarkit.kernel.profiles import load_catalog
    catalog = load_catalog()
    ko = _ko_factory(Path(base) / ".ko")
    roots = []
    for i in range(1, count + 1):
        uuid = "4c4c4544-0042-3510-8052-%012x" % (0xb4c04f000000 + i)
        if dup_uuid and i == dup_uuid[1]:
            uuid = "4c4c4544-0042-3510-8052-%012x" % (0xb4c04f000000 + dup_uuid[0])
        root = build_board(Path(base) / ("board-%02d" % i), catalog, ko,
                           hostname="board-%02d" % i, mac="2e:09:0a:00:%02x:%02x" % (i // 256, i % 256),
                           product_uuid=uuid)
        if drop_option and i == drop_option[0]:
            cfg = root / "proc" / "config.gz"
            lines = gzip.decompress(cfg.read_bytes()).decode().splitlines()
            kept = [line for line in lines if not line.startswith("CONFIG_%s=" % drop_option[1])]
            assert len(kept) < len(lines), drop_option
            cfg.write_bytes(gzip.compress(("\n".join(kept) + "\n").encode()))
        roots.append(root)
    return roots


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SshFleet:
    """sshd per board on loopback; start() then inventory(); stop() kills them."""

    def __init__(self, workdir, roots):
        self.dir = Path(workdir)
        self.roots = list(roots)
        self.procs = []
        self.ports = []
        self.user = getpass.getuser()
        self.key = self.dir / "client_key"

    def start(self):
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not os.path.exists(sshd):
            raise RuntimeError("sshd missing: apt-get install openssh-server")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(str(self.dir), 0o700)
        host_key = self.dir / "host_key"
        for key in (host_key, self.key):
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                               check=True)
        auth = self.dir / "authorized_keys"
        shutil.copy(str(self.key) + ".pub", str(auth))
        os.chmod(str(auth), 0o600)
        Path("/run/sshd").mkdir(exist_ok=True)   # sshd's privilege-separation directory
        for i, _root in enumerate(self.roots):
            port = free_port()
            conf = self.dir / ("sshd_%d.conf" % i)
            conf.write_text("\n".join([
                "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s" % host_key,
                "AuthorizedKeysFile %s" % auth, "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password", "UsePAM no", "StrictModes no",
                "PidFile none", "MaxStartups 200", "MaxSessions 50",
                "Subsystem sftp internal-sftp", "LogLevel ERROR", ""]))
            proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(conf)],
                                    stdout=subprocess.DEVNULL,
                                    stderr=open(str(self.dir / ("sshd_%d.log" % i)), "w"))
            self.procs.append(proc)
            self.ports.append(port)
        deadline = time.time() + 20
        for port in self.ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("sshd on port %d did not start" % port)
                    time.sleep(0.1)
        return self

    def inventory(self, path, control_planes=3):
        lines = ["[boards]"]
        for i, (root, port) in enumerate(zip(self.roots, self.ports)):
            # one remote dir per board: they share this machine's /tmp
            lines.append("%s ansible_host=127.0.0.1 ansible_port=%d rcarkit_root=%s "
                         "rcarkit_remote_dir=%s" % (root.name, port, root,
                                                    self.dir / "remote" / root.name))
        lines += ["", "[control_plane]"] + [r.name for r in self.roots[:control_planes]]
        lines += ["", "[all:vars]", "ansible_user=%s" % self.user,
                  "ansible_ssh_private_key_file=%s" % self.key,
                  "ansible_python_interpreter=%s" % sys.executable,
                  "ansible_ssh_common_args='-o StrictHostKeyChecking=no "
                  "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'", ""]
        Path(path).write_text("\n".join(lines))
        return Path(path)

    def board_cpu_seconds(self):
        """CPU seconds of everything the boards' sshd ran (their reaped
        descendants: sessions, Python modules, rcarkit), from /proc/PID/stat."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for proc in self.procs:
            try:
                fields = Path("/proc/%d/stat" % proc.pid).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[13]) + int(fields[14])   # cutime, cstime
        return total / float(tick)

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs = []


def build_wheelhouse(cache_dir):
    """The rcarkit wheel built from a copy of the sources, cached by their hash."""
    import hashlib
    parts = ["pyproject.toml", "README.md", "rcarkit", "kconfig_profiles", "yocto_layer"]
    digest = hashlib.sha256()
    for part in parts:
        path = REPO / part
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                     and "__pycache__" not in p.parts)
        for f in files:
            digest.update(str(f.relative_to(REPO)).encode())
            digest.update(f.read_bytes())
    house = Path(cache_dir) / ("wheelhouse-" + digest.hexdigest()[:16])
    if list(house.glob("rcarkit-*.whl")):
        return house
    src = Path(cache_dir) / ("src-" + digest.hexdigest()[:16])
    shutil.rmtree(str(src), ignore_errors=True)
    for part in parts:
        if (REPO / part).is_dir():
            shutil.copytree(str(REPO / part), str(src / part),
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy(str(REPO / part), str(src / part))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(src), "-w",
                    str(house)], check=True, capture_output=True)
    shutil.rmtree(str(src), ignore_errors=True)
    return house


def run_playbook(inventory, fleet_dir, wheelhouse, forks=5, extra=(), timeout=600,
                 control_persist=60):
    """ansible-playbook ansible/fleet.yml; returns (CompletedProcess, seconds).
    The controller's CPU seconds (ansible and its forks) are in ``proc.cpu``."""
    import resource
    exe = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")
    cfg = Path(fleet_dir).parent / "ansible.cfg"   # no user or /etc config leaks in
    cfg.write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True",
               ANSIBLE_FORKS=str(forks), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCAL_TEMP=str(Path(fleet_dir).parent / ".ansible-local"),
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(Path(fleet_dir).parent / ".cp"),
               ANSIBLE_CONFIG=str(cfg),
               ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=%ds" % control_persist)
    cmd = [exe, "-i", str(inventory), str(REPO / "ansible" / "fleet.yml"),
           "-e", "fleet_dir=%s" % fleet_dir, "-e", "rcarkit_wheelhouse=%s" % wheelhouse,
           "-e", "rcarkit_install=wheel"] + list(extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    seconds = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc.cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return proc, seconds

"""Reading the facts of a running board from ``/proc``, ``/sys`` and ``/etc``.

Everything is read through a :class:`NodeRoot`, so ``--root DIR`` (a mounted
board image, or a test's fixture tree) answers exactly like the live system.
Only the live root (``/``) also asks the kernel directly (psutil for swap,
``sched_getaffinity`` for usable CPUs, ``iptables --version``); a fixture tree
is never mixed with the machine running the check.

Each ``probe_*`` function returns plain data (dicts, lists); judging it is
:mod:`rcarkit.node.check`'s job.
"""

import os
import re
import stat

#: Where kubeadm's ``exec.LookPath`` would find tools on a board (plus $PATH live).
TOOL_DIRS = ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin")


class NodeRoot:
    """A root directory to read a node's state from (``/`` = this machine).

    Every path is resolved inside the root like a chroot would
    (:func:`rcarkit.node.rootfs.resolve`): a board's ``/etc/shadow`` symlink
    or ``../../..`` never reaches the host's files.
    """

    def __init__(self, path="/"):
        self.path = os.path.abspath(os.fspath(path))
        real = os.path.realpath(self.path)
        self.live = real == "/"
        #: what every file read under the root must really be below once open
        #: (:func:`rcarkit.safe_read.open_regular`); None on the live system
        self.within = None if self.live else real

    def join(self, rel):
        """The host path of ``rel`` inside the root (None: a symlink loop, or a
        NUL in ``rel``, which no file name holds: module indexes are data)."""
        if "\x00" in rel:
            return None
        if self.live:
            return os.path.join("/", rel.lstrip("/"))
        from rcarkit.node.rootfs import resolve
        return resolve(self.path, rel)

    def read(self, rel, limit=1024 * 1024):
        """Text of ``rel`` under the root, or None when absent/unreadable.
        A FIFO or a device there is an error (exit 2), never a hang."""
        from rcarkit.safe_read import open_regular
        path = self.join(rel)
        if path is None:
            return None
        try:
            os.stat(path)
        except OSError:
            return None
        try:
            with open_regular(path, within=self.within) as fh:
                return fh.read(limit).decode("utf-8", "replace")
        except OSError:
            return None

    def read_error(self, rel):
        """None if ``rel`` is readable, else a short reason ("absent", "permission denied")."""
        from rcarkit.errors import RcarkitError
        from rcarkit.safe_read import open_regular
        path = self.join(rel)
        if path is None:
            return "symlink loop"
        try:
            with open_regular(path, within=self.within):   # O_NONBLOCK: a FIFO does not hang
                return None
        except RcarkitError as exc:
            return "absent" if exc.message == "no such file" else exc.message

    def exists(self, rel):
        """True when ``rel`` is there (a dangling symlink counts)."""
        path = self._unfollowed(rel)
        return path is not None and os.path.lexists(path)

    def isfile(self, rel):
        path = self.join(rel)
        return path is not None and os.path.isfile(path)

    def isdir(self, rel):
        path = self.join(rel)
        return path is not None and os.path.isdir(path)

    def listdir(self, rel):
        path = self.join(rel)
        if path is None:
            return []
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def readlink(self, rel):
        """The target of the symlink ``rel`` (its directory resolved in the root)."""
        path = self._unfollowed(rel)
        if path is None:
            return None
        try:
            return os.readlink(path)
        except OSError:
            return None

    def _unfollowed(self, rel):
        """The host path of ``rel`` with its directory resolved and its last
        component not followed (what lstat and readlink want)."""
        parent, _, base = ("/" + rel.strip("/")).rpartition("/")
        if base in ("", ".", ".."):
            return self.join(rel)
        directory = self.join(parent or "/")
        return None if directory is None else os.path.join(directory, base)

    def resolve(self, rel, depth=8):
        """Follow symlinks *inside the root* (absolute targets are re-rooted)."""
        current = "/" + rel.lstrip("/")
        for _ in range(depth):
            target = self.readlink(current)
            if target is None:
                return current
            if target.startswith("/"):
                current = target
            else:
                current = os.path.normpath(os.path.join(os.path.dirname(current), target))
        return current


def first_line(text):
    if text is None:
        return None
    text = text.strip()
    return text.splitlines()[0].strip() if text else ""


# -- kernel --------------------------------------------------------------------

def kernel_release(node):
    """The running release: ROOT/proc/sys/kernel/osrelease, live: uname -r."""
    value = first_line(node.read("proc/sys/kernel/osrelease"))
    if value:
        return value
    if node.live:
        return os.uname().release
    return None


def machine_arch(node):
    if node.live:
        return os.uname().machine
    return None


def cmdline(node):
    text = node.read("proc/cmdline")
    return None if text is None else text.strip()


def cmdline_params(text):
    """``[(key, value or None)]`` in order; the part after `` -- `` goes to init."""
    out = []
    if not text:
        return out
    for word in text.split():
        if word == "--":
            break
        key, sep, value = word.partition("=")
        out.append((key, value if sep else None))
    return out


# -- memory, swap, CPUs ---------------------------------------------------------

def meminfo(node):
    """``/proc/meminfo`` as ``{key: kB}``."""
    out = {}
    for line in (node.read("proc/meminfo") or "").splitlines():
        m = re.match(r"^(\w+(?:\(\w+\))?):\s+(\d+)", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def probe_swap(node):
    """Active swap: ``{"source", "devices": [{name, type, size_kb, used_kb}], "total_kb"}``."""
    devices = []
    text = node.read("proc/swaps")
    if text is not None:
        for line in text.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 4 and _digits(parts[2]):
                devices.append({"name": parts[0], "type": parts[1], "size_kb": int(parts[2]),
                                "used_kb": int(parts[3]) if _digits(parts[3]) else None})
    result = {"source": "proc/swaps" if text is not None else None, "devices": devices,
              "total_kb": sum(d["size_kb"] for d in devices) if text is not None else None}
    if node.live:
        try:
            import psutil
            result["total_kb"] = int(psutil.swap_memory().total // 1024)
            result["source"] = "psutil.swap_memory()"
        except Exception:  # psutil missing or failing: /proc/swaps already read
            pass
    result["fstab"] = fstab_swaps(node)
    return result


def fstab_swaps(node):
    """Swap entries in ROOT/etc/fstab (they come back at the next boot)."""
    out = []
    for line in (node.read("etc/fstab") or "").splitlines():
        line = line.split("#", 1)[0].split()
        if len(line) >= 3 and line[2] == "swap":
            out.append(line[0])
    return out


def _parse_cpu_list(text):
    count = 0
    for part in (text or "").strip().split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, _, hi = part.partition("-")
            if _digits(lo) and _digits(hi):
                count += int(hi) - int(lo) + 1
        elif _digits(part):
            count += 1
    return count or None


def probe_cpus(node):
    """``{"online", "usable", "source"}``; usable is what kubeadm's runtime.NumCPU() sees."""
    online = _parse_cpu_list(node.read("sys/devices/system/cpu/online"))
    source = "sys/devices/system/cpu/online"
    if online is None:
        text = node.read("proc/cpuinfo") or ""
        online = sum(1 for line in text.splitlines() if re.match(r"^processor\s*:", line)) or None
        source = "proc/cpuinfo"
    usable = online
    if node.live:
        try:
            usable = len(os.sched_getaffinity(0))
            source = "sched_getaffinity"
        except (AttributeError, OSError):
            usable = os.cpu_count()
            source = "os.cpu_count()"
        if online is None:
            online = os.cpu_count()
    return {"online": online, "usable": usable, "source": source}


# -- cgroups -------------------------------------------------------------------

def mounts(node):
    """``[(device, mountpoint, fstype, options)]`` from ROOT/proc/mounts."""
    out = []
    for line in (node.read("proc/mounts") or "").splitlines():
        parts = line.split()
        if len(parts) >= 4:
            out.append((parts[0], parts[1].replace("\\040", " "), parts[2], parts[3]))
    return out


def probe_cgroups(node):
    """cgroup version and controllers.

    ``version`` is ``"v2"`` when ``/sys/fs/cgroup`` itself is cgroup2 (what runc
    and the kubelet test), ``"hybrid"`` when v1 controllers are mounted and a
    cgroup2 tree sits elsewhere (``/sys/fs/cgroup/unified``), ``"v1"``, or None.
    """
    mnt = mounts(node)
    v2_mounts = [m[1] for m in mnt if m[2] == "cgroup2"]
    v1_mounts = [(m[1], m[3]) for m in mnt if m[2] == "cgroup"]
    source = "proc/mounts"
    if "/sys/fs/cgroup" in v2_mounts:
        version = "v2"
    elif v1_mounts:
        version = "hybrid" if v2_mounts else "v1"
    elif not mnt and node.exists("sys/fs/cgroup/cgroup.controllers"):
        version, source = "v2", "sys/fs/cgroup/cgroup.controllers"
    elif not mnt and node.isdir("sys/fs/cgroup"):
        names = node.listdir("sys/fs/cgroup")
        version = "v1" if ("memory" in names or "cpu" in names) else None
        source = "sys/fs/cgroup"
    else:
        version = None
    controllers = {}
    if version == "v2":
        text = node.read("sys/fs/cgroup/cgroup.controllers")
        if text is not None:
            for name in text.split():
                controllers[name] = True
            controllers_source = "sys/fs/cgroup/cgroup.controllers"
        else:
            controllers_source = None
    else:
        controllers_source = None
        text = node.read("proc/cgroups")
        if text is not None:
            controllers_source = "proc/cgroups"
            for line in text.splitlines():
                parts = line.split()
                if len(parts) >= 4 and not line.startswith("#"):
                    controllers[parts[0]] = parts[3] != "0"
        for mountpoint, options in v1_mounts:
            for opt in options.split(","):
                if opt in ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "pids",
                           "blkio", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",
                           "misc"):
                    controllers.setdefault(opt, True)
                    controllers_source = controllers_source or "proc/mounts"
    return {"version": version, "source": source, "v2_mounts": v2_mounts,
            "v1_mounts": [m[0] for m in v1_mounts], "controllers": controllers,
            "controllers_source": controllers_source}


# -- sysctls, modules, filesystems --------------------------------------------

def sysctl(node, name):
    """Value of a sysctl (``net.ipv4.ip_forward``) from ROOT/proc/sys, or None."""
    return first_line(node.read("proc/sys/" + name.replace(".", "/")))


def persisted_sysctls(node):
    """``{name: value}`` set by sysctl.d / sysctl.conf files in the root (last wins,
    in systemd-sysctl's order: /usr/lib, /run, /etc; same file name overrides)."""
    files = {}
    for directory in ("usr/lib/sysctl.d", "lib/sysctl.d", "run/sysctl.d", "etc/sysctl.d"):
        for fname in node.listdir(directory):
            if fname.endswith(".conf"):
                files[fname] = directory + "/" + fname
    ordered = [files[k] for k in sorted(files)] + ["etc/sysctl.conf"]
    values = {}
    for rel in ordered:
        for line in (node.read(rel) or "").splitlines():
            line = line.strip()
            if not line or line[0] in "#;" or "=" not in line:
                continue
            key, _, value = line.partition("=")
            values[key.strip().lstrip("-").replace("/", ".")] = value.strip()
    return values


def filesystems(node):
    """File system types the kernel knows now (ROOT/proc/filesystems)."""
    out = set()
    for line in (node.read("proc/filesystems") or "").splitlines():
        parts = line.split()
        if parts:
            out.add(parts[-1])
    return out


def module_loaded(node, name, loaded):
    """Loaded (or built in and initialised): /proc/modules or /sys/module/NAME."""
    if loaded is not None and name in loaded:
        return True
    return node.isdir("sys/module/" + name)


# -- tools, iptables ----------------------------------------------------------

def find_tool(node, name):
    """Path (inside the root) of executable ``name``, or None."""
    dirs = list(TOOL_DIRS)
    if node.live:
        for entry in os.environ.get("PATH", "").split(os.pathsep):
            entry = entry.strip("/")
            if entry and entry not in dirs:
                dirs.append(entry)
    for directory in dirs:
        rel = directory + "/" + name
        if node.exists(rel):
            real = node.join(rel)
            try:
                mode = os.stat(real).st_mode
            except (OSError, TypeError):
                continue  # dangling symlink, or a loop
            if stat.S_ISREG(mode) and mode & 0o111:
                return "/" + rel
    return None


def iptables_backend(node):
    """``(backend, how)``: ``"nf_tables"``, ``"legacy"`` or None, and how it was told."""
    for rel in ("etc/alternatives/iptables",):
        target = node.readlink(rel)
        if target:
            return _backend_from_name(target), "%s -> %s" % ("/" + rel, target)
    tool = find_tool(node, "iptables")
    if tool is None:
        return None, "no iptables"
    final = node.resolve(tool)
    backend = _backend_from_name(final)
    if backend:
        return backend, "%s -> %s" % (tool, final)
    if node.live:
        import subprocess
        try:
            proc = subprocess.run([node.join(tool), "--version"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=10)
            text = proc.stdout.decode("utf-8", "replace").strip()
        except (OSError, subprocess.SubprocessError):
            text = ""
        if "(nf_tables)" in text:
            return "nf_tables", "iptables --version: %s" % text
        if "(legacy)" in text:
            return "legacy", "iptables --version: %s" % text
        if text:
            return "legacy", "iptables --version: %s (no backend named: legacy, before 1.8)" % text
    return None, tool


def _backend_from_name(path):
    base = os.path.basename(path)
    if "nft" in base:
        return "nf_tables"
    if "legacy" in base:
        return "legacy"
    return None


# -- ports ---------------------------------------------------------------------

def listening_ports(node):
    """``{port: [address, ...]}`` of TCP sockets in LISTEN state, or None if
    ROOT/proc/net/tcp cannot be read."""
    found = {}
    any_read = False
    for rel in ("proc/net/tcp", "proc/net/tcp6"):
        text = node.read(rel)
        if text is None:
            continue
        any_read = True
        for line in text.splitlines()[1:]:
            parts = line.split()
            if len(parts) < 4 or parts[3] != "0A":
                continue
            addr, _, port = parts[1].rpartition(":")
            try:
                found.setdefault(int(port, 16), []).append(_hex_address(addr))
            except ValueError:
                continue
    return found if any_read else None


def _hex_address(text):
    import socket
    import struct
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return text
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    if len(raw) == 16:
        words = struct.unpack(">4I", raw)
        return socket.inet_ntop(socket.AF_INET6, struct.pack("<4I", *words))
    return text


# -- identity ------------------------------------------------------------------

def hostname(node):
    """``(name, where)``: the running hostname, else ROOT/etc/hostname."""
    value = first_line(node.read("proc/sys/kernel/hostname"))
    if value:
        return value, "/proc/sys/kernel/hostname"
    value = first_line(node.read("etc/hostname"))
    if value:
        return value, "/etc/hostname"
    if node.live:
        import socket
        return socket.gethostname(), "gethostname()"
    return None, None


def interfaces(node):
    """Physical network interfaces: ``[{name, address, device}]`` (ones with a
    ``device`` link; virtual ones such as bridges, veth and lo are left out)."""
    out = []
    for name in node.listdir("sys/class/net"):
        base = "sys/class/net/" + name
        if name == "lo" or not node.exists(base + "/device"):
            continue
        out.append({"name": name, "address": first_line(node.read(base + "/address")),
                    "addr_assign_type": first_line(node.read(base + "/addr_assign_type"))})
    return out


def _digits(text):
    """True for ASCII digits only: ``"²".isdigit()`` is True but int() refuses it."""
    return text.isascii() and text.isdigit()

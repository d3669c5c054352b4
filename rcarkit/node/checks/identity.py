"""Area ``identity``: hostname, MACs and product_uuid (kubeadm requires them
unique; images and BSPs ship defaults that collide)."""

import re

from rcarkit.report import OK, WRONG, WARNING, UNKNOWN
from rcarkit.node.checks.context import src


#: Hostnames images ship with (a second board from the same image collides).
DEFAULT_HOSTNAMES = {
    "localhost", "localhost.localdomain", "raspberrypi", "ubuntu", "debian", "buildroot",
    "poky", "yocto", "qemuarm64", "qemux86-64", "raspberrypi3-64", "raspberrypi4-64",
    "raspberrypi5", "h3ulcb", "m3ulcb", "salvator-x", "ebisu", "draak", "spider", "s4sk",
    "whitehawk", "white-hawk", "rcar", "(none)",
}
#: MACs BSPs hard-code in their U-Boot environment (``ethaddr=00:11:22:33:44:55``
#: in many board configs' CONFIG_EXTRA_ENV_SETTINGS): every board has the same.
PLACEHOLDER_MACS = {"00:11:22:33:44:55", "00:01:02:03:04:05", "12:34:56:78:9a:bc"}
#: product_uuid values firmware vendors ship on many boards at once.
BOGUS_UUIDS = {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
               "03000200-0400-0500-0006-000700080009", "12345678-1234-5678-90ab-cddeefaabbcc"}

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def check_identity(ctx):
    g = ctx.group("identity", "node identity (hostname, MAC, product_uuid)")
    srcs = src("install-kubeadm", "kubeadm-checks")
    name, where = ctx.node_probe.hostname(ctx.node)
    ctx.facts["hostname"] = name
    if name is None:
        ctx.finding(g, "hostname", "unique, DNS-1123", None, UNKNOWN, False,
                     "no hostname found", sources=srcs)
    elif not _DNS1123.match(name) or len(name) > 253:
        ctx.finding(g, "hostname", "unique, DNS-1123", name, WRONG, True,
                     "not a valid lower-case DNS-1123 name: the kubelet cannot register "
                     "a Node with it (kubeadm warns 'invalid node name format')",
                     sources=srcs, note="from %s; set a lower-case name" % where)
    elif name in DEFAULT_HOSTNAMES:
        ctx.finding(g, "hostname", "unique, DNS-1123", name, WARNING, False,
                     "an image's default hostname: the next board from the same image "
                     "joins with the same Node name and replaces this one", sources=srcs,
                     note="from %s; give every board its own name" % where)
    else:
        ctx.finding(g, "hostname", "unique, DNS-1123", name, OK, True,
                     "valid node name (uniqueness across boards cannot be seen from one)",
                     sources=srcs)
    ctx.facts["interfaces"] = ifaces = ctx.node_probe.interfaces(ctx.node)
    srcs = src("install-kubeadm", "ieee-mac")
    for iface in ifaces:
        mac = (iface["address"] or "").lower()
        label = "MAC %s" % iface["name"]
        octets = mac.split(":")
        try:
            first = int(octets[0], 16)
        except (ValueError, IndexError):
            first = None
        if not mac or first is None or len(octets) != 6:
            ctx.finding(g, label, "unique", mac or None, UNKNOWN, False,
                         "address not readable", sources=srcs)
        elif mac in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") or first & 1:
            ctx.finding(g, label, "unique", mac, WARNING, False,
                         "an all-zero, broadcast or multicast address is not a real MAC: "
                         "the driver found none in the board's EEPROM/OTP/U-Boot env",
                         sources=srcs, note="set ethaddr in U-Boot or the device tree")
        elif mac in PLACEHOLDER_MACS:
            ctx.finding(g, label, "unique", mac, WARNING, False,
                         "a placeholder MAC from a BSP's default U-Boot environment: every "
                         "board flashed with it has the same address", sources=srcs,
                         note="set a per-board ethaddr in U-Boot (fw_setenv ethaddr ...)")
        elif first & 2 and iface.get("addr_assign_type") == "1":
            ctx.finding(g, label, "unique", mac, WARNING, False,
                         "random (locally administered) MAC: it changes every boot, so "
                         "the node's DHCP address and identity change too", sources=srcs,
                         note="set a fixed ethaddr in U-Boot or the device tree")
        else:
            ctx.finding(g, label, "unique", mac, OK, False,
                         "a real address (uniqueness across boards cannot be seen from one)",
                         sources=srcs)
    rel = "sys/class/dmi/id/product_uuid"
    err = ctx.node.read_error(rel)
    value = ctx.node_probe.first_line(ctx.node.read(rel))
    ctx.facts["product_uuid"] = value
    if err == "absent":
        ctx.finding(g, "product_uuid", "unique", "no DMI", OK, False,
                     "no DMI table (normal on device-tree boards): nothing to collide",
                     sources=srcs)
    elif value is None:
        ctx.finding(g, "product_uuid", "unique", None, UNKNOWN, False,
                     "not readable (%s): run as root to check" % err, sources=srcs)
    elif value.lower() in BOGUS_UUIDS:
        ctx.finding(g, "product_uuid", "unique", value, WARNING, False,
                     "a placeholder UUID shipped by firmware on many boards: Kubernetes "
                     "may treat the nodes as one", sources=srcs)
    else:
        ctx.finding(g, "product_uuid", "unique", value, OK, False,
                     "looks like a real UUID", sources=srcs)

"""The node checks, one module per area, each a function ``check_x(ctx)`` that
reads the board through a :class:`~rcarkit.node.checks.context.NodeContext` and
adds a group of findings (and fixes as data) to it:

=========================  ==========================================================
module                     area (group name in the report)
=========================  ==========================================================
``kernel_config``          ``kernel-config``: the config against the profiles
``modules``                ``modules`` (=m options have their module) and
                           ``kernel-modules-loaded`` (overlay, br_netfilter)
``swap``                   ``swap``
``cgroups`` + ``cmdline``  ``cgroups``: v2, controllers, the kernel command line
``sysctls``                ``sysctl``: ip_forward, bridge-nf-call-*
``resources``              ``resources``: CPUs and memory per role
``tools``                  ``tools`` (PATH, iptables backend), ``runtime-config``
``ports``                  ``ports``
``identity``               ``identity``: hostname, MACs, product_uuid
=========================  ==========================================================

A new check is a function here and a line in :data:`CHECKS`.
"""

from rcarkit.node.checks.cgroups import check_cgroups
from rcarkit.node.checks.identity import check_identity
from rcarkit.node.checks.kernel_config import check_kernel_config
from rcarkit.node.checks.modules import check_loaded, check_modules
from rcarkit.node.checks.ports import check_ports
from rcarkit.node.checks.resources import check_resources
from rcarkit.node.checks.swap import check_swap
from rcarkit.node.checks.sysctls import check_sysctl
from rcarkit.node.checks.tools import check_runtime_config, check_tools

#: The order the areas run in (and appear in the report): the modules check
#: needs the kernel-config result; kernel-modules-loaded reuses the modules rows.
CHECKS = (check_kernel_config, check_modules, check_swap, check_cgroups, check_sysctl,
          check_loaded, check_resources, check_tools, check_runtime_config, check_ports,
          check_identity)

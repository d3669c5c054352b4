"""rcarkit: get an embedded arm64 board (R-Car Gen3/Gen4, Raspberry Pi, any Yocto
or embedded Linux board) ready for Kubernetes.

Commands (``rcarkit --help``), each a thin layer over a library module:

=====================  ==============================  ==============================
command                library module                  what it answers
=====================  ==============================  ==============================
``check-kernel``       :mod:`rcarkit.kernel.check`     which kernel options Kubernetes,
                                                       the runtime, kube-proxy and the
                                                       CNI need that the config lacks
``yocto-layer``        :mod:`rcarkit.yocto.layer`            a meta-layer adding exactly those
``verify-fragment``    :mod:`rcarkit.yocto.layer`            does a fragment survive olddefconfig
``etcd-bench``         :mod:`rcarkit.etcd.bench`       is this storage fast enough for etcd
``check-node``         :mod:`rcarkit.node.check`       will kubeadm trip on this running board
=====================  ==============================  ==============================

Exit codes of every command: 0 all good, 1 the check found something to
change, 2 bad input or usage (one line on stderr).
"""

__version__ = "0.1.0"

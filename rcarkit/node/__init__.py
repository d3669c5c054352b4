"""The running board: what ``check-node`` finds kubeadm and the CNI tripping over.

* :mod:`rcarkit.node.probe`   -- reads /proc, /sys and /etc (or a ``--root`` image)
* :mod:`rcarkit.node.modules` -- kernel modules and their vermagic
* :mod:`rcarkit.node.check`   -- the checks, one per area, each returning findings
* :mod:`rcarkit.node.fixes`   -- the fixes as files (``--emit``)
"""

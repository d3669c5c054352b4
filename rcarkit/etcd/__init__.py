"""Storage for etcd: what ``etcd-bench`` measures and advises.

* :mod:`rcarkit.etcd.bench`  -- the WAL-faithful fdatasync benchmark (and the fio engine)
* :mod:`rcarkit.etcd.stats`  -- latency statistics (:class:`~rcarkit.etcd.stats.FsyncStats`)
* :mod:`rcarkit.etcd.fio`    -- fio's JSON output, parsed by our own code
* :mod:`rcarkit.etcd.device` -- what a path sits on (filesystem, device kind)
* :mod:`rcarkit.etcd.peer`   -- TCP round trips to an etcd peer
* :mod:`rcarkit.etcd.advice` -- the verdict and the settings, with cited thresholds
* :mod:`rcarkit.etcd.emit`   -- the kubeadm/etcd/systemd files written by ``--emit``
"""

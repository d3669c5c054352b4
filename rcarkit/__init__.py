"""rcarkit: get an embedded arm64 board (R-Car Gen3/Gen4, Raspberry Pi, any Yocto
or embedded Linux board) ready for Kubernetes.

The package is a library with a thin command line on top. One subpackage per
domain, the shared pieces beside them, the CLI last:

=====================  ==========================================  ===========================
command                library entry point                         what it answers
=====================  ==========================================  ===========================
``check-kernel``       :func:`rcarkit.kernel.check.check_config`   which kernel options
                       (config: :func:`rcarkit.kernel.config.       Kubernetes, the runtime,
                       load_config`, profiles:                      kube-proxy and the CNI
                       :func:`rcarkit.kernel.profiles.load_catalog`) need that the config lacks
``yocto-layer``        :func:`rcarkit.yocto.layer.generate_layer`  a meta-layer adding them
                       (:func:`rcarkit.kernel.fragment.plan_fragment`)
``verify-fragment``    :func:`rcarkit.kernel.verify.verify_fragment` does a fragment survive
                                                                   olddefconfig
``etcd-bench``         :mod:`rcarkit.etcd.bench`,                  is this storage fast enough
                       :func:`rcarkit.etcd.advice.recommend`       for etcd, and its settings
``check-node``         :func:`rcarkit.node.check.check_node`       will kubeadm trip on this
                                                                   running board
``report``             :func:`rcarkit.dossier.model.build_dossier` one readable page per board
                       (:func:`rcarkit.dossier.load.load_documents`) from the JSON above
``report --fleet``     :func:`rcarkit.fleet.model.build_fleet`     what only a fleet shows
=====================  ==========================================  ===========================

* :mod:`rcarkit.kernel` -- kernel config: reading, profiles, check, fragment, Kconfig tree, verify
* :mod:`rcarkit.yocto`  -- the layer writer (templates in ``yocto_layer/``)
* :mod:`rcarkit.etcd`   -- the fdatasync benchmark, statistics, fio, device, peer, advice, files
* :mod:`rcarkit.node`   -- probing a board, modules, the checks (one per area), fixes
* :mod:`rcarkit.dossier` -- the board report: documents, verdicts, to-do, SVG, HTML/Markdown
* :mod:`rcarkit.fleet`  -- many boards (collected by ``ansible/fleet.yml``) and the fleet checks
* shared: :mod:`rcarkit.report` (findings model), :mod:`rcarkit.render` (text/JSON/Markdown),
  :mod:`rcarkit.files` (atomic, hand-edit-safe writes), :mod:`rcarkit.errors` (exit codes)
* :mod:`rcarkit.cli` -- the typer layer; nothing in the library imports it

Exit codes of every command: 0 all good, 1 the check found something to
change, 2 bad input or usage (one line on stderr).
"""

__version__ = "0.1.0"

"""``rcarkit report``: one readiness report per board (the dossier).

* :mod:`rcarkit.dossier.load`: read the ``--format json`` documents of
  check-kernel, check-node and etcd-bench (or fio's JSON) and tell them apart;
* :mod:`rcarkit.dossier.fio_doc`: fio's output judged like ``etcd-bench``;
* :mod:`rcarkit.dossier.model`: the :class:`Dossier` (verdict per area, the
  to-do list with exact commands and files, the documents as details);
* :mod:`rcarkit.dossier.plot`: the storage picture as SVG, plain Python;
* :mod:`rcarkit.dossier.render`: self-contained HTML and Markdown.
"""

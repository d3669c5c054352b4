"""``rcarkit report --fleet DIR``: many boards at once, and what only a fleet shows.

* :mod:`rcarkit.fleet.model`: load ``DIR/<host>/*.json`` (what ``ansible/fleet.yml``
  fetched), one :class:`rcarkit.dossier.model.Dossier` per host, and the fleet
  checks (duplicated identities, kernel and config skew, CNI gaps, clock skew,
  round trips between control-plane candidates);
* :mod:`rcarkit.fleet.render`: the table and checks as text, HTML and Markdown.
"""

"""Yocto: the meta-layer ``yocto-layer`` writes (:mod:`rcarkit.yocto.layer`),
rendered from the jinja2 templates in the top-level ``yocto_layer/`` folder.
"""

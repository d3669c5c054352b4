"""Kernel configuration: everything ``check-kernel``, ``yocto-layer`` and
``verify-fragment`` know about a kernel's ``.config``.

* :mod:`rcarkit.kernel.config`   -- reading a config (plain, compressed, IKCONFIG in an image)
  into a :class:`~rcarkit.kernel.config.KernelConfig`; kernel versions
* :mod:`rcarkit.kernel.profiles` -- the option sets of ``kconfig_profiles/`` as data
* :mod:`rcarkit.kernel.check`    -- a config against the profiles: findings per option
* :mod:`rcarkit.kernel.fragment` -- the gap as a fragment that survives ``olddefconfig``
* :mod:`rcarkit.kernel.tree`     -- a kernel tree's own Kconfig through Kconfiglib
* :mod:`rcarkit.kernel.verify`   -- does a fragment survive the merge (``verify-fragment``)

Nothing is imported here, so ``import rcarkit.kernel.config`` stays cheap.
"""

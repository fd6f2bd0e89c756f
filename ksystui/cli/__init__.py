"""The ``ksystui`` command line on click: one module per verb group
(``console``, ``sim``, ``status``, ``arbiter``, ``audit``, ``schedule``,
``db``),
the global options in ``options``, the root group and entry point in
``main``. Every verb that runs the fleet or the arbiter starts from the
composition root, ``ksystui.bootstrap``."""

from ksystui.cli.main import cli, main

__all__ = ["cli", "main"]

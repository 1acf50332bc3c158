"""The notebook as the driver: magics, the live widgets, the Sparkbook kernel."""

from __future__ import annotations


def load_ipython_extension(ipython) -> None:
    """``%load_ext sparkbook``: register %spark and %%spark, once per shell.

    The Sparkbook kernel loads this module at start, so a lesson's own ``%load_ext
    sparkbook`` (which makes it run in any Python kernel) finds the magics there and keeps
    them, with the cluster they drive."""
    if "SparkMagics" in ipython.magics_manager.registry:
        return
    from sparkbook.notebook.magics import SparkMagics

    ipython.register_magics(SparkMagics(ipython))

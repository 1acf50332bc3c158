"""The notebook as the driver: magics, the live widgets, the Sparkbook kernel."""

from __future__ import annotations


def load_ipython_extension(ipython) -> None:
    """``%load_ext sparkbook``: register %spark and %%spark."""
    from sparkbook.notebook.magics import SparkMagics

    ipython.register_magics(SparkMagics(ipython))

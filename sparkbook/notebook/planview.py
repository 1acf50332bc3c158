"""Showing a plan before it runs (``rdd.explain()``, ``%spark plan``): in a notebook, a
``JobsView`` in ``mode="plan"`` whose ``stages`` are the preview's (the front end draws
them as the stage DAG), with the text form as the static copy a saved notebook keeps;
elsewhere, the text form printed. A DataFrame's (``%spark plan df``) comes from its
physical plan, its stages cut at the exchanges."""

from __future__ import annotations

import html

from sparkbook.driver.planpreview import plan_text


def _in_notebook() -> bool:
    try:
        from ipykernel.zmqshell import ZMQInteractiveShell
        from IPython import get_ipython
    except ImportError:
        return False
    return isinstance(get_ipython(), ZMQInteractiveShell)


def show_plan(stages: list[dict], title: str, exchange: str = "shuffle") -> None:
    """Draw (in a notebook) or print the stages of ``planpreview.preview_stages`` (or of
    ``planpreview.query_stages``, whose stages write an ``exchange``)."""
    text = f"{title}\n{plan_text(stages, exchange)}"
    if not _in_notebook():
        print(text)
        return
    from IPython.display import display

    from sparkbook.notebook.jobview import JobsView

    view = JobsView(mode="plan", title=title, status="plan", stages=stages)
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    display({**data, "text/plain": text,
             "text/html": f"<pre>{html.escape(text, quote=False)}</pre>"}, raw=True)

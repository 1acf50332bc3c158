"""``%spark`` and ``%%spark``: the notebook's kernel as the Spark driver.

``%%spark`` runs its cell as driver code with ``sc`` (and ``spark``, a SparkSession on it)
bound, under one live widget that shows the jobs the cell starts, their stages and the
executors; in a terminal it shows Spark's console progress bar instead. The engine
(``engines/``) is sparkbook's own cluster by default, or Apache Spark (``%spark connect
--engine pyspark MASTER``, ``%spark connect sc://HOST:15002``).
"""

from __future__ import annotations

import argparse
import ast
import html
import shlex

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import HTML, display

from sparkbook.driver.callsite import register_callsite_namer
from sparkbook.notebook.engines import ENGINES
from sparkbook.notebook.session import NotebookSession
from sparkbook.notebook.snapshot import summary_html

USAGE = """%spark start [-e N] [-c CORES] [-m MEMORY]   start (or reuse) a local cluster
%spark connect sparkbook://HOST:PORT [--cluster-file F]   join a standalone cluster
%spark connect --engine pyspark [MASTER] [--conf K=V ...]   classic Apache Spark
%spark connect sc://HOST:15002 [--conf K=V ...]   a Spark Connect session
%spark status | stop | executors | kill-executor ID | config KEY=VALUE"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise ValueError(f"{message}\n{USAGE}")


def _parser(prog: str) -> argparse.ArgumentParser:
    return _Parser(prog=prog, add_help=False)


@magics_class
class SparkMagics(Magics):
    """The magics; one NotebookSession per kernel."""

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.session = NotebookSession(namer=self._cell_name)
        self._panels: list = []
        self.last_cell: dict | None = None  # the final model of the last %%spark widget
        register_callsite_namer(self._cell_name)

    def _cell_name(self, filename: str) -> str | None:
        """IPython's own record of which execution count compiled a code file."""
        number = getattr(self.shell.compile, "_filename_map", {}).get(filename)
        return None if number is None else f"cell {number}"

    # --- the session ----------------------------------------------------------------------

    def _bind(self) -> None:
        self.shell.user_ns.update(self.session.engine.names())

    def _in_notebook(self) -> bool:
        try:
            from ipykernel.zmqshell import ZMQInteractiveShell
        except ImportError:
            return False
        return isinstance(self.shell, ZMQInteractiveShell)

    # --- %spark ---------------------------------------------------------------------------

    @line_magic
    def spark(self, line: str):
        """Manage the cluster this notebook drives (``%spark`` alone prints the usage)."""
        words = shlex.split(line)
        if not words:
            print(USAGE)
            return None
        command, rest = words[0], words[1:]
        handler = getattr(self, "_cmd_" + command.replace("-", "_"), None)
        if handler is None:
            raise ValueError(f"unknown %spark command {command!r}\n{USAGE}")
        return handler(rest)

    def _cmd_start(self, rest: list[str]):
        p = _parser("%spark start")
        p.add_argument("-e", "--executors", type=int, default=2)
        p.add_argument("-c", "--cores", type=int, default=1)
        p.add_argument("-m", "--memory")
        opts = p.parse_args(rest)
        # One core per executor process (Python's GIL): N executors of C cores are N*C.
        self.session.start(opts.executors * opts.cores, opts.memory)
        self._bind()
        print(self.session.engine.ready_line())

    def _cmd_connect(self, rest: list[str]):
        p = _parser("%spark connect")
        p.add_argument("master", nargs="?")
        p.add_argument("--cluster-file")
        p.add_argument("--engine", choices=ENGINES)
        p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
        opts = p.parse_args(rest)
        self.session.connect(opts.master, opts.cluster_file, opts.engine,
                             dict(_setting(item) for item in opts.conf))
        self._bind()
        print(self.session.engine.ready_line(joined=True))

    def _cmd_stop(self, rest: list[str]):
        self.session.stop()
        self.shell.user_ns.pop("sc", None)
        self.shell.user_ns.pop("spark", None)
        print("sparkbook: stopped")

    def _cmd_config(self, rest: list[str]):
        self.session.settings.update(_setting(item) for item in rest)
        note = " (takes effect at the next %spark start)" if self.session.active else ""
        print(f"sparkbook: {len(rest)} setting(s) stored{note}")

    def _cmd_kill_executor(self, rest: list[str]):
        engine = self.session.running
        if engine is None or not rest:
            raise ValueError("usage: %spark kill-executor ID (with a running cluster)")
        print(engine.kill_executor(rest[0]))

    def _cmd_plan(self, rest: list[str]):
        """``%spark plan EXPR``: the stages an action on the RDD ``EXPR`` would run, drawn
        as a DAG without running anything (``rdd.explain()``); for a DataFrame, the same
        picture of the stages of its physical plan (``df.explain()`` is its text). On Apache
        Spark, a DataFrame's ``explain()`` and an RDD's lineage. The magic splits its line
        into words, so quote-free names read best."""
        from sparkbook.sql.dataframe import DataFrame

        if not rest:
            raise ValueError("usage: %spark plan EXPR (an RDD or a DataFrame, e.g. a name)")
        value = self.shell.ev(" ".join(rest))
        if isinstance(value, DataFrame):
            from sparkbook.driver.planpreview import query_stages
            from sparkbook.notebook.planview import show_plan
            from sparkbook.sql.execution.physical import plan_query

            show_plan(query_stages(plan_query(value._plan)), f"Plan of {value!r}", "exchange")
            return
        if not callable(getattr(value, "explain", None)):
            lineage = getattr(value, "toDebugString", None)
            if callable(lineage):  # Apache Spark's RDDs: no plan preview, but their lineage
                text = lineage()
                print("%spark plan: Apache Spark's RDDs have no plan preview; their lineage "
                      "(rdd.toDebugString(), a shuffle at each indent):")
                print(text.decode() if isinstance(text, bytes) else text)
                return
            raise TypeError(f"%spark plan needs an RDD or a DataFrame, not "
                            f"{type(value).__name__}")
        value.explain()

    def _cmd_closure(self, rest: list[str]):
        """``%spark closure FUNC``: what the function carries when it is pickled for the
        executors: each captured name (closure cells, globals, defaults) and its size."""
        from sparkbook.driver.closuresize import closure_report

        if not rest:
            raise ValueError("usage: %spark closure FUNC (a function, e.g. a name)")
        print(closure_report(self.shell.ev(" ".join(rest))))

    def _cmd_status(self, rest: list[str]):
        engine = self.session.running
        if engine is None:
            print("sparkbook: no cluster (start one with %spark start, or run a %%spark cell)")
            return
        text = "\n".join(engine.status_lines())
        if self._in_notebook():
            display(HTML(f"<pre>{html.escape(text, quote=False)}</pre>"))
        else:
            print(text)

    def _cmd_executors(self, rest: list[str]):
        self.session.ensure()
        self._bind()
        if not self._in_notebook():
            return self._cmd_status(rest)
        from sparkbook.notebook.jobview import JobsView

        view = JobsView(mode="executors", title="Executors")
        self._panels.append(self.session.engine.panel(view))
        display(view)

    # --- %%spark ------------------------------------------------------------------------------

    @cell_magic("spark")
    def spark_cell(self, line: str, cell: str):
        """Run the cell as the driver with ``sc`` bound, under a live jobs/stages widget."""
        __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
        p = _parser("%%spark")
        p.add_argument("--name", nargs="+", default=[])  # a name may have spaces, unquoted
        p.add_argument("--quiet", action="store_true")
        opts = p.parse_args(shlex.split(line))
        self.session.ensure()
        self._bind()
        title = " ".join(opts.name)
        run = self.session.engine.cell(title)
        watcher = None if opts.quiet else self._watch(run, title)
        run.begin()  # the engine's per-cell setup: a job group, a tag, one cap on task output
        status = "failed"
        try:
            try:
                value = self._run(cell)
            finally:
                run.code_ended()  # an interrupt held while Spark ran the code is raised here
            status = "done"
            return value
        except KeyboardInterrupt:
            status = "interrupted"
            run.interrupt()
            raise
        finally:
            run.settle()
            if watcher is not None:
                watcher(status)
            run.end()

    def _watch(self, run, title: str):
        """Show the cell's progress; returns what to call when the cell ends."""
        if not self._in_notebook():
            return run.console()
        from sparkbook.notebook.jobview import JobsView

        view = JobsView(title=title)
        feed = run.feed(view)
        handle = display(self._bundle(view, "<i>sparkbook: running</i>"), raw=True,
                         display_id=True)

        def finish(status: str) -> None:
            snap = self.last_cell = feed.close(status)
            handle.update(self._bundle(view, summary_html(snap, title)), raw=True)

        return finish

    @staticmethod
    def _bundle(view, html: str) -> dict:
        # The widget for a live front end; the HTML for nbconvert, GitHub and no kernel.
        bundle = view._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        return {**data, "text/html": html}

    def _run(self, cell: str):
        """Execute the cell in the user namespace; the value of a last expression is
        returned (and displayed), exceptions propagate as from any cell."""
        __tracebackhide__ = True  # noqa: F841
        shell = self.shell
        # One blank line for the %%spark line, so line numbers are the cell's own.
        source = "\n" + shell.transform_cell(cell)
        filename = shell.compile.cache(source, shell.execution_count, raw_code=cell)
        tree = ast.parse(source, filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), shell.user_ns)  # noqa: S102
        if last is not None:
            return eval(compile(last, filename, "eval"), shell.user_ns)  # noqa: S307
        return None


def _setting(item: str) -> tuple[str, str]:
    """``KEY=VALUE`` (of ``%spark config`` and ``--conf``) as a pair."""
    key, sep, value = item.partition("=")
    if not sep:
        raise ValueError(f"expected KEY=VALUE, got {item!r}")
    return key.strip(), value.strip()

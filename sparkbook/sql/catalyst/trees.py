"""What plans share: children, and the indented tree Spark prints (``+- `` and ``:- ``)."""

from __future__ import annotations

from collections.abc import Callable


class TreeNode:
    children: tuple = ()

    def describe(self) -> str:
        """This node's line of the tree."""
        raise NotImplementedError

    def tree_string(self) -> str:
        lines: list[str] = []
        self._tree_lines(lines, "", "")
        return "\n".join(lines) + "\n"

    def _tree_lines(self, lines: list[str], first: str, rest: str) -> None:
        lines.append(first + self.describe())
        lines.extend(subquery_lines(self, rest, lambda sub: sub.plan.tree_string()))
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            child._tree_lines(lines, rest + ("+- " if last else ":- "),
                              rest + ("   " if last else ":  "))


def subquery_lines(node, rest: str, text: Callable) -> list[str]:
    """The trees of the scalar subqueries a node's expressions read, printed below its line
    and before its children, as Spark prints them (``:  +- ``); ``text`` is a subquery's
    plan as a tree."""
    from sparkbook.sql.catalyst.expressions import PHYSICAL_PLAN, scalar_subqueries_of

    subs = scalar_subqueries_of(node)
    out: list[str] = []
    for i, sub in enumerate(subs):
        last = i == len(subs) - 1
        head, body = (":  +- ", ":     ") if last else (":  :- ", ":  :  ")
        tree = text(sub).splitlines()
        if PHYSICAL_PLAN.get():  # Spark's physical plan names the subquery first
            out.append(rest + head + sub.explain())
            out += [rest + body + ("+- " if j == 0 else "   ") + line
                    for j, line in enumerate(tree)]
        else:
            out += [rest + (head if j == 0 else body) + line for j, line in enumerate(tree)]
    return out

"""What plans share: children, and the indented tree Spark prints (``+- `` and ``:- ``)."""

from __future__ import annotations


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
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            child._tree_lines(lines, rest + ("+- " if last else ":- "),
                              rest + ("   " if last else ":  "))

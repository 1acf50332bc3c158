"""``GROUPING SETS``, ``ROLLUP`` and ``CUBE`` as Spark's analyzer plans them: an ``Expand``
below the aggregate gives each row once per grouping set (the keys outside the set NULL)
with its ``spark_grouping_id``, and the aggregate groups by the expanded keys and that id,
so a key's NULL for "all values" and a NULL in the data stay apart."""

from __future__ import annotations

from itertools import product

from sparkbook.errors import AnalysisException
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst import logical as lp
from sparkbook.sql.catalyst.aggregates import AggregateFunction
from sparkbook.sql.catalyst.analyzer import expand_star, resolve
from sparkbook.sql.catalyst.typecoercion import type_tree
from sparkbook.sql.types import ByteType, IntegerType, LongType

GROUPING_ID = "spark_grouping_id"


def rollup_sets(n: int) -> list[list[int]]:
    """``ROLLUP(k1..kn)``: every prefix of the keys, longest first."""
    return [list(range(i)) for i in range(n, -1, -1)]


def cube_sets(n: int) -> list[list[int]]:
    """``CUBE(k1..kn)``: every subset of the keys, in the order of their grouping ids."""
    return [[i for i in range(n) if not gid >> (n - 1 - i) & 1] for gid in range(1 << n)]


def combined_sets(parts: list[list[list[int]]]) -> list[list[int]]:
    """``GROUP BY a, ROLLUP(b)``: the sets of each part, crossed."""
    return [sorted({i for s in choice for i in s}) for choice in product(*parts)]


def grouping_sets_aggregate(child: lp.LogicalPlan, keys: list[e.Expression],
                            sets: list[list[int]], aggregates: list[e.Expression]
                            ) -> lp.Aggregate:
    """The resolved ``Aggregate`` over an ``Expand`` of ``child`` for these grouping sets
    (each a list of positions in ``keys``)."""
    attrs = child.output()
    resolved = [type_tree(resolve(k, attrs)) for k in keys]
    aliases = [k if isinstance(k, e.Alias) else e.Alias(k, e.output_name(k)) for k in resolved]
    aliases = [type_tree(a) for a in aliases]
    below = lp.Project(list(attrs) + aliases, child, resolved=True)
    expanded = [e.AttributeReference(a.name, a.dtype, True) for a in aliases]
    gid = e.AttributeReference(GROUPING_ID, LongType(), False)
    n = len(keys)
    # A grouping set given twice gives its rows twice: a key of the set's position tells
    # the copies apart, as Spark's _gen_grouping_pos does.
    repeated = len({tuple(s) for s in sets}) < len(sets)
    position = [e.AttributeReference("_gen_grouping_pos", IntegerType(), False)] \
        if repeated else []
    projections = []
    for at, chosen in enumerate(sets):
        row: list[e.Expression] = list(attrs)
        row += [a.to_attribute() if i in chosen else e.Literal(None, a.dtype)
                for i, a in enumerate(aliases)]
        row.append(e.Literal(sum(1 << (n - 1 - i) for i in range(n) if i not in chosen),
                             LongType()))
        row += [e.Literal(at, IntegerType())] if repeated else []
        projections.append(row)
    expand = lp.Expand(projections, list(attrs) + expanded + [gid] + position, below)
    by_key = {k.child.explain() if isinstance(k, e.Alias) else k.explain(): a
              for k, a in zip(resolved, expanded)}
    out: list[e.Expression] = []
    for item in aggregates:
        if isinstance(item, e.UnresolvedStar):
            out.extend(expand_star(item, attrs))
            continue
        x = _over_keys(resolve(item, attrs), by_key, resolved, gid)
        if not isinstance(x, (e.Alias, e.AttributeReference)):
            x = e.Alias(x, e.output_name(resolve(item, attrs)))
        out.append(type_tree(x))
    return lp.Aggregate(expanded + [gid] + position, out, expand, resolved=True)


def _over_keys(x: e.Expression, by_key: dict[str, e.AttributeReference],
               keys: list[e.Expression], gid: e.AttributeReference) -> e.Expression:
    """``x`` reading the expanded keys (outside aggregate functions) and the grouping id."""
    if isinstance(x, AggregateFunction):
        return x
    if isinstance(x, e.Grouping):
        return _grouping_value(x, keys, gid)
    if x.explain() in by_key:
        return by_key[x.explain()]
    if isinstance(x, e.AttributeReference) or not x.children:
        return x
    return x.with_children([_over_keys(c, by_key, keys, gid) for c in x.children])


def _grouping_value(x: e.Grouping, keys: list[e.Expression],
                    gid: e.AttributeReference) -> e.Expression:
    names = [k.child.explain() if isinstance(k, e.Alias) else k.explain() for k in keys]
    asked = [c.explain() for c in x.children]
    if x.name == "grouping_id":
        if asked and asked != names:
            raise AnalysisException(
                f"[GROUPING_ID_COLUMN_MISMATCH] Columns of grouping_id ({','.join(asked)}) "
                f"does not match grouping columns ({','.join(names)}). SQLSTATE: 42803",
                "GROUPING_ID_COLUMN_MISMATCH", {}, "42803")
        return gid
    if asked[0] not in names:
        raise AnalysisException(
            f"[GROUPING_COLUMN_MISMATCH] Column of grouping ({asked[0]}) can't be found in "
            f"grouping columns {','.join(names)}. SQLSTATE: 42803",
            "GROUPING_COLUMN_MISMATCH", {}, "42803")
    shift = len(keys) - 1 - names.index(asked[0])
    bit = e.BinaryArithmetic("%", e.BinaryArithmetic("div", gid, e.Literal(1 << shift,
                                                                           LongType())),
                             e.Literal(2, LongType()))
    return e.Cast(bit, ByteType())


def unsupported_grouping() -> AnalysisException:
    return AnalysisException(
        "[UNSUPPORTED_GROUPING_EXPRESSION] grouping()/grouping_id() can only be used with "
        "GroupingSets/Cube/Rollup. SQLSTATE: 42K0E", "UNSUPPORTED_GROUPING_EXPRESSION", {},
        "42K0E")

"""``GenerateExec``: ``explode``, ``explode_outer`` and ``posexplode`` in the stage's
pipeline. Per batch, the generator's array (or map) column is taken apart once: each input
row is repeated (``take``) once per element, and the elements are one ``take`` from the
flat child, as ``list_flatten`` and ``list_parent_indices`` would give them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.arrays import explode_rows
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.execution.physical import SparkPlan

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.rdd import RDD


class GenerateExec(SparkPlan):
    def __init__(self, generator: e.Generator, generated: list[e.AttributeReference],
                 child: SparkPlan) -> None:
        self.generator = generator
        self.generated = generated
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.children[0].output() + self.generated

    def node_line(self, ids: bool = True) -> str:
        generator = self.generator.explain() if ids else self.generator.sql()
        kept = ", ".join(a.explain() if ids else a.name for a in self.children[0].output())
        shown = ", ".join(a.explain() if ids else a.name for a in self.generated)
        return f"Generate {generator}, [{kept}], {str(self.generator.outer).lower()}, [{shown}]"

    def execute(self, sc: SparkContext) -> RDD:
        return self._per_partition(sc, _generate, self.generator)


def _generate(inputs: list[e.AttributeReference], generator: e.Generator,
              batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    ev = BatchEvaluator(inputs)
    for batch in batches:
        column = ev.column(generator.children[0], batch)
        rows, flat, pos = explode_rows(column, generator.outer)
        taken = batch.take(pa.array(rows, pa.int64()))
        columns = list(taken.columns)
        if generator.with_position:
            columns.append(pa.array(pos, pa.int32(), mask=pos < 0))
        parts = ["keys", "items"] if isinstance(column.type, pa.MapType) else ["values"]
        columns += [getattr(column, part).take(flat) for part in parts]
        yield pa.RecordBatch.from_arrays(columns, names=[str(i) for i in range(len(columns))])

"""``ExpandExec``: each row once per projection, in the stage's pipeline (below the partial
aggregate of ``GROUPING SETS``/``ROLLUP``/``CUBE``). Per batch, each projection is computed
over the whole batch, one output batch per projection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.catalyst.logical import expand_arguments
from sparkbook.sql.execution.evaluate import BatchEvaluator
from sparkbook.sql.execution.physical import SparkPlan

if TYPE_CHECKING:
    from sparkbook.driver.context import SparkContext
    from sparkbook.rdd import RDD


class ExpandExec(SparkPlan):
    def __init__(self, projections: list[list[e.Expression]],
                 columns: list[e.AttributeReference], child: SparkPlan) -> None:
        self.projections, self.columns = projections, columns
        self.children = (child,)

    def output(self) -> list[e.AttributeReference]:
        return self.columns

    def node_line(self, ids: bool = True) -> str:
        if not ids:  # a stage's name: short
            return f"Expand [{', '.join(a.name for a in self.columns)}]"
        return expand_arguments(self.projections, self.columns)

    def execute(self, sc: SparkContext) -> RDD:
        return self._per_partition(sc, _expand, self.projections)


def _expand(inputs: list[e.AttributeReference], projections: list[list[e.Expression]],
            batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    ev = BatchEvaluator(inputs)
    names = [str(i) for i in range(len(projections[0]))]
    for batch in batches:
        for row in projections:
            yield pa.RecordBatch.from_arrays([ev.column(x, batch) for x in row], names=names)

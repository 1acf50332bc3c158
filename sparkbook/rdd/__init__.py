"""RDDs: the API (``sparkbook.rdd.rdd``), the lineage edges between RDDs
(``dependency``), the kinds of RDD the API builds (``kinds``), checkpointing
(``checkpoint``) and the RDDs that read files (``input``).

RDDs are shared by the driver, which builds their lineage, and the executors, which
compute their partitions.
"""

from sparkbook.rdd.rdd import RDD, Partition, ResultIterable

__all__ = ["RDD", "Partition", "ResultIterable"]

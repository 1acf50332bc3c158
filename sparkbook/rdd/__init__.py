"""RDDs: the API (``rdd``), the lineage edges between RDDs (``dependency``), the kinds of
RDD the API builds (``kinds``), the RDDs that read files (``input``), checkpointing
(``checkpoint``), and the API's helpers (``approx``, ``sampling``, ``histogram``).

RDDs are shared by the driver, which builds their lineage, and the executors, which
compute their partitions.
"""

from sparkbook.rdd.rdd import RDD, Partition, ResultIterable

__all__ = ["RDD", "Partition", "ResultIterable"]

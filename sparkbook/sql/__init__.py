"""DataFrames and Spark SQL on sparkbook's own executors (the API of ``pyspark.sql``).

The API (``session``, ``dataframe``, ``column``, ``functions``, ``types``, ``row``) builds
logical plans; ``catalyst`` parses expression text and analyzes plans; ``execution`` plans
them physically and runs them as ordinary RDD jobs over Arrow record batches. The package
sits on the driver's RDD machinery and never reaches into the executor or the manager.
"""

from sparkbook.errors import AnalysisException, ParseException
from sparkbook.sql.column import Column
from sparkbook.sql.dataframe import DataFrame
from sparkbook.sql.row import Row
from sparkbook.sql.session import RuntimeConfig, SparkSession

__all__ = ["SparkSession", "DataFrame", "Column", "Row", "RuntimeConfig",
           "AnalysisException", "ParseException"]

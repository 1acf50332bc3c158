"""The SQL errors under their older home (``pyspark.sql.utils``)."""

from sparkbook.errors import (
                              AnalysisException,
                              ArithmeticException,
                              IllegalArgumentException,
                              NumberFormatException,
                              ParseException,
                              SparkRuntimeException,
)

__all__ = ["AnalysisException", "ParseException", "ArithmeticException",
           "IllegalArgumentException", "NumberFormatException", "SparkRuntimeException"]

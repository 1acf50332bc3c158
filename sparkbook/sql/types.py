"""Spark SQL's data types (the API of ``pyspark.sql.types``), DDL strings, and the schema
inferred from Python values, as PySpark infers it."""

from __future__ import annotations

import datetime
import decimal
import json
import re
from collections.abc import Iterator
from typing import Any

from sparkbook.errors import ParseException, PySparkTypeError, PySparkValueError

__all__ = [
    "DataType", "NullType", "StringType", "BinaryType", "BooleanType", "DateType",
    "TimestampType", "TimestampNTZType", "DecimalType", "DoubleType", "FloatType", "ByteType",
    "ShortType", "IntegerType", "LongType", "ArrayType", "MapType", "StructField", "StructType",
    "AtomicType", "NumericType", "IntegralType", "FractionalType", "java_number_str",
    "parse_ddl",
]


class DataType:
    """The base of every type; equal when of the same class with the same parameters."""

    _simple = ""  # the SQL name when it differs from typeName()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(repr(self))

    @classmethod
    def typeName(cls) -> str:
        return cls.__name__[:-4].lower()

    def simpleString(self) -> str:
        return self._simple or self.typeName()

    def jsonValue(self) -> Any:
        return self.typeName()

    def json(self) -> str:
        return json.dumps(self.jsonValue(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def fromDDL(cls, ddl: str) -> DataType:
        """A type from DDL text: ``"int"``, ``"array<string>"`` or ``"a int, b string"``."""
        return parse_ddl(ddl)


class AtomicType(DataType):
    pass


class NumericType(AtomicType):
    pass


class IntegralType(NumericType):
    pass


class FractionalType(NumericType):
    pass


class NullType(DataType):
    _simple = "void"

    @classmethod
    def typeName(cls) -> str:
        return "void"


class StringType(AtomicType):
    pass


class BinaryType(AtomicType):
    pass


class BooleanType(AtomicType):
    pass


class DateType(AtomicType):
    pass


class TimestampType(AtomicType):
    pass


class TimestampNTZType(AtomicType):
    @classmethod
    def typeName(cls) -> str:
        return "timestamp_ntz"


class DoubleType(FractionalType):
    pass


class FloatType(FractionalType):
    pass


class ByteType(IntegralType):
    _simple = "tinyint"


class ShortType(IntegralType):
    _simple = "smallint"


class IntegerType(IntegralType):
    _simple = "int"


class LongType(IntegralType):
    _simple = "bigint"


class DecimalType(FractionalType):
    def __init__(self, precision: int = 10, scale: int = 0) -> None:
        self.precision = precision
        self.scale = scale

    def simpleString(self) -> str:
        return f"decimal({self.precision},{self.scale})"

    def jsonValue(self) -> str:
        return self.simpleString()

    def __repr__(self) -> str:
        return f"DecimalType({self.precision},{self.scale})"


class ArrayType(DataType):
    def __init__(self, elementType: DataType, containsNull: bool = True) -> None:
        self.elementType = elementType
        self.containsNull = containsNull

    def simpleString(self) -> str:
        return f"array<{self.elementType.simpleString()}>"

    def jsonValue(self) -> dict:
        return {"type": "array", "elementType": self.elementType.jsonValue(),
                "containsNull": self.containsNull}

    def __repr__(self) -> str:
        return f"ArrayType({self.elementType!r}, {self.containsNull})"


class MapType(DataType):
    def __init__(self, keyType: DataType, valueType: DataType,
                 valueContainsNull: bool = True) -> None:
        self.keyType = keyType
        self.valueType = valueType
        self.valueContainsNull = valueContainsNull

    def simpleString(self) -> str:
        return f"map<{self.keyType.simpleString()},{self.valueType.simpleString()}>"

    def jsonValue(self) -> dict:
        return {"type": "map", "keyType": self.keyType.jsonValue(),
                "valueType": self.valueType.jsonValue(),
                "valueContainsNull": self.valueContainsNull}

    def __repr__(self) -> str:
        return f"MapType({self.keyType!r}, {self.valueType!r}, {self.valueContainsNull})"


class StructField(DataType):
    def __init__(self, name: str, dataType: DataType, nullable: bool = True,
                 metadata: dict | None = None) -> None:
        self.name = name
        self.dataType = dataType
        self.nullable = nullable
        self.metadata = metadata or {}

    def simpleString(self) -> str:
        return f"{self.name}:{self.dataType.simpleString()}"

    def jsonValue(self) -> dict:
        return {"name": self.name, "type": self.dataType.jsonValue(),
                "nullable": self.nullable, "metadata": self.metadata}

    def __repr__(self) -> str:
        return f"StructField({self.name!r}, {self.dataType!r}, {self.nullable})"


class StructType(DataType):
    def __init__(self, fields: list[StructField] | None = None) -> None:
        self.fields = list(fields or [])
        self.names = [f.name for f in self.fields]

    def add(self, field: str | StructField, data_type: DataType | str | None = None,
            nullable: bool = True, metadata: dict | None = None) -> StructType:
        if isinstance(field, StructField):
            self.fields.append(field)
        else:
            if isinstance(data_type, str):
                data_type = parse_ddl(data_type)
            self.fields.append(StructField(field, data_type, nullable, metadata))
        self.names = [f.name for f in self.fields]
        return self

    def fieldNames(self) -> list[str]:
        return list(self.names)

    def __iter__(self) -> Iterator[StructField]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            for f in self.fields:
                if f.name == key:
                    return f
            raise PySparkKeyError(f"No StructField named {key}")
        if isinstance(key, slice):
            return StructType(self.fields[key])
        return self.fields[key]

    def simpleString(self) -> str:
        return "struct<" + ",".join(f.simpleString() for f in self.fields) + ">"

    def jsonValue(self) -> dict:
        return {"type": "struct", "fields": [f.jsonValue() for f in self.fields]}

    def __repr__(self) -> str:
        return "StructType([" + ", ".join(repr(f) for f in self.fields) + "])"

    def treeString(self) -> str:
        """What ``printSchema()`` prints."""
        lines = ["root"]
        for f in self.fields:
            _tree_lines(lines, f.name, f.dataType, f"(nullable = {_bool(f.nullable)})", " |")
        return "\n".join(lines) + "\n"

    @classmethod
    def fromDDL(cls, ddl: str) -> StructType:  # type: ignore[override]
        parsed = parse_ddl(ddl)
        return parsed if isinstance(parsed, StructType) else StructType(
            [StructField("value", parsed)])


class PySparkKeyError(KeyError):
    pass


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _tree_lines(lines: list[str], name: str, dt: DataType, suffix: str, prefix: str) -> None:
    kind = dt.typeName() if isinstance(dt, (ArrayType, MapType, StructType)) else (
        dt.simpleString() if isinstance(dt, DecimalType) else dt.typeName())
    lines.append(f"{prefix}-- {name}: {kind} {suffix}".rstrip())
    inner = prefix + "    |"
    if isinstance(dt, ArrayType):
        _tree_lines(lines, "element", dt.elementType,
                    f"(containsNull = {_bool(dt.containsNull)})", inner)
    elif isinstance(dt, MapType):
        _tree_lines(lines, "key", dt.keyType, "", inner)
        _tree_lines(lines, "value", dt.valueType,
                    f"(valueContainsNull = {_bool(dt.valueContainsNull)})", inner)
    elif isinstance(dt, StructType):
        for f in dt.fields:
            _tree_lines(lines, f.name, f.dataType, f"(nullable = {_bool(f.nullable)})", inner)


# --- DDL ---------------------------------------------------------------------------------

_ATOMIC_NAMES: dict[str, type[DataType]] = {
    "string": StringType, "varchar": StringType, "char": StringType, "binary": BinaryType,
    "boolean": BooleanType, "bool": BooleanType, "date": DateType,
    "timestamp": TimestampType, "timestamp_ltz": TimestampType,
    "timestamp_ntz": TimestampNTZType, "double": DoubleType, "float": FloatType,
    "real": FloatType, "tinyint": ByteType, "byte": ByteType, "smallint": ShortType,
    "short": ShortType, "int": IntegerType, "integer": IntegerType, "bigint": LongType,
    "long": LongType, "void": NullType,
}

_TOKEN = re.compile(r"\s*(`(?:[^`]|``)*`|[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:]|\S)")


class _DDLParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, int]] = []
        for m in _TOKEN.finditer(text):
            if m.group(1):
                self.tokens.append((m.group(1), m.start(1)))
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else ""

    def pos(self) -> int:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.text)

    def take(self) -> str:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        if self.peek() != tok:
            raise self.syntax_error()
        self.i += 1

    def syntax_error(self) -> ParseException:
        near = self.peek()
        where = f"'{near}'" if near else "end of input"
        return parse_error("PARSE_SYNTAX_ERROR", f"Syntax error at or near {where}.",
                           self.text, self.pos(), "42601")

    def data_type(self) -> DataType:
        start = self.pos()
        name = self.take()
        low = name.lower()
        if low == "array":
            self.expect("<")
            element = self.data_type()
            self.expect(">")
            return ArrayType(element, True)
        if low == "map":
            self.expect("<")
            key = self.data_type()
            self.expect(",")
            value = self.data_type()
            self.expect(">")
            return MapType(key, value, True)
        if low == "struct":
            self.expect("<")
            fields = [] if self.peek() == ">" else self.fields(">")
            self.expect(">")
            return StructType(fields)
        if low in ("decimal", "dec", "numeric"):
            if self.peek() != "(":
                return DecimalType(10, 0)
            self.take()
            precision = int(self.take())
            scale = 0
            if self.peek() == ",":
                self.take()
                scale = int(self.take())
            self.expect(")")
            return DecimalType(precision, scale)
        if low in ("varchar", "char") and self.peek() == "(":
            self.take(), self.take(), self.expect(")")
        kind = _ATOMIC_NAMES.get(low)
        if kind is None:
            if not name or not (name[0].isalpha() or name[0] == "_"):
                self.i -= 1
                raise self.syntax_error()
            raise parse_error("UNSUPPORTED_DATATYPE", f'Unsupported data type "{name.upper()}".',
                              self.text, start, "0A000")
        return kind()

    def fields(self, end: str) -> list[StructField]:
        fields = []
        while True:
            name = self.take()
            if not name:
                raise self.syntax_error()
            if name.startswith("`"):
                name = name[1:-1].replace("``", "`")
            if self.peek() == ":":
                self.take()
            dt = self.data_type()
            nullable = True
            if self.peek().lower() == "not":
                self.take()
                if self.take().lower() != "null":
                    self.i -= 1
                    raise self.syntax_error()
                nullable = False
            fields.append(StructField(name, dt, nullable))
            if self.peek() != ",":
                return fields
            self.take()


def parse_error(error_class: str, message: str, text: str, pos: int,
                sql_state: str) -> ParseException:
    """A ParseException worded and pointed as Spark's parser does."""
    body = (f"\n[{error_class}] {message} SQLSTATE: {sql_state} (line 1, pos {pos})\n\n"
            f"== SQL ==\n{text}\n{'-' * pos}^^^\n")
    return ParseException(body, error_class, {}, sql_state)


def parse_ddl(ddl: str) -> DataType:
    """A single type (``"int"``) or a struct's fields (``"a int, b: string"``)."""
    p = _DDLParser(ddl)
    # A lone type name is a type; anything with a field name is a struct's fields.
    if len(p.tokens) == 1 or (p.tokens and p.tokens[1][0] in ("<", "(")):
        dt = p.data_type()
        if p.peek():
            raise p.syntax_error()
        return dt
    fields = p.fields("")
    if p.peek():
        raise p.syntax_error()
    return StructType(fields)


# --- inferring a schema from Python values ------------------------------------------------


def infer_type(value: Any) -> DataType:
    """The type PySpark gives a Python value (an int is a bigint, a float a double)."""
    from sparkbook.sql.row import Row

    if value is None:
        return NullType()
    if isinstance(value, bool):
        return BooleanType()
    if isinstance(value, int):
        return LongType()
    if isinstance(value, float):
        return DoubleType()
    if isinstance(value, str):
        return StringType()
    if isinstance(value, (bytes, bytearray)):
        return BinaryType()
    if isinstance(value, datetime.datetime):
        return TimestampType()
    if isinstance(value, datetime.date):
        return DateType()
    if isinstance(value, decimal.Decimal):
        return DecimalType(38, 18)
    if isinstance(value, Row) and hasattr(value, "__fields__"):
        return StructType([StructField(k, infer_type(v)) for k, v in
                           zip(value.__fields__, value)])
    if isinstance(value, (list, tuple)) and not isinstance(value, Row):
        element: DataType = NullType()
        for v in value:
            element = merge_types(element, infer_type(v))
        return ArrayType(element, True)
    if isinstance(value, dict):
        key: DataType = NullType()
        val: DataType = NullType()
        for k, v in value.items():
            key, val = merge_types(key, infer_type(k)), merge_types(val, infer_type(v))
        return MapType(key, val, True)
    raise PySparkTypeError(
        f"[UNSUPPORTED_DATA_TYPE] Unsupported DataType `{type(value).__name__}`.",
        "UNSUPPORTED_DATA_TYPE", {"data_type": type(value).__name__})


def merge_types(a: DataType, b: DataType) -> DataType:
    """Two inferred types of one field: None gives way; a string absorbs another atom."""
    if isinstance(a, NullType):
        return b
    if isinstance(b, NullType) or a == b:
        return a
    if isinstance(a, StructType) and isinstance(b, StructType):
        fields = {f.name: f.dataType for f in a.fields}
        for f in b.fields:
            fields[f.name] = merge_types(fields.get(f.name, NullType()), f.dataType)
        return StructType([StructField(k, v) for k, v in fields.items()])
    if isinstance(a, ArrayType) and isinstance(b, ArrayType):
        return ArrayType(merge_types(a.elementType, b.elementType), True)
    if isinstance(a, MapType) and isinstance(b, MapType):
        return MapType(merge_types(a.keyType, b.keyType),
                       merge_types(a.valueType, b.valueType), True)
    if isinstance(a, StringType) and isinstance(b, AtomicType) or (
            isinstance(b, StringType) and isinstance(a, AtomicType)):
        return StringType()
    raise PySparkTypeError(
        f"[CANNOT_MERGE_TYPE] Can not merge type `{type(a).__name__}` and "
        f"`{type(b).__name__}`.", "CANNOT_MERGE_TYPE",
        {"data_type1": type(a).__name__, "data_type2": type(b).__name__})


def has_null_type(dt: DataType) -> bool:
    if isinstance(dt, NullType):
        return True
    if isinstance(dt, StructType):
        return any(has_null_type(f.dataType) for f in dt.fields)
    if isinstance(dt, ArrayType):
        return has_null_type(dt.elementType)
    if isinstance(dt, MapType):
        return has_null_type(dt.keyType) or has_null_type(dt.valueType)
    return False


def cannot_determine_type() -> PySparkValueError:
    return PySparkValueError(
        "[CANNOT_DETERMINE_TYPE] Some of types cannot be determined after inferring.",
        "CANNOT_DETERMINE_TYPE")


def to_sql_type_name(dt: DataType) -> str:
    """How Spark's messages name a type: ``"BIGINT"``, ``"STRING"``."""
    return dt.simpleString().upper()



def java_number_str(x: float, dt: DataType | None = None) -> str:
    """A double (or float) as Spark prints it, Java's way: ``1.0``, ``1.0E7``, ``1.0E-4``."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    text = _shortest_float32(x) if isinstance(dt, FloatType) else repr(x)
    if x == 0:
        return "-0.0" if text.startswith("-") else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        digits = decimal.Decimal(text)
        plain = format(digits, "f")
        return plain if "." in plain else plain + ".0"
    _, digits_, exponent = decimal.Decimal(text).normalize().as_tuple()
    mantissa = "".join(map(str, digits_))
    power = len(mantissa) - 1 + exponent
    sign = "-" if x < 0 else ""
    return f"{sign}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


def _shortest_float32(x: float) -> str:
    import struct

    target = struct.unpack("f", struct.pack("f", x))[0]
    for precision in range(1, 10):
        text = f"{x:.{precision}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == target:
            return text
    return repr(x)

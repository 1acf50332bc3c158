"""Spark's CSV data source on an executor: a split read a block at a time with pyarrow's
streaming CSV reader (a task holds a few blocks, never its whole split), its values parsed
into the schema's types, malformed rows handled as the ``mode`` option says (PERMISSIVE,
DROPMALFORMED, FAILFAST, with ``columnNameOfCorruptRecord``), and, for ``inferSchema``,
the types a split's values parse as.

As Spark's parser does (``spark.sql.csv.parser.columnPruning.enabled``), only the columns a
query reads are parsed: a bad value in another column is no malformed row, and a row with
too few or too many values is malformed only when every column is read (otherwise it is
padded with NULLs or cut)."""

from __future__ import annotations

import collections
import csv
import io
import itertools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.rdd.input import FileSplit, SplitStream, iter_lines, line_range
from sparkbook.sql import types as T
from sparkbook.sql.execution.arrow import to_arrow_type

if TYPE_CHECKING:
    from sparkbook.sql.execution.files import ReadSpec, SourceFile

BLOCK_SIZE = 1024 * 1024  # the text pyarrow parses at a time (it reads ~16 blocks ahead)
CORRUPT_RECORD = "_corrupt_record"  # spark.sql.columnNameOfCorruptRecord


def truthy(value: Any) -> bool:
    return str(value).lower() == "true"


def parse_options(options: dict[str, str], invalid_row_handler=None):
    """pyarrow's ParseOptions for the reader's ``sep``, ``quote`` and ``escape``."""
    import pyarrow.csv as pcsv

    sep = options.get("sep", options.get("delimiter", ","))
    quote = options.get("quote", '"')
    escape = options.get("escape", "\\")
    return pcsv.ParseOptions(delimiter=sep, quote_char=quote or False,
                             escape_char=escape or False, double_quote=True,
                             newlines_in_values=truthy(options.get("multiLine")),
                             invalid_row_handler=invalid_row_handler)


def first_record(text: str, options: dict[str, str]) -> list[str]:
    """The values of the first record of ``text`` as the reader splits them: Python's csv
    module has pyarrow's rules (a quote opens a value only at its start, a doubled quote
    or the escape character within), in microseconds where a pyarrow read of one line
    costs half a millisecond (most of a small file's read)."""
    parsed = parse_options(options)  # and the reader's checks of the options
    if len(text) > csv.field_size_limit():  # pyarrow takes a value of any length
        csv.field_size_limit(len(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=parsed.delimiter,
                        quotechar=parsed.quote_char or None,
                        quoting=csv.QUOTE_MINIMAL if parsed.quote_char else csv.QUOTE_NONE,
                        escapechar=parsed.escape_char or None,
                        doublequote=parsed.double_quote, strict=False)
    return next(reader, [])


# Booleans in any case, as cast_strings reads them (pyarrow's own list has "1", "0").
_TRUE, _FALSE = (["".join(p) for p in itertools.product(*zip(w, w.upper()))]
                 for w in ("true", "false"))

# The types pyarrow's CSV reader parses to the very values cast_strings makes of the text
# (whitespace around a number trimmed, booleans in any case), or rejects; dates,
# timestamps and decimals keep the string path, whose rules are Spark's patterns.
_READ_TYPED = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType,
               T.DoubleType, T.BooleanType)


def _convert_options(options: dict[str, str], include: list[str],
                     types: dict[str, pa.DataType]):
    import pyarrow.csv as pcsv

    return pcsv.ConvertOptions(
        include_columns=include, column_types={**dict.fromkeys(include, pa.string()), **types},
        # An empty field is NULL whatever nullValue says, as Spark reads it.
        null_values=sorted({options.get("nullValue", ""), ""}), strings_can_be_null=True,
        quoted_strings_can_be_null=False, true_values=_TRUE, false_values=_FALSE)


def cast_strings(values: pa.Array, dt: T.DataType) -> pa.Array:
    """Text as a Spark type (raises pyarrow's ArrowInvalid for text that does not parse;
    booleans other than true and false are NULL)."""
    if isinstance(dt, T.StringType):
        return values
    if isinstance(dt, T.BooleanType):
        lowered = pc.utf8_lower(values)
        return pc.if_else(pc.equal(lowered, "true"), True,
                          pc.if_else(pc.equal(lowered, "false"), False, None))
    return pc.cast(pc.utf8_trim_whitespace(values), to_arrow_type(dt))


def cast_or_null(values: pa.Array, dt: T.DataType) -> tuple[pa.Array, pa.Array | None]:
    """Text as a Spark type, NULL where it does not parse; and the mask of those values
    (None when every value parsed)."""
    parts = _cast_parts(values, dt)
    cast = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    bad = pc.and_(cast.is_null(), values.is_valid())
    return cast, bad if pc.any(bad).as_py() else None


def _cast_parts(values: pa.Array, dt: T.DataType) -> list[pa.Array]:
    # Halving around a value that does not parse finds it in log(n) vectorised casts.
    try:
        return [cast_strings(values, dt)]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(values) == 1:
            return [pa.nulls(1, to_arrow_type(dt))]
    half = len(values) // 2
    return _cast_parts(values.slice(0, half), dt) + _cast_parts(values.slice(half), dt)


# --- parse modes and the corrupt record column ---------------------------------------


def parse_mode(options: dict[str, str]) -> str:
    """PERMISSIVE (also for a mode Spark does not know), DROPMALFORMED or FAILFAST."""
    mode = options.get("mode", "PERMISSIVE").upper()
    return mode if mode in ("DROPMALFORMED", "FAILFAST") else "PERMISSIVE"


def corrupt_record_column(spec: ReadSpec) -> int | None:
    """The schema's position of the column that holds a malformed row's text, if any."""
    name = spec.options.get("columnNameOfCorruptRecord", CORRUPT_RECORD)
    return next((i for i, f in enumerate(spec.data_schema.fields) if f.name == name), None)


def check_corrupt_record_column(spec: ReadSpec, columns: list[int]) -> None:
    """Spark's checks when a query is planned: the corrupt record column is a string, and
    a query reads more than it alone."""
    from sparkbook.errors import AnalysisException, sql_error

    i = corrupt_record_column(spec)
    if i is None:
        return
    field = spec.data_schema.fields[i]
    if not isinstance(field.dataType, T.StringType):
        raise sql_error("INVALID_CORRUPT_RECORD_TYPE", "42804",
                        f"The column `{field.name}` for corrupt records must have the "
                        f'nullable STRING type, but got "{field.dataType.simpleString().upper()}".',
                        columnName=f"`{field.name}`", actualType=field.dataType.simpleString())
    if columns == [i]:
        raise AnalysisException(
            "[UNSUPPORTED_FEATURE.QUERY_ONLY_CORRUPT_RECORD_COLUMN] The feature is not "
            "supported: Queries from raw JSON/CSV/XML files are disallowed when the\n"
            "referenced columns only include the internal corrupt record column\n"
            "(named `_corrupt_record` by default). For example:\n"
            "`spark.read.schema(schema).json(file).filter($\"_corrupt_record\".isNotNull)"
            ".count()`\nand `spark.read.schema(schema).json(file).select(\"_corrupt_record\")"
            ".show()`.\nInstead, you can cache or save the parsed results and then send the "
            "same query.\nFor example, `val df = spark.read.schema(schema).json(file).cache()` "
            "and then\n`df.filter($\"_corrupt_record\".isNotNull).count()`. SQLSTATE: 0A000",
            "UNSUPPORTED_FEATURE.QUERY_ONLY_CORRUPT_RECORD_COLUMN", {}, "0A000")


def malformed_record_error(path: str, record: list) -> Exception:
    """FAILFAST's error: the file that could not be read, for the malformed row in it."""
    from sparkbook.errors import SparkRuntimeException

    shown = ",".join("null" if v is None else str(v) for v in record)
    return SparkRuntimeException(
        f"[FAILED_READ_FILE.NO_HINT] Encountered error while reading file file://{path}.  "
        f"SQLSTATE: KD001\nCaused by: [MALFORMED_RECORD_IN_PARSING.WITHOUT_SUGGESTION] "
        f"Malformed records are detected in record parsing: [{shown}].\nParse Mode: "
        f"FAILFAST. To process malformed records as null result, try setting the option "
        f"'mode' as 'PERMISSIVE'.  SQLSTATE: 22023", "FAILED_READ_FILE.NO_HINT",
        {"path": f"file://{path}"}, "KD001")


# --- reading a split -------------------------------------------------------------------


# The first line (of text whose \r are \n) with a character other than whitespace: a
# match starts at a line's start and runs to its end; the whitespace before the first
# other character cannot match it too, so a search takes linear time (the blanks of a
# line are not tried again from each of their positions).
_NON_BLANK_LINE = re.compile(r"(?m)^[^\S\n]*\S.*")


class CsvSplitReader:
    """The rows of one split as tables (columns named by schema position), a block at a
    time. Numbers and booleans are parsed by pyarrow as it reads; at the first value it
    does not take, the rest of the split is read again as text and cast as Spark parses
    it, value by value NULL where it does not parse, so the values are the same either
    way. Rows with another number of values than the split's first line are set aside by
    pyarrow and put back in their place."""

    def __init__(self, spec: ReadSpec, split: FileSplit, wanted: list[int],
                 values_read: bool) -> None:
        self.spec, self.split, self.wanted = spec, split, wanted
        fields = spec.data_schema.fields
        self.types = {i: fields[i].dataType for i in wanted}
        self.corrupt = corrupt_record_column(spec)
        file_fields = [i for i in range(len(fields)) if i != self.corrupt]
        self.width = len(file_fields)
        self.position = {f: p for p, f in enumerate(file_fields)}  # a field's file column
        self.parsed = [i for i in wanted if i != self.corrupt]
        # A count() parses nothing: no row is malformed.
        self.mode = parse_mode(spec.options) if values_read else "PERMISSIVE"
        self.check_width = values_read and len(self.parsed) == self.width
        # The text of a malformed row: its corrupt record value, or in FAILFAST's error.
        self.keep_text = self.corrupt in wanted and self.mode != "DROPMALFORMED"

    def tables(self) -> Iterator[pa.Table]:
        typed = {str(self.position[i]): to_arrow_type(self.types[i]) for i in self.parsed
                 if isinstance(self.types[i], _READ_TYPED)}
        done = 1  # the number of the first row not given out yet
        while True:
            try:
                for table, last in self._read(typed, done):
                    yield table
                    done = last
                return
            except pa.ArrowInvalid:
                if not typed:
                    raise
                typed = {}  # a value pyarrow does not take: the rest as text, cast

    @property
    def _skip_header(self) -> bool:
        # Only the split that starts a file holds its header line.
        return self.split.start == 0 and truthy(self.spec.options.get("header"))

    def _read(self, typed: dict[str, pa.DataType], first: int) -> Iterator:
        import pyarrow.csv as pcsv

        invalid: collections.deque[tuple[int, str]] = collections.deque()  # (number, text)

        def set_aside(row) -> str:
            # (No number is known only with threads: put it back where it shows up.)
            invalid.append((row.number if row.number is not None else 0, row.text))
            return "skip"

        start, end = line_range(self.split, self._skip_header)
        # pyarrow reads rows as wide as the split's first: a schema narrower or wider than
        # the file does not send every row down the slow path of rows set aside.
        width = self._first_width(start, end)
        include = [str(self.position[i]) for i in self.parsed
                   if self.position[i] < width] or ["0"]
        read = pcsv.ReadOptions(column_names=[str(i) for i in range(width)],
                                use_threads=False, block_size=BLOCK_SIZE)  # one core a task
        typed = {c: t for c, t in typed.items() if c in include}
        # A native stream of the split's lines: no Python file object between pyarrow's
        # read-ahead thread and the disk.
        with pa.OSFile(self.split.path) as file, self._texts() as texts:
            try:
                reader = pcsv.open_csv(file.get_stream(start, end - start), read_options=read,
                                       parse_options=parse_options(self.spec.options,
                                                                   set_aside),
                                       convert_options=_convert_options(
                                           self.spec.options, include, typed))
            except pa.ArrowInvalid as exc:
                if "Empty CSV file" in str(exc):
                    return
                raise
            number = 1
            for batch in reader:
                pieces, taken = [], 0
                while taken < batch.num_rows:
                    if invalid and invalid[0][0] <= number:
                        pieces.append(invalid.popleft())
                        number += 1
                        continue
                    run = batch.num_rows - taken
                    if invalid:
                        run = min(run, invalid[0][0] - number)
                    pieces.append((number, (batch.slice(taken, run), width)))
                    taken, number = taken + run, number + run
                yield self._table(pieces, first, texts), number
            if invalid:
                yield self._table(invalid, first, texts), number + len(invalid)

    def _texts(self):
        """The split's lines but empty ones (a row a line), when malformed rows keep their
        text."""
        import contextlib

        if not self.keep_text:
            return contextlib.nullcontext(None)
        stream = SplitStream(self.split, self._skip_header)
        lines = (line for line in iter_lines(stream) if line)
        if truthy(self.spec.options.get("multiLine")):
            lines = _records(lines, self.spec.options.get("quote", '"'),
                             self.spec.options.get("escape", "\\"))
        return contextlib.closing(_Lines(lines, stream))

    def _table(self, pieces: list, first: int, texts) -> pa.Table:
        tables = []
        for number, piece in pieces:
            size = 1 if isinstance(piece, str) else piece[0].num_rows
            lines = texts.take(size) if texts is not None else None
            if number + size <= first:
                continue  # given out before the split was read again as text
            if isinstance(piece, str):
                if not piece.strip():
                    continue  # a blank line is no row
                piece = self._tokens(piece)
            elif number < first:
                piece = (piece[0].slice(first - number), piece[1])
                lines = lines and lines[first - number:]
            batch, width = piece
            table = self._values(batch, self.check_width and width != self.width, lines)
            if table.num_rows:
                tables.append(table)
        if not tables:
            return pa.table({str(i): pa.array([], to_arrow_type(self.types[i]))
                             for i in self.wanted})
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables)

    def _first_width(self, start: int, end: int) -> int:
        """How many values the first line of ``[start, end)`` has (the schema's width when
        the range has no line)."""
        if truthy(self.spec.options.get("multiLine")):
            return max(self.width, 1)
        with open(self.split.path, "rb") as f:
            f.seek(start)
            head = f.read(min(end - start, 1 << 16)).decode("utf-8", errors="replace")
        # Searched, not split into all its ~1,000 lines.
        line = _NON_BLANK_LINE.search(head.replace("\r", "\n"))
        if line is None:
            return max(self.width, 1)
        return len(first_record(line.group(), self.spec.options))

    def _tokens(self, text: str) -> tuple[pa.RecordBatch, int]:
        """A row set aside as the file's columns (padded with NULLs, or cut), and its
        width."""
        values = self._token_values(text)
        width = len(values)
        values = (values + [None] * self.width)[:self.width]
        return pa.RecordBatch.from_pydict(
            {str(p): pa.array([v], pa.string()) for p, v in enumerate(values)}), width

    def _token_values(self, text: str) -> list[str | None]:
        import pyarrow.csv as pcsv

        options = self.spec.options
        # Every token text: a row has at most one more than it has separators.
        most = text.count(options.get("sep", options.get("delimiter", ","))) + 1
        as_text = {f"f{i}": pa.string() for i in range(most)}
        row = pcsv.read_csv(pa.BufferReader(text.encode() + b"\n"),
                            read_options=pcsv.ReadOptions(autogenerate_column_names=True),
                            parse_options=parse_options(options),
                            convert_options=_convert_options(options, [], as_text))
        return [row.column(i)[0].as_py() for i in range(row.num_columns)]

    def _values(self, piece: pa.RecordBatch, malformed: bool, lines: list | None
                ) -> pa.Table:
        """The wanted columns of rows as read, cast to their types, the malformed rows
        handled as the mode says."""
        columns: dict[str, pa.Array] = {}
        n = piece.num_rows
        bad = pa.array([True] * n) if malformed else None
        for i in self.parsed:
            p = self.position[i]
            # A column past the row's width: NULL.
            values = piece.column(str(p)) if str(p) in piece.schema.names else \
                pa.nulls(n, pa.string())
            if pa.types.is_string(values.type) and not isinstance(self.types[i], T.StringType):
                values, wrong = cast_or_null(values, self.types[i])
                if wrong is not None:
                    bad = wrong if bad is None else pc.or_(bad, wrong)
            columns[str(i)] = values
        if bad is not None:
            if self.mode == "FAILFAST":
                row = bad.index(True).as_py()
                raise malformed_record_error(self.split.path, [
                    (lines[row] if lines else None) if i == self.corrupt else
                    columns[str(i)][row].as_py() for i in self.wanted])
            if self.mode == "DROPMALFORMED":
                keep = pc.invert(bad)
                columns = {k: v.filter(keep) for k, v in columns.items()}
                n = pc.sum(keep).as_py() or 0
        if self.corrupt in self.wanted:
            text = pa.nulls(n, pa.string())
            if bad is not None and self.mode == "PERMISSIVE":
                text = pc.if_else(bad, pa.array(lines, pa.string()), text)
            columns[str(self.corrupt)] = text
        return pa.table({str(i): columns[str(i)] for i in self.wanted})


def _records(lines: Iterator[str], quote: str, escape: str) -> Iterator[str]:
    """Lines joined into records where a quoted value spans them (``multiLine``): a record
    ends on a line that leaves no quote open."""
    record: list[str] = []
    open_quote = False
    for line in lines:
        record.append(line)
        if quote:
            unescaped = line.replace(escape + quote, "") if escape else line
            open_quote ^= unescaped.count(quote) % 2 == 1
        if not open_quote:
            yield "\n".join(record)
            record = []
    if record:
        yield "\n".join(record)


class _Lines:
    """A stream's lines handed out a run at a time."""

    def __init__(self, lines: Iterator[str], stream: SplitStream) -> None:
        self._lines, self._stream = lines, stream

    def take(self, n: int) -> list[str]:
        return list(itertools.islice(self._lines, n))

    def close(self) -> None:
        self._stream.close()


def read_csv(spec: ReadSpec, split: FileSplit, wanted: list[int]) -> Iterator[pa.Table]:
    """The tables of a CSV split, columns named by their schema positions ``wanted``."""
    values_read = spec.columns is None or any(
        i < len(spec.data_schema.fields) for i in spec.columns)
    return CsvSplitReader(spec, split, wanted, values_read).tables()


# --- the header and type inference -----------------------------------------------------


def csv_header(files: list[SourceFile], options: dict[str, str]) -> list[str]:
    """The column names: the first line of the first file, or ``_c0``, ``_c1``, ...; as
    Spark names them, a header's empty value (or its ``nullValue``) is ``_c<i>`` too, and
    the others are the text as it is (not a number or a boolean it may parse as)."""
    first = next((f for f in files if f.size > 0), None)
    if first is None:
        return []
    with open(first.path, "rb") as fh:
        line = fh.readline().decode("utf-8-sig", errors="replace")  # the BOM is no name
    values = first_record(line, options)
    if truthy(options.get("header")):
        null = options.get("nullValue", "")
        return [v if v and v != null else f"_c{i}" for i, v in enumerate(values)]
    return [f"_c{i}" for i in range(len(values))]


# Spark's CSV type inference, per column: the first of these every value parses as.
_CSV_ORDER = ["int", "bigint", "double", "boolean", "date", "timestamp"]
_WIDER = {frozenset({"int", "bigint"}): "bigint", frozenset({"int", "double"}): "double",
          frozenset({"bigint", "double"}): "double",
          frozenset({"date", "timestamp"}): "timestamp"}


def merge_type_names(a: str | None, b: str | None) -> str | None:
    """Two inferred types as one (None: no values yet)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    return _WIDER.get(frozenset({a, b}), "string")


def column_type(values: pa.Array) -> str | None:
    """The type Spark infers for a column of text (None: no values)."""
    values = values.drop_null()
    if len(values) == 0:
        return None
    for name in _CSV_ORDER:
        if _parses_as(values, name):
            return name
    return "string"


# What a value must start with to parse as each type: checked on the first value before
# any vectorised cast, because a failing cast of a text column costs milliseconds and
# inference tries every type on every column.
_NUMBER = re.compile(r"^\s*[-+]?(\d|\.\d|NaN|Infinity)")  # "1e5" and " 2" parse, "x" does not
_LOOKS_LIKE = {"int": _NUMBER, "bigint": _NUMBER, "double": _NUMBER,
               "boolean": re.compile(r"(?i)^(true|false)$"),
               "date": re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"),
               "timestamp": re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")}


# A failing cast reads every value (0.3 us each), one that fails early too: a cast of the
# first values goes first, so that a column of decimals is no int in microseconds.
_PROBE = 64


def _parses_as(values: pa.Array, name: str) -> bool:
    if not _LOOKS_LIKE[name].match(values[0].as_py()):
        return False
    if name == "boolean":
        lowered = pc.utf8_lower(values)
        return bool(pc.all(pc.is_in(lowered, pa.array(["true", "false"]))).as_py())
    # pyarrow casts to an integer only [-]digits (or 0x and hex digits), which the pattern
    # takes anyway: it is checked for the other types only.
    if name not in ("int", "bigint") and not pc.all(
            pc.match_substring_regex(values, _LOOKS_LIKE[name].pattern)).as_py():
        return False
    target = {"int": pa.int32(), "bigint": pa.int64(), "double": pa.float64(),
              "date": pa.date32(), "timestamp": pa.timestamp("us")}[name]
    try:
        if len(values) > _PROBE:
            pc.cast(values.slice(0, _PROBE), target)
        pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def infer_csv_split(spec: ReadSpec, pieces: list) -> list[list[str | None]]:
    """On an executor: the type each column's values in this partition parse as."""
    everything = list(range(len(spec.data_schema.fields)))
    out = []
    for _file, split in pieces:
        merged: list[str | None] = [None] * len(everything)
        for table in CsvSplitReader(spec, split, everything, False).tables():
            merged = [merge_type_names(a, column_type(table.column(i).combine_chunks()))
                      for a, i in zip(merged, everything)]
        out.append(merged)
    return out

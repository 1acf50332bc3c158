"""Dates and timestamps over whole columns: Spark's string forms read (``cast``, ``to_date``,
``to_timestamp`` with or without a datetime pattern), fields taken apart (``year``,
``dayofweek``, ``hour``...), date arithmetic and ``date_format``.

Spark's datetime patterns (``yyyy-MM-dd HH:mm:ss``) are read into tokens once; parsing is one
regular expression with a named group per field, run by ``pyarrow.compute.extract_regex``
over the column, and formatting joins one string column per token. Timestamps are local
wall-clock time in microseconds (``timestamp[us]`` without a zone), dates ``date32``."""

from __future__ import annotations

import datetime
import re

import pyarrow as pa
import pyarrow.compute as pc

from sparkbook.errors import DateTimeException, SparkRuntimeException, sql_error
from sparkbook.sql.catalyst import expressions as e
from sparkbook.sql.execution.values import Kernel, Value, as_array, first_bad, literal_value

TIMESTAMP = pa.timestamp("us")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# What Spark's cast reads as a timestamp: yyyy[-[m]m[-[d]d]][( |T)[h]h[:[m]m[:[s]s[.f]]]].
_DEFAULT = re.compile(
    r"^\s*(?P<y>\d{4})(?:-(?P<M>\d{1,2})(?:-(?P<d>\d{1,2})(?:[ T](?P<H>\d{1,2})"
    r"(?::(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{0,9}))?)?)?)?)?)?\s*$")


# --- patterns ----------------------------------------------------------------------------

def tokens(pattern: str) -> list[tuple[str, int] | str]:
    """A Spark datetime pattern as ``(letter, count)`` fields and literal text."""
    out: list[tuple[str, int] | str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            end = len(pattern) if end < 0 else end
            out.append(pattern[i + 1:end] or "'")  # '' is a quote
            i = end + 1
        elif ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            out.append((ch, j - i))
            i = j
        else:
            out.append(ch)
            i += 1
    return out


def _unsupported(letter: str) -> SparkRuntimeException:
    return SparkRuntimeException(
        f"[UNSUPPORTED_FEATURE] The datetime pattern letter '{letter}' is not supported in "
        "this version of sparkbook.", "UNSUPPORTED_FEATURE")


def _field_regex(token: tuple[str, int] | str) -> str:
    if isinstance(token, str):
        return re.escape(token)
    letter, n = token
    digits = r"\d{1,2}" if n == 1 else rf"\d{{{n}}}"
    if letter == "y":
        return r"(?P<yy>\d{2})" if n == 2 else rf"(?P<y>\d{{{max(n, 1)},4}})"
    if letter == "M" and n >= 3:
        return r"(?P<Mon>[A-Za-z]{3})" if n == 3 else r"(?P<Month>[A-Za-z]+)"
    if letter in "MdHms":
        return f"(?P<{letter}>{digits})"
    if letter == "h":
        return f"(?P<h>{digits})"
    if letter == "S":
        return rf"(?P<f>\d{{{n}}})"
    if letter == "a":
        return "(?P<a>[AaPp][Mm])"
    if letter == "E":
        return "[A-Za-z]+"
    raise _unsupported(letter)


def parse_regex(pattern: str) -> str:
    return "^" + "".join(_field_regex(t) for t in tokens(pattern)) + "$"


def _day_named(text: str, pattern: str) -> str:
    """`` 'FEBRUARY 30'``, as Spark names a day that does not exist (error path only)."""
    fields = re.match(parse_regex(pattern), text).groupdict()
    month, day = fields.get("M"), fields.get("d")
    if month is None or day is None or not 1 <= int(month) <= 12:
        return ""
    return f" '{MONTHS[int(month) - 1].upper()} {int(day)}'"


def _parse_position(text: str, pattern: str) -> tuple[int, bool]:
    """Where Spark's parser stops on ``text``: the index and whether all of the pattern was
    read (then the rest is unparsed text). Only run on the error path."""
    pos = 0
    for token in tokens(pattern):
        found = re.compile(_field_regex(token)).match(text, pos)
        if found is None:
            return pos, False
        pos = found.end()
    return pos, True


# --- reading strings ---------------------------------------------------------------------

def _field(parts: pa.StructArray, name: str) -> pa.Array | None:
    names = [parts.type.field(i).name for i in range(parts.type.num_fields)]
    return pc.struct_field(parts, name) if name in names else None


def _number(parts: pa.StructArray, name: str, default: int) -> pa.Array | pa.Scalar:
    text = _field(parts, name)
    if text is None:
        return pa.scalar(default, pa.int64())
    return pc.coalesce(pc.cast(pc.if_else(pc.equal(text, ""), None, text), pa.int64()),
                       pa.scalar(default, pa.int64()))


def _padded(value: pa.Array | pa.Scalar, width: int) -> pa.Array | pa.Scalar:
    return pc.utf8_lpad(pc.cast(value, pa.string()), width=width, padding="0")


def _month(parts: pa.StructArray) -> pa.Array | pa.Scalar:
    for name, names in (("Mon", [m[:3].lower() for m in MONTHS]),
                        ("Month", [m.lower() for m in MONTHS])):
        text = _field(parts, name)
        if text is not None:
            index = pc.index_in(pc.utf8_lower(text), value_set=pa.array(names))
            return pc.add(pc.cast(index, pa.int64()), 1)
    return _number(parts, "M", 1)


def _hour(parts: pa.StructArray) -> pa.Array | pa.Scalar:
    if _field(parts, "h") is None:
        return _number(parts, "H", 0)
    hour = pc.subtract(_number(parts, "h", 12), pc.multiply(pc.equal(
        _number(parts, "h", 12), 12).cast(pa.int64()), 12))
    am_pm = _field(parts, "a")
    if am_pm is not None:
        pm = pc.fill_null(pc.equal(pc.utf8_lower(am_pm), "pm"), False)
        hour = pc.add(hour, pc.multiply(pm.cast(pa.int64()), 12))
    return hour


def _compose(parts: pa.StructArray) -> pa.Array:
    """The timestamps of parsed fields (missing ones as Spark defaults them: 1970-01-01
    00:00:00); rows that did not match are NULL. Raises ArrowInvalid for a field out of
    range (the 30th of February)."""
    if _field(parts, "yy") is not None:
        year = pc.add(_number(parts, "yy", 70), 2000)
    else:
        year = _number(parts, "y", 1970)
    text = pc.binary_join_element_wise(
        _padded(year, 4), "-", _padded(_month(parts), 2), "-",
        _padded(_number(parts, "d", 1), 2), " ", _padded(_hour(parts), 2), ":",
        _padded(_number(parts, "m", 0), 2), ":", _padded(_number(parts, "s", 0), 2), "")
    fraction = _field(parts, "f")
    if fraction is not None:
        six = pc.utf8_slice_codeunits(pc.utf8_rpad(fraction, width=6, padding="0"), 0, 6)
        text = pc.binary_join_element_wise(text, six, ".")
    text = pc.if_else(pc.is_valid(parts), text, pa.scalar(None, pa.string()))
    return pc.cast(text, TIMESTAMP)


def _cast_invalid(value, target: str) -> DateTimeException:
    return sql_error("CAST_INVALID_INPUT", "22018",
                     f"The value '{value}' of the type \"STRING\" cannot be cast to \"{target}\" "
                     "because it is malformed. Correct the value as per the syntax, or change "
                     "its target type. Use `try_cast` to tolerate malformed input and return "
                     "NULL instead.", DateTimeException)


def _matched(values: pa.Array, regex: str, on_bad) -> pa.StructArray:
    parts = pc.extract_regex(values, pattern=regex)
    bad = pc.and_(pc.is_valid(values), pc.is_null(parts))
    if pc.any(bad).as_py():
        raise on_bad(first_bad(values, bad))
    return parts


def _composed(values: pa.Array, parts: pa.StructArray, on_bad) -> pa.Array:
    try:
        return _compose(parts)
    except pa.ArrowInvalid:
        for i, text in enumerate(values.to_pylist()):  # the error path: find the value
            try:
                _compose(parts.slice(i, 1))
            except pa.ArrowInvalid:
                raise on_bad(text) from None
        raise


def _arrow_cast(values: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Arrow's own ISO 8601 reading, when it reads every value (the common case, and many
    times faster than matching the fields); None sends the column the long way."""
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def cast_to_timestamp(values: pa.Array) -> pa.Array:
    """Spark's ANSI cast of strings to timestamps."""
    quick = _arrow_cast(values, TIMESTAMP)
    if quick is not None:
        return quick

    def on_bad(v):
        return _cast_invalid(v, "TIMESTAMP")

    return _composed(values, _matched(values, _DEFAULT.pattern, on_bad), on_bad)


def cast_to_date(values: pa.Array) -> pa.Array:
    """Spark's ANSI cast of strings to dates: the date at the start of a timestamp's text."""
    quick = _arrow_cast(values, pa.date32())
    if quick is not None:
        return quick

    def on_bad(v):
        return _cast_invalid(v, "DATE")

    date_part = r"^\s*(?P<y>\d{4})(?:-(?P<M>\d{1,2})(?:-(?P<d>\d{1,2})(?:[ T].*)?)?)?\s*$"
    return pc.cast(_composed(values, _matched(values, date_part, on_bad), on_bad),
                   pa.date32())


def parse_with_pattern(values: pa.Array, pattern: str, function: str) -> pa.Array:
    """``to_timestamp(s, pattern)``: each string must match the whole pattern (ANSI mode)."""
    quick = _strptime(values, pattern)
    if quick is not None:
        return quick

    def on_bad(v):
        pos, complete = _parse_position(v, pattern)
        where = (f", unparsed text found at index {pos}" if complete
                 else f" at index {pos}")
        if complete and pos == len(v):  # every field read, but no such day
            where = f": Invalid date{_day_named(v, pattern)}"
        return sql_error("CANNOT_PARSE_TIMESTAMP", "22007",
                         f"Text '{v}' could not be parsed{where}. Use `try_{function}` to "
                         "tolerate invalid input string and return NULL instead.",
                         DateTimeException)

    return _composed(values, _matched(values, parse_regex(pattern), on_bad), on_bad)


# Zero-padded fields Arrow's strptime reads just as Spark's parser does.
_STRPTIME = {("y", 4): "%Y", ("M", 2): "%m", ("d", 2): "%d", ("H", 2): "%H", ("m", 2): "%M",
             ("s", 2): "%S"}


def _strptime(values: pa.Array, pattern: str) -> pa.Array | None:
    """The pattern by Arrow's strptime, when every field is one it reads as Spark does and
    every value parses; else None (the long way, which also words the error)."""
    parts = []
    for token in tokens(pattern):
        if isinstance(token, str):
            if "%" in token or any(ch.isdigit() for ch in token):
                return None
            parts.append(token)
        elif token in _STRPTIME:
            parts.append(_STRPTIME[token])
        else:
            return None
    layout = "".join(parts)
    parsed = pc.strptime(values, format=layout, unit="us", error_is_null=True)
    if pc.any(pc.and_(pc.is_valid(values), pc.is_null(parsed))).as_py():
        return None
    # strptime rolls the 30th of February over into March; Spark refuses it.
    if not pc.all(pc.equal(pc.strftime(parsed, format=layout), values)).as_py():
        return None
    return parsed


# --- the kernels -------------------------------------------------------------------------

def _to_timestamp(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    if len(args) == 1:  # no pattern: the argument is cast already
        return args[0]
    values = as_array(args[0], n)
    parsed = parse_with_pattern(values, literal_value(x.children[1]), x.name)
    return parsed if x.name == "to_timestamp" else pc.cast(parsed, pa.date32())


def _part(extract) -> Kernel:
    def kernel(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
        return pc.cast(extract(args[0]), pa.int32())

    return kernel


def _dayofweek(value: Value) -> Value:
    # Spark counts from Sunday = 1 to Saturday = 7.
    return pc.day_of_week(value, count_from_zero=False, week_start=7)


def _days(value: Value) -> Value:
    """Days since 1970-01-01 of a date column (or scalar)."""
    return pc.cast(pc.cast(value, pa.date32()), pa.int32())


def _from_days(days: Value) -> Value:
    return pc.cast(days, pa.date32())


def _date_add(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    days = pc.cast(args[1], pa.int32())
    step = pc.negate(days) if x.name == "date_sub" else days
    return _from_days(pc.add(_days(args[0]), step))


def _datediff(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    return pc.subtract(_days(args[0]), _days(args[1]))


def _current_date(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    return pa.scalar(datetime.date.today(), pa.date32())


def _current_timestamp(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    return pa.scalar(datetime.datetime.now(), TIMESTAMP)


def _text(names: list[str], index: Value) -> Value:
    return pc.take(pa.array(names), pc.cast(index, pa.int32()))


def _format_token(ts: pa.Array, token: tuple[str, int] | str) -> Value:
    if isinstance(token, str):
        return pa.scalar(token)
    letter, n = token
    if letter == "y":
        year = pc.year(ts)
        return _padded(pc.subtract(year, pc.multiply(pc.divide(year, 100), 100)), 2) \
            if n == 2 else _padded(year, n)
    if letter == "M" and n >= 3:
        names = [m[:3] for m in MONTHS] if n == 3 else MONTHS
        return _text(names, pc.subtract(pc.month(ts), 1))
    if letter == "E":
        return _text([d[:3] for d in DAYS] if n <= 3 else DAYS, pc.day_of_week(ts))
    if letter == "a":
        return pc.if_else(pc.less(pc.hour(ts), 12), "AM", "PM")
    if letter == "S":
        micros = pc.add(pc.multiply(pc.millisecond(ts), 1000), pc.microsecond(ts))
        return pc.utf8_slice_codeunits(_padded(micros, 6), 0, n)
    fields = {"M": pc.month, "d": pc.day, "H": pc.hour, "m": pc.minute, "s": pc.second,
              "D": pc.day_of_year}
    if letter == "h":
        value = pc.add(pc.subtract(pc.hour(ts), pc.multiply(pc.divide(pc.add(
            pc.hour(ts), 11), 12), 12)), 12)  # 0 -> 12, 13 -> 1
    elif letter in fields:
        value = fields[letter](ts)
    else:
        raise _unsupported(letter)
    return _padded(value, n)


def _date_format(x: e.ScalarFunction, args: list[Value], n: int) -> Value:
    ts = as_array(args[0], n)
    parts = [_format_token(ts, t) for t in tokens(literal_value(x.children[1]))]
    if not parts:
        return pc.if_else(pc.is_valid(ts), "", pa.scalar(None, pa.string()))
    return pc.binary_join_element_wise(*parts, pa.scalar(""))


KERNELS: dict[str, Kernel] = {
    "to_timestamp": _to_timestamp, "to_date": _to_timestamp,
    "year": _part(pc.year), "month": _part(pc.month), "dayofmonth": _part(pc.day),
    "dayofweek": _part(_dayofweek), "dayofyear": _part(pc.day_of_year),
    "quarter": _part(pc.quarter), "hour": _part(pc.hour), "minute": _part(pc.minute),
    "second": _part(pc.second), "date_add": _date_add, "date_sub": _date_add,
    "datediff": _datediff, "current_date": _current_date,
    "current_timestamp": _current_timestamp, "date_format": _date_format,
}

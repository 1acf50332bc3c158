"""``Row``: a tuple whose fields have names (the API of ``pyspark.sql.Row``)."""

from __future__ import annotations

from typing import Any

from sparkbook.errors import PySparkAttributeError, PySparkTypeError, PySparkValueError


def _create_row(fields: list[str], values: list | tuple) -> Row:
    row = Row(*values)
    row.__fields__ = list(fields)
    return row


class Row(tuple):
    """``Row(name='Alice', age=1)``: fields by name, attribute or index; equal to a tuple.

    ``Row("name", "age")`` makes a row *class*: calling it with values gives rows.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Row:
        if args and kwargs:
            raise PySparkValueError("[CANNOT_SET_TOGETHER] args and kwargs should not be set "
                                    "together.", "CANNOT_SET_TOGETHER")
        if kwargs:
            row = tuple.__new__(cls, list(kwargs.values()))
            row.__fields__ = list(kwargs)
            return row
        return tuple.__new__(cls, args)

    def asDict(self, recursive: bool = False) -> dict[str, Any]:
        if not hasattr(self, "__fields__"):
            raise PySparkTypeError("[CANNOT_CONVERT_TYPE] Cannot convert a Row class into dict.",
                                   "CANNOT_CONVERT_TYPE")
        if not recursive:
            return dict(zip(self.__fields__, self))

        def convert(value: Any) -> Any:
            if isinstance(value, Row):
                return value.asDict(True)
            if isinstance(value, list):
                return [convert(v) for v in value]
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            return value

        return {k: convert(v) for k, v in zip(self.__fields__, self)}

    def __contains__(self, item: object) -> bool:
        if hasattr(self, "__fields__"):
            return item in self.__fields__
        return super().__contains__(item)

    def __call__(self, *args: Any) -> Row:
        """A row of this row class's fields."""
        if len(args) > len(self):
            raise PySparkValueError(
                f"[TOO_MANY_VALUES] Expected {len(self)} values for `fields`, got "
                f"{len(args)}.", "TOO_MANY_VALUES")
        return _create_row(list(self), args)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, slice)):
            return super().__getitem__(item)
        try:
            index = self.__fields__.index(item)
        except (IndexError, AttributeError, ValueError):
            raise PySparkValueError(str(item)) from None
        return super().__getitem__(index)

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__"):
            raise AttributeError(item)
        try:
            index = self.__fields__.index(item)
        except (IndexError, AttributeError, ValueError):
            raise PySparkAttributeError(
                f"[ATTRIBUTE_NOT_SUPPORTED] Attribute `{item}` is not supported.",
                "ATTRIBUTE_NOT_SUPPORTED", {"attr_name": item}) from None
        return self[index]

    def __setattr__(self, key: str, value: Any) -> None:
        if key != "__fields__":
            raise RuntimeError("Row is read-only")
        self.__dict__[key] = value

    def __reduce__(self) -> tuple:
        if hasattr(self, "__fields__"):
            return (_create_row, (self.__fields__, tuple(self)))
        return tuple.__reduce__(self)

    def __repr__(self) -> str:
        if hasattr(self, "__fields__"):
            return "Row(" + ", ".join(f"{k}={v!r}" for k, v in zip(self.__fields__, self)) + ")"
        return "<Row(" + ", ".join(repr(v) for v in self) + ")>"


"""Spark SQL expressions written as text, handed to Spark once each (``F.expr``).

Every ``pyspark.sql.functions`` call and Column operator is a round trip to the driver's JVM
(about 0.2 ms here). The validation's checks, derived from every version of the ticket schema,
took over 9,000 of them: 2 to 3 seconds of every run before its first Spark job. The same
expressions written as SQL text cost one call each.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import Column
from pyspark.sql import functions as F

FALSE = "FALSE"


def column(expression: str, name: str | None = None) -> Column:
    """The Column of the SQL ``expression`` (parsed by Spark), named ``name`` if given."""
    parsed = F.expr(expression)
    return parsed.alias(name) if name is not None else parsed


def ident(name: str) -> str:
    """A column or field name, quoted."""
    return "`" + name.replace("`", "``") + "`"


def lit(value: str | int | bool | None) -> str:
    """A literal: a string (quotes and backslashes escaped), an integer, a boolean or NULL."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else FALSE
    if isinstance(value, int):
        return str(value) if -(2**31) <= value < 2**31 else f"{value}L"
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def call(function: str, *arguments: str) -> str:
    return f"{function}({', '.join(arguments)})"


def field(struct: str, name: str) -> str:
    """Field ``name`` of the struct ``struct``."""
    return f"{struct}.{ident(name)}"


def when(*cases: tuple[str, str], otherwise: str | None = None) -> str:
    """``CASE WHEN condition THEN value ... [ELSE otherwise] END`` (NULL when nothing holds)."""
    branches = " ".join(f"WHEN {condition} THEN {value}" for condition, value in cases)
    rest = f" ELSE {otherwise}" if otherwise is not None else ""
    return f"CASE {branches}{rest} END"


def isin(expression: str, values: Iterable[str | int]) -> str:
    """``expression IN (values)``: null for a null ``expression``; false for no value (as Spark's
    ``isin()``)."""
    listed = [lit(value) for value in values]
    if not listed:
        return FALSE
    return f"({expression} IN ({', '.join(listed)}))"


def not_(condition: str) -> str:
    return f"(NOT {condition})"


def all_of(*conditions: str) -> str:
    return "(" + " AND ".join(conditions) + ")"


def coalesce(*expressions: str) -> str:
    return call("coalesce", *expressions)


def array(*expressions: str) -> str:
    return call("array", *expressions)

"""The ticket contract, read from its one definition: the versions ``include/schemas/ticket.v<N>.schema.json``.

A :class:`TicketSchema` is one version's JSON Schema document and what the code derives from it:
the Spark job its parsing schema and validation rules (required fields, enums, lengths, the
timestamp format, array limits), the demo generator its enums, the tests the check of what the
producer sends. The job builds its checks from the versions the schema registry holds (the same
files, registered by the DAG); everything else uses the committed files. Nothing restates the
fields elsewhere.

The module-level functions describe the newest committed version (:data:`SCHEMA_VERSION`): its
enums and limits are those of every version, as the registry's BACKWARD rule keeps them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ticket_etl.config import INCLUDE_DIR

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType

SCHEMAS_DIR = INCLUDE_DIR / "schemas"
SCHEMA_VERSION_HEADER = "schema_version"
CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # strftime gives microseconds: trim to ms
CREATED_AT_SPARK_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"  # the same, as a Spark datetime pattern
# The JSON types a ticket field may have, and the Spark type each parses to.
STRING, INTEGER, STRING_ARRAY = "string", "integer", "array<string>"


class UnsupportedSchema(ValueError):
    """A schema document uses a JSON Schema construct the job cannot check."""


@dataclass(frozen=True)
class TicketSchema:
    """One version of the ticket contract. ``document``: its JSON Schema (draft-07), an object
    whose properties are strings, integers or arrays of strings."""

    version: int
    document: dict[str, Any]

    def __post_init__(self) -> None:
        for name in self.fields():
            self.field_type(name)  # every property is of a supported kind

    @classmethod
    def parse(cls, version: int, text: str) -> TicketSchema:
        return cls(version, json.loads(text))

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        return self.document["properties"]

    def fields(self) -> list[str]:
        """Field names, in schema order."""
        return list(self.properties)

    def required_fields(self) -> list[str]:
        return list(self.document.get("required", []))

    def field_type(self, name: str) -> str:
        """:data:`STRING`, :data:`INTEGER` or :data:`STRING_ARRAY`."""
        spec = self.properties[name]
        kind = spec.get("type")
        if kind == "array" and spec.get("items", {}).get("type") == STRING:
            return STRING_ARRAY
        if kind in (STRING, INTEGER):
            return kind
        raise UnsupportedSchema(
            f"schema version {self.version}: field {name!r} of type {kind!r} is not supported"
        )

    def field_types(self) -> dict[str, str]:
        return {name: self.field_type(name) for name in self.fields()}

    def enums(self) -> dict[str, list[Any]]:
        """Allowed values of each enumerated field (``const`` is a one-value enum)."""
        allowed = {}
        for name, spec in self.properties.items():
            if "enum" in spec:
                allowed[name] = list(spec["enum"])
            elif "const" in spec:
                allowed[name] = [spec["const"]]
        return allowed

    def min_lengths(self) -> dict[str, int]:
        return {name: spec["minLength"] for name, spec in self.properties.items() if "minLength" in spec}

    def max_lengths(self) -> dict[str, int]:
        return {name: spec["maxLength"] for name, spec in self.properties.items() if "maxLength" in spec}

    def max_items(self) -> dict[str, int]:
        return {name: spec["maxItems"] for name, spec in self.properties.items() if "maxItems" in spec}

    def item_lengths(self) -> dict[str, tuple[int | None, int | None]]:
        """(minLength, maxLength) of the items of each array field."""
        return {
            name: (spec["items"].get("minLength"), spec["items"].get("maxLength"))
            for name, spec in self.properties.items()
            if self.field_type(name) == STRING_ARRAY
        }

    def created_at_pattern(self) -> str:
        return self.properties["created_at"]["pattern"]

    @cached_property
    def _validator(self) -> Any:
        from jsonschema.validators import validator_for

        return validator_for(self.document)(self.document)

    def validation_errors(self, ticket: dict[str, Any]) -> list[str]:
        """Human-readable reasons why ``ticket`` does not match this version (empty when valid)."""
        return [
            f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}"
            for e in self._validator.iter_errors(ticket)
        ]


def union_types(schemas: list[TicketSchema]) -> dict[str, str]:
    """Every field of ``schemas`` with its type, in order of first appearance (the oldest version
    first): the columns the job parses and publishes. A field whose type differs between versions
    (which the registry's rule refuses) is an :class:`UnsupportedSchema`."""
    types: dict[str, str] = {}
    for ticket_schema in sorted(schemas, key=lambda s: s.version):
        for name, kind in ticket_schema.field_types().items():
            if types.setdefault(name, kind) != kind:
                raise UnsupportedSchema(
                    f"field {name!r} is {types[name]} in an earlier version and {kind} in version "
                    f"{ticket_schema.version}"
                )
    return types


def spark_type(kind: str) -> DataType:
    from pyspark.sql.types import ArrayType, LongType, StringType

    return {STRING: StringType(), INTEGER: LongType(), STRING_ARRAY: ArrayType(StringType())}[kind]


def spark_schema_of(types: dict[str, str]) -> StructType:
    """Spark parsing schema of fields and their types (:func:`union_types`)."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(name, spark_type(kind), True) for name, kind in types.items()])


def versions() -> dict[int, Path]:
    """Every committed version of the schema (``ticket.v<N>.schema.json``), the oldest first: what
    the schema registry holds as the subject's versions."""
    found = {int(path.name.split(".")[1][1:]): path for path in SCHEMAS_DIR.glob("ticket.v*.schema.json")}
    return dict(sorted(found.items()))


@cache
def committed(version: int) -> TicketSchema:
    """The committed file of ``version``."""
    return TicketSchema.parse(version, versions()[version].read_text(encoding="utf-8"))


SCHEMA_VERSION = max(versions())  # the newest committed version
SCHEMA_PATH = versions()[SCHEMA_VERSION]


def latest() -> TicketSchema:
    return committed(SCHEMA_VERSION)


@cache
def committed_types() -> dict[str, str]:
    """Every field of the committed versions and its type, in order of first appearance: the
    columns the job parses and publishes."""
    return union_types([committed(version) for version in versions()])


def fields() -> list[str]:
    """Every field of the committed versions, in order of first appearance."""
    return list(committed_types())


def required_fields() -> list[str]:
    return latest().required_fields()


def enums() -> dict[str, list[Any]]:
    return latest().enums()


def max_lengths() -> dict[str, int]:
    return latest().max_lengths()


def min_lengths() -> dict[str, int]:
    return latest().min_lengths()


def field_types() -> dict[str, str]:
    return latest().field_types()


def created_at_pattern() -> str:
    return latest().created_at_pattern()


def spark_schema() -> StructType:
    """Spark schema of every committed field (:func:`fields`)."""
    return spark_schema_of(committed_types())


def validation_errors(ticket: dict[str, Any], version: int | None = None) -> list[str]:
    """Reasons why ``ticket`` does not match ``version`` (default: the one its ``schema_version`` names)."""
    named = version if version is not None else ticket.get("schema_version")
    if named not in versions():
        return [f"schema_version: {named!r} is not a committed version {list(versions())}"]
    return committed(named).validation_errors(ticket)

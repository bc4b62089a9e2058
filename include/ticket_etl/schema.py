"""The ticket schema, read from its one definition: ``include/schemas/ticket.v1.schema.json``.

The Spark job derives its parsing schema and its validation rules (required fields, enums,
lengths, timestamp format) from it, the demo generator its enums, and the tests validate what
the producer sends against it; nothing restates the fields elsewhere.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ticket_etl.config import INCLUDE_DIR

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

SCHEMA_VERSION = 1
SCHEMA_PATH = INCLUDE_DIR / "schemas" / f"ticket.v{SCHEMA_VERSION}.schema.json"
SCHEMA_VERSION_HEADER = "schema_version"
CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # strftime gives microseconds: trim to ms
CREATED_AT_SPARK_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"  # the same, as a Spark datetime pattern


def versions() -> dict[int, Path]:
    """Every committed version of the schema (``ticket.v<N>.schema.json``), the oldest first: what
    the schema registry holds as the subject's versions."""
    found = {
        int(path.name.split(".")[1][1:]): path for path in SCHEMA_PATH.parent.glob("ticket.v*.schema.json")
    }
    return dict(sorted(found.items()))


@cache
def json_schema() -> dict[str, Any]:
    """The JSON Schema document."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def fields() -> list[str]:
    """Field names, in schema order."""
    return list(json_schema()["properties"])


def required_fields() -> list[str]:
    return list(json_schema()["required"])


def enums() -> dict[str, list[str]]:
    """Allowed values of each enumerated field."""
    return {name: spec["enum"] for name, spec in json_schema()["properties"].items() if "enum" in spec}


def max_lengths() -> dict[str, int]:
    return {
        name: spec["maxLength"] for name, spec in json_schema()["properties"].items() if "maxLength" in spec
    }


def min_lengths() -> dict[str, int]:
    return {
        name: spec["minLength"] for name, spec in json_schema()["properties"].items() if "minLength" in spec
    }


def field_types() -> dict[str, str]:
    """JSON type of each field (``string`` or ``integer``)."""
    return {name: spec["type"] for name, spec in json_schema()["properties"].items()}


def created_at_pattern() -> str:
    return json_schema()["properties"]["created_at"]["pattern"]


def spark_schema() -> StructType:
    """Spark parsing schema derived from the JSON Schema."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    spark_types = {"string": StringType(), "integer": LongType()}
    return StructType([StructField(name, spark_types[kind], True) for name, kind in field_types().items()])


@cache
def _validator() -> Any:
    from jsonschema.validators import validator_for

    document = json_schema()
    return validator_for(document)(document)


def validation_errors(ticket: dict[str, Any]) -> list[str]:
    """Human-readable reasons why ``ticket`` does not match the schema (empty when valid)."""
    return [
        f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in _validator().iter_errors(ticket)
    ]

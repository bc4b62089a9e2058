"""Parse each record against the ticket schema, name why an invalid one is rejected, and find
the duplicates among the valid ones.

Every check is derived from the one JSON Schema (``ticket_etl.schema``). A rejected record
keeps its original bytes and headers and gets the first failing reason, in this order:
invalid_utf8, not_json, not_an_object, unknown_field:<names>, missing_field:<f>, wrong_type:<f>,
unknown_value:<f>, empty:<f>, too_long:<f>, invalid_timestamp:created_at,
unsupported_schema_version.

The record is parsed once (a VARIANT) and each field looked up once. A valid ticket is recognised
by its shape (field names and JSON types, one string comparison) and a few value checks; the
detailed, per-field checks that name the reason run only for records that fail that fast path.
"""

from __future__ import annotations

import json

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ticket_analysis.source import SOURCE_COLUMNS
from ticket_etl import schema

POSITION = ("partition", "offset")
DEDUP_ORDER = ("kafka_timestamp", *POSITION)
VARIANT_TYPES = {"string": "STRING", "integer": "BIGINT"}
SPARK_TYPES = {"string": "string", "integer": "bigint"}


def _reason(condition: Column, reason: str | Column) -> Column:
    return F.when(condition, reason if isinstance(reason, Column) else F.lit(reason))


def _field_type(name: str) -> Column:
    return F.schema_of_variant(F.variant_get("_doc", f"$.{name}", "variant"))


def expected_shape() -> Column:
    """``schema_of_variant`` of a valid ticket: every field present, with its JSON type (constant)."""
    example = {
        name: "x" if kind == "string" else schema.SCHEMA_VERSION
        for name, kind in schema.field_types().items()
    }
    return F.schema_of_variant(F.parse_json(F.lit(json.dumps(example))))


def _parsed(records: DataFrame) -> DataFrame:
    """The record's text (null when not UTF-8), its document (null when not JSON), its shape
    (field names and JSON types) and every schema field looked up once, typed."""
    text = F.when(F.is_valid_utf8("value"), F.col("value").cast("string"))
    with_doc = records.select(*SOURCE_COLUMNS, text.alias("_text")).withColumn(
        "_doc", F.try_parse_json("_text")
    )
    kinds = schema.field_types()
    return with_doc.select(
        "*",
        F.schema_of_variant("_doc").alias("_shape"),
        *[
            F.try_variant_get("_doc", f"$.{name}", SPARK_TYPES[kind]).alias(name)
            for name, kind in kinds.items()
        ],
    )


def _structure_checks() -> list[Column]:
    known = F.array(*[F.lit(name) for name in schema.fields()])
    unknown = F.array_except(F.json_object_keys(F.col("_text")), known)
    checks = [
        _reason(F.col("_text").isNull(), "invalid_utf8"),
        _reason(F.col("_shape").isNull(), "not_json"),
        _reason(~F.col("_shape").startswith("OBJECT"), "not_an_object"),
        _reason(F.size(unknown) > 0, F.concat(F.lit("unknown_field:"), F.array_join(unknown, ","))),
    ]
    required = set(schema.required_fields())
    for name, kind in schema.field_types().items():
        kind_name = _field_type(name)
        absent = kind_name.isNull() | (kind_name == "VOID")
        if name in required:
            checks.append(_reason(absent, f"missing_field:{name}"))
        checks.append(_reason(~absent & (kind_name != VARIANT_TYPES[kind]), f"wrong_type:{name}"))
    return checks


def _value_checks() -> list[tuple[Column, str]]:
    """(failing condition, reason) for the values of a well-shaped document."""
    checks = [
        (~F.col(name).isin(*allowed), f"unknown_value:{name}") for name, allowed in schema.enums().items()
    ]
    checks += [
        (F.char_length(name) < minimum, f"empty:{name}") for name, minimum in schema.min_lengths().items()
    ]
    checks += [
        (F.char_length(name) > maximum, f"too_long:{name}") for name, maximum in schema.max_lengths().items()
    ]
    created_at = F.col("created_at")
    bad_time = (
        ~created_at.rlike(schema.created_at_pattern())
        | F.try_to_timestamp(created_at, F.lit(schema.CREATED_AT_SPARK_FORMAT)).isNull()
    )
    checks.append((bad_time, "invalid_timestamp:created_at"))
    checks.append((F.col("schema_version") != F.lit(schema.SCHEMA_VERSION), "unsupported_schema_version"))
    return checks


def reject_reason() -> Column:
    """Null for a valid ticket, else the first failing reason.

    Fast path: a document whose shape is exactly the expected one and whose values pass is valid;
    the per-field structure checks run only for the (rare) records that fail it.
    """
    value_checks = _value_checks()
    valid = F.col("_shape") == expected_shape()
    for failing, _ in value_checks:
        valid = valid & ~failing
    detailed = F.coalesce(
        *_structure_checks(), *[_reason(failing, reason) for failing, reason in value_checks]
    )
    return F.when(~F.coalesce(valid, F.lit(False)), detailed)


def with_reject_reason(records: DataFrame) -> DataFrame:
    """Add ``reject_reason`` (null when the record is a valid ticket) and the typed ticket fields."""
    return records.transform(_parsed).select(
        "key",
        "value",
        "headers",
        "partition",
        "offset",
        F.col("timestamp").alias("kafka_timestamp"),
        reject_reason().alias("reject_reason"),
        *schema.fields(),
    )


def later_occurrences(checked: DataFrame) -> DataFrame:
    """Source position (``partition``, ``offset``) of every valid record whose ``ticket_id`` was
    already seen in the interval: the duplicates. The first occurrence is the earliest by Kafka
    time, then partition and offset, so the choice does not depend on how the read was split.

    Only the id and the position of each record are shuffled and sorted, not the record.
    """
    first_seen = Window.partitionBy("ticket_id").orderBy(*DEDUP_ORDER)
    return (
        checked.where(F.col("reject_reason").isNull())
        .select("ticket_id", *DEDUP_ORDER)
        .withColumn("_occurrence", F.row_number().over(first_seen))
        .where(F.col("_occurrence") > 1)
        .select(*POSITION)
    )

"""Parse each record against the ticket schema and classify it: accepted, duplicate or rejected.

Every check is derived from the one JSON Schema (``ticket_etl.schema``). A rejected record
keeps its original bytes and headers and gets the first failing reason, in this order:
invalid_utf8, not_json, not_an_object, unknown_field:<names>, missing_field:<f>, wrong_type:<f>,
unknown_value:<f>, empty:<f>, too_long:<f>, invalid_timestamp:created_at,
unsupported_schema_version.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ticket_etl import schema
from ticket_etl.validation_formats import CREATED_AT_SPARK_FORMAT

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
VARIANT_TYPES = {"string": "STRING", "integer": "BIGINT"}


def _field(name: str) -> Column:
    return F.variant_get(F.col("_doc"), f"$.{name}", "variant")


def _field_type(name: str) -> Column:
    return F.schema_of_variant(_field(name))


def _field_text(name: str) -> Column:
    return F.try_variant_get(F.col("_doc"), f"$.{name}", "string")


def _reason(condition: Column, reason: str | Column) -> Column:
    return F.when(condition, reason if isinstance(reason, Column) else F.lit(reason))


def _structure_checks() -> list[Column]:
    known = F.array(*[F.lit(name) for name in schema.fields()])
    unknown = F.array_except(F.json_object_keys(F.col("_text")), known)
    return [
        _reason(~F.is_valid_utf8("value"), "invalid_utf8"),
        _reason(F.col("_doc").isNull(), "not_json"),
        _reason(~F.schema_of_variant("_doc").startswith("OBJECT"), "not_an_object"),
        _reason(F.size(unknown) > 0, F.concat(F.lit("unknown_field:"), F.array_join(unknown, ","))),
    ]


def _field_checks() -> list[Column]:
    checks: list[Column] = []
    required = set(schema.required_fields())
    for name, kind in schema.field_types().items():
        kind_name = _field_type(name)
        if name in required:
            checks.append(_reason(kind_name.isNull() | (kind_name == "VOID"), f"missing_field:{name}"))
        checks.append(
            _reason(
                kind_name.isNotNull() & (kind_name != VARIANT_TYPES[kind]) & (kind_name != "VOID"),
                f"wrong_type:{name}",
            )
        )
    for name, allowed in schema.enums().items():
        checks.append(_reason(~_field_text(name).isin(*allowed), f"unknown_value:{name}"))
    for name, minimum in schema.min_lengths().items():
        checks.append(_reason(F.char_length(_field_text(name)) < minimum, f"empty:{name}"))
    for name, maximum in schema.max_lengths().items():
        checks.append(_reason(F.char_length(_field_text(name)) > maximum, f"too_long:{name}"))
    created_at = _field_text("created_at")
    checks.append(
        _reason(
            ~created_at.rlike(schema.created_at_pattern())
            | F.try_to_timestamp(created_at, F.lit(CREATED_AT_SPARK_FORMAT)).isNull(),
            "invalid_timestamp:created_at",
        )
    )
    checks.append(
        _reason(
            F.try_variant_get(F.col("_doc"), "$.schema_version", "bigint") != F.lit(schema.SCHEMA_VERSION),
            "unsupported_schema_version",
        )
    )
    return checks


def with_reject_reason(records: DataFrame) -> DataFrame:
    """Add ``reject_reason`` (null when the record is a valid ticket) and the typed ticket fields."""
    parsed = records.withColumn(
        "_text", F.when(F.is_valid_utf8("value"), F.col("value").cast("string"))
    ).withColumn("_doc", F.try_parse_json("_text"))
    reason = F.coalesce(*_structure_checks(), *_field_checks())
    typed = [
        (
            _field_text(name) if kind == "string" else F.try_variant_get(F.col("_doc"), f"$.{name}", "bigint")
        ).alias(name)
        for name, kind in schema.field_types().items()
    ]
    return parsed.select(
        "key",
        "value",
        "headers",
        "partition",
        "offset",
        F.col("timestamp").alias("kafka_timestamp"),
        reason.alias("reject_reason"),
        *typed,
    )


def with_status(checked: DataFrame) -> DataFrame:
    """``status``: rejected, or the first occurrence of a ticket_id (by time, partition, offset)
    accepted and later ones marked duplicate."""
    valid_id = F.when(F.col("reject_reason").isNull(), F.col("ticket_id"))
    first_seen = Window.partitionBy(valid_id).orderBy("kafka_timestamp", "partition", "offset")
    occurrence = F.row_number().over(first_seen)
    status = (
        F.when(F.col("reject_reason").isNotNull(), F.lit(REJECTED))
        .when(occurrence > 1, F.lit(DUPLICATE))
        .when(occurrence == 1, F.lit(ACCEPTED))
    )
    return checked.withColumn("status", status)

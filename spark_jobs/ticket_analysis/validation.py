"""Parse each record against the ticket schema, name why an invalid one is rejected, and find
the duplicates among the valid ones.

Every check is derived from the one JSON Schema (``ticket_etl.schema``). A rejected record
keeps its original bytes and headers and gets the first failing reason, in this order:
invalid_utf8, not_json, not_an_object, unknown_field:<names>, missing_field:<f>, wrong_type:<f>,
unknown_value:<f>, empty:<f>, too_long:<f>, invalid_timestamp:created_at,
unsupported_schema_version.

Two paths, one verdict:

- fast path: a text that starts as the canonical form does (:func:`canonical_prefix`) is parsed
  with ``from_json`` (the schema's types); the others skip it. A record whose parsed
  ticket written back with ``to_json`` is exactly its own text (compact JSON, the schema's field
  order, every field present with its JSON type, nothing else: what the ticket producer writes)
  and whose values pass the value checks is a valid ticket. Nothing else can round-trip to the
  same text, so this never accepts a record the exact path would reject.
- exact path, for every other record: parsed once as a VARIANT, each field looked up once; a
  valid ticket is recognised by its shape (field names and JSON types, one string comparison) and
  the same value checks, and the detailed per-field checks name the reason of a rejected one.

So a producer that writes tickets differently (spaces, another field order, escaped accents)
gets the same results, at the cost of the slower path (README, "The Spark analysis job").
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ticket_analysis.landing import SOURCE_COLUMNS
from ticket_etl import schema

POSITION = ("partition", "offset")
DEDUP_ORDER = ("kafka_timestamp", *POSITION)
VARIANT_TYPES = {"string": "STRING", "integer": "BIGINT"}
SPARK_TYPES = {"string": "string", "integer": "bigint"}


def _reason(condition: Column, reason: str | Column) -> Column:
    return F.when(condition, reason if isinstance(reason, Column) else F.lit(reason))


def expected_shape() -> Column:
    """``schema_of_variant`` of a valid ticket: every field present, with its JSON type (constant)."""
    example = {
        name: "x" if kind == "string" else schema.SCHEMA_VERSION
        for name, kind in schema.field_types().items()
    }
    return F.schema_of_variant(F.parse_json(F.lit(json.dumps(example))))


def _parsed(records: DataFrame) -> DataFrame:
    """The record's text (null when not UTF-8), whether it is a valid ticket in canonical form
    (``_fast``), and for every other record its document (null when not JSON) and shape (field
    names and JSON types); then every schema field, typed, from whichever path parsed it.

    Each step is its own projection and is referenced several times by the next, so Spark computes
    it once per record instead of inlining it into every use (it does not collapse projections
    that would repeat an expensive expression).
    """
    text = F.when(F.is_valid_utf8("value"), F.col("value").cast("string"))
    # Only a text that starts as the canonical form does can be canonical: others skip from_json.
    ticket = F.when(
        F.col("_text").startswith(canonical_prefix()), F.from_json("_text", schema.spark_schema())
    )
    with_ticket = records.select(*SOURCE_COLUMNS, text.alias("_text")).withColumn("_ticket", ticket)
    with_doc = with_ticket.withColumn("_fast", fast_path_valid()).withColumn(
        "_doc", F.when(~F.col("_fast"), F.try_parse_json("_text"))
    )
    kinds = schema.field_types()
    typed = with_doc.select(
        "*",
        F.schema_of_variant("_doc").alias("_shape"),
        *[
            F.when(F.col("_fast"), F.col("_ticket")[name])
            .otherwise(F.try_variant_get("_doc", f"$.{name}", SPARK_TYPES[kind]))
            .alias(name)
            for name, kind in kinds.items()
        ],
    )
    return typed.withColumn("_kinds", _field_kinds())


def _field_kinds() -> Column:
    """For a document of the exact path whose shape is not the expected one: the JSON type of
    every schema field, in schema order (``VOID`` when absent or null), to name what is wrong;
    else null (and so are the structure checks that use it)."""
    kinds = F.array(
        *[
            F.coalesce(F.schema_of_variant(F.variant_get("_doc", f"$.{name}", "variant")), F.lit("VOID"))
            for name in schema.fields()
        ]
    )
    return F.when(F.col("_shape") != expected_shape(), kinds)


def canonical_prefix() -> str:
    """How a ticket in canonical form starts: ``{"<first schema field>":`` and, for a string
    field, the opening quote of its value (a producer that writes ``": "`` never matches)."""
    first = schema.fields()[0]
    return "{" + json.dumps(first) + ":" + ('"' if schema.field_types()[first] == "string" else "")


def canonical() -> Column:
    """True when the ``from_json`` ticket ``_ticket``, written back as JSON, is exactly the text
    ``_text``: compact JSON with every schema field, in the schema's order, with its JSON type, and
    no other field (``to_json`` omits null fields and writes strings and integers canonically)."""
    return F.coalesce(F.to_json("_ticket") == F.col("_text"), F.lit(False))


def _passes(well_formed: Column, value_checks: list[tuple[Column, str]]) -> Column:
    """True when the document is ``well_formed`` and no value check fails (false, never null)."""
    valid = well_formed
    for failing, _ in value_checks:
        valid = valid & ~failing
    return F.coalesce(valid, F.lit(False))


def fast_path_valid() -> Column:
    """A valid ticket recognised without the exact path: canonical and every value check passes."""
    return _passes(canonical(), _value_checks(lambda name: F.col("_ticket")[name]))


def _structure_checks() -> list[Column]:
    """The reasons of a document that is not an object with the schema's fields and JSON types.

    The field types come from ``_kinds``, looked up once per misshapen document, rather than
    five lookups per field inlined here (less work, and less generated code; the stage is still
    over the JIT compiler's default method size, see ``spark.executor.extraJavaOptions``)."""
    known = F.array(*[F.lit(name) for name in schema.fields()])
    unknown = F.array_join(F.array_except(F.json_object_keys(F.col("_text")), known), ",")
    checks = [
        _reason(F.col("_text").isNull(), "invalid_utf8"),
        _reason(F.col("_shape").isNull(), "not_json"),
        _reason(~F.col("_shape").startswith("OBJECT"), "not_an_object"),
        F.concat(F.lit("unknown_field:"), F.nullif(unknown, F.lit(""))),
    ]
    required = set(schema.required_fields())
    for index, (name, kind) in enumerate(schema.field_types().items()):
        kind_name = F.col("_kinds")[index]
        if name in required:
            checks.append(_reason(kind_name == "VOID", f"missing_field:{name}"))
        checks.append(_reason(~kind_name.isin("VOID", VARIANT_TYPES[kind]), f"wrong_type:{name}"))
    return checks


def _value_checks(field: Callable[[str], Column] = F.col) -> list[tuple[Column, str]]:
    """(failing condition, reason) for the values of a well-shaped document; ``field(name)`` is
    the typed value of a schema field."""
    checks = [
        (~field(name).isin(*allowed), f"unknown_value:{name}") for name, allowed in schema.enums().items()
    ]
    checks += [
        (F.char_length(field(name)) < minimum, f"empty:{name}")
        for name, minimum in schema.min_lengths().items()
    ]
    checks += [
        (F.char_length(field(name)) > maximum, f"too_long:{name}")
        for name, maximum in schema.max_lengths().items()
    ]
    created_at = field("created_at")
    bad_time = (
        ~created_at.rlike(schema.created_at_pattern())
        | F.try_to_timestamp(created_at, F.lit(schema.CREATED_AT_SPARK_FORMAT)).isNull()
    )
    checks.append((bad_time, "invalid_timestamp:created_at"))
    checks.append((field("schema_version") != F.lit(schema.SCHEMA_VERSION), "unsupported_schema_version"))
    return checks


def reject_reason() -> Column:
    """Null for a valid ticket, else the first failing reason.

    A record of the fast path is valid. On the exact path, a document whose shape is exactly the
    expected one and whose values pass is valid; the per-field structure checks run only for the
    (rare) records that fail it.
    """
    value_checks = _value_checks()
    valid = _passes(F.col("_shape") == expected_shape(), value_checks)
    detailed = F.coalesce(
        *_structure_checks(), *[_reason(failing, reason) for failing, reason in value_checks]
    )
    return F.when(~F.col("_fast") & ~valid, detailed)


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


def content_hash() -> Column:
    """A hash of a ticket's fields: the same ticket sent again has the same one."""
    return F.xxhash64(*[F.col(name).cast("string") for name in schema.fields()])


# What becomes of each valid record (:func:`dispositions`): the published ones are NEW or UPDATED.
NEW = "new"  # the ticket's latest version, a ticket the hours before did not publish
UPDATED = "updated"  # the ticket's latest version, replacing the one an earlier hour published
DUPLICATE = "duplicate"  # the same content as a later record of the hour, or as the one published
SUPERSEDED = "superseded"  # an earlier version of a ticket the hour holds a later version of
NOT_PUBLISHED = (DUPLICATE, SUPERSEDED)


def dispositions(checked: DataFrame, published: DataFrame | None = None) -> DataFrame:
    """Source position (``partition``, ``offset``) and ``disposition`` of every valid record that
    is not simply a new ticket: records with the same ``ticket_id`` are one ticket, published as
    its latest record (latest Kafka time, then partition and offset: the choice does not depend on
    how the read was split). An earlier record with the same fields as a later one is a
    DUPLICATE, one with other fields SUPERSEDED (an update). ``published``: ``ticket_id``,
    ``content_hash`` and ``interval_start`` of what earlier hours published; the latest version
    equal to the last one published is a DUPLICATE (a ticket re-sent across an hour boundary), a
    different one is UPDATED (published again).

    Only the id, the hash and the position of each record are shuffled, not the record.
    """
    latest_first = [F.col(name).desc() for name in DEDUP_ORDER]
    records = checked.where(F.col("reject_reason").isNull()).select(
        "ticket_id", content_hash().alias("content_hash"), *DEDUP_ORDER
    )
    if published is None:
        records = records.withColumn("_published", F.lit(None).cast("long"))
    else:
        last = published.groupBy("ticket_id").agg(
            F.max_by("content_hash", "interval_start").alias("_published")
        )
        records = records.join(last, "ticket_id", how="left")
    latest = F.row_number().over(Window.partitionBy("ticket_id").orderBy(*latest_first)) == 1
    latest_of_its_content = (
        F.row_number().over(Window.partitionBy("ticket_id", "content_hash").orderBy(*latest_first)) == 1
    )
    same_as_published = F.coalesce(F.col("content_hash") == F.col("_published"), F.lit(False))
    disposition = (
        F.when(~latest_of_its_content, DUPLICATE)
        .when(~latest, SUPERSEDED)
        .when(same_as_published, DUPLICATE)
        .when(F.col("_published").isNotNull(), UPDATED)
        .otherwise(NEW)
    )
    return (
        records.withColumn("disposition", disposition)
        .where(F.col("disposition") != NEW)
        .select(*POSITION, "disposition")
    )

"""Parse each record against the version of the ticket schema it names, name why an invalid one
is rejected, and find the duplicates among the valid ones.

Every check is derived from the versions of the JSON Schema the schema registry holds
(:class:`Contract`, read once per run; ``ticket_etl.schema``). A record names its version by its
``schema_id`` header (the registry's id), else by its ``schema_version`` field; one that names
neither a registered version is checked against the newest. A rejected record keeps its
original bytes and headers, the version it was checked against (``checked_schema_version``) and
gets the first failing reason, in this order: invalid_utf8, unknown_schema_id:<id>, not_json,
not_an_object, unknown_field:<names>, missing_field:<f>, wrong_type:<f>, unknown_value:<f>,
empty:<f>, too_long:<f>, too_many:<f>, invalid_timestamp:created_at, unsupported_schema_version.

Two paths, one verdict:

- fast path: a text that starts as the canonical form does (:func:`canonical_prefix`) is parsed
  with ``from_json`` (the types of every field of every version); the others skip it. A record
  whose parsed ticket written back with ``to_json`` is exactly its own text (compact JSON, the
  schema's field order, no field beyond the known ones: what the ticket producer writes) and
  whose values pass the checks of its version is a valid ticket. Nothing else can round-trip to
  the same text, so this never accepts a record the exact path would reject.
- exact path, for every other record: parsed once as a VARIANT, each field looked up once; a
  valid ticket is recognised by its shape (field names and JSON types, one string comparison) and
  the same value checks, and the detailed per-field checks name the reason of a rejected one.

So a producer that writes tickets differently (spaces, another field order, escaped accents)
gets the same results, at the cost of the slower path (README, "The Spark analysis job").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ticket_analysis import sql_text as sql
from ticket_analysis.landing import SOURCE_COLUMNS
from ticket_etl import schema
from ticket_etl.schema_registry import SCHEMA_ID_HEADER, Snapshot

POSITION = ("partition", "offset")
DEDUP_ORDER = ("kafka_timestamp", *POSITION)
VARIANT_TYPES = {
    schema.STRING: ("STRING",),
    schema.INTEGER: ("BIGINT",),
    schema.STRING_ARRAY: ("ARRAY<STRING>", "ARRAY<VOID>"),
}
SPARK_TYPES = {schema.STRING: "string", schema.INTEGER: "bigint", schema.STRING_ARRAY: "array<string>"}
VERSION_FIELD = "schema_version"


class ContractError(ValueError):
    """A registered version the job cannot check or publish."""


@dataclass(frozen=True)
class Contract:
    """The versions of the ticket schema one run checks records against (the registry's,
    snapshotted when the run starts): ``schemas`` by version number, ``ids`` the registry id of
    each version. Their fields are the committed ones (``schema.fields()``: the columns the job
    publishes), with the same types."""

    schemas: dict[int, schema.TicketSchema]
    ids: dict[int, int]

    def __post_init__(self) -> None:
        if not self.schemas:
            raise ContractError("the schema registry holds no version of the ticket schema")
        known = schema.committed_types()
        for version, ticket_schema in self.schemas.items():
            for name, kind in ticket_schema.field_types().items():
                if known.get(name) != kind:
                    raise ContractError(
                        f"version {version} of the ticket schema in the registry has field {name!r} ({kind}), "
                        "which no committed schema file declares so: deploy its ticket.v<N>.schema.json first"
                    )

    @classmethod
    def of_snapshot(cls, snapshot: Snapshot) -> Contract:
        """The contract of a registry snapshot (:class:`ContractError` for a version it cannot check)."""
        try:
            schemas = {entry.version: entry.ticket_schema for entry in snapshot.versions}
        except (schema.UnsupportedSchema, ValueError, KeyError) as error:
            raise ContractError(f"a version of {snapshot.subject} cannot be checked: {error}") from None
        return cls(schemas, {entry.id: entry.version for entry in snapshot.versions})

    @property
    def types(self) -> dict[str, str]:
        """Every field of every version (the committed order) and its type."""
        return schema.committed_types()

    @property
    def newest(self) -> int:
        return max(self.schemas)


def _reason(condition: str, reason: str) -> str:
    """The text ``reason`` when ``condition`` holds, else null."""
    return sql.when((condition, sql.lit(reason)))


def _by_version(version: str, contract: Contract, build: Callable[[schema.TicketSchema], str]) -> str:
    """``build(v)`` of the version ``version`` names (one CASE over the contract's versions)."""
    versions = sorted(contract.schemas)
    if len(versions) == 1:
        return build(contract.schemas[versions[0]])
    return sql.when(*[(f"{version} = {number}", build(contract.schemas[number])) for number in versions])


def header_id() -> str:
    """The text of the record's ``schema_id`` header, null without one."""
    named = sql.call("filter", "coalesce(headers, array())", f"h -> h.`key` = {sql.lit(SCHEMA_ID_HEADER)}")
    return f"CAST({sql.call('try_element_at', named, '1')}.`value` AS STRING)"


def named_version(contract: Contract, body_version: str) -> str:
    """The version a record is checked against: the one its ``schema_id`` header names (null
    for an id the registry does not hold), else the one its ``schema_version`` field names if
    registered, else the newest."""
    by_id = sql.call(
        "map", *[sql.lit(part) for pair in contract.ids.items() for part in (str(pair[0]), pair[1])]
    )
    registered = sql.coalesce(sql.isin(body_version, contract.schemas), sql.FALSE)
    return sql.when(
        ("_header_id IS NOT NULL", sql.call("try_element_at", by_id, "_header_id")),
        (registered, body_version),
        otherwise=sql.lit(contract.newest),
    )


def expected_shape(ticket_schema: schema.TicketSchema) -> str:
    """``schema_of_variant`` of a valid ticket of ``ticket_schema`` holding every field (constant)."""
    examples = {schema.STRING: "x", schema.INTEGER: ticket_schema.version, schema.STRING_ARRAY: ["x"]}
    example = {name: examples[kind] for name, kind in ticket_schema.field_types().items()}
    return sql.call("schema_of_variant", sql.call("parse_json", sql.lit(json.dumps(example))))


def _parsed(records: DataFrame, contract: Contract) -> DataFrame:
    """The record's text (null when not UTF-8), the version it names, whether it is a valid
    ticket in canonical form (``_fast``), and for every other record its document (null when not
    JSON) and shape (field names and JSON types); then every field, typed, from whichever path
    parsed it.

    Each step is its own projection and is referenced several times by the next, so Spark computes
    it once per record instead of inlining it into every use (it does not collapse projections
    that would repeat an expensive expression).
    """
    text = sql.when(("is_valid_utf8(value)", "CAST(value AS STRING)"))
    parsing_schema = schema.spark_schema_of(contract.types).json()
    # Only a text that starts as the canonical form does can be canonical: others skip from_json.
    ticket = sql.when(
        (
            sql.call("startswith", "_text", sql.lit(canonical_prefix(contract))),
            f"from_json(_text, {sql.lit(parsing_schema)})",
        )
    )
    with_ticket = records.select(
        *SOURCE_COLUMNS, sql.column(text, "_text"), sql.column(header_id(), "_header_id")
    )
    with_ticket = with_ticket.withColumn("_ticket", sql.column(ticket))
    with_doc = with_ticket.withColumn("_fast", sql.column(fast_path_valid(contract))).withColumn(
        "_doc", sql.column(sql.when(("NOT _fast", "try_parse_json(_text)")))
    )
    typed = with_doc.select(
        "*",
        sql.column("schema_of_variant(_doc)", "_shape"),
        *[
            sql.column(
                sql.when(
                    ("_fast", sql.field("_ticket", name)),
                    otherwise=sql.call(
                        "try_variant_get", "_doc", sql.lit(f"$.{name}"), sql.lit(SPARK_TYPES[kind])
                    ),
                ),
                name,
            )
            for name, kind in contract.types.items()
        ],
    )
    return typed.withColumn("_kinds", sql.column(_field_kinds(contract))).withColumn(
        "_version", sql.column(named_version(contract, sql.ident(VERSION_FIELD)))
    )


def _field_kinds(contract: Contract) -> str:
    """For a document of the exact path whose shape is not that of a whole ticket of some
    version: the JSON type of every known field, in order (``VOID`` when absent or null), to name
    what is wrong; else null (and so are the structure checks that use it)."""
    kinds = sql.array(
        *[
            sql.coalesce(
                sql.call(
                    "schema_of_variant", sql.call("variant_get", "_doc", sql.lit(f"$.{name}"), "'variant'")
                ),
                "'VOID'",
            )
            for name in contract.types
        ]
    )
    whole = ", ".join(expected_shape(ticket_schema) for ticket_schema in contract.schemas.values())
    return sql.when((f"NOT _fast AND NOT coalesce(_shape IN ({whole}), FALSE)", kinds))


def canonical_prefix(contract: Contract) -> str:
    """How a ticket in canonical form starts: ``{"<first field>":`` and, for a string
    field, the opening quote of its value (a producer that writes ``": "`` never matches)."""
    first, kind = next(iter(contract.types.items()))
    return "{" + json.dumps(first) + ":" + ('"' if kind == schema.STRING else "")


def canonical() -> str:
    """True when the ``from_json`` ticket ``_ticket``, written back as JSON, is exactly the text
    ``_text``: compact JSON with known fields only, in the schema's order, with their JSON types
    (``to_json`` omits null fields and writes strings, integers and arrays canonically)."""
    return "coalesce(to_json(_ticket) = _text, FALSE)"


def _passes(well_formed: str, value_checks: list[tuple[str, str]]) -> str:
    """True when the document is ``well_formed`` and no value check fails (false, never null)."""
    return sql.coalesce(
        sql.all_of(well_formed, *[sql.not_(failing) for failing, _ in value_checks]), sql.FALSE
    )


def fast_path_valid(contract: Contract) -> str:
    """A valid ticket recognised without the exact path: canonical, it names a registered
    version, holds only that version's fields and passes its value checks."""
    version = named_version(contract, sql.field("_ticket", VERSION_FIELD))

    def valid(ticket_schema: schema.TicketSchema) -> str:
        absent = [
            (f"{sql.field('_ticket', name)} IS NOT NULL", "")
            for name in contract.types
            if name not in ticket_schema.properties
        ]
        checks = _value_checks(ticket_schema, lambda name: sql.field("_ticket", name))
        return _passes(canonical(), absent + checks)

    return sql.coalesce(_by_version(f"({version})", contract, valid), sql.FALSE)


def _structure_checks(ticket_schema: schema.TicketSchema, contract: Contract) -> list[str]:
    """The reasons of a document that is not an object with ``ticket_schema``'s fields and JSON
    types. The field types come from ``_kinds``, looked up once per document."""
    known = sql.array(*map(sql.lit, ticket_schema.fields()))
    unknown = f"array_join(array_except(json_object_keys(_text), {known}), ',')"
    checks = [
        _reason("_shape IS NULL", "not_json"),
        _reason("NOT startswith(_shape, 'OBJECT')", "not_an_object"),
        f"concat('unknown_field:', nullif({unknown}, ''))",
    ]
    required = set(ticket_schema.required_fields())
    positions = {name: index for index, name in enumerate(contract.types)}
    for name, kind in ticket_schema.field_types().items():
        kind_name = f"_kinds[{positions[name]}]"
        if name in required:
            checks.append(_reason(f"{kind_name} = 'VOID'", f"missing_field:{name}"))
        checks.append(
            _reason(sql.not_(sql.isin(kind_name, ("VOID", *VARIANT_TYPES[kind]))), f"wrong_type:{name}")
        )
    return checks


def _value_checks(
    ticket_schema: schema.TicketSchema, field: Callable[[str], str] = sql.ident
) -> list[tuple[str, str]]:
    """(failing condition, reason) for the values of a well-shaped document of ``ticket_schema``;
    ``field(name)`` is the typed value of a field. An optional field that is absent passes."""
    required = set(ticket_schema.required_fields())
    checks: list[tuple[str, str]] = []

    def check(name: str, failing: str, reason: str) -> None:
        checks.append((failing if name in required else sql.coalesce(failing, sql.FALSE), reason))

    for name, allowed in ticket_schema.enums().items():
        if name != VERSION_FIELD:
            check(name, sql.not_(sql.isin(field(name), allowed)), f"unknown_value:{name}")
    for name, minimum in ticket_schema.min_lengths().items():
        check(name, f"(char_length({field(name)}) < {minimum})", f"empty:{name}")
    for name, maximum in ticket_schema.max_lengths().items():
        check(name, f"(char_length({field(name)}) > {maximum})", f"too_long:{name}")
    for name, (shortest, longest) in ticket_schema.item_lengths().items():
        if shortest is not None:
            check(name, f"exists({field(name)}, item -> char_length(item) < {shortest})", f"empty:{name}")
        if longest is not None:
            check(name, f"exists({field(name)}, item -> char_length(item) > {longest})", f"too_long:{name}")
    for name, maximum in ticket_schema.max_items().items():
        check(name, f"(size({field(name)}) > {maximum})", f"too_many:{name}")
    created_at = field("created_at")
    pattern, time_format = (
        sql.lit(ticket_schema.created_at_pattern()),
        sql.lit(schema.CREATED_AT_SPARK_FORMAT),
    )
    bad_time = (
        f"(NOT rlike({created_at}, {pattern}) OR try_to_timestamp({created_at}, {time_format}) IS NULL)"
    )
    check("created_at", bad_time, "invalid_timestamp:created_at")
    versions = ticket_schema.enums().get(VERSION_FIELD, [])
    check(VERSION_FIELD, sql.not_(sql.isin(field(VERSION_FIELD), versions)), "unsupported_schema_version")
    return checks


def reject_reason(contract: Contract) -> str:
    """Null for a valid ticket, else the first failing reason.

    A record of the fast path is valid. On the exact path, a document whose shape is exactly the
    expected one of its version and whose values pass is valid; the per-field structure checks
    run only for the records that fail it.
    """

    def verdict(ticket_schema: schema.TicketSchema) -> str:
        value_checks = _value_checks(ticket_schema)
        valid = _passes(f"_shape = {expected_shape(ticket_schema)}", value_checks)
        detailed = sql.coalesce(
            *_structure_checks(ticket_schema, contract),
            *[_reason(failing, reason) for failing, reason in value_checks],
        )
        return sql.when((sql.not_(valid), detailed))

    unknown_id = sql.when(
        ("_header_id IS NOT NULL AND _version IS NULL", "concat('unknown_schema_id:', _header_id)"),
        otherwise=_by_version("_version", contract, verdict),
    )
    return sql.when(("_text IS NULL", "'invalid_utf8'"), ("NOT _fast", unknown_id))


def with_reject_reason(records: DataFrame, contract: Contract) -> DataFrame:
    """Add ``reject_reason`` (null when the record is a valid ticket), the version it was checked
    against (``checked_schema_version``) and the typed fields of every version."""
    return records.transform(lambda frame: _parsed(frame, contract)).select(
        "key",
        "value",
        "headers",
        "partition",
        "offset",
        F.col("timestamp").alias("kafka_timestamp"),
        sql.column(reject_reason(contract), "reject_reason"),
        F.col("_version").alias("checked_schema_version"),
        *contract.types,
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

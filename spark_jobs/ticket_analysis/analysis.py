"""The analysis of one hour: from its landed records to the staged datasets and summary.

The records are read once: the checked records (typed fields, reject reason, position; the
original bytes only for rejected records) go to a scratch Parquet dataset in the run's staging
folder, and every output derives from it, or from the staged datasets. Only small, bounded
aggregates reach the driver.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from ticket_analysis import (
    enrichment,
    rerouting,
    routing,
    sinks,
    small_tables,
    statistics,
    trends,
    validation,
)
from ticket_analysis.config import JobConfig
from ticket_analysis.faults import fault_point
from ticket_analysis.source import end_offsets
from ticket_analysis.steps import step
from ticket_analysis.storage import HadoopStore, join
from ticket_analysis.summary import Counts, build_summary
from ticket_etl import artifacts, schema
from ticket_etl import config as etl_config
from ticket_etl.topology import TEAM_TOPICS

log = logging.getLogger("analyze_tickets")

RUN_COLUMNS = ("run_id", "interval_start", "interval_end")
# The checked records of the interval, read once from Kafka: a scratch dataset of the run's
# staging folder, removed before the run's outputs are promoted. Written fast (it lives for
# one run): lz4 and no dictionary encoding (ids and texts are all distinct).
CHECKED_SCRATCH = "_checked"
SCRATCH_OPTIONS = {"compression": "lz4_raw", "parquet.enable.dictionary": "false"}
# Up to this many duplicates, their positions are broadcast to drop them (a few MiB at most).
BROADCAST_DUPLICATES_MAX = 200_000
POSITION_SCHEMA = "partition int, offset long"  # validation.POSITION, as Spark types
# Up to this many records, an hour's checked records stay in memory instead of a scratch dataset.
IN_MEMORY_MAX_RECORDS = 100_000
# Terms (words, and phrases) kept per scope in the summary (at least --top-n), so that readers can
# merge hours and later runs can compare with them.
KEYWORDS_IN_SUMMARY = 100


def enriched_columns() -> list[Column]:
    """The contract of the ``tickets_enriched`` dataset."""
    return [
        *map(F.col, schema.fields()),
        *map(F.col, ("created_ts", "priority_level", "sla_due_at", "keywords", "phrases")),
        *map(F.col, ("support_team", "team_topic", "routing_rule_id", "rules_version")),
        F.col("partition").alias("source_partition"),
        F.col("offset").alias("source_offset"),
        *map(F.col, RUN_COLUMNS),
    ]


def rejected_columns() -> list[Column]:
    """The contract of the ``rejected_tickets`` dataset (original bytes and headers kept)."""
    return [
        *map(F.col, ("key", "value", "headers")),
        F.col("partition").alias("source_partition"),
        F.col("offset").alias("source_offset"),
        *map(F.col, ("kafka_timestamp", "reject_reason", "checked_schema_version", *RUN_COLUMNS)),
    ]


def run_values(config: JobConfig) -> dict[str, str]:
    """The run columns of every dataset: ``RUN_COLUMNS`` and their values."""
    bounds = config.interval.as_dict()
    return dict(zip(RUN_COLUMNS, (config.run_id, bounds["start"], bounds["end"]), strict=True))


def with_run_columns(df: DataFrame, config: JobConfig) -> DataFrame:
    return df.withColumns({name: F.lit(value) for name, value in run_values(config).items()})


def enrich(accepted: DataFrame, config: JobConfig) -> DataFrame:
    """Accepted tickets -> enriched, routed tickets (the enriched dataset's contract)."""
    return (
        accepted.transform(enrichment.with_created_ts)
        .transform(enrichment.with_priority_level)
        .transform(partial(enrichment.with_sla_due_at, sla_hours=config.rules.sla_hours))
        .transform(
            partial(enrichment.with_terms, stopwords=enrichment.with_default_stopwords(config.stopwords))
        )
        .transform(partial(routing.with_route, rules=config.rules))
        .transform(partial(with_run_columns, config=config))
        .select(*enriched_columns())
    )


@dataclass
class Staging:
    """The run's staging folder and the schemas of the datasets the run wrote there: read back
    with its schema, a dataset costs no Spark job (Spark runs one to read a Parquet footer when it
    has to infer the schema)."""

    path: str
    schemas: dict[str, StructType] = field(default_factory=dict)

    def write(self, df: DataFrame, name: str, options: dict[str, str] | None = None) -> None:
        df.write.mode("overwrite").options(**(options or {})).parquet(self.at(name))
        self.schemas[name] = df.schema

    def read(self, spark: SparkSession, name: str) -> DataFrame:
        return spark.read.schema(self.schemas[name]).parquet(self.at(name))

    def at(self, name: str) -> str:
        return join(self.path, name)


def _rows(df: DataFrame, limit: int) -> list[dict[str, Any]]:
    """Collect a small, bounded aggregate."""
    return [row.asDict() for row in df.limit(limit).collect()]


def checked_columns() -> list[Column]:
    """What the run keeps of each record read: its position, time, reject reason and typed
    fields, and, for a rejected record only, its original key, bytes and headers."""
    rejected = F.col("reject_reason").isNotNull()
    return [
        *[F.when(rejected, F.col(name)).alias(name) for name in ("key", "value", "headers")],
        *map(F.col, ("partition", "offset", "kafka_timestamp", "reject_reason", "checked_schema_version")),
        *map(F.col, schema.fields()),
    ]


def without_duplicates(valid: DataFrame, dropped: DataFrame, count: int) -> DataFrame:
    """``valid`` minus the records at the positions of ``dropped`` (``count`` rows: duplicates
    and superseded versions): a broadcast anti-join while they are few, a shuffled one beyond."""
    if count == 0:
        return valid
    small = count <= BROADCAST_DUPLICATES_MAX
    return valid.join(F.broadcast(dropped) if small else dropped, list(validation.POSITION), "left_anti")


def _not_published(spark: SparkSession, found: DataFrame, read: int) -> tuple[dict[str, int], DataFrame]:
    """The count of each disposition ``found`` holds (:func:`validation.dispositions` of ``read``
    records) and the positions of the records not published. For an hour of at most
    :data:`BROADCAST_DUPLICATES_MAX` records, in one Spark job: collected (a row per record at
    most), counted here, the positions handed back as a local table. Beyond, counted by Spark and
    ``found`` kept in Spark's storage (the caller unpersists it)."""
    if read <= BROADCAST_DUPLICATES_MAX:
        rows = found.collect()
        positions = [row[:2] for row in rows if row["disposition"] in validation.NOT_PUBLISHED]
        return dict(Counter(row["disposition"] for row in rows)), spark.createDataFrame(
            positions, POSITION_SCHEMA
        )
    found = found.persist(StorageLevel.MEMORY_AND_DISK)
    counts = {row["disposition"]: row["count"] for row in found.groupBy("disposition").count().collect()}
    return counts, found.where(F.col("disposition").isin(*validation.NOT_PUBLISHED)).select(
        *validation.POSITION
    )


def published_versions(spark: SparkSession, store: HadoopStore, config: JobConfig) -> DataFrame | None:
    """The tickets the hour's previous run and the :data:`ticket_etl.config.DUPLICATE_LOOK_BACK_HOURS`
    before it published: ``ticket_id``, ``content_hash`` and :data:`rerouting.ASSIGNMENT` (a few
    columns of their Parquet), or None when none did."""
    root = config.job.artifacts_root
    hours = [config.interval, *config.interval.hours_before(etl_config.DUPLICATE_LOOK_BACK_HOURS)]
    paths = [artifacts.partition_path(root, "tickets_enriched", hour) for hour in hours]
    published = [path for path in paths if store.exists(path)]
    if not published:
        return None
    tickets = read_enriched(spark, published)
    return tickets.select("ticket_id", validation.content_hash().alias("content_hash"), *rerouting.ASSIGNMENT)


def read_enriched(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Published ``tickets_enriched`` folders, their columns merged: an hour published before a
    field was added to the ticket schema has no column for it (null here), so a ticket's content
    hash is the same whichever hours are read together."""
    return spark.read.option("mergeSchema", "true").parquet(*paths)


def updated_later(spark: SparkSession, store: HadoopStore, config: JobConfig) -> DataFrame | None:
    """The ``ticket_id`` of the tickets the :data:`ticket_etl.config.DUPLICATE_LOOK_BACK_HOURS`
    after the hour published (the hours that compare their tickets with this one), or None when
    none did. Such a ticket was updated since: its newer version is the one its team topic must
    keep, so reprocessing this hour does not send the older one again."""
    root = config.job.artifacts_root
    paths = [
        artifacts.partition_path(root, "tickets_enriched", hour)
        for hour in config.interval.hours_after(etl_config.DUPLICATE_LOOK_BACK_HOURS)
    ]
    published = [path for path in paths if store.exists(path)]
    return spark.read.parquet(*published).select("ticket_id").distinct() if published else None


def _before(versions: DataFrame | None, config: JobConfig) -> DataFrame | None:
    """The ``versions`` the hours before published (not the hour's own previous run)."""
    start = run_values(config)["interval_start"]
    return None if versions is None else versions.where(F.col("interval_start") < F.lit(start))


def analyze_hour(
    spark: SparkSession, store: HadoopStore, config: JobConfig, records: DataFrame, read: int, staged: Staging
) -> dict[str, Any]:
    """Validate, de-duplicate, enrich and route the hour's ``records`` (``read`` of them); write
    every dataset and the summary under ``staged`` (:func:`publish` sends them once checked);
    returns the summary (without the run's ingest figures, which the caller adds).

    The checked records are kept for the rest of the run: in memory for an hour of at most
    :data:`IN_MEMORY_MAX_RECORDS` (no scratch files to write and list), else in a scratch Parquet
    dataset (memory bounded whatever the volume)."""
    checked = _checked(spark, records, read, staged, config.contract)
    fault_point("analysis")
    with step("find duplicates and updates"):
        versions = published_versions(spark, store, config)
        found = validation.dispositions(checked, _before(versions, config))
        dispositions, dropped = _not_published(spark, found, read)
    valid = checked.where(F.col("reject_reason").isNull())
    with step("enrich and write tickets_enriched"):
        accepted = without_duplicates(
            valid, dropped, sum(dispositions.get(d, 0) for d in validation.NOT_PUBLISHED)
        )
        staged.write(enrich(accepted, config), "tickets_enriched")
    found.unpersist()
    with step("write rejected_tickets"):
        rejected = checked.where(F.col("reject_reason").isNotNull()).transform(
            partial(with_run_columns, config=config)
        )
        staged.write(rejected.select(*rejected_columns()), "rejected_tickets")
    checked.unpersist()
    enriched, rejected = staged.read(spark, "tickets_enriched"), staged.read(spark, "rejected_tickets")
    with step("routing changes"):
        moved = _write_routing_changes(spark, store, config, enriched, versions, staged)
    counts = Counts(
        read=read,
        enriched=store.parquet_rows(staged.at("tickets_enriched")),
        rejected=store.parquet_rows(staged.at("rejected_tickets")),
        duplicates=dispositions.get(validation.DUPLICATE, 0),
        updates=dispositions.get(validation.SUPERSEDED, 0),
        earlier_tickets_updated=dispositions.get(validation.UPDATED, 0),
    )
    with step("statistics"):
        figures = _write_statistics(store, staged.path, enriched, config, counts.enriched)
        summary = _summary(config, rejected, counts, {**figures, "routing_changes": moved})
    store.delete(staged.at(CHECKED_SCRATCH))
    return summary


def _write_routing_changes(
    spark: SparkSession,
    store: HadoopStore,
    config: JobConfig,
    enriched: DataFrame,
    versions: DataFrame | None,
    staged: Staging,
) -> dict[str, Any]:
    """Write the hour's ``routing_changes`` (the rows its earlier runs recorded, then this run's:
    :func:`rerouting.routing_changes`); returns this run's moves (:func:`rerouting.moves`): none,
    without reading them back, when nothing was published before (an hour's first run)."""
    recorded_at = artifacts.partition_path(config.job.artifacts_root, "routing_changes", config.interval)
    recorded = spark.read.parquet(recorded_at) if store.exists(recorded_at) else None
    staged.write(rerouting.routing_changes(enriched, versions, recorded, RUN_COLUMNS), "routing_changes")
    if versions is None:
        return rerouting.tally([])
    return rerouting.moves(rerouting.of_run(staged.read(spark, "routing_changes"), config.run_id))


def _checked(
    spark: SparkSession, records: DataFrame, read: int, staged: Staging, contract: validation.Contract
) -> DataFrame:
    """The records with their reject reason, checked version and typed fields, computed once (see
    :func:`analyze_hour`)."""
    checked = records.transform(lambda frame: validation.with_reject_reason(frame, contract))
    checked = checked.select(*checked_columns())
    if read <= IN_MEMORY_MAX_RECORDS:
        return checked.persist(StorageLevel.MEMORY_AND_DISK)
    with step("validate the hour"):
        staged.write(checked, CHECKED_SCRATCH, SCRATCH_OPTIONS)
    return staged.read(spark, CHECKED_SCRATCH)


def publish(
    spark: SparkSession, store: HadoopStore, staged: Staging, config: JobConfig, summary: dict[str, Any]
) -> dict[str, Any]:
    """The staged run's enriched tickets to their team's topic, its rejected records to the
    dead-letter topic (less those the hour's published run sent already: the summary's
    ``published`` count of that topic becomes what this run sent) and its alerts to the alerts
    topic, in one Kafka write; then, once it is done, a tombstone to the old team's topic of
    each ticket this run moved (:mod:`ticket_analysis.rerouting`). Called once the staged
    outputs passed their checks, so a run that fails them sends nothing. Returns, per topic written, the records sent and how far its end
    offsets moved (:func:`delivered`)."""
    enriched = staged.read(spark, "tickets_enriched")
    newer = updated_later(spark, store, config)
    if newer is not None:  # read by up to four actions below: read and de-duplicated once
        newer = newer.persist(StorageLevel.MEMORY_AND_DISK)
    current = _current(enriched, newer, summary)
    rejected = staged.read(spark, "rejected_tickets")
    sent_before = artifacts.partition_path(config.job.artifacts_root, "rejected_tickets", config.interval)
    if store.exists(sent_before):  # a reprocess: its published run sent those
        rejected = sinks.not_sent_before(rejected, spark.read.parquet(sent_before)).persist()
        summary["published"][config.job.dead_letter_topic] = rejected.count()
    dead_letters = sinks.dead_letter_records(rejected, config.source_topic, config.job.dead_letter_topic)
    records = sinks.team_records(current).unionByName(dead_letters)
    if summary["alerts"]:
        alerts = trends.alert_records(
            spark, summary["alerts"], config.interval, config.run_id, config.job.alerts_topic
        )
        records = records.unionByName(alerts)
    changes = rerouting.of_run(staged.read(spark, "routing_changes"), config.run_id)
    if newer is not None:  # a newer version decides the ticket's team: no tombstone from here
        changes = changes.join(newer, "ticket_id", "left_anti")
        summary["routing_changes"]["tombstones"] = rerouting.moves(changes)["tombstones"]
    sent = {topic: count for topic, count in summary["published"].items() if count}
    tombstones = summary["routing_changes"]["tombstones"]
    for topic, count in tombstones.items():
        sent[topic] = sent.get(topic, 0) + count
    before = end_offsets(spark, config.job.bootstrap, sent)
    sinks.write_to_kafka(records, config.job.bootstrap)
    rejected.unpersist()
    if tombstones:  # after the new teams' records: a consumer never misses a moved ticket
        sinks.write_to_kafka(rerouting.tombstones(changes), config.job.bootstrap)
    if newer is not None:
        newer.unpersist()
    return delivered(sent, before, end_offsets(spark, config.job.bootstrap, sent))


def _current(enriched: DataFrame, newer: DataFrame | None, summary: dict[str, Any]) -> DataFrame:
    """The enriched tickets to send to their team: those no later hour published (``newer``).
    The summary then counts what is sent per team topic, and ``updated_later`` the others (they
    stay in the hour's datasets: they are the hour's versions)."""
    if newer is None:
        summary["updated_later"] = 0
        return enriched
    current = enriched.join(newer, "ticket_id", "left_anti")
    per_topic = {row["team_topic"]: row["count"] for row in current.groupBy("team_topic").count().collect()}
    for topic in TEAM_TOPICS:
        if topic in summary["published"]:
            summary["published"][topic] = per_topic.get(topic, 0)
    summary["updated_later"] = summary["totals"]["enriched"] - sum(per_topic.values())
    return current


def delivered(sent: dict[str, int], before: dict[str, int], after: dict[str, int]) -> dict[str, Any]:
    """Per topic, the records sent and how far its end offsets moved: a check of Kafka itself
    (at least as many, more if another writer or a retried Spark task wrote too); a topic that
    moved less lost records, and the run fails (it is retried: the staging was not promoted)."""
    figures = {
        topic: {"sent": count, "offsets_advanced": after[topic] - before[topic]}
        for topic, count in sent.items()
    }
    short = {topic: f for topic, f in figures.items() if f["offsets_advanced"] < f["sent"]}
    if short:
        raise KafkaDeliveryError(f"Kafka holds fewer new records than were sent: {short}")
    return dict(sorted(figures.items()))


class KafkaDeliveryError(RuntimeError):
    """A topic's end offsets moved less than the records the run wrote to it."""


def _write_statistics(
    store: HadoopStore, staged: str, enriched: DataFrame, config: JobConfig, total: int
) -> dict[str, Any]:
    """Write ``stats_by_type``, ``stats_by_team``, ``word_frequency`` and ``keyword_trends``
    (``total``: enriched tickets) from small collected aggregates, the count table and the term
    ranking; returns the figures the summary needs."""
    counts = statistics.count_table(enriched)
    by_type = statistics.stats_by_type(counts, total)
    by_team = statistics.stats_by_team(counts, total)
    terms = _term_figures(store, enriched, config, {row["type"]: row["tickets"] for row in by_type})
    outputs = {
        "stats_by_type": small_tables.table(by_type, statistics.stats_schema(("type",))),
        "stats_by_team": small_tables.table(by_team, statistics.stats_schema(("support_team", "team_topic"))),
        "word_frequency": small_tables.table(
            statistics.word_frequency_rows(terms.pop("ranking"), config.job.top_n),
            statistics.WORD_FREQUENCY_SCHEMA,
        ),
        "keyword_trends": small_tables.table(
            trends.trend_rows(terms["surging_terms"], terms["distinctive_terms_by_type"]),
            trends.KEYWORD_TRENDS_SCHEMA,
        ),
    }
    for name, data in outputs.items():
        small_tables.write(store, join(staged, name), small_tables.with_constants(data, run_values(config)))
    store.write_json_atomic(
        join(staged, artifacts.INSIGHTS_DATASET, artifacts.TERM_COUNTS_NAME), terms.pop("term_counts")
    )
    return {
        "by_type": by_type,
        "by_team": by_team,
        "by_rule": statistics.tickets_by_rule(counts),
        "tickets_by_schema_version": statistics.tickets_by_schema_version(counts),
        "sla": statistics.sla_pressure(counts, config.interval.end),
        **terms,
    }


def _term_figures(
    store: HadoopStore, enriched: DataFrame, config: JobConfig, type_tickets: dict[str, int]
) -> dict[str, Any]:
    """The hour's term and phrase counts by scope, what distinguishes each type, and what surges
    against the published hours before it (with example tickets and alerts); ``term_counts``: the
    hour's deeper overall counts, which later hours compare with."""
    kept = max(config.job.top_n, KEYWORDS_IN_SUMMARY)
    ranking = trends.ranking_rows(enriched, type_tickets, kept)
    counted = trends.counts_document(ranking, sum(type_tickets.values()))
    look_back = config.job.baseline_hours
    past = trends.baseline_hours(store, config.job.artifacts_root, config.interval, look_back)
    baseline, surging = trends.surge(counted, past, look_back)
    surging = trends.with_examples(enriched, surging)
    return {
        "ranking": ranking,
        "term_counts": counted,
        **trends.hour_figures(ranking, type_tickets, config.job.top_n, kept),
        "baseline": baseline,
        "surging_terms": surging,
        "alerts": trends.alerts(surging, baseline),
    }


def _summary(
    config: JobConfig, rejected: DataFrame, counts: Counts, figures: dict[str, Any]
) -> dict[str, Any]:
    """The insights summary, from the statistics' figures and the reject reasons."""
    reasons = _rows(rejected.groupBy("reject_reason").count().orderBy(F.desc("count"), "reject_reason"), 100)
    published = (
        {row["team_topic"]: row["tickets"] for row in figures["by_team"]}
        if config.job.publish_to_kafka
        else {}
    )
    if config.job.publish_to_kafka:
        published[config.job.dead_letter_topic] = counts.rejected
        published[config.job.alerts_topic] = len(figures["alerts"])
    return build_summary(
        interval=config.interval,
        run_id=config.run_id,
        rules_version=config.rules.version,
        rules_digest=config.rules.digest,
        schemas=config.schemas.as_dict(),
        counts=counts,
        rejected_by_reason={row["reject_reason"]: row["count"] for row in reasons},
        published=published,
        **figures,
    )

"""The analysis of one interval, from the Kafka read to the staged (then promoted) artifacts."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ticket_analysis import enrichment, routing, sinks, statistics, validation
from ticket_analysis.source import read_interval
from ticket_analysis.summary import Counts, build_summary
from ticket_etl import artifacts, schema
from ticket_etl.interval import Interval
from ticket_etl.job_args import DEFAULT_MAX_RECORDS_PER_TASK
from ticket_etl.rules import RuleSet

log = logging.getLogger("analyze_tickets")

RUN_COLUMNS = ("run_id", "interval_start", "interval_end")
# The checked records of the interval, read once from Kafka: a scratch dataset of the run's
# staging folder, removed before the run's outputs are promoted. Written fast (it lives for
# one run): lz4 and no dictionary encoding (ids and texts are all distinct).
CHECKED_SCRATCH = "_checked"
SCRATCH_OPTIONS = {"compression": "lz4_raw", "parquet.enable.dictionary": "false"}
# Up to this many duplicates, their positions are broadcast to drop them (a few MiB at most).
BROADCAST_DUPLICATES_MAX = 200_000
# Keywords kept per scope in the summary (at least --top-n), so that readers can merge hours.
KEYWORDS_IN_SUMMARY = 100


def enriched_columns() -> list[Column]:
    """The contract of the ``tickets_enriched`` dataset."""
    return [
        *map(F.col, schema.fields()),
        *map(F.col, ("created_ts", "priority_level", "sla_due_at", "keywords")),
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
        *map(F.col, ("kafka_timestamp", "reject_reason", *RUN_COLUMNS)),
    ]


@dataclass(frozen=True)
class JobConfig:
    """Everything one run needs, from the command line."""

    interval: Interval
    bootstrap: str
    source_topic: str
    dead_letter_topic: str
    output: Path
    run_id: str
    rules: RuleSet
    stopwords: list[str]
    top_n: int = 20
    max_records_per_task: int = DEFAULT_MAX_RECORDS_PER_TASK
    publish_to_kafka: bool = True
    promote: bool = True


def with_run_columns(df: DataFrame, config: JobConfig) -> DataFrame:
    return (
        df.withColumn("run_id", F.lit(config.run_id))
        .withColumn("interval_start", F.lit(config.interval.as_dict()["start"]))
        .withColumn("interval_end", F.lit(config.interval.as_dict()["end"]))
    )


def enrich(accepted: DataFrame, config: JobConfig) -> DataFrame:
    """Accepted tickets -> enriched, routed tickets (the enriched dataset's contract)."""
    return (
        accepted.transform(enrichment.with_created_ts)
        .transform(enrichment.with_priority_level)
        .transform(partial(enrichment.with_sla_due_at, sla_hours=config.rules.sla_hours))
        .transform(partial(enrichment.with_keywords, stopwords=config.stopwords))
        .transform(partial(routing.with_route, rules=config.rules))
        .transform(partial(with_run_columns, config=config))
        .select(*enriched_columns())
    )


def _write_parquet(df: DataFrame, path: Path, options: dict[str, str] | None = None) -> None:
    df.write.mode("overwrite").options(**(options or {})).parquet(str(path))


def _rows(df: DataFrame, limit: int) -> list[dict[str, Any]]:
    """Collect a small, bounded aggregate."""
    return [row.asDict() for row in df.limit(limit).collect()]


@contextmanager
def _step(name: str) -> Iterator[None]:
    """Log how long a step of the run took (LOG_LEVEL=INFO shows them in the task log)."""
    started = time.monotonic()
    yield
    log.info("step %s: %.1fs", name, time.monotonic() - started)


def checked_columns() -> list[Column]:
    """What the run keeps of each record read: its position, time, reject reason and typed
    fields, and, for a rejected record only, its original key, bytes and headers."""
    rejected = F.col("reject_reason").isNotNull()
    return [
        *[F.when(rejected, F.col(name)).alias(name) for name in ("key", "value", "headers")],
        *map(F.col, ("partition", "offset", "kafka_timestamp", "reject_reason", *schema.fields())),
    ]


def without_duplicates(valid: DataFrame, duplicates: DataFrame, count: int) -> DataFrame:
    """``valid`` minus the records at the positions of ``duplicates`` (``count`` rows): a
    broadcast anti-join while the duplicates are few, a shuffled one beyond."""
    if count == 0:
        return valid
    small = count <= BROADCAST_DUPLICATES_MAX
    return valid.join(
        F.broadcast(duplicates) if small else duplicates, list(validation.POSITION), "left_anti"
    )


def run(spark: SparkSession, config: JobConfig) -> dict[str, Any]:
    """Analyze the interval; returns the insights summary.

    The source is read once, into a scratch Parquet dataset of the checked records inside the
    run's staging folder; every output derives from it, so memory stays bounded by a task's
    records whatever the size of the interval.
    """
    staged = artifacts.staging_dir(config.output, config.run_id)
    shutil.rmtree(staged, ignore_errors=True)
    scratch = staged / CHECKED_SCRATCH
    with _step("read and validate the interval"):
        from_kafka = read_interval(
            spark, config.bootstrap, config.source_topic, config.interval, config.max_records_per_task
        ).transform(validation.with_reject_reason)
        _write_parquet(from_kafka.select(*checked_columns()), scratch, SCRATCH_OPTIONS)
    checked = spark.read.parquet(str(scratch))
    with _step("find duplicates"):
        duplicates = validation.later_occurrences(checked).persist(StorageLevel.MEMORY_AND_DISK)
        duplicate_count = duplicates.count()
    valid = checked.where(F.col("reject_reason").isNull())
    with _step("enrich and write tickets_enriched"):
        accepted = without_duplicates(valid, duplicates, duplicate_count)
        _write_parquet(enrich(accepted, config), staged / "tickets_enriched")
    duplicates.unpersist()
    with _step("write rejected_tickets"):
        rejected = checked.where(F.col("reject_reason").isNotNull()).transform(
            partial(with_run_columns, config=config)
        )
        _write_parquet(rejected.select(*rejected_columns()), staged / "rejected_tickets")

    enriched = spark.read.parquet(str(staged / "tickets_enriched"))
    rejected = spark.read.parquet(str(staged / "rejected_tickets"))
    counts = Counts(
        read=checked.count(),
        enriched=enriched.count(),
        rejected=rejected.count(),
        duplicates=duplicate_count,
    )
    with _step("statistics"):
        figures = _write_statistics(spark, staged, enriched, config, counts.enriched)
        summary = _summary(config, rejected, counts, figures)
    if config.publish_to_kafka:
        with _step("publish to Kafka"):
            _publish(enriched, rejected, config)
    shutil.rmtree(scratch)
    artifacts.write_json_atomic(staged / artifacts.INSIGHTS_DATASET / artifacts.SUMMARY_NAME, summary)
    artifacts.write_json_atomic(
        staged / artifacts.MANIFEST_NAME,
        {"interval": config.interval.as_dict(), "run_id": config.run_id, "totals": summary["totals"]},
    )
    if config.promote:
        artifacts.promote(config.output, config.run_id)
    return summary


def _publish(enriched: DataFrame, rejected: DataFrame, config: JobConfig) -> None:
    """Enriched tickets to their team's topic and rejected records to the dead-letter topic, in
    one Kafka write."""
    dead_letters = sinks.dead_letter_records(rejected, config.source_topic, config.dead_letter_topic)
    sinks.write_to_kafka(sinks.team_records(enriched).unionByName(dead_letters), config.bootstrap)


def _write_statistics(
    spark: SparkSession, staged: Path, enriched: DataFrame, config: JobConfig, total: int
) -> dict[str, Any]:
    """Write ``stats_by_type``, ``stats_by_team`` and ``word_frequency`` (``total``: enriched
    tickets) from two small collected aggregates, the count table and the keyword ranking;
    returns the figures the summary needs."""
    counts = statistics.count_table(enriched)
    by_type = statistics.stats_by_type(counts, total)
    by_team = statistics.stats_by_team(counts, total)
    kept = max(config.top_n, KEYWORDS_IN_SUMMARY)
    scopes = 1 + len(schema.enums()["type"])  # "all" and each type: the ranking's exact bound
    ranking = _rows(statistics.keyword_ranking(enriched, kept + 1), scopes * (kept + 1))
    outputs = {
        "stats_by_type": statistics.stats_frame(spark, by_type, ("type",)),
        "stats_by_team": statistics.stats_frame(spark, by_team, ("support_team", "team_topic")),
        "word_frequency": statistics.word_frequency_frame(spark, ranking, config.top_n),
    }
    for name, df in outputs.items():
        _write_parquet(with_run_columns(df, config).coalesce(1), staged / name)
    return {
        "by_type": by_type,
        "by_team": by_team,
        "by_rule": statistics.tickets_by_rule(counts),
        "sla": statistics.sla_pressure(counts, config.interval.end),
        "top_keywords": [
            row
            for row in sorted(ranking, key=lambda r: r["rank"])
            if row["scope"] == statistics.OVERALL_SCOPE and row["rank"] <= config.top_n
        ],
        "keywords_by_scope": statistics.keywords_by_scope(ranking, kept),
    }


def _summary(
    config: JobConfig, rejected: DataFrame, counts: Counts, figures: dict[str, Any]
) -> dict[str, Any]:
    """The insights summary, from the statistics' figures and the reject reasons."""
    reasons = _rows(rejected.groupBy("reject_reason").count().orderBy(F.desc("count"), "reject_reason"), 100)
    published = (
        {row["team_topic"]: row["tickets"] for row in figures["by_team"]} if config.publish_to_kafka else {}
    )
    if config.publish_to_kafka:
        published[config.dead_letter_topic] = counts.rejected
    return build_summary(
        interval=config.interval,
        run_id=config.run_id,
        rules_version=config.rules.version,
        counts=counts,
        rejected_by_reason={row["reject_reason"]: row["count"] for row in reasons},
        published=published,
        **figures,
    )

"""Kafka outputs: enriched tickets to their team's topic, rejected records to the dead-letter topic.

Delivery is at-least-once (Spark's Kafka sink): a consumer must de-duplicate by key. The
team topics are compacted, so after a reprocessing only the latest version of each ticket
remains once compaction has run.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ticket_etl import schema

HEADER_TYPE = "array<struct<key:string,value:binary>>"
PRODUCER_OPTIONS = {
    "kafka.acks": "all",
    "kafka.enable.idempotence": "true",
    "kafka.compression.type": "lz4",
    "kafka.linger.ms": "50",
    "kafka.batch.size": "1048576",
}
TEAM_MESSAGE_FIELDS = (
    *schema.fields(),
    "priority_level",
    "sla_due_at",
    "keywords",
    "support_team",
    "routing_rule_id",
    "rules_version",
)


def header(key: str, value: Column) -> Column:
    """One Kafka header from a column (rendered as UTF-8 text)."""
    return F.struct(F.lit(key).alias("key"), value.cast("string").cast("binary").alias("value"))


def team_records(enriched: DataFrame) -> DataFrame:
    """Key ticket_id, value the enriched ticket as JSON, headers run id, interval and rule id."""
    value = F.to_json(F.struct(*TEAM_MESSAGE_FIELDS), {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"})
    headers = F.array(
        header("run_id", F.col("run_id")),
        header("interval_start", F.col("interval_start")),
        header("interval_end", F.col("interval_end")),
        header("routing_rule_id", F.col("routing_rule_id")),
        header("rules_version", F.col("rules_version")),
        header(schema.SCHEMA_VERSION_HEADER, F.col("schema_version")),
    )
    return enriched.select(
        F.col("team_topic").alias("topic"),
        F.col("ticket_id").cast("binary").alias("key"),
        value.alias("value"),
        headers.alias("headers"),
    )


def dead_letter_records(rejected: DataFrame, source_topic: str, dead_letter_topic: str) -> DataFrame:
    """Original key, bytes and headers, plus headers naming the reason, the version of the ticket
    schema the record was checked against (none for an unknown schema id) and the source position."""
    extra = F.array(
        header("dlq_reason", F.col("reject_reason")),
        header("dlq_schema_version", F.col("checked_schema_version")),
        header("source_topic", F.lit(source_topic)),
        header("source_partition", F.col("source_partition")),
        header("source_offset", F.col("source_offset")),
        header("run_id", F.col("run_id")),
    )
    original = F.coalesce(F.col("headers"), F.array().cast(HEADER_TYPE))
    return rejected.select(
        F.lit(dead_letter_topic).alias("topic"),
        "key",
        "value",
        F.concat(original, extra).alias("headers"),
    )


def not_sent_before(rejected: DataFrame, published: DataFrame) -> DataFrame:
    """The rejected records of a reprocessed hour that its published run did not send to the
    dead-letter topic: the same source position with the same bytes was sent (promotion comes
    after the Kafka write), so a reprocess never sends a rejection twice."""

    def position(records: DataFrame) -> DataFrame:
        return records.select(
            "source_partition", "source_offset", F.xxhash64("key", "value").alias("record_hash")
        )

    sent = position(published).distinct()
    keyed = rejected.withColumn("record_hash", F.xxhash64("key", "value"))
    return keyed.join(sent, ["source_partition", "source_offset", "record_hash"], "left_anti").drop(
        "record_hash"
    )


def write_to_kafka(records: DataFrame, bootstrap: str) -> None:
    """Write records that carry their own ``topic`` column."""
    writer = records.write.format("kafka").option("kafka.bootstrap.servers", bootstrap)
    for key, value in PRODUCER_OPTIONS.items():
        writer = writer.option(key, value)
    writer.save()

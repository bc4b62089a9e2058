"""The landing zone: every record of the source topic, landed once, by the hour of its Kafka
timestamp; the analysis of an hour reads that hour's folder, never Kafka.

    raw_tickets/topic=<topic>/interval=<hour token>/batch=<n>/part-*.parquet
    raw_tickets/topic=<topic>/_checkpoint/           Structured Streaming's offsets and commits
    raw_tickets/topic=<topic>/_source.json           the topic id landed from (ticket_analysis.continuity)

The ingest is a Structured Streaming query (Kafka source, ``availableNow`` trigger, a
checkpoint): each run lands every record not landed yet, then stops. Its sink writes a
micro-batch to a temporary folder, then moves each hour's part to ``interval=<h>/batch=<n>``,
replacing what an interrupted attempt of the same batch left there. Spark commits the batch's
offsets to the checkpoint only after that, and replays an uncommitted batch with the same
offsets, so a crash at any point neither skips a record nor lands one twice.

A micro-batch adds a folder to every hour it touches; an hour with :data:`COMPACT_FROM` folders
or more is rewritten as one when it is analysed (:func:`compact_hour`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from pyspark.errors import StreamingQueryException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from ticket_analysis import continuity
from ticket_analysis.steps import also_count
from ticket_analysis.storage import HadoopStore, join
from ticket_etl import artifacts
from ticket_etl.interval import SPARK_TOKEN_FORMAT, Interval

log = logging.getLogger("analyze_tickets")

SOURCE_COLUMNS = ("key", "value", "headers", "partition", "offset", "timestamp")
HEADERS_TYPE = ArrayType(StructType([StructField("key", StringType()), StructField("value", BinaryType())]))
# What a landed file holds (the hour and the batch are in its folder names).
RAW_SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("headers", HEADERS_TYPE),
        StructField("partition", IntegerType()),
        StructField("offset", LongType()),
        StructField("timestamp", TimestampType()),
        StructField("ingest_run", StringType()),
    ]
)
BATCH_PREFIX = "batch="
COMPACT_FROM = 8  # batch folders in an hour before it is rewritten as one
LANDING_TMP = "_landing"
COMPACTING, COMPACTED_ASIDE = "_compacting", "_compacted_aside"
DATA_LOSS_SAID = "Some data may have been lost"  # Spark's Kafka source, failOnDataLoss


def hour_token(timestamp: Column) -> Column:
    """The ``interval=`` folder value of the hour that holds ``timestamp`` (UTC session)."""
    start = F.date_trunc("hour", timestamp)
    return F.concat_ws(
        "_",
        F.date_format(start, SPARK_TOKEN_FORMAT),
        F.date_format(start + F.expr("INTERVAL 1 HOUR"), SPARK_TOKEN_FORMAT),
    )


@dataclass
class IngestReport:
    """What one run's ingest landed: records per hour token."""

    ingest_run: str
    hours: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    batches: list[int] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(self.hours.values())


def ingest(
    spark: SparkSession,
    store: HadoopStore,
    root: str,
    bootstrap: str,
    topic: str,
    ingest_run: str,
    max_records_per_task: int,
    max_records_per_batch: int | None = None,
    accept_data_loss: bool = False,
    batch_base: int = 0,
) -> IngestReport:
    """Land every record of ``topic`` not landed yet; returns what was landed.

    ``max_records_per_batch`` bounds a micro-batch (each is committed on its own). A record the
    broker deleted before it was landed (retention) stops the ingest with :class:`RecordsLost`
    (``failOnDataLoss``), unless ``accept_data_loss`` says to skip the gap (docs/landing-zone.md).
    Batch ``n`` lands in ``batch=<batch_base + n>`` (:func:`continuity.prepare_ingest`).
    """
    report = IngestReport(ingest_run)
    reader = spark.readStream.format("kafka")
    if max_records_per_batch is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(max_records_per_batch))
    records = (
        reader.option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("includeHeaders", "true")
        .option("failOnDataLoss", str(not accept_data_loss).lower())
        .option("minPartitions", str(spark.sparkContext.defaultParallelism))
        .option("maxRecordsPerPartition", str(max_records_per_task))
        .load()
    )
    landed = records.select(
        *SOURCE_COLUMNS,
        F.lit(ingest_run).alias("ingest_run"),
        hour_token(F.col("timestamp")).alias(artifacts.INTERVAL_COLUMN),
    )
    query = (
        landed.writeStream.foreachBatch(
            partial(
                _land_batch,
                store=store,
                root=artifacts.raw_topic_path(root, topic),
                report=report,
                batch_base=batch_base,
            )
        )
        .option("checkpointLocation", continuity.checkpoint_path(root, topic))
        .trigger(availableNow=True)
        .start()
    )
    also_count(str(query.runId))
    try:
        query.awaitTermination()
    except StreamingQueryException as error:
        if DATA_LOSS_SAID in str(error):  # deleted by retention while this ingest ran
            raise continuity.RecordsLost(
                f"the broker deleted records of topic {topic!r} before they were landed ({describe_loss(error)}). "
                "To land what it still holds, run once with the DAG param accept_data_loss set to true "
                "(the job's --accept-data-loss)."
            ) from None
        raise
    log.info(
        "ingest %s: %d records in %d batches, hours %s",
        ingest_run,
        report.records,
        len(report.batches),
        dict(report.hours),
    )
    return report


def describe_loss(error: Exception) -> str:
    """The line of Spark's data-loss error that names the offsets."""
    lines = [line.strip() for line in str(error).splitlines() if DATA_LOSS_SAID in line]
    return (lines or [str(error).splitlines()[0]])[0][:400]


def _land_batch(
    batch: DataFrame, batch_id: int, store: HadoopStore, root: str, report: IngestReport, batch_base: int
) -> None:
    """Land one micro-batch: write it by hour to a temporary folder, then move each hour's part
    to its ``batch=<base + id>`` folder, replacing a part left by an interrupted attempt of the
    batch."""
    temporary = join(root, LANDING_TMP, f"{BATCH_PREFIX}{batch_id}")
    batch.write.mode("overwrite").partitionBy(artifacts.INTERVAL_COLUMN).parquet(temporary)
    for folder in store.children(temporary):
        if folder.startswith(artifacts.INTERVAL_PREFIX):
            report.hours[folder.removeprefix(artifacts.INTERVAL_PREFIX)] += store.parquet_rows(
                join(temporary, folder)
            )
            target = join(root, folder, f"{BATCH_PREFIX}{batch_base + batch_id:010d}")
            store.delete(target)
            store.rename(join(temporary, folder), target)
    store.delete(temporary)
    report.batches.append(batch_id)


def hour_files(store: HadoopStore, root: str, topic: str, interval: Interval) -> list[str]:
    """The landed files of one hour now. Listed under the ingest lock, they are what the run
    reads and counts: a batch another ingest lands in the hour afterwards is left for the next
    run of the hour (it is late), never half seen."""
    return store.data_files(artifacts.raw_hour_path(root, topic, interval))


def read_files(spark: SparkSession, files: list[str]) -> DataFrame:
    """The landed records of ``files`` (:data:`SOURCE_COLUMNS`); empty when there are none."""
    if not files:
        return spark.createDataFrame([], RAW_SCHEMA).select(*SOURCE_COLUMNS)
    return spark.read.schema(RAW_SCHEMA).parquet(*files).select(*SOURCE_COLUMNS)


def compact_hour(spark: SparkSession, store: HadoopStore, root: str, topic: str, interval: Interval) -> bool:
    """Rewrite an hour of :data:`COMPACT_FROM` batch folders or more as one folder (named after
    its last batch). The hour is swapped as a whole (rename aside, rename in); an interrupted
    swap is finished by :func:`recover_compactions`. Returns True when it compacted.

    Call with the ingest lock held: no batch may land in the hour meanwhile.
    """
    hour = artifacts.raw_hour_path(root, topic, interval)
    batches = [name for name in store.children(hour) if name.startswith(BATCH_PREFIX)]
    if len(batches) < COMPACT_FROM:
        return False
    staged = artifacts.raw_side_path(root, topic, COMPACTING, interval)
    aside = artifacts.raw_side_path(root, topic, COMPACTED_ASIDE, interval)
    store.delete(staged)
    records = spark.read.schema(RAW_SCHEMA).option("recursiveFileLookup", "true").parquet(hour)
    records.coalesce(max(1, spark.sparkContext.defaultParallelism)).write.parquet(join(staged, max(batches)))
    store.rename(hour, aside)
    store.rename(staged, hour)
    store.delete(aside)
    log.info("compacted %s: %d batch folders into one", hour, len(batches))
    return True


def recover_compactions(store: HadoopStore, root: str, topic: str) -> None:
    """Finish or undo the compactions a crash interrupted. An hour moved aside had its complete
    rewrite ready: it is moved in (unless it was already); a rewrite whose hour was never moved
    aside is dropped. Call with the ingest lock held."""
    base = artifacts.raw_topic_path(root, topic)
    for folder in store.children(join(base, COMPACTED_ASIDE)):
        hour, staged = join(base, folder), join(base, COMPACTING, folder)
        if not store.exists(hour):
            store.rename(staged, hour)
            log.warning("finished an interrupted compaction of %s", hour)
        store.delete(join(base, COMPACTED_ASIDE, folder))
    store.delete(join(base, COMPACTING))

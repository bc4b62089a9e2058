"""One run of the job: land what is new in the source topic, analyse the hour from the landing
zone, check, promote. Every step that touches storage goes through :class:`HadoopStore`.

Two runs never work on the same hour at once (a lock per hour, refused with a clear message:
the retry comes later), and one ingest at a time lands records (a lock waited for).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import SparkSession

from ticket_analysis import continuity, landing, publication, rules_versions
from ticket_analysis.analysis import Staging, analyze_hour, publish
from ticket_analysis.config import JobConfig
from ticket_analysis.faults import fault_point
from ticket_analysis.source import topic_state
from ticket_analysis.steps import step
from ticket_analysis.storage import HadoopStore
from ticket_etl import artifacts
from ticket_etl.interval import Interval, iso_utc

log = logging.getLogger("analyze_tickets")

INGEST_LOCK_WAIT_S = 600.0  # another run's ingest: usually seconds
# How far back each run compares the landing zone with the published hours (late, unpublished).
LOOK_BACK = timedelta(hours=48)


class ShrinkRefused(ValueError):
    """Publishing the run would replace an hour with fewer records than it holds."""


def run(spark: SparkSession, config: JobConfig) -> dict[str, Any]:
    """Run the job for ``config.interval``; returns the published (or staged) summary."""
    source = topic_state(spark, config.job.bootstrap, config.source_topic)  # it exists and answers
    store, root = HadoopStore(spark), config.job.artifacts_root
    rules_versions.check(store, root, config.rules)  # before anything changes
    owner = _owner(config)
    with store.lock(artifacts.hour_lock_path(root, config.interval), owner):
        publication.finish_interrupted(store, root, config.run_id)
        abandoned = publication.finish_abandoned(
            store,
            root,
            config.run_id,
            config.interval,
            lambda hour: store.lock(artifacts.hour_lock_path(root, hour), owner),
        )
        with (
            step("land new records"),
            store.lock(
                artifacts.ingest_lock_path(root, config.source_topic), owner, wait_s=INGEST_LOCK_WAIT_S
            ),
        ):
            landing.recover_compactions(store, root, config.source_topic)
            batch_base = continuity.prepare_ingest(
                store,
                root,
                config.source_topic,
                source,
                config.job.accept_data_loss,
                config.job.new_source_topic,
            )
            report = landing.ingest(
                spark,
                store,
                root,
                config.job.bootstrap,
                config.source_topic,
                config.run_id,
                config.job.max_records_per_task,
                config.job.max_records_per_batch,
                config.job.accept_data_loss,
                batch_base,
            )
            landing.compact_hour(spark, store, root, config.source_topic, config.interval)
            files = landing.hour_files(store, root, config.source_topic, config.interval)
        records, read = landing.read_files(spark, files), store.files_rows(files)
        shrunk_from = _guard_against_shrinking(store, root, config, read)
        staged = artifacts.staging_path(root, config.run_id)
        store.delete(staged)
        staging = Staging(staged)
        summary = analyze_hour(spark, store, config, records, read, staging)
        summary["ingest"] = {
            **ingest_figures(store, root, config.source_topic, config.interval, report),
            "abandoned_stagings": abandoned,
        }
        if shrunk_from is not None:
            summary["shrunk_from"] = shrunk_from
        publication.stage_summary(store, staged, summary)
        fault_point("staged")  # outputs staged, nothing checked or sent yet
        publication.check_staged(store, staged, summary)
        rules_versions.record(store, root, config.rules, config.job.rules, config.run_id, config.interval)
        if config.job.publish_to_kafka:
            with step("publish to Kafka"):
                summary["kafka"] = publish(spark, store, staging, config, summary)
            publication.stage_summary(store, staged, summary)
        publication.mark_checked(store, staged, summary)
        if config.job.promote:
            with step("promote"):
                publication.promote(store, root, config.run_id)
    return summary


def _owner(config: JobConfig) -> dict[str, Any]:
    """Who holds a lock: enough for a person to find the run."""
    return {
        "run_id": config.run_id,
        "interval": config.interval.as_dict(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": iso_utc(datetime.now(UTC).replace(microsecond=0)),
    }


def _guard_against_shrinking(store: HadoopStore, root: str, config: JobConfig, read: int) -> int | None:
    """Refuse to publish fewer records read for the hour than its published state holds (the
    landing partition was removed, say), unless ``config.job.allow_shrink``; returns the published
    count when the run shrinks the hour on purpose."""
    published = store.read_json(artifacts.summary_path(root, config.interval))
    before = published["totals"]["read"] if published else 0
    if read >= before:
        return None
    if not config.job.allow_shrink:
        raise ShrinkRefused(
            f"the hour {config.interval} would shrink: this run reads {read} records from the landing zone, "
            f"its published state holds {before} (run {published['run']['run_id']}). Nothing was changed. "
            "If records were removed on purpose, run the hour again with the DAG param allow_shrink "
            "set to true (the job's --allow-shrink)."
        )
    log.warning(
        "the hour %s shrinks from %d to %d records read (allow_shrink)", config.interval, before, read
    )
    return before


def ingest_figures(
    store: HadoopStore, root: str, topic: str, interval: Interval, report: landing.IngestReport
) -> dict[str, Any]:
    """What this run's ingest landed, and what the landing zone says of the other recent hours:
    those it holds more records of than their published summary counts (late records, whoever
    landed them) and those never published. A fact of the stored data, so the retry of an attempt
    that landed records and died reports them too."""
    late, unpublished = [], []
    for hour, landed in landed_recent_hours(store, root, topic, interval):
        summary = store.read_json(artifacts.summary_path(root, hour))
        if summary is None:
            unpublished.append({**hour.as_dict(), "records": landed})
        elif landed > summary["totals"]["read"]:
            late.append({**hour.as_dict(), "records": landed - summary["totals"]["read"]})
    return {
        "records": report.records,
        "hours": dict(sorted(report.hours.items())),
        "late_hours": late,
        "unpublished_hours": unpublished,
    }


def landed_recent_hours(
    store: HadoopStore, root: str, topic: str, interval: Interval, now: datetime | None = None
) -> list[tuple[Interval, int]]:
    """The ended hours of the last :data:`LOOK_BACK` (other than ``interval``) with landed
    records, and how many (Parquet footers: no data read)."""
    now = now or datetime.now(UTC)
    folders = store.children(artifacts.raw_topic_path(root, topic))
    recent = [
        hour
        for hour in artifacts.intervals_of_folders(folders)
        if hour != interval and hour.has_ended(now) and hour.end > now - LOOK_BACK
    ]
    counted = [(hour, store.parquet_rows(artifacts.raw_hour_path(root, topic, hour))) for hour in recent]
    return [(hour, landed) for hour, landed in counted if landed]

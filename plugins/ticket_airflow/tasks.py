"""What the ``ticket_pipeline`` DAG's tasks do, as plain functions (the DAG file stays thin).

Nothing here opens a connection at import time; Airflow and Kafka imports stay inside functions.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ticket_etl import config
from ticket_etl.interval import HourNotEndedError, Interval, parse_utc
from ticket_etl.job_args import JobArguments

log = logging.getLogger(__name__)

KAFKA_CONN_ID = "kafka_default"
SPARK_CONN_ID = "spark_default"
SCHEDULED_RUN_TYPES = {"scheduled", "backfill"}


class DataError(ValueError):
    """The input or the results are wrong: retrying cannot help (the task fails without retry)."""


def resolve_interval(
    run_type: object,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    logical_date: datetime | None,
    run_after: datetime,
    interval_start_param: str | None,
) -> Interval:
    """The hour a run processes.

    - ``interval_start`` param set: that hour (must be aligned on the hour).
    - Scheduled and backfill runs: their data interval (the run at 05:00 covers 04:00-05:00).
    - Manual runs (trigger button, API, ``make run``, ``airflow dags test``): the last complete hour
      before their logical date, or before the trigger time when they have none (a manual run's
      own data interval is not aligned on the hour).

    An hour that has not ended yet is a data error (:meth:`Interval.require_ended`).
    """
    interval = _requested_interval(
        run_type, data_interval_start, data_interval_end, logical_date, run_after, interval_start_param
    )
    try:
        return interval.require_ended()
    except HourNotEndedError as error:
        raise DataError(str(error)) from None


def _requested_interval(
    run_type: object,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    logical_date: datetime | None,
    run_after: datetime,
    interval_start_param: str | None,
) -> Interval:
    if interval_start_param:
        return Interval.hour_starting(_parse_hour(interval_start_param))
    run_type_name = str(getattr(run_type, "value", run_type))  # Airflow passes a DagRunType enum
    if run_type_name in SCHEDULED_RUN_TYPES and data_interval_start and data_interval_end:
        return Interval(data_interval_start, data_interval_end)
    return Interval.hour_before(logical_date or run_after)


def _parse_hour(text: str) -> datetime:
    try:
        moment = parse_utc(text)
    except ValueError as error:
        raise DataError(f"interval_start: {error}") from None
    if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0):
        raise DataError(f"interval_start must be on the hour (e.g. 2026-11-28T04:00:00Z), got {text!r}")
    return moment.astimezone(UTC)


def kafka_bootstrap(kafka_conn_id: str = KAFKA_CONN_ID) -> str:
    """Bootstrap servers of the Airflow Kafka connection (the one source for every task)."""
    from airflow.sdk import BaseHook

    extra = BaseHook.get_connection(kafka_conn_id).extra_dejson
    try:
        return extra["bootstrap.servers"]
    except KeyError:
        raise DataError(f"connection {kafka_conn_id} has no bootstrap.servers in its extra") from None


def ensure_topics(kafka_conn_id: str = KAFKA_CONN_ID) -> list[str]:
    """Create the pipeline's topics if missing; returns the ones created."""
    from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

    from ticket_etl.topics import ensure_topics as ensure

    created = ensure(KafkaAdminClientHook(kafka_config_id=kafka_conn_id).get_conn)
    log.info("topics created: %s", created or "none (all present)")
    return created


def check_rules(rules_path: Path = config.ROUTING_RULES_PATH) -> dict[str, str]:
    """Validate the routing rules before Spark starts; returns the snapshot the run applies: the
    file's text, its SHA-256 and its version (the rules file may change during the run)."""
    from ticket_etl.rules import RulesError, parse_text

    try:
        text = rules_path.read_text(encoding="utf-8")
        rules = parse_text(text, source=str(rules_path))
    except FileNotFoundError:
        raise DataError(f"rules file not found: {rules_path}") from None
    except RulesError as error:
        raise DataError(str(error)) from None
    log.info("rules version %s, sha256 %s", rules.version, rules.digest)
    return {"text": text, "digest": rules.digest, "version": rules.version}


def generate(
    interval: Interval, count: int, seed: int, malformed_share: float, kafka_conn_id: str = KAFKA_CONN_ID
) -> dict[str, int]:
    """Produce the interval's demo tickets (those already in the topic, or already landed, are
    skipped: re-generating an hour sends nothing twice, whatever Kafka still holds)."""
    from ticket_airflow.hooks import TicketProducerHook
    from ticket_etl.artifacts import landed_keys
    from ticket_etl.producer import generate_and_produce

    topic = config.source_topic()
    report = generate_and_produce(
        TicketProducerHook(kafka_conn_id).get_producer(),
        topic,
        interval.start,
        interval.end,
        count=count,
        seed=seed,
        malformed_share=malformed_share,
        bootstrap=kafka_bootstrap(kafka_conn_id),
        landed=landed_keys(config.stats_dir(), topic, interval),
    )
    log.info("generation report: %s", report)
    return {
        key: getattr(report, key) for key in ("generated", "already_present", "sent", "failed", "malformed")
    }


def spark_submission(
    interval: Interval,
    rules: dict[str, str],
    run_id: str,
    top_n: int,
    allow_shrink: bool,
    accept_data_loss: bool,
) -> dict[str, Any]:
    """The ``analyze`` task's ``SparkSubmitOperator`` fields for one run: the job's modules zipped
    for ``--py-files``, and its arguments (the job lands, analyses, checks and publishes) with the
    rules snapshot ``check_rules`` validated (by content and digest)."""
    from ticket_etl.rules import snapshot_path
    from ticket_etl.spark_submit import submission

    job_args = JobArguments(
        interval=interval,
        run_id=run_id,
        rules=snapshot_path(rules["digest"]),
        rules_digest=rules["digest"],
        bootstrap=kafka_bootstrap(),
        top_n=top_n,
        allow_shrink=allow_shrink,
        accept_data_loss=accept_data_loss,
    )
    return submission(job_args.argv()).operator_fields()


def asset_figures(digest: dict[str, Any]) -> dict[str, Any]:
    """What the asset events of a published hour carry: the interval, the counts, where the
    artifacts are, and the late records the run's ingest found for other hours."""
    return {
        "interval": digest["interval"],
        "run_id": digest["run_id"],
        "location": digest["location"],
        "rules_version": digest["rules_version"],
        **digest["totals"],
        "published": digest["published"],
        "late_hours": digest["ingest"]["late_hours"],
    }


def late_hour_runs(digest: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
    """One run of the DAG per published hour that received late records in this run's ingest:
    its trigger's ``conf`` (the hour, no generation) and run id."""
    return [
        {
            "conf": {"interval_start": hour["start"], "generate": False},
            "trigger_run_id": f"late__{hour['start']}__after__{run_id}"[:250],
        }
        for hour in digest["ingest"]["late_hours"]
    ]

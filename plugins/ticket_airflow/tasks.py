"""What the ``ticket_pipeline`` DAG's tasks do, as plain functions (the DAG file stays thin).

Nothing here opens a connection at import time; Airflow and Kafka imports stay inside functions.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ticket_etl import config
from ticket_etl.interval import Interval, hour_of_run
from ticket_etl.job_args import JobArguments
from ticket_etl.job_contract import RunReport

if TYPE_CHECKING:
    from ticket_demo.generator import IncidentWave

log = logging.getLogger(__name__)

# At most this many runs of late hours per run, the newest hours first; the others are logged, and
# the run's asset events list them all. The runs started do not start more (no chains).
MAX_LATE_HOUR_RUNS = 6
# Airflow's longest run id (the dag_run.run_id column: airflow.models.base.ID_LEN).
RUN_ID_MAX_LENGTH = 250

# The DAG params the analysis job takes, by JobArguments field.
JOB_PARAMS = ("top_n", "allow_shrink", "accept_data_loss", "new_source_topic")
DATA_ERROR = "data error (not retried)"

P = ParamSpec("P")
R = TypeVar("R")


class DataError(ValueError):
    """The input or the results are wrong: retrying cannot help (the task fails without retry)."""


def data_error_fails(function: Callable[P, R]) -> Callable[P, R]:
    """Turn a task's :class:`DataError` into Airflow's failure without retry, with one message."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from airflow.sdk.exceptions import AirflowFailException

        try:
            return function(*args, **kwargs)
        except DataError as error:
            raise AirflowFailException(f"{DATA_ERROR}: {error}") from None

    return wrapper


def resolve_interval(
    run_type: object,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    logical_date: datetime | None,
    run_after: datetime,
    interval_start_param: str | None,
) -> Interval:
    """The hour a run processes (:func:`ticket_etl.interval.hour_of_run`); an hour that is
    malformed or has not ended is a data error."""
    try:
        return hour_of_run(
            run_type,
            data_interval_start,
            data_interval_end,
            logical_date or run_after,
            interval_start_param,
        )
    except ValueError as error:
        raise DataError(str(error)) from None


def kafka_bootstrap() -> str:
    """Bootstrap servers of the provider's default Kafka connection (the one source for every task)."""
    from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook
    from airflow.sdk import BaseHook

    conn_id = KafkaBaseHook.default_conn_name
    extra = BaseHook.get_connection(conn_id).extra_dejson
    try:
        return extra["bootstrap.servers"]
    except KeyError:
        raise DataError(f"connection {conn_id} has no bootstrap.servers in its extra") from None


def ensure_topics() -> list[str]:
    """Create the pipeline's topics if missing; returns the ones created."""
    from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

    from ticket_etl.topics import ensure_topics as ensure

    created = ensure(KafkaAdminClientHook().get_conn)
    log.info("topics created: %s", created or "none (all present)")
    return created


def register_schema() -> dict[str, object]:
    """Register the ticket schema's committed versions in the schema registry under its
    compatibility rule (idempotent). A version the rule refuses is a data error (the run stops
    before producing anything); a registry that does not answer fails the try (retried)."""
    from ticket_etl.schema_registry import RegistryError, register_contract

    try:
        registered = register_contract()
    except RegistryError as error:
        if error.refused:
            raise DataError(str(error)) from None
        raise
    log.info(
        "schema %s: versions %s, compatibility %s",
        registered.subject,
        registered.ids,
        registered.compatibility,
    )
    return {"subject": registered.subject, "ids": registered.ids, "compatibility": registered.compatibility}


def check_rules(rules_path: Path | None = None, root: str | None = None) -> dict[str, str]:
    """Validate the routing rules (default: ``ROUTING_RULES``) before Spark starts, and refuse
    edited rules that keep a version published with another content (under ``root``, default
    ``STATS_DIR``; the job checks it again); returns the snapshot the run applies: the file's
    text, its SHA-256 and its version (the rules file may change during the run)."""
    from ticket_etl import artifacts
    from ticket_etl.rules import RulesError, parse_text, version_conflict

    rules_path = rules_path or config.routing_rules_path()

    try:
        text = rules_path.read_text(encoding="utf-8")
        rules = parse_text(text, source=str(rules_path))
    except FileNotFoundError:
        raise DataError(f"rules file not found: {rules_path}") from None
    except RulesError as error:
        raise DataError(str(error)) from None
    recorded = artifacts.read_rules_version(root or config.stats_dir(), rules.version)
    if problem := version_conflict(rules, recorded):
        raise DataError(problem)
    log.info("rules version %s, sha256 %s", rules.version, rules.digest)
    return {"text": text, "digest": rules.digest, "version": rules.version}


def incident_wave(value: str | None) -> IncidentWave | None:
    """The ``incident_wave`` param (``TEXT:SHARE``; empty: none) as the generator takes it; a bad
    value is a data error (retrying cannot fix a param)."""
    from ticket_demo.generator import IncidentWave

    if not value or not value.strip():
        return None
    try:
        return IncidentWave.parse(value)
    except ValueError as error:
        raise DataError(str(error)) from None


def generate(
    interval: Interval,
    count: int,
    seed: int,
    malformed_share: float,
    wave: str | None = "",
    schema_version: int = 1,
) -> dict[str, int]:
    """Produce the interval's demo tickets of ``schema_version`` (those already in the topic, or
    already landed, are skipped: re-generating an hour sends nothing twice, whatever Kafka still
    holds), with the incident wave ``wave`` (``TEXT:SHARE``, see :func:`incident_wave`) if one is
    given."""
    from ticket_airflow.hooks import TicketProducerHook
    from ticket_demo.producer import generate_and_produce
    from ticket_etl.artifacts import landed_keys

    parsed_wave = incident_wave(wave)  # before any connection: a bad param fails at once
    topic = config.source_topic()
    report = generate_and_produce(
        TicketProducerHook().get_producer(),
        topic,
        interval.start,
        interval.end,
        count=count,
        seed=seed,
        malformed_share=malformed_share,
        bootstrap=kafka_bootstrap(),
        landed=landed_keys(config.stats_dir(), topic, interval),
        incident_wave=parsed_wave,
        schema_version=schema_version,
    )
    log.info("generation report: %s", report)
    keys = ("generated", "already_present", "sent", "failed", "malformed", "wave")
    return {key: getattr(report, key) for key in keys}


def job_arguments(
    interval: Interval, rules: dict[str, str], run_id: str, params: dict[str, Any], report: Path
) -> JobArguments:
    """The analysis job's arguments for one run: the hour, the rules snapshot ``check_rules``
    validated (kept by content where the job reads it), the DAG's job params, the report file."""
    from ticket_etl.rules import write_snapshot

    return JobArguments(
        interval=interval,
        run_id=run_id,
        rules=write_snapshot(rules["text"]),
        rules_digest=rules["digest"],
        bootstrap=kafka_bootstrap(),
        report=str(report),
        **{name: params[name] for name in JOB_PARAMS},
    )


def earlier_hour_run_dates(interval: Interval, hours: int) -> list[datetime]:
    """The logical dates of the scheduled and backfill runs of the ``hours`` hours before
    ``interval``: a run's logical date is the start of its hour (the DAG's CronTriggerTimetable
    with an interval; the run at 05:00 has logical date 04:00)."""
    return [hour.start for hour in interval.hours_before(hours)]


def earlier_hours_done(interval: Interval, count_runs: Callable[..., int]) -> bool:
    """Whether no run of an hour the analysis of ``interval`` reads (:func:`config.hours_read_before`)
    is running; ``count_runs``: the Task SDK's ``get_dr_count`` for this DAG. Their analyses come
    first, so that an hour's keyword baseline and duplicates do not depend on which of a backfill's
    runs got the analysis pool first (re-running it then gives the same results)."""
    running = count_runs(
        logical_dates=earlier_hour_run_dates(interval, config.hours_read_before()), states=["running"]
    )
    if running:
        log.info("waiting for %d run(s) of earlier hours to finish before analysing %s", running, interval)
    return running == 0


def asset_extra(report: dict[str, Any]) -> dict[str, Any]:
    """What the asset events of a published hour carry (:meth:`RunReport.asset_extra`)."""
    return RunReport.from_dict(report).asset_extra()


def late_hour_runs(
    report: dict[str, Any], run_id: str, enabled: bool = True, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The runs to trigger for the published hours that received late records in this run's ingest
    (none when ``enabled`` is off): the newest MAX_LATE_HOUR_RUNS hours, each with its trigger's
    ``conf`` (the hour, no generation, no late-hour runs of its own: a producer with a skewed clock
    cannot sustain a chain) and a unique run id (:func:`late_run_id`). Hours left out are logged."""
    hours = sorted(RunReport.from_dict(report).late_hours, key=lambda hour: hour["start"], reverse=True)
    chosen = hours[:MAX_LATE_HOUR_RUNS] if enabled else []
    if left := hours[len(chosen) :]:
        log.warning(
            "%d hour(s) with late records not run again (param reprocess_late_hours %s, at most %d per run): "
            "%s; reprocess them with a backfill (README, Backfill and reprocess)",
            len(left),
            "on" if enabled else "off",
            MAX_LATE_HOUR_RUNS,
            ", ".join(hour["start"] for hour in left),
        )
    at = now or datetime.now(UTC)
    return [
        {
            "conf": {"interval_start": hour["start"], "generate": False, "reprocess_late_hours": False},
            "trigger_run_id": late_run_id(hour["start"], run_id, at),
        }
        for hour in chosen
    ]


def late_run_id(hour_start: str, parent_run_id: str, at: datetime) -> str:
    """``late__<hour>__at__<when>__after__<parent run id>``: readable, and unique since no two
    triggers share the hour, the second of the trigger and the parent run (the moment tells apart
    the triggers of a parent run id used again, as a backfill's reprocess does). A parent id that
    would pass Airflow's length limit is cut and ends with a digest of the whole id, so that long ids
    with the same start still differ."""
    head = f"late__{hour_start}__at__{at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}__after__"
    room = RUN_ID_MAX_LENGTH - len(head)
    if len(parent_run_id) > room:
        digest = hashlib.sha256(parent_run_id.encode()).hexdigest()[:12]
        parent_run_id = f"{parent_run_id[: room - len(digest) - 1]}~{digest}"
    return head + parent_run_id

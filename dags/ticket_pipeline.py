"""
# ticket_pipeline

Every hour, processes the support tickets of the hour that just ended (UTC): the run at
05:00 covers **[04:00, 05:00)**.

| task | does |
|---|---|
| `resolve_interval` | decides the hour (scheduled/backfill: the data interval; manual: the last complete hour, or the `interval_start` param) |
| `ensure_topics` | creates the Kafka topics if missing, with their retention |
| `register_schema` | registers the ticket schema's versions (`include/schemas/`) as subject `client_tickets-value` in the schema registry, rule BACKWARD; a version the rule refuses fails the run before anything is produced |
| `check_rules` | validates `include/routing_rules.yaml` (a bad file fails at once, no retry) |
| `generate_tickets` | produces the hour's demo tickets to `client_tickets` (skipped when `generate` is false; tickets already there are not sent twice) |
| `wait_for_earlier_hours` | waits while a run of an earlier hour the analysis reads is running (the 24 hours before, or `KEYWORD_BASELINE_HOURS` if more), as a backfill's runs can be: hours are analysed in order, since an hour's keyword baseline and duplicates read what the earlier hours published. Frees its worker slot between checks (every 15 s); fails after 90 min |
| `analyze` | `spark-submit spark_jobs/analyze_tickets.py` for the hour with the checked rules: lands the records new in `client_tickets` (landing zone `raw_tickets`, by event hour), then from the hour's landed records: quarantine, routing to the team topics, statistics; checks (read = enriched + rejected + duplicates + updates, every artifact written, the hour does not shrink) and publishes the hour's artifacts. Runs in the pool `ticket_analysis` (one slot): one analysis at a time, whatever the run type |
| `publish` | emits asset events with the run report's counts and the late records found for other hours |
| `late_hour_runs`, `reprocess_late_hours` | one run per published hour that received late records, at most 6 (the newest hours; param `reprocess_late_hours`); those runs start none of their own |

**Reprocess** hours: `airflow backfill create --dag-id ticket_pipeline --from-date 2026-11-27T10:00:00Z
--to-date 2026-11-27T12:00:00Z --reprocess-behavior completed` (the runs at 10:00, 11:00 and 12:00:
hours 09:00-12:00), or *Trigger* > *Backfill* in the UI, or trigger once with `interval_start`. An hour is
reprocessed from the landing zone, whatever Kafka still holds. Re-running an hour replaces only that
hour's artifacts; team-topic consumers see the same tickets again (same key and content, new `run_id`
header) and must de-duplicate by key. A reprocess that would publish fewer records than the hour
holds fails, unless `allow_shrink` is set.

**One analysis at a time**, whatever the run type: `analyze` runs in the Airflow pool `ticket_analysis`
(one slot), which the local stack and docker-compose create. Without the pool `analyze` stays
*scheduled*, its task instance naming the missing pool, until the run times out.
A backfill's runs also analyse their hours **in order** (`wait_for_earlier_hours`), whatever its
*max active runs*: re-running a backfill gives the same results.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Asset, CronTriggerTimetable, Metadata, Param, PokeReturnValue, chain, dag, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.sdk.serde import allow_class

from ticket_airflow import tasks
from ticket_airflow.operators import AnalyzeJobOperator
from ticket_etl import config
from ticket_etl.interval import Interval
from ticket_etl.pools import ANALYSIS_POOL

# The hour travels between tasks as one typed value (an XCom Airflow deserializes only for
# allowed classes).
allow_class(Interval)

# Stable identities (not the local path, which changes with STATS_DIR); the events' metadata
# carries the interval, the counts and where the artifacts are.
TICKETS_ENRICHED = Asset(name="tickets_enriched")
INSIGHTS = Asset(name="ticket_insights")


# How long a run waits for the runs of earlier hours (within its 2-hour timeout).
EARLIER_HOURS_WAIT = timedelta(minutes=90)


@dag(
    dag_id="ticket_pipeline",
    schedule=CronTriggerTimetable("0 * * * *", timezone="UTC", interval=timedelta(hours=1)),
    # A fixed start on purpose, with catchup off: a fresh install runs the next hour, not a year of
    # history; past hours since the start date are reprocessed on request with a backfill.
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    # One scheduled or manual run at a time. A backfill's runs follow the backfill's own
    # max_active_runs: the analysis pool (analyze, below) keeps their analyses one at a time too.
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    tags=["tickets", "kafka", "spark", "etl"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 3,
        "retry_delay": timedelta(seconds=config.task_retry_delay_seconds()),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=config.MAX_RETRY_DELAY_SECONDS),
        "execution_timeout": timedelta(minutes=45),
    },
    params={
        "tickets_per_run": Param(
            config.batch_size(),
            type="integer",
            minimum=0,
            maximum=config.MAX_BATCH_SIZE,
            description="Demo tickets generated for the hour (BATCH_SIZE).",
        ),
        "generate": Param(
            True,
            type="boolean",
            description="Generate the hour's demo tickets; off: analyze what the topic holds.",
        ),
        "seed": Param(42, type="integer", minimum=0, description="Generator seed (same seed, same tickets)."),
        "malformed_share": Param(
            0.0,
            type="number",
            minimum=0,
            maximum=1,
            description="Share of malformed demo records, to exercise the quarantine.",
        ),
        "incident_wave": Param(
            "",
            type=["null", "string"],  # the trigger form sends an emptied field as null
            description="Demo only: TEXT:SHARE, e.g. 'paiement refusé par la banque:0.06': that share of "
            "the generated tickets become incidents quoting TEXT, so its words surge in the hour. Empty: "
            "no wave.",
        ),
        "schema_version": Param(
            1,
            type="integer",
            enum=[1, 2],
            description="Demo only: the version of the ticket schema the generated tickets follow "
            "(2 adds tags). The analysis reads every registered version.",
        ),
        "interval_start": Param(
            None,
            type=["null", "string"],
            description="Hour to process, e.g. 2026-11-28T04:00:00Z; empty: the run's own hour.",
        ),
        "top_n": Param(20, type="integer", minimum=1, maximum=1000, description="Keywords kept per scope."),
        "allow_shrink": Param(
            False,
            type="boolean",
            description="Publish the hour even if it now holds fewer records than its published state.",
        ),
        "accept_data_loss": Param(
            False,
            type="boolean",
            description="Land what Kafka still holds when it deleted records never landed (else the run stops).",
        ),
        "new_source_topic": Param(
            False,
            type="boolean",
            description="The source topic was re-created or the stack moved to a new Kafka cluster: keep "
            "the landed hours and land the new topic from its first record (else the run stops).",
        ),
        "reprocess_late_hours": Param(
            True,
            type="boolean",
            description="Run again the published hours for which this run landed late records (at most "
            f"{tasks.MAX_LATE_HOUR_RUNS}, the newest; those runs do not run late hours themselves).",
        ),
    },
)
def ticket_pipeline() -> None:
    # Every task retries what may pass (an API call of the task that timed out, a broker that was
    # restarting); a data error (tasks.data_error_fails) fails at once, never retried.
    @task
    @tasks.data_error_fails
    def resolve_interval(
        params: dict, dag_run=None, data_interval_start=None, data_interval_end=None, logical_date=None
    ) -> Interval:
        """The hour this run processes."""
        return tasks.resolve_interval(
            dag_run.run_type,
            data_interval_start,
            data_interval_end,
            logical_date,
            dag_run.run_after,
            params.get("interval_start"),
        )

    @task
    @tasks.data_error_fails
    def ensure_topics() -> list[str]:
        """Create missing topics (idempotent)."""
        return tasks.ensure_topics()

    @task
    @tasks.data_error_fails
    def register_schema() -> dict:
        """Register the ticket schema in the schema registry (a breaking change fails the run)."""
        return tasks.register_schema()

    @task
    @tasks.data_error_fails
    def check_rules() -> dict:
        """Validate the routing rules and snapshot them for this run; a bad file is a data error."""
        return tasks.check_rules()

    @task
    @tasks.data_error_fails
    def generate_tickets(interval: Interval, params: dict) -> dict:
        """Produce the hour's demo tickets, skipping those already in the topic."""
        if not params["generate"]:
            raise AirflowSkipException("generate is off: analyzing what the topic already holds")
        return tasks.generate(
            interval,
            params["tickets_per_run"],
            params["seed"],
            params["malformed_share"],
            params.get("incident_wave", ""),
            params.get("schema_version", 1),
        )

    @task.sensor(poke_interval=15, timeout=EARLIER_HOURS_WAIT.total_seconds(), mode="reschedule")
    def wait_for_earlier_hours(interval: Interval, ti=None, dag_run=None) -> PokeReturnValue:
        """Wait while a run of an earlier hour that the analysis reads is running (a backfill's
        runs, whatever its max_active_runs): hours are analysed in order."""
        count_runs = partial(ti.get_dr_count, dag_id=dag_run.dag_id)
        return PokeReturnValue(is_done=tasks.earlier_hours_done(interval, count_runs))

    @task(outlets=[TICKETS_ENRICHED, INSIGHTS])
    def publish(report: dict):
        """Emit the asset events of the published hour, carrying its counts and late hours."""
        extra = tasks.asset_extra(report)
        yield Metadata(TICKETS_ENRICHED, extra=extra)
        yield Metadata(INSIGHTS, extra=extra)

    @task
    def late_hour_runs(report: dict, params: dict, run_id=None) -> list[dict]:
        """The runs to trigger for hours that received late records: a bounded number, none when
        the param is off."""
        return tasks.late_hour_runs(report, run_id, enabled=params["reprocess_late_hours"])

    interval = resolve_interval()
    analyze = AnalyzeJobOperator(
        task_id="analyze",
        interval=interval,
        rules=check_rules(),
        trigger_rule="none_failed",  # runs when generate_tickets is skipped
        execution_timeout=timedelta(minutes=45),
        pool=ANALYSIS_POOL,  # one analysis at a time, whatever the run type
    )
    generated = generate_tickets(interval)
    register_schema() >> generated  # nothing is produced under a schema the registry refused
    chain([ensure_topics(), generated, wait_for_earlier_hours(interval)], analyze)
    publish(analyze.output)
    TriggerDagRunOperator.partial(
        task_id="reprocess_late_hours",
        trigger_dag_id="ticket_pipeline",
        wait_for_completion=False,
        skip_when_already_exists=True,  # a retry finds the run it triggered (the run ids are set upstream)
    ).expand_kwargs(late_hour_runs(analyze.output))


ticket_pipeline()

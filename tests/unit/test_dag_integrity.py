"""Every DAG in dags/ imports cleanly, opens no connection while parsing, and is set up on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = ROOT / "dags"


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook

    def no_connection(*args, **kwargs):
        raise AssertionError(f"a connection was opened while parsing: {args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseHook, "get_connection", no_connection)
        yield DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dag_bag) -> None:
    assert dag_bag.import_errors == {}
    assert "ticket_pipeline" in dag_bag.dags


def test_dags_have_tags_retries_owner_and_docs(dag_bag) -> None:
    for dag_id, dag in dag_bag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and "backfill" in dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.owner != "airflow", (dag_id, task.task_id)
            assert task.execution_timeout is not None, (dag_id, task.task_id)


def test_ticket_pipeline_shape(dag_bag) -> None:
    dag = dag_bag.dags["ticket_pipeline"]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert set(dag.task_ids) == {
        "resolve_interval",
        "ensure_topics",
        "register_schema",
        "check_rules",
        "generate_tickets",
        "wait_for_earlier_hours",
        "analyze",
        "publish",
        "late_hour_runs",
        "reprocess_late_hours",
    }
    # Transient failures (an Execution API call that timed out) are retried by every task; data
    # errors raise AirflowFailException, which Airflow never retries.
    assert all(task.retries >= 1 for task in dag.tasks)
    # analyze builds its own submission from the hour and the rules snapshot (two XComs).
    assert dag.get_task("analyze").upstream_task_ids == {
        "resolve_interval",
        "check_rules",
        "ensure_topics",
        "generate_tickets",
        "wait_for_earlier_hours",
    }
    assert set(dag.params.keys()) >= {"tickets_per_run", "generate", "seed"}
    # nothing is produced before the schema is registered
    assert "register_schema" in dag.get_task("generate_tickets").upstream_task_ids


def test_hourly_interval_is_one_real_hour(dag_bag) -> None:
    """The scheduler's own timetable class, with the DAG's settings: the run at 05:00 covers 04:00-05:00."""
    import pendulum
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.trigger import CronTriggerTimetable

    declared = dag_bag.dags["ticket_pipeline"].timetable
    timetable = CronTriggerTimetable(
        declared.expression, timezone=declared.timezone, interval=declared.interval
    )
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(
            earliest=pendulum.datetime(2026, 11, 28, 4, 30), latest=None, catchup=True
        ),
    )
    assert (info.data_interval.start, info.data_interval.end) == (
        pendulum.datetime(2026, 11, 28, 4),
        pendulum.datetime(2026, 11, 28, 5),
    )
    # wait_for_earlier_hours finds the runs of earlier hours by this logical date: the hour's start.
    assert info.logical_date == info.data_interval.start


def test_analyze_runs_alone_in_a_pool_that_every_stack_creates(dag_bag) -> None:
    """One analysis at a time whatever the run type (a backfill's runs are limited by the backfill's
    own max_active_runs, not the DAG's): `analyze` runs in a one-slot pool. The local stack creates it
    from the same constants (ticket_devstack.airflow_service); docker-compose's init repeats them."""
    import yaml

    from ticket_etl.pools import ANALYSIS_POOL, ANALYSIS_POOL_DESCRIPTION, ANALYSIS_POOL_SLOTS

    dag = dag_bag.dags["ticket_pipeline"]
    assert dag.get_task("analyze").pool == ANALYSIS_POOL and ANALYSIS_POOL_SLOTS == 1
    assert {task.pool for task in dag.tasks if task.task_id != "analyze"} == {"default_pool"}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert f'airflow pools set {ANALYSIS_POOL} {ANALYSIS_POOL_SLOTS} "{ANALYSIS_POOL_DESCRIPTION}"' in init


def test_a_retried_trigger_of_a_late_hour_finds_its_run(dag_bag) -> None:
    """The late-hour runs' ids are computed upstream (tasks.late_hour_runs): a retry of the trigger
    task that finds its run already created is skipped, not failed."""
    trigger = dag_bag.dags["ticket_pipeline"].get_task("reprocess_late_hours")
    assert trigger.partial_kwargs["skip_when_already_exists"] is True

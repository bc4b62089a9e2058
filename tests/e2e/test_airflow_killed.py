"""The whole Airflow (scheduler, API server, the running task and its spark-submit) killed with
SIGKILL while a run reprocesses a published hour, as a machine that loses power would; then
started again. The run resumes under the new scheduler: it marks the dead scheduler's job failed
and resets the task instance that job had queued (its orphaned-task check, every 10 s in the test
stack, 5 minutes by default); the task's next try takes the hour's lock over (same run) and
publishes. Part of the fault-injection suite (marker ``faults``); here because it needs the
package's running Airflow."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from fault_checks import assert_accounted, assert_same_state, hour_state, spark_submit_under
from timeline import hour

from ticket_devstack import airflow_service
from ticket_etl import artifacts
from ticket_etl.interval import iso_utc

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DAG_ID = "ticket_pipeline"
HOUR = hour(13)
CONF = {"tickets_per_run": 300, "malformed_share": 0.05, "seed": 17, "interval_start": iso_utc(HOUR.start)}
RUN_DEADLINE_S = 900


def _task(api: airflow_service.AirflowApi, run_id: str, task_id: str) -> dict:
    """The task instance, or {} before the scheduler has created it."""
    body = api.request("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
    return next((ti for ti in body["task_instances"] if ti["task_id"] == task_id), {})


def _kill_everything(pid: int) -> int:
    """SIGKILL the stack's Airflow and every process under it; returns how many."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=30)
    return len(processes)


def test_airflow_killed_mid_run_and_restarted(airflow_stack, kafka_bootstrap: str) -> None:
    api, stats = airflow_stack.api, airflow_stack.stats_dir
    first = api.trigger(DAG_ID, CONF)
    assert api.wait_for_run(DAG_ID, first, deadline_s=RUN_DEADLINE_S)["state"] == "success"
    before = hour_state(stats, HOUR)

    run_id = api.trigger(DAG_ID, CONF)
    pid = airflow_service.running_pid()
    assert pid is not None
    deadline = time.monotonic() + RUN_DEADLINE_S
    hour_lock = Path(artifacts.hour_lock_path(str(stats), HOUR))
    while not (
        _task(api, run_id, "analyze").get("state") == "running"
        and spark_submit_under(pid)
        and hour_lock.exists()
    ):  # the job holds the hour: it is into its work
        assert time.monotonic() < deadline, "the run's analysis did not start"
        time.sleep(1)
    assert _kill_everything(pid) > 3
    assert_same_state(hour_state(stats, HOUR), before)  # Airflow down: readers see the hour as it was

    airflow_service.start()
    api.wait_for_dag(DAG_ID)
    run = api.wait_for_run(DAG_ID, run_id, deadline_s=RUN_DEADLINE_S)
    assert run["state"] == "success", run
    assert _task(api, run_id, "analyze")["try_number"] >= 2  # the killed attempt, then its retry
    summary = assert_accounted(stats, HOUR, kafka_bootstrap)
    assert summary["run"]["run_id"] == run_id
    assert summary["totals"] == before["summary"]["totals"]

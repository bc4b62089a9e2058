"""The one-slot pool ``ticket_analysis`` that keeps analyses one at a time whatever the run type
(tests/e2e/test_backfill.py checks that a backfill's three active runs analyse one after the
other): the stack creates it when it starts Airflow (``ticket_devstack.airflow_service``), and a
task whose pool is missing waits, its task instance naming the pool (what the UI shows as the
dependencies blocking it)."""

from __future__ import annotations

import time

import pytest
from timeline import hour

from ticket_devstack import airflow_service
from ticket_etl.interval import iso_utc
from ticket_etl.pools import ANALYSIS_POOL, ANALYSIS_POOL_SLOTS

pytestmark = pytest.mark.integration

DAG_ID = "ticket_pipeline"
# An hour whose run never gets past the missing pool (nothing is published for it).
WAITING_HOUR = hour(15)


def _pool(api: airflow_service.AirflowApi) -> dict:
    return api.request("GET", f"/pools/{ANALYSIS_POOL}")


def test_starting_the_stack_again_sets_the_pools_slots(airflow_stack) -> None:
    """The pool exists after the stack started; starting again (or after a change by hand) puts it
    back to one slot."""
    api = airflow_stack.api
    assert _pool(api)["slots"] == ANALYSIS_POOL_SLOTS
    api.request(
        "PATCH",
        f"/pools/{ANALYSIS_POOL}",
        json={"name": ANALYSIS_POOL, "slots": 4, "include_deferred": False},
    )
    try:
        airflow_service.ensure_analysis_pool(api)
    finally:
        assert _pool(api)["slots"] == ANALYSIS_POOL_SLOTS


def _waiting(api: airflow_service.AirflowApi, run_id: str) -> tuple[str | None, list[str]]:
    """``analyze``'s state and what keeps it from being queued (the UI's "Dependencies Blocking
    Task From Getting Scheduled"); (None, []) before the task instance exists."""
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/analyze"
    try:
        state = api.request("GET", path)["state"]
        return state, [dep["reason"] for dep in api.request("GET", f"{path}/dependencies")["dependencies"]]
    except airflow_service.AirflowServiceError as error:
        if error.status_code == 404:
            return None, []
        raise


def _blocked_by_the_pool(api: airflow_service.AirflowApi) -> list[str]:
    """The active runs whose ``analyze`` is scheduled and held by the missing pool."""
    expected = f"Tasks using non-existent pool '{ANALYSIS_POOL}' will not be scheduled"
    runs = api.request("GET", f"/dags/{DAG_ID}/dagRuns", params={"state": "running"})["dag_runs"]
    blocked = []
    for run in runs:
        state, reasons = _waiting(api, run["dag_run_id"])
        if state == "scheduled" and expected in reasons:  # upstream done, never queued
            blocked.append(run["dag_run_id"])
    return blocked


def test_a_missing_pool_is_named_by_the_waiting_task(airflow_stack) -> None:
    """Without the pool, ``analyze`` waits (until the run's timeout fails it); its task instance's
    blocking dependencies name the pool. The stack's start creates the pool again. (The run held
    may be the hourly one, when the clock starts it first: the DAG runs one at a time.)"""
    api = airflow_stack.api
    api.request("DELETE", f"/pools/{ANALYSIS_POOL}")
    run_id = None
    try:
        run_id = api.trigger(DAG_ID, {"generate": False, "interval_start": iso_utc(WAITING_HOUR.start)})
        deadline = time.monotonic() + 600
        while not _blocked_by_the_pool(api):
            assert time.monotonic() < deadline, api.request("GET", f"/dags/{DAG_ID}/dagRuns")
            time.sleep(3)  # the poll interval
    finally:
        if run_id is not None:  # nothing of this hour is published
            api.request("PATCH", f"/dags/{DAG_ID}/dagRuns/{run_id}", json={"state": "failed"})
        airflow_service.ensure_analysis_pool(api)
    assert _pool(api)["slots"] == ANALYSIS_POOL_SLOTS

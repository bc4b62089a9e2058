"""The hour a ``ticket_pipeline`` run processed, read from Airflow's metadata database (the API
server's own session; no HTTP call to itself).

The hour is the return value of the run's ``resolve_interval`` task (an XCom holding a
:class:`~ticket_etl.interval.Interval`). A run whose ``resolve_interval`` has not finished (queued,
or failed there) has none: its hour is then derived from the run by the rule the task applies
(:func:`ticket_etl.interval.hour_of_run`), and said to be derived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ticket_etl.interval import Interval, hour_of_run

DAG_ID = "ticket_pipeline"
INTERVAL_TASK_ID = "resolve_interval"
FROM_XCOM, DERIVED = "resolve_interval", "derived"


@dataclass(frozen=True)
class RunHour:
    """A run of ``ticket_pipeline`` and the hour it processes (``interval`` None when it cannot be
    told, ``problem`` then says why); ``source``: :data:`FROM_XCOM` or :data:`DERIVED`."""

    run_id: str
    state: str | None
    run_type: str | None
    interval: Interval | None
    source: str | None
    problem: str | None = None


def interval_from_xcom(value: Any) -> Interval | None:
    """The :class:`Interval` of a stored ``resolve_interval`` return value (Airflow's serde form;
    JSON text on databases without a JSON type), or None when it is not one."""
    from airflow.sdk.serde import allow_class, deserialize

    allow_class(Interval)  # as the DAG does: Airflow deserializes only allowed classes
    try:
        document = json.loads(value) if isinstance(value, str | bytes) else value
        interval = deserialize(document)
    except (TypeError, ValueError, ImportError, AttributeError, KeyError):
        return None
    return interval if isinstance(interval, Interval) else None


def _xcom_value(session: Any, run_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    return session.scalar(
        select(XComModel.value).where(
            XComModel.dag_id == DAG_ID,
            XComModel.run_id == run_id,
            XComModel.task_id == INTERVAL_TASK_ID,
            XComModel.key == "return_value",
            XComModel.map_index == -1,
        )
    )


def derived_interval(run: Any) -> tuple[Interval | None, str | None]:
    """The hour the run's ``resolve_interval`` decides (or would decide), and the problem when it
    cannot (an hour that has not ended)."""
    conf = run.conf if isinstance(run.conf, dict) else {}
    try:
        interval = hour_of_run(
            run.run_type,
            run.data_interval_start,
            run.data_interval_end,
            run.logical_date or run.run_after,
            conf.get("interval_start"),
        )
    except ValueError as error:
        return None, str(error)
    return interval, None


def run_hour(run_id: str) -> RunHour | None:
    """The hour of ``ticket_pipeline`` run ``run_id``; None when the DAG has no such run."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id))
        if run is None:
            return None
        state = str(getattr(run.state, "value", run.state)) if run.state else None
        run_type = str(getattr(run.run_type, "value", run.run_type)) if run.run_type else None
        interval = interval_from_xcom(_xcom_value(session, run_id))
        if interval is not None:
            return RunHour(run_id, state, run_type, interval, FROM_XCOM)
        derived, problem = derived_interval(run)
        return RunHour(run_id, state, run_type, derived, DERIVED if derived else None, problem)

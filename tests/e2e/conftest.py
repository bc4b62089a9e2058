"""The running stack of the end-to-end tests: one `airflow standalone` (with its scheduler) for the
tests of this folder, as `make run` starts it, on the test ports. It stops once they are done: its
scheduler would take part in the runs of any later `airflow dags test` on the same database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ticket_devstack import airflow_service

DAG_ID = "ticket_pipeline"


@pytest.fixture(scope="package")
def stack_env(airflow_env: dict[str, str], tmp_path_factory) -> dict[str, str]:
    """The stack's environment, with artifacts of its own: its scheduler also runs the current hour,
    whose summary would become the latest one of the other DAG tests."""
    return {**airflow_env, "STATS_DIR": str(tmp_path_factory.mktemp("stack-stats")), "BATCH_SIZE": "200"}


@pytest.fixture(scope="package")
def api(stack_env: dict[str, str]) -> Iterator[airflow_service.AirflowApi]:
    """A client of the running stack's API, once the DAG is there; the stack stops at the end."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in stack_env.items():
            patch.setenv(key, value)
        airflow_service.stop()
        airflow_service.start()
        try:
            client = airflow_service.AirflowApi()
            client.wait_for_dag(DAG_ID)
            yield client
        finally:
            airflow_service.stop()

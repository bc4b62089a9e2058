"""The running stack of the end-to-end tests: one Airflow (scheduler, API server with
the UI plugin) for the tests of this folder, as `make run` starts it, on the test ports. It stops
once they are done: its scheduler would take part in the runs of any later `airflow dags test` on
the same database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rules_change import candidate_rules, rules_copy
from timeline import UI_HOURS, WAVE_HOUR

from ticket_devstack import airflow_service
from ticket_etl.interval import Interval, iso_utc

DAG_ID = "ticket_pipeline"
# Users of the session's Airflow (simple auth manager): `outsider` has no role, so no access to
# any DAG (the UI plugin's tests check it is refused).
AIRFLOW_USERS = "admin:admin,viewer:viewer,outsider:"


@dataclass(frozen=True)
class AirflowStack:
    """The session's running Airflow: API server (with the plugins), scheduler."""

    env: dict[str, str]
    api: airflow_service.AirflowApi
    base_url: str

    @property
    def stats_dir(self) -> Path:
        return Path(self.env["STATS_DIR"])

    def password(self, user: str) -> str:
        path = Path(self.env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())[user]

    def token(self, user: str) -> str:
        """A JWT of ``user`` from Airflow's ``/auth/token``."""
        import httpx

        response = httpx.post(
            f"{self.base_url}/auth/token",
            json={"username": user, "password": self.password(user)},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["access_token"]


@pytest.fixture(scope="package")
def airflow_stack(airflow_env: dict[str, str], tmp_path_factory) -> Iterator[AirflowStack]:
    """Airflow, as `make run` starts it, on the test broker, started once for this folder
    (end-to-end and UI tests), with artifacts of its own: its scheduler also runs the current
    hour, whose summary would become the latest one of the other DAG tests."""
    env = {
        **airflow_env,
        "STATS_DIR": str(tmp_path_factory.mktemp("stack-stats")),
        # Its own copy of the shipped rules, which a test edits as an operator would.
        "ROUTING_RULES": str(rules_copy(tmp_path_factory.mktemp("stack-rules"))),
        "BATCH_SIZE": "200",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": AIRFLOW_USERS,
        # A task killed with the whole Airflow (tests/e2e/test_airflow_killed.py) was queued by
        # the dead scheduler: the new one resets it when it looks for orphaned tasks, every 10 s
        # here instead of every 5 minutes (its heartbeat check only covers tasks it queued).
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
    }
    with pytest.MonkeyPatch.context() as patch:  # what Airflow and the tests' CLI calls see
        for key, value in env.items():
            patch.setenv(key, value)
        airflow_service.stop()
        airflow_service.start()
        try:
            client = airflow_service.AirflowApi()
            client.wait_for_dag(DAG_ID)
            yield AirflowStack(env, client, airflow_service.base_url())
        finally:
            airflow_service.stop()


@dataclass(frozen=True)
class ProcessedHour:
    """An hour processed by a real run of ``ticket_pipeline`` on the session's Airflow."""

    run_id: str
    interval: Interval


# Hours the UI tests process through Airflow (apart from those of tests/e2e/test_backfill.py).
UI_CONF = {"tickets_per_run": 300, "malformed_share": 0.05, "seed": 5}
# The incident wave of the keyword-alert tests: 15 % of 300 tickets quote it (G² about 100 against
# the two UI hours: far from the alert threshold of 50, whatever the malformed records take).
WAVE_TEXT, WAVE_SHARE = "certificat SSL expiré", 0.15


def process_hours(stack: AirflowStack, intervals: list[Interval], conf: dict) -> list[ProcessedHour]:
    """Manual runs of ``intervals`` triggered through the API and run by the scheduler, all
    successful."""
    run_ids = [
        stack.api.trigger("ticket_pipeline", {**conf, "interval_start": iso_utc(interval.start)})
        for interval in intervals
    ]
    for run_id in run_ids:
        run = stack.api.wait_for_run("ticket_pipeline", run_id, deadline_s=900)
        assert run["state"] == "success", run
    return [ProcessedHour(run_id, interval) for run_id, interval in zip(run_ids, intervals, strict=True)]


@pytest.fixture(scope="package")
def ui_hours(airflow_stack: AirflowStack) -> list[ProcessedHour]:
    """Two hours for the UI tests (5 % malformed records, so that the quarantine and the
    dead-letter topic have some)."""
    return process_hours(airflow_stack, UI_HOURS, UI_CONF)


@dataclass(frozen=True)
class WaveHours:
    """Ordinary hours, then an hour in which an incident wave was planted."""

    ordinary: list[ProcessedHour]
    wave: ProcessedHour


@pytest.fixture(scope="package")
def wave_hours(airflow_stack: AirflowStack, ui_hours: list[ProcessedHour]) -> WaveHours:
    """An incident wave planted in an hour after the two ordinary UI hours (its baseline; the
    second UI hour has the first as its own, so it could alert too)."""
    wave_conf = {**UI_CONF, "incident_wave": f"{WAVE_TEXT}:{WAVE_SHARE}"}
    (wave,) = process_hours(airflow_stack, [WAVE_HOUR], wave_conf)
    return WaveHours(ui_hours, wave)


@dataclass(frozen=True)
class RulesPreview:
    """A run of ``ticket_rules_preview`` on the UI hours, with candidate rules pasted in the form."""

    run_id: str
    run: dict
    candidate: dict
    hours_files: dict[str, str]  # checksums of the UI hours' published files, before the preview
    hours_files_after: dict[str, str]


def hour_files(stats_dir: Path, hours: list[Interval]) -> dict[str, str]:
    """Checksums of every published file of ``hours``."""
    import hashlib

    from ticket_etl.artifacts import interval_folder

    folders = {interval_folder(hour) for hour in hours}
    return {
        str(path.relative_to(stats_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in stats_dir.rglob("*")
        if path.is_file() and folders & set(path.parts) and "_previews" not in path.parts
    }


@pytest.fixture(scope="package")
def rules_preview(airflow_stack: AirflowStack, ui_hours: list[ProcessedHour]) -> RulesPreview:
    import yaml

    candidate = candidate_rules("candidate-e2e", default_team="produit")
    before = hour_files(airflow_stack.stats_dir, UI_HOURS)
    conf = {
        "rules": yaml.safe_dump(candidate),
        "start": iso_utc(UI_HOURS[0].start),
        "end": iso_utc(UI_HOURS[-1].end),
    }
    run_id = airflow_stack.api.trigger("ticket_rules_preview", conf)
    run = airflow_stack.api.wait_for_run("ticket_rules_preview", run_id, deadline_s=900)
    return RulesPreview(run_id, run, candidate, before, hour_files(airflow_stack.stats_dir, UI_HOURS))

"""`airflow dags test` of one interval against the real broker and a real spark-submit."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import timeline

from ticket_etl import artifacts
from ticket_etl.interval import Interval
from ticket_etl.kafka_io import consume_all
from ticket_etl.topology import TEAMS

pytestmark = pytest.mark.integration


def _partition(root, dataset: str, interval: Interval) -> Path:
    """A published dataset's folder of ``interval`` (the artifacts root is a local path here)."""
    return Path(artifacts.partition_path(str(root), dataset, interval))


INTERVAL = timeline.hour(1)
# A manual run processes the hour before its logical date. No other test's run may have this
# logical date in the session's database: a backfill skips the dates that have a run already.
LOGICAL_DATE = INTERVAL.end.isoformat()
# Version 2 tickets (with tags): what a producer that moved to the new version sends.
CONF = {"tickets_per_run": 500, "malformed_share": 0.04, "seed": 7, "schema_version": 2}


def _dags_test(env: dict[str, str], logical_date: str = LOGICAL_DATE) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["airflow", "dags", "test", "ticket_pipeline", logical_date, "-c", json.dumps(CONF)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    finished = [line for line in (result.stdout + result.stderr).splitlines() if "DagRun Finished:" in line]
    assert finished and "state=success," in finished[-1], finished
    return result


def _summary(env: dict[str, str]) -> dict:
    _dags_test(env)
    summary_path = _partition(Path(env["STATS_DIR"]), "insights", INTERVAL) / artifacts.SUMMARY_NAME
    return json.loads(summary_path.read_text())


@pytest.fixture(scope="module")
def first(airflow_env: dict[str, str]) -> dict:
    return _summary(airflow_env)


def test_one_interval_end_to_end(first: dict, airflow_env: dict[str, str], kafka_bootstrap: str) -> None:
    assert first["interval"] == INTERVAL.as_dict()
    totals = first["totals"]
    assert totals["read"] == 500
    assert totals["duplicates"] == 0
    assert totals["rejected"] == 20  # 4 % of 500 malformed demo records, all quarantined
    assert first["reconciliation"]["holds"] is True
    stats = Path(airflow_env["STATS_DIR"])
    assert artifacts.missing_artifacts(stats, INTERVAL) == []
    enriched = pd.read_parquet(_partition(stats, "tickets_enriched", INTERVAL))
    assert len(enriched) == totals["enriched"] and enriched["ticket_id"].is_unique
    assert first["tickets_by_schema_version"] == {"2": totals["enriched"]}  # enriched, not quarantined
    assert enriched["tags"].map(lambda tags: 1 <= len(tags) <= 3).all()
    assert [v["version"] for v in first["schemas"]["versions"]] == [1, 2]
    created = pd.to_datetime(enriched["created_ts"], utc=True)
    assert created.min() >= pd.Timestamp(INTERVAL.start) and created.max() < pd.Timestamp(INTERVAL.end)
    run_id = first["run"]["run_id"].encode()
    per_team = Counter()
    for topic in TEAMS.values():
        sent = [m for m in consume_all(kafka_bootstrap, topic) if dict(m.headers())["run_id"] == run_id]
        per_team[topic] = len(sent)
        assert all(json.loads(m.value())["tags"] for m in sent)  # the tags reach the team topics
    assert dict(per_team) == {topic: first["by_team"][team]["tickets"] for team, topic in TEAMS.items()}
    latest = json.loads((stats / artifacts.SUMMARY_NAME).read_text())
    assert latest["run"]["run_id"] == first["run"]["run_id"]


def test_rerun_generates_nothing_new_and_gives_the_same_figures(
    first: dict, airflow_env: dict[str, str]
) -> None:
    second = _summary(airflow_env)
    assert second["run"]["run_id"] != first["run"]["run_id"]
    for key in ("totals", "by_type", "by_team", "top_keywords", "rejected_by_reason", "reconciliation"):
        assert second[key] == first[key], key


@pytest.mark.parametrize("hour", ["2030-01-01T00:00:00Z", "current"])
def test_an_hour_that_has_not_ended_fails_the_run_and_leaves_the_latest_summary(
    first: dict, airflow_env: dict[str, str], hour: str
) -> None:
    """A typo for 2020, or the hour in progress: resolve_interval fails once, without retry, and
    nothing is published (the root summary keeps pointing at the last hour that ended)."""
    stats = Path(airflow_env["STATS_DIR"])
    before = (stats / artifacts.SUMMARY_NAME).read_bytes()
    # The hour in progress when the task runs (minutes from now: a run started near the end of an
    # hour gets to resolve_interval in the next one).
    soon = datetime.now(UTC) + timedelta(minutes=5)
    start = soon.replace(minute=0, second=0, microsecond=0).isoformat() if hour == "current" else hour
    conf = {"interval_start": start, "generate": False}
    result = subprocess.run(
        ["airflow", "dags", "test", "ticket_pipeline", "-c", json.dumps(conf)],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "has not ended (it is" in output
    assert output.count("[DAG TEST] starting task_id=resolve_interval ") == 1  # one try: a data error
    finished = [line for line in output.splitlines() if "DagRun Finished:" in line]
    assert finished and "state=failed," in finished[-1], finished
    assert (stats / artifacts.SUMMARY_NAME).read_bytes() == before
    unended = Interval.hour_starting(datetime.fromisoformat(start.replace("Z", "+00:00")))
    assert not _partition(stats, "insights", unended).exists()


def test_artifacts_root_given_as_a_file_uri(airflow_env: dict[str, str], tmp_path: Path) -> None:
    """STATS_DIR=file:///...: the job writes through Hadoop's FileSystem API, the tasks and
    readers go through the same URI."""
    hour = timeline.hour(5)
    root = f"file://{tmp_path}/shared-stats"
    _dags_test({**airflow_env, "STATS_DIR": root}, logical_date=hour.end.isoformat())
    summary = artifacts.read_summary(root, hour)
    assert summary["interval"] == hour.as_dict() and summary["reconciliation"]["holds"] is True
    assert summary["totals"]["read"] == CONF["tickets_per_run"]
    assert artifacts.missing_artifacts(root, hour) == []
    assert artifacts.latest_ended_summary(root)["run"]["run_id"] == summary["run"]["run_id"]

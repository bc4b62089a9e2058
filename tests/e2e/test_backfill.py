"""End to end with a real scheduler (the stack's Airflow), a three-hour backfill from the CLI, then the
same backfill again with reprocess behaviour `completed`, which must change nothing but run metadata."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rules_change import candidate_rules, falling_to_default
from timeline import RECENT_DAY

from ticket_devstack import airflow_service, postgres_service
from ticket_etl import artifacts
from ticket_etl.interval import Interval
from ticket_etl.kafka_io import consume_all
from ticket_etl.pools import ANALYSIS_POOL
from ticket_etl.topology import TEAM_TOPICS

pytestmark = pytest.mark.integration


def _partition(root, dataset: str, interval: Interval) -> Path:
    """A published dataset's folder of ``interval`` (the artifacts root is a local path here)."""
    return Path(artifacts.partition_path(str(root), dataset, interval))


DAG_ID = "ticket_pipeline"
INTERVALS = [Interval.hour_starting(RECENT_DAY + timedelta(hours=h)) for h in (9, 10, 11)]
MANUAL_INTERVAL = Interval.hour_starting(RECENT_DAY + timedelta(hours=14))
CONF = {"tickets_per_run": 300, "malformed_share": 0.02, "seed": 11}
RUN_DEADLINE_S = 1200


@pytest.fixture(scope="module")
def backfill_env(airflow_stack) -> dict[str, str]:
    """The environment of the session's Airflow (tests/conftest.py, airflow_stack: artifacts apart)."""
    return airflow_stack.env


@pytest.fixture(scope="module")
def api(airflow_stack) -> airflow_service.AirflowApi:
    return airflow_stack.api


def _backfill(
    env: dict[str, str],
    *extra: str,
    active: int = 1,
    hours: tuple[Interval, Interval] = (INTERVALS[0], INTERVALS[-1]),
) -> None:
    """`airflow backfill create` of the runs of ``hours`` (first, last), as a user types it
    (``active``: its --max-active-runs)."""
    command = [
        "airflow",
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        hours[0].end.isoformat(),  # the run at 10:00 processes 09:00-10:00
        "--to-date",
        hours[1].end.isoformat(),
        "--dag-run-conf",
        json.dumps(CONF),
        "--max-active-runs",
        str(active),
        *extra,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def _runs_by_interval_start(api: airflow_service.AirflowApi) -> dict[str, dict]:
    body = api.request("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 100})
    return {run["data_interval_start"][:19]: run for run in body["dag_runs"] if run["run_type"] == "backfill"}


def _wait_for_backfill(
    api: airflow_service.AirflowApi, started: datetime, hours: list[Interval] = INTERVALS
) -> list[dict]:
    """The backfill's runs of ``hours`` once each has finished after ``started`` and the backfill
    is complete (runs are checked too: the backfill itself can be marked complete early)."""
    expected = [i.start.isoformat()[:19] for i in hours]
    deadline = time.monotonic() + RUN_DEADLINE_S
    while time.monotonic() < deadline:
        runs = _runs_by_interval_start(api)
        done = [
            runs[date]
            for date in expected
            if date in runs
            and runs[date]["state"] in ("success", "failed")
            and runs[date]["end_date"]
            and datetime.fromisoformat(runs[date]["end_date"].replace("Z", "+00:00")) > started
        ]
        backfills = api.request("GET", "/backfills", params={"dag_id": DAG_ID})["backfills"]
        if len(done) == len(expected) and all(b["completed_at"] for b in backfills):
            return done
        time.sleep(5)
    raise AssertionError(f"backfill not finished after {RUN_DEADLINE_S}s: {_runs_by_interval_start(api)}")


def _snapshot(stats: Path) -> dict[str, pd.DataFrame]:
    """Every dataset of the three intervals, without run metadata, in a comparable form."""
    frames = {}
    for name in artifacts.PARQUET_DATASETS:
        parts = [pd.read_parquet(_partition(stats, name, i)).assign(interval=i.token) for i in INTERVALS]
        df = pd.concat(parts, ignore_index=True).drop(columns=["run_id", "interval_start", "interval_end"])
        df = df.apply(lambda col: col.map(repr))
        frames[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return frames


def _team_values_by_key(bootstrap: str, run_ids: set[str]) -> dict[tuple[str, bytes], set[bytes]]:
    """The values each key of the team topics had in records of the backfill's runs (other tests
    publish hours of the same day to the same topics)."""
    wanted = {run_id.encode() for run_id in run_ids}
    values: dict[tuple[str, bytes], set[bytes]] = defaultdict(set)
    for topic in TEAM_TOPICS:
        for message in consume_all(bootstrap, topic):
            if dict(message.headers())["run_id"] in wanted:
                values[(topic, message.key())].add(message.value())
    return values


def test_airflow_keeps_its_metadata_in_the_local_postgres(api) -> None:
    """The running stack's DAG is in the PostgreSQL database that postgres_service runs."""
    server = postgres_service.managed_server()
    assert server is not None and postgres_service.running(server)
    connection = postgres_service.connect(server, server.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM dag WHERE dag_id = %s", (DAG_ID,))
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()


def _analyze_tries(api: airflow_service.AirflowApi, run_id: str) -> list[dict]:
    """Every try of the run's ``analyze`` task (a retried one has several)."""
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/analyze/tries"
    return api.request("GET", path)["task_instances"]


def _overlaps(tries: list[dict]) -> list[tuple[str, str]]:
    """Pairs of tries (``run_id#try``) that ran at the same time."""
    spans = [
        (_utc(t["start_date"]), _utc(t["end_date"]), f"{t['dag_run_id']}#{t['try_number']}") for t in tries
    ]
    return [(a[2], b[2]) for a, b in itertools.combinations(spans, 2) if a[0] < b[1] and b[0] < a[1]]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_backfill_twice_is_idempotent(api, backfill_env: dict[str, str], kafka_bootstrap: str) -> None:
    """The first backfill lets its three runs be active at once (Airflow limits a backfill's runs by
    its own max_active_runs, not the DAG's): their analyses still run one at a time, in the one-slot
    pool ``ticket_analysis``, and in hour order (wait_for_earlier_hours). The second, a reprocess,
    changes nothing but run metadata (an hour analysed before the one it follows would now differ:
    its keyword baseline lacked that hour)."""
    stats = Path(backfill_env["STATS_DIR"])
    started = datetime.now(UTC)
    _backfill(backfill_env, active=3)
    first = _wait_for_backfill(api, started)
    assert [run["state"] for run in first] == ["success"] * 3, first
    tries = [t for run in first for t in _analyze_tries(api, run["dag_run_id"])]
    assert all(t["start_date"] and t["end_date"] for t in tries), tries
    assert _overlaps(tries) == [], "two analyses ran at the same time"
    firsts = [min(_utc(t["start_date"]) for t in _analyze_tries(api, run["dag_run_id"])) for run in first]
    assert firsts == sorted(firsts), "hours analysed out of order: their baselines depend on it"
    assert {t["pool"] for t in tries} == {ANALYSIS_POOL}
    assert [run["data_interval_start"][:19] for run in first] == [i.start.isoformat()[:19] for i in INTERVALS]
    for interval in INTERVALS:
        path = _partition(stats, "insights", interval) / artifacts.SUMMARY_NAME
        summary = json.loads(path.read_text())
        assert summary["reconciliation"]["holds"] is True, interval
        assert summary["totals"]["read"] == 300 and summary["totals"]["duplicates"] == 0
    before = _snapshot(stats)
    enriched = before["tickets_enriched"]
    assert enriched["ticket_id"].is_unique  # no ticket twice across the three hours
    run_ids = {run["dag_run_id"] for run in first}
    topics_before = _team_values_by_key(kafka_bootstrap, run_ids)

    started = datetime.now(UTC) + timedelta(seconds=1)
    _backfill(backfill_env, "--reprocess-behavior", "completed")
    second = _wait_for_backfill(api, started)
    assert [run["state"] for run in second] == ["success"] * 3, second

    after = _snapshot(stats)
    for name in artifacts.PARQUET_DATASETS:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    assert {run["dag_run_id"] for run in second} == run_ids  # a reprocess reuses the run ids
    topics_after = _team_values_by_key(kafka_bootstrap, run_ids)
    assert topics_after.keys() == topics_before.keys()
    assert all(len(values) == 1 for values in topics_after.values()), "a key changed content on reprocessing"
    assert len(topics_after) == len(enriched)


def _manual_runs(api: airflow_service.AirflowApi, interval_start: str) -> list[dict]:
    runs = api.request("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 100})["dag_runs"]
    return [
        r for r in runs if r["run_type"] == "manual" and r["conf"].get("interval_start") == interval_start
    ]


def test_run_dag_runs_once_and_a_repeated_trigger_finds_its_run(api, backfill_env: dict[str, str]) -> None:
    """`run-dag` (what `make run` calls) against the running stack; then its trigger sent again with
    the same run id, as after a lost answer: Airflow refuses it (409) and no second run exists."""
    conf = {**CONF, "interval_start": MANUAL_INTERVAL.start.isoformat()}
    assert airflow_service.main(["run-dag", DAG_ID, "--conf", json.dumps(conf)]) == 0
    (run,) = _manual_runs(api, conf["interval_start"])
    assert run["state"] == "success"
    assert api.trigger(DAG_ID, conf, run["dag_run_id"]) == run["dag_run_id"]
    assert [r["dag_run_id"] for r in _manual_runs(api, conf["interval_start"])] == [run["dag_run_id"]]
    path = _partition(Path(backfill_env["STATS_DIR"]), "insights", MANUAL_INTERVAL)
    summary = json.loads((path / artifacts.SUMMARY_NAME).read_text())
    assert summary["run"]["run_id"] == run["dag_run_id"]
    assert summary["totals"]["read"] == CONF["tickets_per_run"] and summary["reconciliation"]["holds"] is True


LATE_TRIGGER_INTERVAL = Interval.hour_starting(RECENT_DAY + timedelta(hours=16))


def test_a_late_record_makes_its_hour_run_again(
    api, backfill_env: dict[str, str], kafka_bootstrap: str
) -> None:
    """After the backfill published the first hour, one more ticket of that hour arrives; the next
    run (of another hour) lands it, reports the hour, and the DAG runs the hour again
    (reprocess_late_hours, on by default): its artifacts then count the ticket."""
    from ticket_demo.generator import generate_batch
    from ticket_demo.producer import build_producer, produce_records

    late_hour = INTERVALS[0]
    summary_path = _partition(backfill_env["STATS_DIR"], "insights", late_hour) / artifacts.SUMMARY_NAME
    before = json.loads(summary_path.read_text())["totals"]["read"]
    late = generate_batch(late_hour.start, late_hour.end, 1, seed=1234).records()
    produce_records(build_producer(kafka_bootstrap), "client_tickets", late)

    conf = {**CONF, "tickets_per_run": 20, "interval_start": LATE_TRIGGER_INTERVAL.start.isoformat()}
    assert airflow_service.main(["run-dag", DAG_ID, "--conf", json.dumps(conf)]) == 0
    deadline = time.monotonic() + RUN_DEADLINE_S
    while time.monotonic() < deadline:
        runs = api.request("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 100})["dag_runs"]
        reprocess = [r for r in runs if r["dag_run_id"].startswith(f"late__{late_hour.as_dict()['start']}")]
        if reprocess and reprocess[0]["state"] in ("success", "failed"):
            break
        time.sleep(5)
    assert reprocess and reprocess[0]["state"] == "success", reprocess
    assert reprocess[0]["conf"] == {
        "interval_start": late_hour.as_dict()["start"],
        "generate": False,
        "reprocess_late_hours": False,  # no chains
    }
    after = json.loads(summary_path.read_text())
    assert after["totals"]["read"] == before + 1 and after["reconciliation"]["holds"] is True


def test_a_backfill_under_the_previewed_rules_moves_the_tickets_and_tombstones_them(
    api, backfill_env: dict[str, str], kafka_bootstrap: str
) -> None:
    """Issue 23's operator story, after the preview (tests/e2e/test_rules_preview.py, same
    candidate rules): the rules file edited, the last backfilled hour reprocessed with
    `airflow backfill create --reprocess-behavior completed`. Its questions and unmatched tickets,
    which the candidate sends to the default team (now produit), are the hour's routing changes; support_general's topic
    gets a tombstone for each after produit got the ticket; the compacted view of every team topic
    is the hour's tickets under the new rules. The rules file is put back afterwards."""
    hour, stats = INTERVALS[-1], Path(backfill_env["STATS_DIR"])
    published = pd.read_parquet(_partition(stats, "tickets_enriched", hour))
    fallen = set(falling_to_default(published))  # in support_general, to produit under the candidate
    assert fallen and set(published.loc[published["ticket_id"].isin(fallen), "support_team"]) == {
        "support_general"
    }
    rules_file = Path(backfill_env["ROUTING_RULES"])
    shipped = rules_file.read_text()
    rules_file.write_text(yaml.safe_dump(candidate_rules("candidate-e2e", default_team="produit")))
    try:
        started = datetime.now(UTC) + timedelta(seconds=1)
        _backfill(backfill_env, "--reprocess-behavior", "completed", hours=(hour, hour))
        (run,) = _wait_for_backfill(api, started, [hour])
    finally:
        rules_file.write_text(shipped)
    assert run["state"] == "success", run

    changes = pd.read_parquet(_partition(stats, "routing_changes", hour))
    moved = changes[changes["run_id"] == run["dag_run_id"]]
    assert set(moved["ticket_id"]) == fallen and len(moved) == len(fallen)
    assert set(zip(moved["old_team"], moved["new_team"], strict=True)) == {("support_general", "produit")}
    assert set(moved["new_rules_version"]) == {"candidate-e2e"}
    records = _team_records(kafka_bootstrap, run["dag_run_id"])
    tombstones = [r for r in records if r.value is None]
    assert sorted((r.topic, r.key) for r in tombstones) == sorted(
        ("tickets_equipe_support_general", ticket) for ticket in fallen
    )
    newest_ticket = max(r.timestamp for r in records if r.value is not None and r.key in fallen)
    assert newest_ticket <= min(r.timestamp for r in tombstones)  # the ticket reached produit first
    enriched = pd.read_parquet(_partition(stats, "tickets_enriched", hour))
    expected = {topic: set(rows["ticket_id"]) for topic, rows in enriched.groupby("team_topic")}
    assert _compacted(records) == expected
    # The run id is the first backfill's (a reprocess clears and reruns it): its latest events.
    events = api.request(
        "GET", "/assets/events", params={"source_run_id": run["dag_run_id"], "source_dag_id": DAG_ID}
    )["asset_events"]
    latest = {event["name"]: event for event in sorted(events, key=lambda event: event["timestamp"])}
    assert set(latest) == {"tickets_enriched", "ticket_insights"}
    for event in latest.values():  # what a consumer of the team topics needs to follow the moves
        assert event["extra"]["routing_changes"] == {
            "tickets": len(fallen),
            "moves": {"support_general -> produit": len(fallen)},
            "tombstones": {"tickets_equipe_support_general": len(fallen)},
        }


@dataclass(frozen=True)
class TeamRecord:
    topic: str
    key: str
    value: bytes | None
    timestamp: int


def _team_records(bootstrap: str, run_id: str) -> list[TeamRecord]:
    """The team topics' records a run wrote (every attempt, every reprocess: a backfill run keeps
    its id), each topic in order."""
    return [
        TeamRecord(topic, message.key().decode(), message.value(), message.timestamp()[1])
        for topic in TEAM_TOPICS
        for message in consume_all(bootstrap, topic)
        if dict(message.headers())["run_id"] == run_id.encode()
    ]


def _compacted(records: list[TeamRecord]) -> dict[str, set[str]]:
    """What a consumer keeping the latest value per key holds on each topic."""
    latest = {(r.topic, r.key): r.value for r in records}
    held: dict[str, set[str]] = defaultdict(set)
    for (topic, key), value in latest.items():
        if value is not None:
            held[topic].add(key)
    return dict(held)

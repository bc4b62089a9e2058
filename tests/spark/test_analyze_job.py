"""spark-submit of the analysis job against the real broker, on a hand-made batch with every trap:
malformed records, duplicates, out-of-order timestamps, records just outside the interval."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from job_runs import killed_at, published, run_job
from trap_batch import END, EXPECTED, INTERVAL, START, fill_source

from ticket_etl import artifacts
from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments
from ticket_etl.job_contract import TOTALS, ExitCode
from ticket_etl.kafka_io import consume_all, create_topic
from ticket_etl.spark_submit import spark_submit_command
from ticket_etl.topology import TEAM_TOPICS

pytestmark = pytest.mark.integration


def _partition(root, dataset: str, interval: Interval) -> Path:
    """A published dataset's folder of ``interval`` (the artifacts root is a local path here)."""
    return Path(artifacts.partition_path(str(root), dataset, interval))


@pytest.fixture(scope="module")
def job_setup(kafka_bootstrap: str, tmp_path_factory) -> dict:
    source, dlq = f"tickets_src_{uuid.uuid4().hex[:8]}", f"tickets_dlq_{uuid.uuid4().hex[:8]}"
    fill_source(kafka_bootstrap, source)
    create_topic(kafka_bootstrap, dlq, partitions=1)
    return {
        "source": source,
        "dlq": dlq,
        "output": tmp_path_factory.mktemp("stats"),
        "bootstrap": kafka_bootstrap,
    }


def _job_args(
    setup: dict, run_id: str, start: datetime = START, end: datetime = END, **extra
) -> JobArguments:
    return JobArguments(
        interval=Interval(start, end),
        run_id=run_id,
        bootstrap=setup["bootstrap"],
        topic=setup["source"],
        dead_letter_topic=setup["dlq"],
        artifacts_root=str(setup["output"]),
        **extra,
    )


def _run_job(args: JobArguments, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(spark_submit_command(args.argv()), capture_output=True, text=True, timeout=timeout)


def _submit(setup: dict, run_id: str, start: datetime = START, end: datetime = END, **extra) -> dict:
    return published(_job_args(setup, run_id, start, end, **extra))


@pytest.fixture(scope="module")
def first_run(job_setup: dict) -> dict:
    return _submit(job_setup, "run-1")


def _dataset(output: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(_partition(output, name, INTERVAL))


def test_counts_reconcile(first_run: dict, job_setup: dict) -> None:
    assert first_run["totals"] == EXPECTED
    assert first_run["reconciliation"]["holds"] is True
    summary = json.loads((job_setup["output"] / "insights_summary.json").read_text())
    assert summary["totals"] == EXPECTED
    assert summary["incidents"] == 4  # tickets 0, 4, 8 and the out-of-order 12
    assert summary["rejected_by_reason"] == {
        "invalid_utf8": 1,
        "missing_field:client_id": 1,
        "not_json": 1,
        "too_long:description": 1,
        "unknown_value:type": 1,
        "wrong_type:priority": 1,
    }


def test_artifacts_hold_exactly_the_interval(first_run: dict, job_setup: dict) -> None:
    out = job_setup["output"]
    enriched = _dataset(out, "tickets_enriched")
    assert sorted(enriched["ticket_id"]) == sorted(f"TCK-job-{i}" for i in range(13))
    assert enriched["ticket_id"].is_unique
    assert set(enriched["routing_rule_id"]) == {
        "incident-to-incident-team",
        "question-to-general-support",
        "feature-request-to-product",
        "default-general-support",
    }
    assert "réseau" in {word for words in enriched["keywords"] for word in words}
    rejected = _dataset(out, "rejected_tickets")
    assert sorted(rejected["key"].map(bytes)) == [f"bad-{i}".encode() for i in range(1, 7)]
    by_type = _dataset(out, "stats_by_type").set_index("type")
    assert by_type["tickets"].to_dict() == {"incident": 4, "question": 3, "feature_request": 3, "billing": 3}
    by_team = _dataset(out, "stats_by_team").set_index("support_team")
    assert by_team["tickets"].to_dict() == {"incident": 4, "support_general": 6, "produit": 3}
    words = _dataset(out, "word_frequency")
    assert set(words["scope"]) == {"all", "incident", "question", "feature_request", "billing"}
    assert artifacts.missing_artifacts(out, INTERVAL) == []


def test_team_topics_and_dead_letters(first_run: dict, job_setup: dict) -> None:
    bootstrap = job_setup["bootstrap"]
    per_topic = Counter()
    for topic in TEAM_TOPICS:
        for message in consume_all(bootstrap, topic):
            headers = dict(message.headers())
            if headers["run_id"] == b"run-1":
                per_topic[topic] += 1
                assert json.loads(message.value())["ticket_id"] == message.key().decode()
    assert per_topic == {
        "tickets_equipe_incident": 4,
        "tickets_equipe_support_general": 6,
        "tickets_equipe_produit": 3,
    }
    # The run's own check of Kafka: each topic's end offsets moved by what it sent there.
    assert first_run["kafka"] == {
        topic: {"sent": count, "offsets_advanced": count}
        for topic, count in {**per_topic, job_setup["dlq"]: 6}.items()
    }
    dead = list(consume_all(bootstrap, job_setup["dlq"]))
    assert len(dead) == 6
    by_key = {m.key(): m for m in dead}
    assert by_key[b"bad-2"].value() == b"\xc3\x28 invalid utf-8"  # original bytes
    headers = dict(by_key[b"bad-2"].headers())
    assert headers["dlq_reason"] == b"invalid_utf8"
    assert headers["schema_version"] == b"1"  # original header kept
    assert {"source_partition", "source_offset", "source_topic", "run_id"} <= set(headers)


def _without_run_metadata(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop(columns=[c for c in ("run_id", "interval_start", "interval_end") if c in df.columns])
    df = df.apply(lambda col: col.map(repr))  # arrays and structs become comparable, sortable text
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def test_rerun_gives_the_same_rows_and_topic_content(first_run: dict, job_setup: dict) -> None:
    out = job_setup["output"]
    before = {name: _without_run_metadata(_dataset(out, name)) for name in artifacts.PARQUET_DATASETS}
    # The second run splits the read into tasks of 3 records: the split must not change anything
    # (which occurrence of a duplicate is kept included).
    second = _submit(job_setup, "run-2", max_records_per_task=3)
    assert second["totals"] == EXPECTED
    for name in artifacts.PARQUET_DATASETS:
        pd.testing.assert_frame_equal(
            _without_run_metadata(_dataset(out, name)), before[name], check_like=True
        )
    latest_by_key: dict[tuple[str, bytes], dict[str, bytes]] = {}
    for topic in TEAM_TOPICS:
        values: dict[str, dict[bytes, bytes]] = {"run-1": {}, "run-2": {}}
        for message in consume_all(job_setup["bootstrap"], topic):
            run = dict(message.headers())["run_id"].decode()
            if run in values:
                values[run][message.key()] = message.value()
        assert values["run-1"] == values["run-2"], topic
        latest_by_key.update({(topic, k): v for k, v in values["run-2"].items()})
    assert len(latest_by_key) == 13
    # The dead-letter topic already holds the hour's 6 rejections: the reprocess sends none again.
    assert len(list(consume_all(job_setup["bootstrap"], job_setup["dlq"]))) == 6
    assert job_setup["dlq"] not in second["kafka"]


def test_empty_interval_gives_valid_empty_outputs(job_setup: dict) -> None:
    start = START - timedelta(days=2)
    totals = _submit(job_setup, "run-empty", start, start + timedelta(hours=1))["totals"]
    assert totals == dict.fromkeys(TOTALS, 0)
    interval = Interval(start, start + timedelta(hours=1))
    assert artifacts.missing_artifacts(job_setup["output"], interval) == []
    enriched = pd.read_parquet(_partition(job_setup["output"], "tickets_enriched", interval))
    assert len(enriched) == 0 and "support_team" in enriched.columns


def test_missing_source_topic_stops_with_a_clear_message(job_setup: dict, tmp_path: Path) -> None:
    missing = {**job_setup, "source": f"missing-{uuid.uuid4().hex[:8]}", "output": tmp_path}
    result = _run_job(_job_args(missing, "no-topic"), timeout=300)
    assert result.returncode == 3
    output = result.stdout + result.stderr
    assert "cannot read the end offsets of topic 'missing-" in output
    assert "UnknownTopicOrPartitionException" in output
    assert "Traceback" not in output


def test_bad_rules_file_stops_with_a_clear_message(job_setup: dict, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: x\nrules:\n  - id: r1\n    when: {type: [complaint]}\n    team: incident\n"
        "default: {id: d, team: incident}\nsla_hours: {low: 1, medium: 1, high: 1, critical: 1}\n"
    )
    result, report = run_job(
        _job_args({**job_setup, "output": tmp_path}, "bad-rules", rules=rules), timeout=300
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr  # spark-submit merges the Python driver's stderr into stdout
    assert "rule 'r1': condition 'type' has unknown values ['complaint']" in output
    assert "Traceback" not in output
    # The report the operator reads says the same: a data error, with the job's message.
    assert report is not None and report.exit_code == ExitCode.DATA_ERROR
    assert "condition 'type' has unknown values ['complaint']" in report.error


@pytest.mark.parametrize("hour", ["future", "current"])
def test_the_job_refuses_an_hour_that_has_not_ended(first_run: dict, job_setup: dict, hour: str) -> None:
    latest = job_setup["output"] / artifacts.SUMMARY_NAME
    before = latest.read_bytes()
    start = (datetime.now(UTC) + timedelta(minutes=5)).replace(minute=0, second=0, microsecond=0)
    if hour == "future":
        start = datetime(2030, 1, 1, tzinfo=UTC)
    result = _run_job(_job_args(job_setup, f"unended-{hour}", start, start + timedelta(hours=1)), timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert f"the hour [{start.isoformat().replace('+00:00', 'Z')}" in output and "has not ended" in output
    assert "Traceback" not in output
    assert latest.read_bytes() == before


def test_a_run_stopped_before_its_checks_has_sent_nothing_to_kafka(job_setup: dict, tmp_path: Path) -> None:
    """The job holds once its outputs are staged, before they are checked, and is killed there:
    nothing of the run may be on the team or dead-letter topics (a run whose checks fail would
    otherwise have delivered tickets whose artifacts were never published)."""
    killed_at(_job_args({**job_setup, "output": tmp_path / "stats"}, "stopped-at-staged"), "staged", tmp_path)
    sent = [
        m
        for topic in (*TEAM_TOPICS, job_setup["dlq"])
        for m in consume_all(job_setup["bootstrap"], topic)
        if dict(m.headers()).get("run_id") == b"stopped-at-staged"
    ]
    assert sent == []

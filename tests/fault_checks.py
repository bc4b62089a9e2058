"""What the fault-injection tests check of an hour: what its readers see, and that every record
is accounted for once a run has succeeded (tests/faults, tests/e2e/test_airflow_killed.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import psutil

from ticket_etl import artifacts
from ticket_etl.interval import Interval
from ticket_etl.kafka_io import consume_all
from ticket_etl.topology import DEAD_LETTER_TOPIC, TEAMS

RUN_COLUMNS = ["run_id", "interval_start", "interval_end"]


def hour_state(stats: Path, interval: Interval) -> dict:
    """What a reader of the hour sees: its summary and each dataset's rows (run columns aside:
    a reprocessing of the same records gives the same rows)."""
    state = {"summary": artifacts.read_summary(str(stats), interval)}
    for name in artifacts.PARQUET_DATASETS:
        df = pd.read_parquet(artifacts.partition_path(str(stats), name, interval))
        df = df.drop(columns=[c for c in RUN_COLUMNS if c in df.columns]).apply(lambda col: col.map(repr))
        state[name] = df.sort_values(list(df.columns)).reset_index(drop=True)
    return state


def assert_same_state(seen: dict, before: dict) -> None:
    assert seen["summary"] == before["summary"]
    for name in artifacts.PARQUET_DATASETS:
        pd.testing.assert_frame_equal(seen[name], before[name], obj=name)


def assert_accounted(stats: Path, interval: Interval, bootstrap: str) -> dict:
    """The hour's published state after a successful run: every record accounted for, nothing
    staged, topics complete; returns the summary."""
    summary = artifacts.read_summary(str(stats), interval)
    totals = summary["totals"]
    assert (
        totals["read"]
        == totals["enriched"] + totals["rejected"] + totals["duplicates"] + totals["updates"]
        > 0
    )
    assert summary["reconciliation"]["holds"] is True
    staging = stats / "_staging"
    assert not staging.exists() or not any(staging.iterdir()), list(staging.iterdir())
    run_id = summary["run"]["run_id"].encode()

    enriched = pd.read_parquet(artifacts.partition_path(str(stats), "tickets_enriched", interval))
    for team, topic in TEAMS.items():
        keys = {
            m.key().decode() for m in consume_all(bootstrap, topic) if dict(m.headers())["run_id"] == run_id
        }
        assert keys == set(enriched.loc[enriched["support_team"] == team, "ticket_id"]), topic

    rejected = pd.read_parquet(artifacts.partition_path(str(stats), "rejected_tickets", interval))
    dead = [dict(m.headers()) for m in consume_all(bootstrap, DEAD_LETTER_TOPIC)]
    hour_rejected = set(zip(rejected["source_partition"], rejected["source_offset"], strict=True))
    sent_by_run = {
        (int(h["source_partition"]), int(h["source_offset"])) for h in dead if h.get("run_id") == run_id
    }
    sent = {(int(h["source_partition"]), int(h["source_offset"])) for h in dead}
    # Every rejection of the hour is on the dead-letter topic, sent by this run or by the run it
    # replaced (a reprocess does not send them again); this run sent no other record there.
    assert hour_rejected <= sent and sent_by_run <= hour_rejected
    assert len(rejected) == totals["rejected"]
    return summary


def spark_submit_under(pid: int) -> bool:
    """Whether a spark-submit runs among the descendants of ``pid`` (a task's analysis)."""
    for child in psutil.Process(pid).children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:  # a short-lived process gone meanwhile
            continue
        if "SparkSubmit" in command or "spark-submit" in command:
            return True
    return False

"""The same job on a Spark standalone cluster (master and two workers, executors in the workers'
JVMs) and in local mode, on the same hour of the same topic: the same rows in every dataset (run
metadata aside), the same keys in the team topics and in the dead-letter topic."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from job_runs import published
from trap_batch import EXPECTED, INTERVAL, fill_source

from ticket_devstack import spark_service
from ticket_etl import artifacts
from ticket_etl.job_args import JobArguments
from ticket_etl.kafka_io import consume_all, create_topic
from ticket_etl.topology import TEAM_TOPICS

pytestmark = pytest.mark.integration
RUN_COLUMNS = ["run_id", "interval_start", "interval_end"]


@pytest.fixture(scope="module")
def source(kafka_bootstrap: str) -> str:
    name = f"cluster_src_{uuid.uuid4().hex[:8]}"
    fill_source(kafka_bootstrap, name)
    return name


def _run(kafka_bootstrap: str, source: str, output: Path, run_id: str, master: str | None) -> dict:
    """One job of the hour, its own artifacts root and dead-letter topic; returns its run report."""
    dead_letters = f"{source}_dlq_{run_id}"
    create_topic(kafka_bootstrap, dead_letters, partitions=1)
    args = JobArguments(
        interval=INTERVAL,
        run_id=run_id,
        bootstrap=kafka_bootstrap,
        topic=source,
        dead_letter_topic=dead_letters,
        artifacts_root=str(output),
        max_records_per_task=4,  # several tasks, so both workers get some
    )
    return {**published(args, master), "dead_letter_topic": dead_letters}


def _rows(output: Path, dataset: str) -> pd.DataFrame:
    df = pd.read_parquet(artifacts.partition_path(output, dataset, INTERVAL)).drop(columns=RUN_COLUMNS)
    df = df.apply(lambda col: col.map(repr))
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _team_keys(kafka_bootstrap: str, run_id: str) -> dict[str, set[bytes]]:
    keys: dict[str, set[bytes]] = defaultdict(set)
    for topic in TEAM_TOPICS:
        for message in consume_all(kafka_bootstrap, topic):
            if dict(message.headers())["run_id"] == run_id.encode():
                keys[topic].add(message.key())
    return dict(keys)


def test_the_cluster_gives_the_rows_and_keys_local_mode_gives(
    spark_cluster: spark_service.SparkCluster, kafka_bootstrap: str, source: str, tmp_path: Path
) -> None:
    local = _run(kafka_bootstrap, source, tmp_path / "local", "local-run", None)
    cluster = _run(kafka_bootstrap, source, tmp_path / "cluster", "cluster-run", spark_cluster.url)
    assert local["totals"] == cluster["totals"] == EXPECTED
    for dataset in artifacts.PARQUET_DATASETS:
        pd.testing.assert_frame_equal(
            _rows(tmp_path / "cluster", dataset), _rows(tmp_path / "local", dataset)
        )
    assert _team_keys(kafka_bootstrap, "cluster-run") == _team_keys(kafka_bootstrap, "local-run")
    dead = {
        run["run_id"]: sorted(
            message.key() for message in consume_all(kafka_bootstrap, run["dead_letter_topic"])
        )
        for run in (local, cluster)
    }
    assert dead["cluster-run"] == dead["local-run"] and len(dead["local-run"]) == EXPECTED["rejected"]

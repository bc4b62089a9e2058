"""The pipeline on the three-broker stack survives a broker stopped in the middle of a run: one hour
processed by `airflow dags test` with its Kafka connection on the three-broker cluster and its Spark
connection on the standalone cluster; a broker (the leader of a partition of the source topic) is
stopped as the run starts and started again while the analysis runs. The run succeeds, the counts
reconcile, and every ticket is in its team's topic.

Here, not in tests/e2e: the end-to-end stack's scheduler, running on the same database, would take
part in the run of `airflow dags test` (it is stopped once the tests of tests/e2e are done)."""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pandas as pd
import psutil
import pytest
from confluent_kafka.admin import AdminClient
from fault_checks import spark_submit_under
from timeline import RECENT_DAY

from ticket_devstack import kafka_service, spark_service
from ticket_etl import artifacts, config, topology
from ticket_etl.interval import Interval
from ticket_etl.kafka_io import consume_all

pytestmark = [pytest.mark.integration, pytest.mark.faults]

INTERVAL = Interval.hour_starting(RECENT_DAY + timedelta(hours=3))
LOGICAL_DATE = INTERVAL.end.isoformat()  # a manual run processes the hour before its logical date
CONF = {"tickets_per_run": 1000, "malformed_share": 0.02, "seed": 23}
RUN_DEADLINE_S = 900.0
SPARK_SUBMIT_DEADLINE_S = 600.0


def _leader_of_the_source(cluster: kafka_service.KafkaCluster) -> kafka_service.BrokerLayout:
    """The broker leading partition 0 of the source topic (``create_topics`` returned once it had one)."""
    topic = config.source_topic()
    metadata = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=30)
    leader = metadata.topics[topic].partitions[0].leader
    return next(broker for broker in cluster.brokers if broker.node_id == leader)


def _wait_for_spark_submit(run: subprocess.Popen) -> None:
    """Until the run's analysis has started (its spark-submit is a child process) or the run ended."""
    deadline = time.monotonic() + SPARK_SUBMIT_DEADLINE_S
    while run.poll() is None and time.monotonic() < deadline:
        if spark_submit_under(run.pid):
            return
        time.sleep(0.5)


def _run_with_a_broker_down(env: dict[str, str], cluster: kafka_service.KafkaCluster, log: Path) -> int:
    """`airflow dags test` of one hour; one broker stopped as it starts, started again once the
    analysis runs. Returns the run's exit code."""
    victim = _leader_of_the_source(cluster)
    command = ["airflow", "dags", "test", "ticket_pipeline", LOGICAL_DATE, "-c", json.dumps(CONF)]
    with log.open("w") as output:
        run = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            assert victim.daemon.stop() is not None
            assert kafka_service.cluster_size(cluster.bootstrap) == 2
            _wait_for_spark_submit(run)
            kafka_service.start(cluster)  # only the stopped broker; waits until all three answer
            return run.wait(timeout=RUN_DEADLINE_S)
        finally:
            if run.poll() is None:
                for process in [*psutil.Process(run.pid).children(recursive=True), psutil.Process(run.pid)]:
                    process.kill()


def _team_topic_ids(bootstrap: str, run_id: str) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = defaultdict(set)
    for topic in topology.TEAM_TOPICS:
        for message in consume_all(bootstrap, topic):
            if dict(message.headers())["run_id"] == run_id.encode():
                ids[topic].add(message.key().decode())
    return ids


def test_a_broker_stopped_mid_run_loses_no_ticket(
    kafka_cluster: kafka_service.KafkaCluster,
    spark_cluster: spark_service.SparkCluster,
    airflow_env: dict[str, str],
    stack_environment,
    tmp_path: Path,
) -> None:
    kafka_service.create_topics(kafka_cluster)  # the run's ensure_topics then only sets configuration
    env = stack_environment(
        airflow_env,
        KAFKA_BROKER=kafka_cluster.bootstrap,
        KAFKA_BROKERS=str(len(kafka_cluster.brokers)),
        SPARK_MASTER=spark_cluster.url,
        STATS_DIR=str(tmp_path / "stats"),
    )
    log = tmp_path / "dags-test.log"
    exit_code = _run_with_a_broker_down(env, kafka_cluster, log)
    output = log.read_text(errors="replace")
    finished = [line for line in output.splitlines() if "DagRun Finished:" in line]
    assert exit_code == 0 and finished and "state=success," in finished[-1], output[-6000:]
    assert kafka_service.cluster_size(kafka_cluster.bootstrap) == 3

    stats = Path(env["STATS_DIR"])
    summary = json.loads(
        (
            Path(artifacts.partition_path(str(stats), "insights", INTERVAL)) / artifacts.SUMMARY_NAME
        ).read_text()
    )
    totals = summary["totals"]
    assert totals["read"] == CONF["tickets_per_run"]
    assert (
        totals["read"] == totals["enriched"] + totals["rejected"] + totals["duplicates"] + totals["updates"]
    )
    assert summary["reconciliation"]["holds"] is True
    enriched = pd.read_parquet(artifacts.partition_path(str(stats), "tickets_enriched", INTERVAL))
    assert len(enriched) == totals["enriched"]
    expected = {topic: set(group["ticket_id"]) for topic, group in enriched.groupby("team_topic")}
    assert _team_topic_ids(kafka_cluster.bootstrap, summary["run"]["run_id"]) == expected

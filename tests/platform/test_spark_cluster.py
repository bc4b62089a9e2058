"""The Spark standalone cluster of the local stack: a master and two workers from the pyspark wheel,
whose executors run the tasks of a spark-submit; on loopback only; started only for a spark://
master of this machine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from ticket_devstack import spark_service
from ticket_devstack.processes import port_open
from ticket_etl.spark_submit import submission

# Each task reports the processes above it: the Python worker, its daemon, the executor's JVM, and
# whatever started that JVM.
WHERE_TASKS_RUN = """
import json
import psutil
from pyspark.sql import SparkSession

def ancestry(_):
    yield json.dumps([[p.pid, " ".join(p.cmdline())] for p in psutil.Process().parents()])

spark = SparkSession.builder.appName("where-tasks-run").getOrCreate()
print("APP", spark.sparkContext.applicationId)
for chain in spark.sparkContext.parallelize(range(8), 8).mapPartitions(ancestry).collect():
    print("TASK", chain)
spark.stop()
"""
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"


def _starter_of_executor(chain: list[list]) -> int:
    """The pid of the process that started the executor JVM a task ran in."""
    position = next(i for i, (_, command) in enumerate(chain) if EXECUTOR_CLASS in command)
    return chain[position + 1][0]


@pytest.mark.integration
def test_tasks_run_in_executors_started_by_the_workers(
    spark_cluster: spark_service.SparkCluster, tmp_path: Path
) -> None:
    app = tmp_path / "where_tasks_run.py"
    app.write_text(WHERE_TASKS_RUN)
    command = submission([], application=app).command(spark_cluster.url)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    app_id = next(line.split()[1] for line in lines if line.startswith("APP "))
    chains = [json.loads(line.removeprefix("TASK ")) for line in lines if line.startswith("TASK ")]
    assert len(chains) == 8
    workers = {worker.pid() for worker in spark_cluster.workers}
    assert {_starter_of_executor(chain) for chain in chains} <= workers
    for n in range(1, spark_service.WORKERS + 1):  # each worker granted the application an executor
        body = httpx.get(f"http://127.0.0.1:{spark_cluster.worker_ui_port(n)}/json/", timeout=10).json()
        assert app_id in {executor["appid"] for executor in body["finishedexecutors"]}, n


@pytest.mark.integration
def test_the_cluster_listens_on_loopback_only(
    spark_cluster: spark_service.SparkCluster, non_loopback_address: str
) -> None:
    workers = httpx.get(f"{spark_cluster.master_ui}/json/", timeout=10).json()["workers"]
    ports = [spark_cluster.master_port, spark_cluster.webui_port, *(worker["port"] for worker in workers)]
    ports += [spark_cluster.worker_ui_port(n) for n in range(1, spark_service.WORKERS + 1)]
    assert all(port_open("127.0.0.1", port) for port in ports)
    assert not [port for port in ports if port_open(non_loopback_address, port)]


@pytest.mark.integration
def test_starting_a_running_cluster_is_a_no_op(spark_cluster: spark_service.SparkCluster, capsys) -> None:
    pids = [daemon.pid() for daemon in (spark_cluster.master, *spark_cluster.workers)]
    assert spark_service.start(spark_cluster) == spark_cluster
    assert "spark: already running: master" in capsys.readouterr().out
    assert [daemon.pid() for daemon in (spark_cluster.master, *spark_cluster.workers)] == pids


@pytest.mark.parametrize(
    ("master", "port"),
    [
        ("spark://127.0.0.1:7177", 7177),
        ("spark://localhost:7077", 7077),
        ("local[*]", None),
        ("spark://spark-master:7077", None),
        ("spark://127.0.0.1:7077,127.0.0.1:7078", None),
    ],
)
def test_only_a_spark_master_of_this_machine_is_started(monkeypatch, master: str, port: int | None) -> None:
    monkeypatch.setenv("SPARK_MASTER", master)
    cluster = spark_service.managed_cluster()
    assert (cluster.master_port if cluster else None) == port


def test_stop_finds_the_cluster_whatever_spark_master_says(tmp_path: Path, monkeypatch, capsys) -> None:
    """`make stop` after the settings changed: the folder names the daemons; a stale pid file (a pid
    of another program) is removed, not obeyed."""
    monkeypatch.setenv("SPARK_MASTER", "local[*]")
    (tmp_path / "master.pid").write_text("1\n")
    assert spark_service.stop(tmp_path) is False
    assert not (tmp_path / "master.pid").exists()
    assert capsys.readouterr().out == "spark: not running\n"

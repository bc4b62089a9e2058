"""A Spark standalone cluster on this machine: one master and two workers, run with ``spark-class``
from the Spark distribution inside the pyspark wheel.

    python -m ticket_devstack.spark_service start|stop|status [--root DIR]

Started only when SPARK_MASTER is a spark:// URL of this machine (``spark://127.0.0.1:7077``);
with any other master (``local[*]``, a cluster elsewhere) nothing changes. The master listens on
127.0.0.1 at SPARK_MASTER's port, its web UI on SPARK_MASTER_WEBUI_PORT (never Spark's default
8080: Airflow's), and the two workers' UIs on the two ports after it. Each worker offers
SPARK_WORKER_CORES cores and SPARK_WORKER_MEMORY to executors: with one core each, two workers use
the two cores of a small machine, and the job's driver runs beside them in spark-submit. Pid files,
logs and the workers' folders (each executor's output, each application's files) live in
``.platform/spark``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ticket_devstack.processes import LOCAL_HOSTS
from ticket_devstack.service import (
    Daemon,
    ServiceError,
    check_port_free,
    lifecycle_commands,
    pids_text,
    root_option,
    run_cli,
    stop_daemons,
    wait_until_ready,
)
from ticket_etl import config
from ticket_etl.config import PLATFORM_DIR
from ticket_etl.jvm import java_executable

WORKERS = 2
START_DEADLINE_S = 90.0
STACK_ROOT = PLATFORM_DIR / "spark"  # the folder of `make run`'s cluster
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
_LOCAL_MASTER = re.compile(r"spark://(?P<host>[^:/,]+):(?P<port>\d+)")
# Settings of the master and the workers, written to the cluster's folder: a finished
# application's folder (its jars, --py-files, executor logs) is deleted from the workers after a
# day; the REST submission server stays off (spark-submit talks to the master's RPC port).
DAEMON_PROPERTIES = """\
# Written by ticket_devstack.spark_service for the local standalone master and workers.
spark.master.rest.enabled        false
spark.worker.cleanup.enabled     true
spark.worker.cleanup.appDataTtl  86400
"""


class SparkServiceError(ServiceError):
    """The cluster could not be started; the message says why."""


def _daemons(root: Path) -> tuple[Daemon, tuple[Daemon, ...]]:
    """The master and the workers that keep their files in ``root`` (found from the folder alone,
    so that `stop` finds them whatever SPARK_MASTER says now)."""
    master = Daemon("spark master", root / "master.pid", root / "master.log", (MASTER_CLASS, str(root)))
    workers = tuple(
        Daemon(
            f"spark worker {n}",
            root / f"worker-{n}.pid",
            root / f"worker-{n}.log",
            (WORKER_CLASS, f"--work-dir {_work_dir(root, n)} "),
        )
        for n in range(1, WORKERS + 1)
    )
    return master, workers


def _work_dir(root: Path, n: int) -> Path:
    """Worker ``n``'s folder: its executors' output and the applications' files."""
    return root / f"worker-{n}"


@dataclass(frozen=True)
class SparkCluster:
    """A standalone master and its workers on loopback, and what each worker offers executors."""

    root: Path
    master_port: int
    webui_port: int
    worker_cores: int
    worker_memory: str

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    @property
    def master_ui(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}"

    @property
    def properties_file(self) -> Path:
        return self.root / "spark-daemons.conf"

    @property
    def master(self) -> Daemon:
        return _daemons(self.root)[0]

    @property
    def workers(self) -> tuple[Daemon, ...]:
        return _daemons(self.root)[1]

    def worker_ui_port(self, n: int) -> int:
        return self.webui_port + n

    def work_dir(self, n: int) -> Path:
        return _work_dir(self.root, n)


def managed_cluster(root: Path = STACK_ROOT) -> SparkCluster | None:
    """The cluster of ``make run`` when SPARK_MASTER is a spark:// URL of this machine, else None."""
    match = _LOCAL_MASTER.fullmatch(config.spark_master())
    if match is None or match["host"] not in LOCAL_HOSTS:
        return None
    return SparkCluster(
        root,
        int(match["port"]),
        config.spark_master_webui_port(),
        config.spark_worker_cores(),
        config.spark_worker_memory(),
    )


def _environment() -> dict[str, str]:
    """The daemons' environment: Spark from the wheel, the stack's Java, loopback addresses (the
    web UIs bind to SPARK_LOCAL_IP, not to --host)."""
    import pyspark

    try:
        java_home = java_executable().parents[1]
    except FileNotFoundError as error:
        raise SparkServiceError(str(error)) from None
    spark_home = Path(pyspark.__file__).parent
    return {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "JAVA_HOME": str(java_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def _spark_class(environment: dict[str, str]) -> str:
    return str(Path(environment["SPARK_HOME"]) / "bin" / "spark-class")


def _master_command(cluster: SparkCluster, spark_class: str) -> list[str]:
    return [
        spark_class,
        MASTER_CLASS,
        "--host",
        "127.0.0.1",
        "--port",
        str(cluster.master_port),
        "--webui-port",
        str(cluster.webui_port),
        "--properties-file",
        str(cluster.properties_file),
    ]


def _worker_command(cluster: SparkCluster, n: int, spark_class: str) -> list[str]:
    return [
        spark_class,
        WORKER_CLASS,
        "--host",
        "127.0.0.1",
        "--cores",
        str(cluster.worker_cores),
        "--memory",
        cluster.worker_memory,
        "--webui-port",
        str(cluster.worker_ui_port(n)),
        "--work-dir",
        str(cluster.work_dir(n)),
        "--properties-file",
        str(cluster.properties_file),
        cluster.url,
    ]


def alive_workers(cluster: SparkCluster) -> int:
    """Workers the master counts as alive (0 when its web UI does not answer)."""
    import httpx

    try:
        return int(httpx.get(f"{cluster.master_ui}/json/", timeout=2.0).json()["aliveworkers"])
    except (httpx.HTTPError, ValueError, KeyError):
        return 0


def _check_ports(cluster: SparkCluster, master_missing: bool, workers_missing: list[int]) -> None:
    if master_missing:
        check_port_free(cluster.master_port, "SPARK_MASTER")
        check_port_free(cluster.webui_port, "SPARK_MASTER_WEBUI_PORT")
    for n in workers_missing:
        check_port_free(
            cluster.worker_ui_port(n), f"SPARK_MASTER_WEBUI_PORT (worker {n}'s UI takes it + {n})"
        )


def start(
    cluster: SparkCluster | None = None, deadline_s: float = START_DEADLINE_S, root: Path = STACK_ROOT
) -> SparkCluster | None:
    """Start the master and workers of ``cluster`` (by default the stack's, when SPARK_MASTER names
    one here, its files in ``root``) that are not running, and wait until the master counts every
    worker alive."""
    cluster = cluster or managed_cluster(root)
    if cluster is None:
        return None
    master_pid = cluster.master.pid()
    missing = [n for n, worker in enumerate(cluster.workers, 1) if worker.pid() is None]
    if master_pid and not missing:
        print(f"spark: already {status_line(cluster)}")
        return cluster
    _check_ports(cluster, master_pid is None, missing)
    environment = _environment()
    spark_class = _spark_class(environment)
    cluster.root.mkdir(parents=True, exist_ok=True)
    cluster.properties_file.write_text(DAEMON_PROPERTIES)
    started = {}
    if master_pid is None:
        started[cluster.master] = cluster.master.spawn(_master_command(cluster, spark_class), environment)
    for n in missing:
        worker = cluster.workers[n - 1]
        started[worker] = worker.spawn(_worker_command(cluster, n, spark_class), environment)
    wait_until_ready(
        started,
        lambda: alive_workers(cluster) >= WORKERS,
        deadline_s,
        f"count {WORKERS} workers at {cluster.master_ui}",
    )
    print(
        f"spark: started ({pids_text([process.pid for process in started.values()])}) at {cluster.url}, UI {cluster.master_ui}"
    )
    return cluster


def stop(root: Path = STACK_ROOT) -> bool:
    """Stop the workers and the master kept in ``root`` (whatever SPARK_MASTER says now)."""
    master, workers = _daemons(root)
    stopped = stop_daemons([*workers, master])
    if not stopped:
        print("spark: not running")
        return False
    print(f"spark: stopped ({pids_text([pids[0] for pids in stopped.values()])})")
    return True


def status_line(cluster: SparkCluster | None = None, root: Path = STACK_ROOT) -> str | None:
    """What runs: the master (its URL and UI) and how many workers; None when nothing runs."""
    cluster = cluster or managed_cluster(root)
    master, workers = _daemons(cluster.root if cluster else root)
    master_pid = master.pid()
    worker_pids = [pid for worker in workers if (pid := worker.pid())]
    if master_pid is None and not worker_pids:
        return None
    parts = [
        f"master (pid {master_pid})" if master_pid else "no master",
        f"{len(worker_pids)} of {WORKERS} workers",
    ]
    where = f" at {cluster.url}, UI {cluster.master_ui}" if cluster else ""
    return f"running: {' and '.join(parts)}{where}"


COMMANDS = lifecycle_commands(
    "spark",
    lambda args: start(root=args.root),
    lambda args: stop(args.root),
    lambda args: status_line(root=args.root),
    "start the cluster when SPARK_MASTER is spark://127.0.0.1:<port>",
)


@contextmanager
def fresh_cluster(root: Path, master_port: int, keep_files: bool = True) -> Iterator[SparkCluster]:
    """A master and two workers of their own (the tests', the benchmarks'), with the stack's
    worker settings, in ``root`` and on ``master_port`` (UIs on the next three ports); started
    from empty folders (one left by an interrupted run stopped first), stopped afterwards, and
    deleted unless ``keep_files`` (logs to read after a failure)."""
    cluster = SparkCluster(
        root, master_port, master_port + 1, config.spark_worker_cores(), config.spark_worker_memory()
    )
    stop(cluster.root)
    shutil.rmtree(cluster.root, ignore_errors=True)
    start(cluster)
    try:
        yield cluster
    finally:
        stop(cluster.root)
        if not keep_files:
            shutil.rmtree(cluster.root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(__doc__.splitlines()[0], COMMANDS, argv, root_option(STACK_ROOT))


if __name__ == "__main__":
    raise SystemExit(main())

"""Start, stop and inspect the local Kafka cluster: KRaft brokers run from Maven jars.

    python -m ticket_devstack.kafka_service start|stop|status|create-topics [--root DIR]

One broker by default, or three (``KAFKA_BROKERS=3``) that are also the three voters of one
controller quorum; all listen on 127.0.0.1, at the ports KAFKA_BROKER names, each controller on
its broker's port + 1. A cluster lives in one folder (``.platform/kafka`` by default): a single
broker's config, data, logs and pid file, or one ``broker-<id>`` folder per broker of three.
Tests and benchmarks run clusters of their own in other folders on other ports.

When KAFKA_BROKER names brokers on other machines, nothing is started here: ``start`` checks that
they answer.
"""

from __future__ import annotations

import base64
import string
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ticket_devstack.processes import LOCAL_HOSTS, port_open
from ticket_devstack.service import (
    Command,
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
from ticket_etl import config, topology
from ticket_etl.config import INCLUDE_DIR, KAFKA_JARS_DIR, PLATFORM_DIR
from ticket_etl.jvm import java_executable

START_DEADLINE_S = 90.0
REMOTE_DEADLINE_S = 10.0
LOCAL_CLUSTER_SIZES = (1, 3)
PID_FILE = "kafka.pid"
CONFIG_FILE = "server.properties"
TEMPLATE = INCLUDE_DIR / "kafka" / "server.properties.template"
STACK_ROOT = PLATFORM_DIR / "kafka"  # the folder of `make run`'s cluster


class KafkaServiceError(ServiceError):
    """The brokers could not be started or stopped; the message says why."""


def broker_daemon(folder: Path) -> Daemon:
    """The broker whose files are in ``folder`` (a broker's command line names its config file)."""
    logs = folder / "logs"
    return Daemon(
        "kafka",
        folder / PID_FILE,
        logs / "console.out",
        ("kafka.Kafka", str(folder / CONFIG_FILE)),
        (logs / "server.log",),
    )


@dataclass(frozen=True)
class BrokerLayout:
    """Where one broker keeps its files, its node id, and the loopback ports it listens on."""

    root: Path
    broker_port: int
    controller_port: int
    node_id: int = 1

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def pid_file(self) -> Path:
        return self.root / PID_FILE

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def controller(self) -> str:
        return f"127.0.0.1:{self.controller_port}"

    @property
    def daemon(self) -> Daemon:
        return broker_daemon(self.root)


@dataclass(frozen=True)
class KafkaCluster:
    """Brokers on loopback that form one KRaft cluster; each is also a voter of its quorum."""

    root: Path
    brokers: tuple[BrokerLayout, ...]

    @classmethod
    def on_ports(cls, root: Path, ports: Sequence[int]) -> KafkaCluster:
        """Brokers on ``ports`` (controllers on each port + 1): a single one keeps its files in
        ``root``, several in ``root/broker-<node id>``."""
        if len(ports) == 1:
            return cls(root, (BrokerLayout(root, ports[0], ports[0] + 1),))
        return cls(
            root,
            tuple(BrokerLayout(root / f"broker-{i}", port, port + 1, i) for i, port in enumerate(ports, 1)),
        )

    @property
    def bootstrap(self) -> str:
        return ",".join(broker.bootstrap for broker in self.brokers)

    @property
    def quorum(self) -> str:
        return ",".join(broker.controller for broker in self.brokers)

    @property
    def replication_factor(self) -> int:
        return topology.replication_factor(len(self.brokers))


def as_cluster(target: BrokerLayout | KafkaCluster) -> KafkaCluster:
    """A cluster, from a cluster or from a single broker's layout."""
    return target if isinstance(target, KafkaCluster) else KafkaCluster(target.root, (target,))


def _addresses(bootstrap: str) -> list[tuple[str, int]]:
    return [(host, int(port)) for host, _, port in (entry.rpartition(":") for entry in bootstrap.split(","))]


def default_cluster(root: Path = STACK_ROOT) -> KafkaCluster | None:
    """The cluster of ``make run``: the KAFKA_BROKERS brokers KAFKA_BROKER names on this machine,
    with its files in ``root``. None when KAFKA_BROKER names brokers elsewhere (not ours to start)."""
    bootstrap, count = config.kafka_broker(), config.kafka_brokers()
    addresses = _addresses(bootstrap)
    local = [host in LOCAL_HOSTS for host, _ in addresses]
    if not any(local):
        return None
    if not all(local):
        raise KafkaServiceError(
            f"KAFKA_BROKER={bootstrap} mixes brokers on this machine and elsewhere: name either the "
            "local stack's brokers (localhost or 127.0.0.1) or a cluster of your own"
        )
    if count not in LOCAL_CLUSTER_SIZES:
        raise KafkaServiceError(f"KAFKA_BROKERS={count}: the local stack runs 1 or 3 brokers")
    if len(addresses) != count:
        raise KafkaServiceError(
            f"KAFKA_BROKER={bootstrap} names {len(addresses)} broker(s) but KAFKA_BROKERS={count}: "
            f"name all {count} (host:port, comma-separated) or leave KAFKA_BROKER unset for the default"
        )
    ports = [port for _, port in addresses]
    taken = set(ports) | {port + 1 for port in ports}
    if len(taken) != 2 * len(ports):
        raise KafkaServiceError(
            f"KAFKA_BROKER={bootstrap}: each broker needs its port and the next one (its controller); "
            "choose ports at least two apart"
        )
    return KafkaCluster.on_ports(root, ports)


def _daemons_in(root: Path) -> list[Daemon]:
    """Every broker that keeps its files in ``root``, of either configuration (one or three)."""
    pid_files = [*root.glob(PID_FILE), *sorted(root.glob(f"broker-*/{PID_FILE}"))]
    return [broker_daemon(pid_file.parent) for pid_file in pid_files]


def running_pid(layout: BrokerLayout) -> int | None:
    """Pid of this broker if it is alive; a stale pid file is removed."""
    return layout.daemon.pid()


def _classpath() -> str:
    if not any(KAFKA_JARS_DIR.glob("kafka_2.13-*.jar")):
        raise KafkaServiceError(f"Kafka jars missing in {KAFKA_JARS_DIR}: run `make setup`")
    return str(KAFKA_JARS_DIR / "*")


def _java() -> str:
    try:
        return str(java_executable())
    except FileNotFoundError as error:
        raise KafkaServiceError(str(error)) from None


def render_config(broker: BrokerLayout, cluster: KafkaCluster) -> None:
    """Write the broker's server.properties from the template in include/kafka."""
    replication = cluster.replication_factor
    broker.root.mkdir(parents=True, exist_ok=True)
    broker.config_file.write_text(
        string.Template(TEMPLATE.read_text()).substitute(
            node_id=broker.node_id,
            broker_port=broker.broker_port,
            controller_port=broker.controller_port,
            quorum=cluster.quorum,
            data_dir=broker.data_dir,
            replication_factor=replication,
            min_insync_replicas=topology.min_insync_replicas(replication),
        )
    )


def kafka_uuid() -> str:
    """A random id in Kafka's form (URL-safe base64 of 16 bytes; never starting with '-')."""
    while (text := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return text


def _quorum_option(cluster: KafkaCluster) -> list[str]:
    """StorageTool's option for the initial controller quorum: this broker alone, or every broker
    with a directory id (the same list formats every broker of the cluster)."""
    if len(cluster.brokers) == 1:
        return ["--standalone"]
    voters = [f"{b.node_id}@127.0.0.1:{b.controller_port}:{kafka_uuid()}" for b in cluster.brokers]
    return ["--initial-controllers", ",".join(voters)]


def _format_storage(cluster: KafkaCluster) -> None:
    """Format every broker's data folder for one new cluster; all formatted: nothing to do."""
    formatted = [(broker.data_dir / "meta.properties").is_file() for broker in cluster.brokers]
    if all(formatted):
        return
    if any(formatted):
        raise KafkaServiceError(
            f"{cluster.root} holds a partly formatted cluster: delete that folder (`make clean` deletes "
            ".platform) and start again"
        )
    storage_tool = [_java(), "-cp", _classpath(), "kafka.tools.StorageTool"]
    cluster_id, quorum = kafka_uuid(), _quorum_option(cluster)
    for broker in cluster.brokers:
        result = subprocess.run(
            [*storage_tool, "format", "-t", cluster_id, "-c", str(broker.config_file), *quorum, "-g"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise KafkaServiceError(f"formatting {broker.data_dir} failed:\n{result.stdout}{result.stderr}")


def cluster_size(bootstrap: str, timeout_s: float = 2.0) -> int:
    """How many brokers the cluster at ``bootstrap`` reports (0 when none answers)."""
    from confluent_kafka.admin import AdminClient

    if not any(port_open(host or "127.0.0.1", port) for host, port in _addresses(bootstrap)):
        return 0
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        return len(admin.list_topics(timeout=timeout_s).brokers)
    except Exception:  # noqa: BLE001 - any client error means "not ready yet"
        return 0


def broker_answers(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when a broker at ``bootstrap`` returns cluster metadata."""
    return cluster_size(bootstrap, timeout_s) > 0


def _broker_command(broker: BrokerLayout) -> list[str]:
    return [
        _java(),
        *config.setting("KAFKA_HEAP").split(),
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={broker.logs_dir}",
        f"-Dlog4j2.configurationFile={INCLUDE_DIR / 'kafka' / 'log4j2.properties'}",
        "-cp",
        _classpath(),
        "kafka.Kafka",
        str(broker.config_file),
    ]


def _refuse_other_configuration(cluster: KafkaCluster) -> None:
    """Brokers of the other configuration (one broker or three) in the same folder hold the same
    ports: they must be stopped first."""
    ours = {broker.daemon for broker in cluster.brokers}
    others = [pid for daemon in _daemons_in(cluster.root) if daemon not in ours and (pid := daemon.pid())]
    if others:
        raise KafkaServiceError(
            f"brokers of another configuration run from {cluster.root} ({pids_text(others)}): "
            "stop them first (`make stop`), then start again"
        )


def _check_remote(bootstrap: str) -> None:
    """KAFKA_BROKER names brokers on other machines: they must answer (nothing is started)."""
    if wait_for_size(bootstrap, 1, REMOTE_DEADLINE_S):
        print(f"kafka: not managed here; the brokers at {bootstrap} (KAFKA_BROKER) answer")
        return
    raise KafkaServiceError(
        f"KAFKA_BROKER={bootstrap}: no Kafka broker answers there within {REMOTE_DEADLINE_S:.0f}s; "
        "`make run` starts brokers only for addresses on this machine (localhost, 127.0.0.1): "
        "fix the address, start that cluster, or unset KAFKA_BROKER"
    )


def wait_for_size(bootstrap: str, brokers: int, deadline_s: float) -> bool:
    """Wait up to ``deadline_s`` until the cluster at ``bootstrap`` reports ``brokers`` brokers."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if cluster_size(bootstrap) >= brokers:
            return True
        time.sleep(0.5)
    return False


Target = BrokerLayout | KafkaCluster | None  # a cluster, one broker, or (None) the stack's cluster


def _cluster_of(target: Target, root: Path) -> KafkaCluster | None:
    return default_cluster(root) if target is None else as_cluster(target)


def start(target: Target = None, deadline_s: float = START_DEADLINE_S, root: Path = STACK_ROOT) -> list[int]:
    """Start the brokers of ``target`` (by default the stack's cluster, its files in ``root``) that
    are not running, and wait until the cluster answers with all of them. Returns their pids."""
    cluster = _cluster_of(target, root)
    if cluster is None:
        _check_remote(config.kafka_broker())
        return []
    _refuse_other_configuration(cluster)
    pids = {broker: broker.daemon.pid() for broker in cluster.brokers}
    missing = [broker for broker, pid in pids.items() if pid is None]
    if not missing:
        print(f"kafka: already running ({pids_text(list(pids.values()))}) on {cluster.bootstrap}")
        return list(pids.values())
    for broker in missing:
        check_port_free(broker.broker_port, "KAFKA_BROKER")
        check_port_free(broker.controller_port, "KAFKA_BROKER (a broker's controller takes its port + 1)")
    for broker in missing:
        render_config(broker, cluster)
    _format_storage(cluster)
    started = {broker.daemon: broker.daemon.spawn(_broker_command(broker)) for broker in missing}
    wait_until_ready(
        started,
        lambda: cluster_size(cluster.bootstrap) >= len(cluster.brokers),
        deadline_s,
        f"answer on {cluster.bootstrap}",
    )
    new = [process.pid for process in started.values()]
    print(f"kafka: started ({pids_text(new)}) on {cluster.bootstrap}")
    return [pids[broker] or started[broker.daemon].pid for broker in cluster.brokers]


def _root_of(target: Target, root: Path) -> Path:
    """The folder whose brokers stop and status act on: for the stack, ``root`` whatever
    KAFKA_BROKER says now (a cluster started with other settings is stopped all the same)."""
    return root if target is None else as_cluster(target).root


def stop(target: Target = None, root: Path = STACK_ROOT) -> bool:
    """Stop every broker of ``target``'s folder (by default the stack's, ``root``) with SIGTERM,
    SIGKILL after a deadline. Returns True if one ran."""
    stopped = stop_daemons(_daemons_in(_root_of(target, root)))
    if not stopped:
        print("kafka: not running")
        return False
    print(f"kafka: stopped ({pids_text([pids[0] for pids in stopped.values()])})")
    return True


def status_line(target: Target = None, root: Path = STACK_ROOT) -> str | None:
    """``running (pid N) on <bootstrap>``, or None when no broker of the folder runs."""
    pids = [pid for daemon in _daemons_in(_root_of(target, root)) if (pid := daemon.pid())]
    if not pids:
        return None
    cluster = _cluster_of(target, root)
    return f"running ({pids_text(pids)})" + (f" on {cluster.bootstrap}" if cluster else "")


def create_topics(target: Target = None, root: Path = STACK_ROOT) -> list[str]:
    """Create the pipeline's topics (``ticket_etl.topics``) on ``target`` (the stack's cluster,
    or the brokers KAFKA_BROKER names elsewhere), replicated for its size; returns once every
    partition of the topics it created has a leader that answers (``kafka_io.wait_for_leaders``),
    so what follows can read their metadata and offsets at once."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from ticket_etl.kafka_io import wait_for_leaders
    from ticket_etl.topics import ensure_topics
    from ticket_etl.topology import topic_specs

    cluster = _cluster_of(target, root)
    bootstrap = cluster.bootstrap if cluster else config.kafka_broker()
    specs = topic_specs(len(cluster.brokers) if cluster else None)
    try:
        created = ensure_topics(AdminClient({"bootstrap.servers": bootstrap, "log_level": 0}), specs)
        for spec in specs:
            if spec.name in created:
                wait_for_leaders(bootstrap, spec.name, spec.partitions)
    except (RuntimeError, KafkaException) as error:
        raise KafkaServiceError(f"creating the topics on {bootstrap} failed: {error}") from None
    return created


COMMANDS = {
    **lifecycle_commands(
        "kafka",
        lambda args: start(root=args.root),
        lambda args: stop(root=args.root),
        lambda args: status_line(root=args.root),
        "start the brokers that are not running, wait for all",
    ),
    "create-topics": Command(
        lambda args: create_topics(root=args.root), "create the pipeline's topics, replicated for the cluster"
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(__doc__.splitlines()[0], COMMANDS, argv, root_option(STACK_ROOT))


if __name__ == "__main__":
    raise SystemExit(main())

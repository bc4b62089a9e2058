"""Start, stop and inspect a single-node KRaft Kafka broker run from Maven jars.

    python -m ticket_devstack.kafka_service start|stop|status|create-topics [--root DIR]

The broker lives in one folder (``.platform/kafka`` by default: config, data, logs, pid file)
and listens on 127.0.0.1 at the port of KAFKA_BROKER, its controller on the next port. Tests and
benchmarks run brokers of their own in other folders on other ports.
"""

from __future__ import annotations

import argparse
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ticket_devstack.processes import port_open
from ticket_devstack.service import (
    Command,
    Daemon,
    ServiceError,
    check_port_free,
    pids_text,
    run_cli,
    status,
    wait_until_ready,
)
from ticket_etl import config
from ticket_etl.config import INCLUDE_DIR, KAFKA_JARS_DIR, PLATFORM_DIR
from ticket_etl.jvm import java_executable

START_DEADLINE_S = 90.0
PID_FILE = "kafka.pid"
CONFIG_FILE = "server.properties"
TEMPLATE = INCLUDE_DIR / "kafka" / "server.properties.template"


class KafkaServiceError(ServiceError):
    """The broker could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerLayout:
    """Where one broker keeps its files, and the loopback ports it listens on."""

    root: Path
    broker_port: int
    controller_port: int

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
    def daemon(self) -> Daemon:
        """The broker's process (its command line names its config file)."""
        return Daemon(
            "kafka",
            self.pid_file,
            self.logs_dir / "console.out",
            ("kafka.Kafka", str(self.config_file)),
            (self.logs_dir / "server.log",),
        )


def default_layout(root: Path = PLATFORM_DIR / "kafka") -> BrokerLayout:
    """The broker of `make run` (or one in ``root``): on the port of KAFKA_BROKER, its controller
    on the next one."""
    port = int(config.kafka_broker().rpartition(":")[2])
    return BrokerLayout(root, port, port + 1)


def running_pid(layout: BrokerLayout) -> int | None:
    """Pid of this layout's broker if it is alive; a stale pid file is removed."""
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


def render_config(layout: BrokerLayout) -> None:
    """Write the broker's server.properties from the template in include/kafka."""
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.config_file.write_text(
        string.Template(TEMPLATE.read_text()).substitute(
            broker_port=layout.broker_port,
            controller_port=layout.controller_port,
            data_dir=layout.data_dir,
        )
    )


def _format_storage(layout: BrokerLayout) -> None:
    """Format the broker's data folder the first time (a single-node controller quorum)."""
    if (layout.data_dir / "meta.properties").is_file():
        return
    storage_tool = [_java(), "-cp", _classpath(), "kafka.tools.StorageTool"]
    cluster_id = (
        subprocess.run([*storage_tool, "random-uuid"], check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    result = subprocess.run(
        [*storage_tool, "format", "-t", cluster_id, "-c", str(layout.config_file), "--standalone", "-g"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise KafkaServiceError(f"formatting {layout.data_dir} failed:\n{result.stdout}{result.stderr}")


def broker_answers(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when a broker at ``bootstrap`` returns cluster metadata."""
    from confluent_kafka.admin import AdminClient

    host, _, port = bootstrap.rpartition(":")
    if not port_open(host or "127.0.0.1", int(port)):
        return False
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except Exception:  # noqa: BLE001 - any client error means "not ready yet"
        return False
    return bool(metadata.brokers)


def _broker_command(layout: BrokerLayout) -> list[str]:
    return [
        _java(),
        *config.setting("KAFKA_HEAP").split(),
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={layout.logs_dir}",
        f"-Dlog4j2.configurationFile={INCLUDE_DIR / 'kafka' / 'log4j2.properties'}",
        "-cp",
        _classpath(),
        "kafka.Kafka",
        str(layout.config_file),
    ]


def start(layout: BrokerLayout | None = None, deadline_s: float = START_DEADLINE_S) -> int:
    """Start the broker (the stack's by default) and wait until it answers. A running broker is
    left alone. Returns its pid."""
    layout = layout or default_layout()
    pid = running_pid(layout)
    if pid is not None:
        print(f"kafka: already running (pid {pid}) on {layout.bootstrap}")
        return pid
    check_port_free(layout.broker_port, "KAFKA_BROKER")
    check_port_free(layout.controller_port, "KAFKA_BROKER (the controller takes the broker's port + 1)")
    render_config(layout)
    _format_storage(layout)
    process = layout.daemon.spawn(_broker_command(layout))
    wait_until_ready(
        {layout.daemon: process},
        lambda: broker_answers(layout.bootstrap),
        deadline_s,
        f"answer on {layout.bootstrap}",
    )
    print(f"kafka: started (pid {process.pid}) on {layout.bootstrap}")
    return process.pid


def stop(layout: BrokerLayout | None = None) -> bool:
    """Stop the broker (the stack's by default) with SIGTERM, SIGKILL after a deadline. Returns
    True if one ran."""
    layout = layout or default_layout()
    pids = layout.daemon.stop()
    if pids is None:
        print("kafka: not running")
        return False
    print(f"kafka: stopped ({pids_text(pids)})")
    return True


def status_line(layout: BrokerLayout | None = None) -> str | None:
    """``running (pid N) on <bootstrap>``, or None."""
    layout = layout or default_layout()
    pid = running_pid(layout)
    return f"running ({pids_text([pid])}) on {layout.bootstrap}" if pid else None


def create_topics(layout: BrokerLayout | None = None) -> list[str]:
    """Create the pipeline's topics (``ticket_etl.topics``) on the broker."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    from ticket_etl.topics import ensure_topics

    layout = layout or default_layout()
    try:
        return ensure_topics(AdminClient({"bootstrap.servers": layout.bootstrap, "log_level": 0}))
    except (RuntimeError, KafkaException) as error:
        raise KafkaServiceError(f"creating the topics on {layout.bootstrap} failed: {error}") from None


def _cli_layout(args: argparse.Namespace) -> BrokerLayout:
    return default_layout(args.root) if args.root else default_layout()


def _root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=lambda p: Path(p).resolve(), help="the broker's folder (default .platform/kafka)"
    )


COMMANDS = {
    "start": Command(lambda args: start(_cli_layout(args)), "start the broker and wait until it answers"),
    "stop": Command(lambda args: stop(_cli_layout(args)), "stop the broker"),
    "status": Command(
        lambda args: status("kafka", status_line(_cli_layout(args))),
        "say whether it runs (exit code 3 if not)",
        gives_exit_code=True,
    ),
    "create-topics": Command(lambda args: create_topics(_cli_layout(args)), "create the pipeline's topics"),
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(__doc__.splitlines()[0], COMMANDS, argv, _root_option)


if __name__ == "__main__":
    raise SystemExit(main())

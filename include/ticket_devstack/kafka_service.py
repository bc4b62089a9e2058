"""Start, stop and inspect a single-node KRaft Kafka broker run from Maven jars.

    python -m ticket_devstack.kafka_service start|stop|status|create-topics

The broker lives in one folder (``.platform/kafka`` by default: config, data,
logs, pid file). Tests run a second broker in another folder on other ports.
"""

from __future__ import annotations

import argparse
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from ticket_devstack.processes import pid_from_file, port_open, terminate
from ticket_etl.config import INCLUDE_DIR, KAFKA_JARS_DIR, PLATFORM_DIR, kafka_broker, setting
from ticket_etl.jvm import java_executable

START_DEADLINE_S = 90.0
STOP_DEADLINE_S = 45.0
LOG_TAIL_LINES = 40


class KafkaServiceError(RuntimeError):
    """The broker could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerLayout:
    """Where one broker keeps its files, and the loopback ports it listens on."""

    root: Path
    broker_port: int = 19092
    controller_port: int = 19093

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def config_file(self) -> Path:
        return self.root / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"


def default_layout() -> BrokerLayout:
    """The broker of `make run`: listens on the port of KAFKA_BROKER, controller on the next one."""
    port = int(kafka_broker().rpartition(":")[2])
    return BrokerLayout(PLATFORM_DIR / "kafka", port, port + 1)


DEFAULT_LAYOUT = default_layout()


def _classpath() -> str:
    if not any(KAFKA_JARS_DIR.glob("kafka_2.13-*.jar")):
        raise KafkaServiceError(f"Kafka jars missing in {KAFKA_JARS_DIR}: run `make setup`")
    return str(KAFKA_JARS_DIR / "*")


def _java() -> str:
    try:
        return str(java_executable())
    except FileNotFoundError as error:
        raise KafkaServiceError(str(error)) from None


def running_pid(layout: BrokerLayout) -> int | None:
    """Pid of this layout's broker if it is alive; a stale pid file is removed."""
    return pid_from_file(layout.pid_file, "kafka.Kafka", layout.config_file.name)


def render_config(layout: BrokerLayout) -> None:
    """Write the broker's server.properties from the template in include/kafka."""
    template = string.Template((INCLUDE_DIR / "kafka" / "server.properties.template").read_text())
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.config_file.write_text(
        template.substitute(
            broker_port=layout.broker_port,
            controller_port=layout.controller_port,
            data_dir=layout.data_dir,
        )
    )


def _format_storage(layout: BrokerLayout) -> None:
    if (layout.data_dir / "meta.properties").is_file():
        return
    java, cp = _java(), _classpath()
    cluster_id = (
        subprocess.run(
            [java, "-cp", cp, "kafka.tools.StorageTool", "random-uuid"],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    result = subprocess.run(
        [
            java,
            "-cp",
            cp,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(layout.config_file),
            "--standalone",
            "-g",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise KafkaServiceError(f"formatting {layout.data_dir} failed:\n{result.stdout}{result.stderr}")


def log_tail(layout: BrokerLayout, lines: int = LOG_TAIL_LINES) -> str:
    """Last lines of the broker's log and console output, for error messages."""
    parts = []
    for name in ("server.log", "console.out"):
        path = layout.logs_dir / name
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path} (last {len(tail)} lines) ---\n" + "\n".join(tail))
    return "\n".join(parts) or f"(no log in {layout.logs_dir})"


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


def start(layout: BrokerLayout = DEFAULT_LAYOUT, deadline_s: float = START_DEADLINE_S) -> int:
    """Start the broker and wait until it answers. A running broker is left alone."""
    pid = running_pid(layout)
    if pid is not None:
        print(f"kafka: already running (pid {pid}) on {layout.bootstrap}")
        return pid
    for port in (layout.broker_port, layout.controller_port):
        if port_open("127.0.0.1", port):
            raise KafkaServiceError(
                f"port {port} is already in use by another program; stop it or choose other "
                f"ports (see README, Troubleshooting: `ss -ltnp 'sport = :{port}'` shows who)"
            )
    render_config(layout)
    _format_storage(layout)
    layout.logs_dir.mkdir(parents=True, exist_ok=True)
    heap = setting("KAFKA_HEAP")
    cmd = [
        _java(),
        *heap.split(),
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={layout.logs_dir}",
        f"-Dlog4j2.configurationFile={INCLUDE_DIR / 'kafka' / 'log4j2.properties'}",
        "-cp",
        _classpath(),
        "kafka.Kafka",
        str(layout.config_file),
    ]
    with open(layout.logs_dir / "console.out", "ab") as console:
        process = subprocess.Popen(
            cmd,
            stdout=console,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    layout.pid_file.write_text(f"{process.pid}\n")
    _wait_until_ready(layout, process, deadline_s)
    print(f"kafka: started (pid {process.pid}) on {layout.bootstrap}")
    return process.pid


def _wait_until_ready(layout: BrokerLayout, process: subprocess.Popen, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            layout.pid_file.unlink(missing_ok=True)
            raise KafkaServiceError(
                f"kafka exited with code {process.returncode} while starting\n{log_tail(layout)}"
            )
        if broker_answers(layout.bootstrap):
            return
        time.sleep(0.5)
    _terminate(process.pid)
    layout.pid_file.unlink(missing_ok=True)
    raise KafkaServiceError(
        f"kafka did not answer on {layout.bootstrap} within {deadline_s:.0f}s\n{log_tail(layout)}"
    )


def _terminate(pid: int, deadline_s: float = STOP_DEADLINE_S) -> None:
    try:
        terminate([psutil.Process(pid)], deadline_s)
    except psutil.NoSuchProcess:
        pass


def stop(layout: BrokerLayout = DEFAULT_LAYOUT) -> bool:
    """Stop the broker with SIGTERM (SIGKILL after a deadline). Returns True if one ran."""
    pid = running_pid(layout)
    if pid is None:
        print("kafka: not running")
        return False
    _terminate(pid)
    layout.pid_file.unlink(missing_ok=True)
    print(f"kafka: stopped (pid {pid})")
    return True


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "create-topics"])
    parser.add_argument("--root", type=lambda p: Path(p).resolve(), default=DEFAULT_LAYOUT.root)
    parser.add_argument("--port", type=int, default=DEFAULT_LAYOUT.broker_port)
    parser.add_argument("--controller-port", type=int, default=DEFAULT_LAYOUT.controller_port)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parse_args(argv)
    layout = BrokerLayout(args.root, args.port, args.controller_port)
    try:
        if args.command == "start":
            start(layout)
        elif args.command == "stop":
            stop(layout)
        elif args.command == "status":
            pid = running_pid(layout)
            print(f"kafka: running (pid {pid}) on {layout.bootstrap}" if pid else "kafka: not running")
            return 0 if pid else 3
        else:
            from confluent_kafka.admin import AdminClient

            from ticket_etl.topics import ensure_topics

            ensure_topics(AdminClient({"bootstrap.servers": layout.bootstrap}))
    except KafkaServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

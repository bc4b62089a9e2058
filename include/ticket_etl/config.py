"""Configuration at the edge: settings from the environment, and the project's paths.

Every other module reads settings from here; nothing else reads ``os.environ`` for these names.
Defaults live in ``include/defaults.env`` (one place, also read by ``include/env.sh``); each
setting is checked when it is read, and a bad value raises :class:`SettingError` naming the
setting (``python -m ticket_etl.config check`` checks them all, as ``make run`` does first).
The topics the settings shape are in :mod:`ticket_etl.topology`.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# TICKETS_ROOT wins when set: a copy of this module outside the project (the job's --py-files
# archive) cannot find include/ from its own location.
PROJECT_ROOT = Path(os.environ.get("TICKETS_ROOT") or Path(__file__).resolve().parents[2])
INCLUDE_DIR = PROJECT_ROOT / "include"
DEFAULTS_PATH = INCLUDE_DIR / "defaults.env"
PLATFORM_DIR = PROJECT_ROOT / ".platform"  # generated state, git-ignored
JARS_DIR = PLATFORM_DIR / "jars"
KAFKA_JARS_DIR = JARS_DIR / "kafka"
SPARK_KAFKA_JARS_DIR = JARS_DIR / "spark-kafka"

ROUTING_RULES_PATH = INCLUDE_DIR / "routing_rules.yaml"  # the rules shipped in the checkout
STOPWORDS_PATH = INCLUDE_DIR / "stopwords.txt"
SPARK_DEFAULTS_PATH = INCLUDE_DIR / "spark-defaults.conf"
SPARK_LOG4J_PATH = INCLUDE_DIR / "spark-log4j2.properties"
SPARK_JOBS_DIR = PROJECT_ROOT / "spark_jobs"
ANALYZE_JOB_PATH = SPARK_JOBS_DIR / "analyze_tickets.py"
PREVIEW_JOB_PATH = SPARK_JOBS_DIR / "preview_rules.py"

MAX_BATCH_SIZE = 5_000_000  # also the maximum of the DAG's tickets_per_run param
MAX_RETRY_DELAY_SECONDS = 600  # also the DAGs' max_retry_delay
MAX_BASELINE_HOURS = 168  # a week of summaries read per run at most
# A ticket sent again within this many hours after the hour that published it is a duplicate.
DUPLICATE_LOOK_BACK_HOURS = 24
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_HOST_PORT = r"[A-Za-z0-9._-]+:\d{1,5}"
_SPARK_MASTER = re.compile(
    rf"local(\[(\*|\d+)(,\d+)?\])?|spark://{_HOST_PORT}(,{_HOST_PORT})*|yarn|k8s://\S+"
)
_JVM_SIZE = re.compile(r"\d+[kmgt]?b?", re.IGNORECASE)
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


class SettingError(ValueError):
    """A setting has a value that cannot work; the message names the setting and what it takes."""


@dataclass(frozen=True)
class Setting:
    """One line of ``include/defaults.env``: a setting, its default and what it means."""

    name: str
    default: str
    meaning: str


@cache
def defaults() -> dict[str, Setting]:
    """The settings of ``include/defaults.env``, in file order."""
    settings: dict[str, Setting] = {}
    comments: list[str] = []
    for line in DEFAULTS_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            comments.append(line.lstrip("# ").strip())
        elif "=" in line:
            name, _, value = line.partition("=")
            settings[name.strip()] = Setting(name.strip(), value.strip(), " ".join(comments))
            comments = []
        else:
            comments = []
    return settings


def setting(name: str) -> str:
    """The value of a setting: the environment's when set and not empty, else its default."""
    return os.environ.get(name) or defaults()[name].default


def _checked(name: str, valid: bool, expected: str) -> str:
    value = setting(name)
    if not valid:
        raise SettingError(f"{name}={value!r}: expected {expected}")
    return value


def kafka_broker() -> str:
    """Bootstrap servers (``KAFKA_BROKER``)."""
    value = setting("KAFKA_BROKER")
    valid = all(
        re.fullmatch(_HOST_PORT, part) and 0 < int(part.rsplit(":", 1)[1]) < 65536
        for part in value.split(",")
    )
    return _checked(
        "KAFKA_BROKER", valid, "host:port, or several separated by commas (e.g. broker-1:9092,broker-2:9092)"
    )


def schema_registry_url() -> str:
    """Base URL of the schema registry (``SCHEMA_REGISTRY_URL``), without a trailing slash."""
    value = setting("SCHEMA_REGISTRY_URL").rstrip("/")
    valid = bool(re.fullmatch(rf"https?://{_HOST_PORT}", value)) and 0 < int(value.rsplit(":", 1)[1]) < 65536
    return _checked("SCHEMA_REGISTRY_URL", valid, "http://host:port (e.g. http://localhost:18081)")


def source_topic() -> str:
    """Topic the tickets arrive on (``TOPIC_NAME``)."""
    valid = bool(_TOPIC.fullmatch(setting("TOPIC_NAME")))
    return _checked("TOPIC_NAME", valid, "a Kafka topic name (letters, digits, '.', '_', '-')")


def batch_size() -> int:
    """Default number of tickets generated per interval (``BATCH_SIZE``)."""
    raw = setting("BATCH_SIZE")
    valid = raw.isdigit() and int(raw) <= MAX_BATCH_SIZE
    return int(_checked("BATCH_SIZE", valid, f"a whole number from 0 to {MAX_BATCH_SIZE:,}"))


def spark_master() -> str:
    """Spark master URL (``SPARK_MASTER``)."""
    valid = bool(_SPARK_MASTER.fullmatch(setting("SPARK_MASTER")))
    return _checked("SPARK_MASTER", valid, "local[*], local[N], spark://host:port, yarn or k8s://...")


def spark_driver_memory() -> str:
    """Spark driver memory (``SPARK_DRIVER_MEMORY``)."""
    valid = bool(_JVM_SIZE.fullmatch(setting("SPARK_DRIVER_MEMORY")))
    return _checked("SPARK_DRIVER_MEMORY", valid, "a JVM memory size such as 512m or 2g")


def spark_driver_java_options() -> list[str]:
    """More driver JVM options (``SPARK_DRIVER_JAVA_OPTIONS``), split as a shell would."""
    try:
        options: list[str] | None = shlex.split(setting("SPARK_DRIVER_JAVA_OPTIONS"))
    except ValueError:  # an unclosed quote
        options = None
    valid = options is not None and all(option.startswith("-") for option in options)
    _checked("SPARK_DRIVER_JAVA_OPTIONS", valid, "JVM options, each starting with '-'")
    return options or []


def log_level() -> str:
    """Log level of the producer and the Spark job (``LOG_LEVEL``)."""
    valid = setting("LOG_LEVEL").upper() in LOG_LEVELS
    return _checked("LOG_LEVEL", valid, f"one of {', '.join(LOG_LEVELS)}").upper()


def task_retry_delay_seconds() -> int:
    """Wait before a failed task's first retry (``TASK_RETRY_DELAY_SECONDS``)."""
    raw = setting("TASK_RETRY_DELAY_SECONDS")
    valid = raw.isdigit() and 1 <= int(raw) <= MAX_RETRY_DELAY_SECONDS
    return int(
        _checked(
            "TASK_RETRY_DELAY_SECONDS",
            valid,
            f"a whole number of seconds from 1 to {MAX_RETRY_DELAY_SECONDS}",
        )
    )


# Object stores whose rename is a copy then a delete: the job's promotion, compaction and locks
# rely on atomic renames and exclusive creates, so they cannot hold its state (docs/cluster.md).
NON_ATOMIC_RENAME_SCHEMES = ("s3a", "s3", "s3n", "gs")


def artifacts_root(location: str) -> str:
    """An artifacts root as the code uses it: a URI as given (``file:///mnt/shared/stats``,
    ``hdfs://...``), a path made absolute (a relative one is relative to the project folder);
    ValueError for an object store without atomic rename."""
    scheme = location.split("://", 1)[0].lower() if "://" in location else "file"
    if scheme in NON_ATOMIC_RENAME_SCHEMES:
        raise ValueError(
            f"{scheme}:// cannot hold the artifacts: its renames are not atomic, so a promotion or a "
            "compaction cut short could publish half an hour; use a local or shared file system, or HDFS"
        )
    if "://" in location:
        return location.rstrip("/")
    return str((PROJECT_ROOT / location).resolve())


def stats_dir() -> str:
    """Root of the artifacts (``STATS_DIR``): a path or a URI, see :func:`artifacts_root`."""
    try:
        return artifacts_root(setting("STATS_DIR"))
    except ValueError as error:
        return _checked("STATS_DIR", False, str(error))


def routing_rules_path() -> Path:
    """The routing rules file the pipeline applies (``ROUTING_RULES``; relative to the project)."""
    return (PROJECT_ROOT / setting("ROUTING_RULES")).resolve()


def source_retention_days() -> int:
    """How long the source topic keeps records (``SOURCE_RETENTION_DAYS``)."""
    raw = setting("SOURCE_RETENTION_DAYS")
    return int(
        _checked("SOURCE_RETENTION_DAYS", raw.isdigit() and int(raw) >= 1, "a whole number of days >= 1")
    )


def keyword_baseline_hours() -> int:
    """Published hours a run compares its hour's terms with (``KEYWORD_BASELINE_HOURS``)."""
    raw = setting("KEYWORD_BASELINE_HOURS")
    valid = raw.isdigit() and 1 <= int(raw) <= MAX_BASELINE_HOURS
    return int(
        _checked("KEYWORD_BASELINE_HOURS", valid, f"a whole number of hours from 1 to {MAX_BASELINE_HOURS}")
    )


def hours_read_before() -> int:
    """How many hours before its own an analysis reads what was published: its keyword baseline
    and the tickets a duplicate is looked for in. Their analyses come first (the DAG waits)."""
    return max(keyword_baseline_hours(), DUPLICATE_LOOK_BACK_HOURS)


DOCS_HEADER = """# Configuration

<!-- Generated from include/defaults.env by `make docs`; tests/unit/test_settings.py checks it. -->

Set these in the environment before `make run`, for example `BATCH_SIZE=5000 make run`. Their
defaults are written once, in `include/defaults.env`; the code reads them through
`ticket_etl.config`, which checks each value and names the setting when one is wrong
(`make run` checks them all first).

"""


def markdown_docs() -> str:
    """``docs/configuration.md``: the settings as a Markdown table."""
    rows = [
        f"| `{s.name}` | {f'`{s.default}`' if s.default else '(none)'} | {s.meaning} |"
        for s in defaults().values()
    ]
    return DOCS_HEADER + "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows]) + "\n"


# Settings of the local stack's services: the Airflow API's address, Kafka's size, the Spark
# standalone workers.
_PORT = re.compile(r"\d{1,5}")
_HOST = re.compile(r"[A-Za-z0-9.:_-]+")


def _port(name: str) -> int:
    raw = setting(name)
    valid = bool(_PORT.fullmatch(raw)) and 0 < int(raw) < 65536
    return int(_checked(name, valid, "a TCP port number (1 to 65535)"))


def airflow_api_host() -> str:
    """Address the local Airflow API server listens on (``AIRFLOW__API__HOST``)."""
    valid = bool(_HOST.fullmatch(setting("AIRFLOW__API__HOST")))
    return _checked("AIRFLOW__API__HOST", valid, "an IP address or host name (127.0.0.1, 0.0.0.0, ...)")


def airflow_api_port() -> int:
    """Port of the local Airflow UI and API (``AIRFLOW__API__PORT``)."""
    return _port("AIRFLOW__API__PORT")


def airflow_db_port() -> int:
    """Port of the local PostgreSQL of Airflow's metadata (``AIRFLOW_DB_PORT``)."""
    return _port("AIRFLOW_DB_PORT")


def kafka_brokers() -> int:
    """Size of the Kafka cluster (``KAFKA_BROKERS``): how many brokers ``make run`` starts on this
    machine, and what the topics' replication follows (:func:`ticket_etl.topology.replication_factor`)."""
    raw = setting("KAFKA_BROKERS")
    valid = raw.isdigit() and int(raw) >= 1
    return int(
        _checked(
            "KAFKA_BROKERS", valid, "a whole number of brokers, at least 1 (the local stack runs 1 or 3)"
        )
    )


def spark_master_webui_port() -> int:
    """Port of the local Spark master's web UI (``SPARK_MASTER_WEBUI_PORT``); its workers' UIs
    take the ports after it."""
    return _port("SPARK_MASTER_WEBUI_PORT")


def spark_worker_cores() -> int:
    """Cores each local Spark worker offers executors (``SPARK_WORKER_CORES``)."""
    raw = setting("SPARK_WORKER_CORES")
    valid = raw.isdigit() and int(raw) >= 1
    return int(_checked("SPARK_WORKER_CORES", valid, "a whole number of cores, at least 1"))


def spark_worker_memory() -> str:
    """Memory each local Spark worker offers executors (``SPARK_WORKER_MEMORY``)."""
    valid = bool(_JVM_SIZE.fullmatch(setting("SPARK_WORKER_MEMORY")))
    return _checked("SPARK_WORKER_MEMORY", valid, "a JVM memory size such as 1g or 2048m")


CHECKS = (
    kafka_broker,
    schema_registry_url,
    source_topic,
    batch_size,
    spark_master,
    spark_driver_memory,
    spark_driver_java_options,
    log_level,
    task_retry_delay_seconds,
    stats_dir,
    source_retention_days,
    keyword_baseline_hours,
    airflow_api_host,
    airflow_api_port,
    airflow_db_port,
    kafka_brokers,
    spark_master_webui_port,
    spark_worker_cores,
    spark_worker_memory,
)


def check_all() -> list[str]:
    """The message of every setting that is wrong (empty when all are fine)."""
    problems = []
    for check in CHECKS:
        try:
            check()
        except SettingError as error:
            problems.append(str(error))
    return problems


def main(argv: list[str] | None = None) -> int:
    """``python -m ticket_etl.config check``: one line per bad setting, exit 2 if any;
    ``python -m ticket_etl.config docs``: ``docs/configuration.md``."""
    command = (sys.argv[1:] if argv is None else argv) or ["check"]
    if command == ["docs"]:
        print(markdown_docs(), end="")
        return 0
    problems = check_all()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""The command line of the Spark analysis job (``spark_jobs/analyze_tickets.py``), defined once:
:meth:`JobArguments.argv` writes it (the DAG, the tests, the benchmarks) and
:meth:`JobArguments.parse` reads it (the job), so the two cannot drift."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from ticket_etl import config, topology
from ticket_etl.interval import Interval
from ticket_etl.schema_registry import ticket_subject

# Kafka records per Spark task: bounds a task's memory whatever the size of the interval, and
# splits a large Kafka partition so every core gets work.
DEFAULT_MAX_RECORDS_PER_TASK = 100_000
DEFAULT_TOP_N = 20


@dataclass(frozen=True)
class JobArguments:
    """Everything one run of the job is told on its command line."""

    interval: Interval
    run_id: str
    bootstrap: str = field(default_factory=config.kafka_broker)
    topic: str = field(default_factory=config.source_topic)
    dead_letter_topic: str = topology.DEAD_LETTER_TOPIC
    alerts_topic: str = topology.ALERTS_TOPIC
    artifacts_root: str = field(default_factory=config.stats_dir)
    rules: Path = field(default_factory=config.routing_rules_path)
    rules_digest: str | None = None
    schema_registry: str = field(default_factory=config.schema_registry_url)
    schema_subject: str = field(default_factory=ticket_subject)
    top_n: int = DEFAULT_TOP_N
    baseline_hours: int = field(default_factory=config.keyword_baseline_hours)
    max_records_per_task: int = DEFAULT_MAX_RECORDS_PER_TASK
    max_records_per_batch: int | None = None
    publish_to_kafka: bool = True
    promote: bool = True
    allow_shrink: bool = False
    accept_data_loss: bool = False
    new_source_topic: bool = False
    report: str | None = None

    def __post_init__(self) -> None:
        if not self.interval.is_one_hour:
            raise ValueError(
                f"the interval {self.interval} is not one UTC hour: the job processes whole hours "
                "(start on the hour, end one hour later)"
            )
        if self.top_n < 1:
            raise ValueError(f"--top-n must be >= 1, got {self.top_n}")
        if not 1 <= self.baseline_hours <= config.MAX_BASELINE_HOURS:
            raise ValueError(
                f"--baseline-hours must be from 1 to {config.MAX_BASELINE_HOURS}, got {self.baseline_hours}"
            )
        if self.max_records_per_task < 1:
            raise ValueError(f"--max-records-per-task must be >= 1, got {self.max_records_per_task}")
        if self.max_records_per_batch is not None and self.max_records_per_batch < 1:
            raise ValueError(f"--max-records-per-batch must be >= 1, got {self.max_records_per_batch}")

    def argv(self) -> list[str]:
        """The job's arguments, as :meth:`parse` reads them."""
        bounds = self.interval.as_dict()
        args = ["--start", bounds["start"], "--end", bounds["end"], "--run-id", self.run_id]
        args += ["--bootstrap-servers", self.bootstrap, "--topic", self.topic]
        args += ["--dead-letter-topic", self.dead_letter_topic, "--alerts-topic", self.alerts_topic]
        args += ["--output", str(self.artifacts_root)]
        args += ["--rules", str(self.rules), "--top-n", str(self.top_n)]
        args += ["--baseline-hours", str(self.baseline_hours)]
        if self.rules_digest is not None:
            args += ["--rules-digest", self.rules_digest]
        args += ["--schema-registry", self.schema_registry, "--schema-subject", self.schema_subject]
        args += ["--max-records-per-task", str(self.max_records_per_task)]
        if self.max_records_per_batch is not None:
            args += ["--max-records-per-batch", str(self.max_records_per_batch)]
        if not self.publish_to_kafka:
            args.append("--no-kafka-output")
        if not self.promote:
            args.append("--no-promote")
        if self.allow_shrink:
            args.append("--allow-shrink")
        if self.accept_data_loss:
            args.append("--accept-data-loss")
        if self.new_source_topic:
            args.append("--new-source-topic")
        if self.report is not None:
            args += ["--report", self.report]
        return args

    @classmethod
    def parse(cls, argv: list[str] | None = None) -> JobArguments:
        """Read a command line; :class:`JobArgumentsError` when it is invalid, including an
        interval that has not ended or is not one hour (``--help`` prints and exits)."""
        parser = _parser()
        args = parser.parse_args(argv)
        try:
            return cls(
                interval=Interval.parse(args.start, args.end).require_ended(),
                run_id=args.run_id,
                bootstrap=args.bootstrap_servers,
                topic=args.topic,
                dead_letter_topic=args.dead_letter_topic,
                alerts_topic=args.alerts_topic,
                artifacts_root=config.artifacts_root(args.output),
                rules=args.rules,
                rules_digest=args.rules_digest,
                schema_registry=args.schema_registry,
                schema_subject=args.schema_subject,
                top_n=args.top_n,
                baseline_hours=args.baseline_hours,
                max_records_per_task=args.max_records_per_task,
                max_records_per_batch=args.max_records_per_batch,
                publish_to_kafka=args.publish_to_kafka,
                promote=args.promote,
                allow_shrink=args.allow_shrink,
                accept_data_loss=args.accept_data_loss,
                new_source_topic=args.new_source_topic,
                report=args.report,
            )
        except ValueError as error:
            raise JobArgumentsError(str(error)) from None


class JobArgumentsError(ValueError):
    """A command line the job cannot run: a data error (retrying the same line cannot help)."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`JobArgumentsError` instead of printing usage and exiting, so the
    job ends its own way (its error line, a run report, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise JobArgumentsError(message)


def report_path(argv: list[str] | None) -> str | None:
    """The ``--report`` of a command line, even one that does not parse otherwise."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--report")
    return parser.parse_known_args(argv)[0].report


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="analyze_tickets.py", description="Analyze the support tickets of one interval [start, end)."
    )
    parser.add_argument("--start", required=True, help="interval start, ISO-8601 (UTC if no offset)")
    parser.add_argument("--end", required=True, help="interval end (exclusive), ISO-8601")
    parser.add_argument("--run-id", required=True, help="identifies this run in artifacts and headers")
    parser.add_argument("--bootstrap-servers", default=config.kafka_broker(), help="default: KAFKA_BROKER")
    parser.add_argument("--topic", default=config.source_topic(), help="source topic, default: TOPIC_NAME")
    parser.add_argument("--dead-letter-topic", default=topology.DEAD_LETTER_TOPIC)
    parser.add_argument(
        "--alerts-topic", default=topology.ALERTS_TOPIC, help="spike alerts of the keyword analysis"
    )
    parser.add_argument(
        "--output", default=config.stats_dir(), help="artifacts root, a path or a URI (STATS_DIR)"
    )
    parser.add_argument("--rules", type=Path, default=config.routing_rules_path(), help="routing rules YAML")
    parser.add_argument("--rules-digest", help="SHA-256 the rules file must have (the one the run checked)")
    parser.add_argument(
        "--schema-registry",
        default=config.schema_registry_url(),
        help="the schema registry the versions of the ticket schema are read from, once (SCHEMA_REGISTRY_URL)",
    )
    parser.add_argument(
        "--schema-subject",
        default=ticket_subject(),
        help="the subject of the ticket schema (default: %(default)s)",
    )
    parser.add_argument("--top-n", type=_int, default=DEFAULT_TOP_N, help="keywords kept per scope")
    parser.add_argument(
        "--baseline-hours",
        type=_int,
        default=config.keyword_baseline_hours(),
        help="published hours the hour's terms are compared with (default: KEYWORD_BASELINE_HOURS)",
    )
    parser.add_argument(
        "--max-records-per-task",
        type=_int,
        default=DEFAULT_MAX_RECORDS_PER_TASK,
        help="Kafka records per Spark task, bounds a task's memory (default: %(default)s)",
    )
    parser.add_argument(
        "--max-records-per-batch",
        type=_int,
        default=None,
        help="records landed per ingest micro-batch, each committed on its own (default: all new records)",
    )
    parser.add_argument(
        "--no-kafka-output",
        dest="publish_to_kafka",
        action="store_false",
        help="do not write team topics and the dead-letter topic",
    )
    parser.add_argument(
        "--no-promote",
        dest="promote",
        action="store_false",
        help="leave the outputs staged, checked but not published",
    )
    parser.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish the hour even with fewer records read than its published state holds",
    )
    parser.add_argument(
        "--accept-data-loss",
        action="store_true",
        help="land what the broker still holds when it deleted records not landed yet (else: stop)",
    )
    parser.add_argument(
        "--new-source-topic",
        action="store_true",
        help="the source topic was re-created or moved to a new cluster: keep the landed hours and "
        "land the new topic from its first record (else: stop)",
    )
    parser.add_argument("--report", help="write the run report (ticket_etl.job_contract) to this local file")
    return parser


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None

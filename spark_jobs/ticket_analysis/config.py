"""What one run of the job is told: its command line, with the rules and stop words loaded."""

from __future__ import annotations

from dataclasses import dataclass

from ticket_etl.interval import Interval
from ticket_etl.job_args import DEFAULT_MAX_RECORDS_PER_TASK, DEFAULT_TOP_N
from ticket_etl.rules import RuleSet


@dataclass(frozen=True)
class JobConfig:
    """Everything one run needs, from the command line (``output``: the artifacts root, a path or
    a URI)."""

    interval: Interval
    bootstrap: str
    source_topic: str
    dead_letter_topic: str
    output: str
    run_id: str
    rules: RuleSet
    stopwords: list[str]
    top_n: int = DEFAULT_TOP_N
    max_records_per_task: int = DEFAULT_MAX_RECORDS_PER_TASK
    max_records_per_batch: int | None = None
    publish_to_kafka: bool = True
    promote: bool = True
    allow_shrink: bool = False
    accept_data_loss: bool = False

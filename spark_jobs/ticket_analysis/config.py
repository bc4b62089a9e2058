"""What one run of the job is told: its command line, with the rules and stop words loaded."""

from __future__ import annotations

from dataclasses import dataclass

from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments
from ticket_etl.rules import RuleSet


@dataclass(frozen=True)
class JobConfig:
    """Everything one run needs: its arguments (:class:`JobArguments`, the one definition of
    what the command line says; ``job.artifacts_root``: STATS_DIR, a path or a URI) and what
    they point at, loaded."""

    job: JobArguments
    rules: RuleSet
    stopwords: list[str]

    @property
    def interval(self) -> Interval:
        return self.job.interval

    @property
    def run_id(self) -> str:
        return self.job.run_id

    @property
    def source_topic(self) -> str:
        return self.job.topic

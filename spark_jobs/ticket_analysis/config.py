"""What one run of the job is told: its command line, with the rules, the stop words and the
schema registry's versions of the ticket schema loaded."""

from __future__ import annotations

from dataclasses import dataclass

from ticket_analysis.validation import Contract
from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments
from ticket_etl.rules import RuleSet
from ticket_etl.schema_registry import Snapshot


@dataclass(frozen=True)
class JobConfig:
    """Everything one run needs: its arguments (:class:`JobArguments`, the one definition of
    what the command line says; ``job.artifacts_root``: STATS_DIR, a path or a URI) and what
    they point at, loaded: ``schemas`` is read from the registry once, when the run starts, and
    the run checks records with its ``contract`` only (it needs the registry no more)."""

    job: JobArguments
    rules: RuleSet
    stopwords: list[str]
    schemas: Snapshot
    contract: Contract

    @property
    def interval(self) -> Interval:
        return self.job.interval

    @property
    def run_id(self) -> str:
        return self.job.run_id

    @property
    def source_topic(self) -> str:
        return self.job.topic

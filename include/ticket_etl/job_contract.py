"""What the analysis job promises its callers, defined once: its exit codes, its error line, the
run report it writes to ``--report`` and the summary it publishes.

The job (``spark_jobs/analyze_tickets.py``) writes; the ``analyze`` operator, the asset events,
the late-hour task, the UI and the tests read through :func:`read_report` and the types here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, TypedDict

from ticket_etl.interval import Interval

ERROR_PREFIX = "analyze_tickets: error: "  # the job's one-line message on stderr


class ExitCode(IntEnum):
    """How the job ends; only :attr:`DATA_ERROR` is not worth a retry."""

    OK = 0
    FAILURE = 1  # Spark or the broker failed: may be transient
    DATA_ERROR = 2  # bad arguments or rules, outputs that do not reconcile, an hour that would shrink
    SOURCE_UNREADABLE = 3  # the source topic does not exist or the broker does not answer
    BUSY = 4  # another run is processing the same hour


class Totals(TypedDict):
    """Where every record read went: read = enriched + rejected + duplicates + updates. Records of
    one ``ticket_id`` are one ticket, published as its latest record: an earlier record with the
    same fields is a duplicate, one with other fields an update (a superseded version); a latest
    version equal to the one an earlier hour published is a duplicate too.
    ``earlier_tickets_updated``: of the enriched tickets, those an earlier hour published with
    other content (published again, not new tickets)."""

    read: int
    enriched: int
    rejected: int
    duplicates: int
    updates: int
    earlier_tickets_updated: int


TOTALS: tuple[str, ...] = tuple(Totals.__annotations__)


class TermEntry(TypedDict, total=False):
    """One term of a keyword analysis (``surging_terms``, ``distinctive_terms_by_type``,
    ``alerts``): a word or a two-word phrase, the tickets that mention it, how many were expected
    and the contrast score (signed G², docs/keywords.md)."""

    term: str
    kind: str  # "word" or "phrase"
    tickets: int  # tickets of the hour (surging) or of the type (distinctive) mentioning the term
    share: float  # tickets / the hour's (or the type's) tickets
    expected: float  # tickets expected at the baseline's (or the other types') rate
    lift: float  # share / expected share (a large number when the baseline never saw the term)
    score: float  # G² (log-likelihood ratio), over-representation only
    exact: bool  # surging: every baseline hour listed the term (else its count there is an upper bound)
    examples: list[str]  # a few ticket ids that mention the term (surging terms and alerts)


class Baseline(TypedDict):
    """The published hours a run compared its hour with (``surging_terms``)."""

    hours: int  # published hours found in the look-back (0: no baseline, nothing can surge)
    look_back_hours: int
    tickets: int  # enriched tickets of those hours


class RoutingChanges(TypedDict):
    """The tickets a run moved to another team (the ``routing_changes`` rows it added)."""

    tickets: int
    moves: dict[str, int]  # "old team -> new team": tickets
    tombstones: dict[str, int]  # per old team topic: tombstones sent (one per moved ticket)


class Summary(TypedDict, total=False):
    """``insights_summary.json``: an hour's published figures (see docs/artifacts.md)."""

    interval: dict[str, str]
    run: dict[str, str]
    rules_version: str
    rules_digest: str
    schemas: dict[str, Any]  # the registry snapshot the run checked records with (schema_registry.Snapshot)
    tickets_by_schema_version: dict[str, int]  # enriched tickets per version they were checked against
    totals: Totals
    reconciliation: dict[str, Any]
    share_high_or_critical: float
    incidents: int
    busiest_team: dict[str, Any] | None
    top_keywords: list[dict[str, Any]]
    by_type: dict[str, Any]
    by_team: dict[str, Any]
    by_rule: dict[str, int]
    sla: dict[str, Any]
    keywords_by_scope: dict[str, Any]
    top_phrases: list[dict[str, Any]]  # {"phrase", "tickets"}: the hour's most frequent bigrams
    phrases_by_scope: dict[str, Any]  # like keywords_by_scope, with "phrases": [{"phrase", "tickets"}]
    distinctive_terms_by_type: dict[str, list[TermEntry]]
    baseline: Baseline
    surging_terms: list[TermEntry]
    alerts: list[TermEntry]
    rejected_by_reason: dict[str, int]
    published: dict[str, int]
    routing_changes: RoutingChanges
    # Of the enriched tickets, those a later hour published again (updated since): kept in the
    # hour's datasets, not sent to their team topic again, whose newer version stays the latest.
    updated_later: int
    ingest: dict[str, Any]
    kafka: dict[str, dict[str, int]]  # per topic written: {"sent", "offsets_advanced"}
    shrunk_from: int


SUMMARY_FIELDS = frozenset(Summary.__annotations__)


@dataclass(frozen=True)
class RunReport:
    """What one run of the job reports: how it ended and, when it published, its figures."""

    exit_code: ExitCode
    error: str | None = None
    interval: dict[str, str] | None = None
    run_id: str | None = None
    artifacts_root: str | None = None
    rules_version: str | None = None
    totals: dict[str, int] = field(default_factory=dict)
    reconciliation: dict[str, Any] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)
    kafka: dict[str, dict[str, int]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    routing_changes: dict[str, Any] = field(default_factory=dict)
    updated_later: int = 0
    shrunk_from: int | None = None

    @classmethod
    def of_summary(cls, summary: Summary, artifacts_root: str) -> RunReport:
        """The report of a run that published (or staged) ``summary``."""
        return cls(
            exit_code=ExitCode.OK,
            interval=summary["interval"],
            run_id=summary["run"]["run_id"],
            artifacts_root=artifacts_root,
            rules_version=summary["rules_version"],
            totals=dict(summary["totals"]),
            reconciliation=summary["reconciliation"],
            published=summary["published"],
            ingest=summary["ingest"],
            kafka=summary.get("kafka", {}),
            alerts=list(summary.get("alerts", [])),
            routing_changes=dict(summary.get("routing_changes", {})),
            updated_later=summary.get("updated_later", 0),
            shrunk_from=summary.get("shrunk_from"),
        )

    @classmethod
    def failed(cls, exit_code: ExitCode, error: str) -> RunReport:
        return cls(exit_code=exit_code, error=error)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> RunReport:
        return cls(**{**document, "exit_code": ExitCode(document["exit_code"])})

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": int(self.exit_code)}

    @property
    def hour(self) -> Interval:
        if self.interval is None:
            raise ValueError(f"run report without an hour (exit code {self.exit_code}: {self.error})")
        return Interval.parse(self.interval["start"], self.interval["end"])

    @property
    def late_hours(self) -> list[dict[str, Any]]:
        """Recent published hours with more landed records than they count: ``{start, end, records}``."""
        return list(self.ingest.get("late_hours", []))

    @property
    def unpublished_hours(self) -> list[dict[str, Any]]:
        """Recent ended hours with landed records and no published summary: ``{start, end, records}``."""
        return list(self.ingest.get("unpublished_hours", []))

    def asset_extra(self) -> dict[str, Any]:
        """What the asset events of the published hour carry (``location``: the artifacts root)."""
        return {
            "interval": self.interval,
            "run_id": self.run_id,
            "location": self.artifacts_root,
            "rules_version": self.rules_version,
            **self.totals,
            "published": self.published,
            "late_hours": self.late_hours,
            "unpublished_hours": self.unpublished_hours,
            "alerts": self.alerts,
            "routing_changes": self.routing_changes,
            "updated_later": self.updated_later,
        }


def write_report(path: str | os.PathLike[str], report: RunReport) -> None:
    """Write ``report`` whole or not at all (a local file of the driver's host)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(report.as_dict(), sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(target)


def read_report(path: str | os.PathLike[str]) -> RunReport | None:
    """The report at ``path``, or None when the job wrote none (killed before it could)."""
    try:
        return RunReport.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None

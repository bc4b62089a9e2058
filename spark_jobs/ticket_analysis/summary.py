"""insights_summary.json: the interval's figures, built from small, bounded aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ticket_etl import schema
from ticket_etl.interval import Interval, iso_utc
from ticket_etl.job_contract import TOTALS, Baseline, RoutingChanges, Summary, TermEntry


@dataclass(frozen=True)
class Counts:
    """Where every record read went: the summary's ``totals`` (:class:`ticket_etl.job_contract.Totals`)."""

    read: int
    enriched: int
    rejected: int
    duplicates: int
    updates: int  # earlier versions of a ticket the hour holds a later version of
    earlier_tickets_updated: int  # of ``enriched``: new versions of tickets earlier hours published

    @property
    def accounted(self) -> int:
        """The records read that went somewhere: enriched, rejected, duplicate or update."""
        return self.enriched + self.rejected + self.duplicates + self.updates

    @property
    def reconciles(self) -> bool:
        return self.read == self.accounted


def _group_figures(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    priorities = schema.enums()["priority"]
    return {
        row[key]: {
            "tickets": row["tickets"],
            "share_of_total": row["share_of_total"],
            "high_or_critical": row["high_or_critical_count"],
            "by_priority": {priority: row[f"{priority}_count"] for priority in priorities},
        }
        for row in rows
    }


def build_summary(
    *,
    interval: Interval,
    run_id: str,
    rules_version: str,
    rules_digest: str,
    schemas: dict[str, Any],
    counts: Counts,
    by_type: list[dict[str, Any]],
    by_team: list[dict[str, Any]],
    by_rule: dict[str, int],
    tickets_by_schema_version: dict[str, int],
    sla: dict[str, Any],
    top_keywords: list[dict[str, Any]],
    keywords_by_scope: dict[str, dict[str, Any]],
    top_phrases: list[dict[str, Any]],
    phrases_by_scope: dict[str, dict[str, Any]],
    distinctive_terms_by_type: dict[str, list[TermEntry]],
    baseline: Baseline,
    surging_terms: list[TermEntry],
    alerts: list[TermEntry],
    rejected_by_reason: dict[str, int],
    published: dict[str, int],
    routing_changes: RoutingChanges,
) -> Summary:
    """The summary document (run metadata under ``run``; everything else depends only on the data)."""
    high = sum(row["high_or_critical_count"] for row in by_type)
    busiest = max(by_team, key=lambda row: (row["tickets"], row["support_team"]), default=None)
    incidents = next((row["tickets"] for row in by_type if row["type"] == "incident"), 0)
    return {
        "interval": interval.as_dict(),
        "run": {"run_id": run_id, "generated_at": iso_utc(datetime.now(UTC))},
        "rules_version": rules_version,
        "rules_digest": rules_digest,
        "schemas": schemas,
        "totals": {name: getattr(counts, name) for name in TOTALS},
        "reconciliation": {
            "read": counts.read,
            "enriched_rejected_duplicates_updates": counts.accounted,
            "holds": counts.reconciles,
        },
        "share_high_or_critical": round(high / counts.enriched, 6) if counts.enriched else 0.0,
        "incidents": incidents,
        "busiest_team": (
            {"team": busiest["support_team"], "tickets": busiest["tickets"]}
            if busiest and busiest["tickets"]
            else None
        ),
        "top_keywords": [{"word": row["word"], "tickets": row["tickets"]} for row in top_keywords],
        "by_type": _group_figures(by_type, "type"),
        "by_team": _group_figures(by_team, "support_team"),
        "by_rule": by_rule,
        "tickets_by_schema_version": tickets_by_schema_version,
        "sla": sla,
        "keywords_by_scope": keywords_by_scope,
        "top_phrases": top_phrases,
        "phrases_by_scope": phrases_by_scope,
        "distinctive_terms_by_type": distinctive_terms_by_type,
        "baseline": baseline,
        "surging_terms": surging_terms,
        "alerts": alerts,
        "rejected_by_reason": rejected_by_reason,
        "published": published,
        "routing_changes": routing_changes,
    }

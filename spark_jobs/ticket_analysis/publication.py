"""From a run's staged outputs to the published hour: checked, then promoted in place.

Promotion swaps each dataset's folder of the hour with the staged one (rename the old aside,
rename the new in, delete the old), the summary last, so a reader of the summary sees the old
hour or the new one. The manifest is written once the staged outputs passed their checks: a run
that dies after it leaves the staged run with its manifest, and the next attempt of the same run
finishes the swap first (:func:`finish_interrupted`); a staging without one is discarded.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ticket_analysis.faults import fault_point
from ticket_analysis.storage import HadoopStore, join
from ticket_etl import artifacts
from ticket_etl.interval import Interval

log = logging.getLogger("analyze_tickets")


class PublicationError(ValueError):
    """The staged outputs are incomplete or do not reconcile: nothing is published."""


def stage_summary(store: HadoopStore, staged: str, summary: dict[str, Any]) -> None:
    """Write the staged run's summary (not yet its manifest: see :func:`mark_checked`)."""
    store.write_json_atomic(join(staged, artifacts.INSIGHTS_DATASET, artifacts.SUMMARY_NAME), summary)


def mark_checked(store: HadoopStore, staged: str, summary: dict[str, Any]) -> None:
    """Write the manifest that makes a staged run promotable, once it passed
    :func:`check_staged`: a later attempt finishes the promotion of a staging with a manifest
    and discards one without, so output that failed its checks is never published."""
    manifest = {
        "interval": summary["interval"],
        "run_id": summary["run"]["run_id"],
        "totals": summary["totals"],
    }
    store.write_json_atomic(join(staged, artifacts.MANIFEST_NAME), manifest)


def check_staged(store: HadoopStore, staged: str, summary: dict[str, Any]) -> None:
    """Every dataset written completely (``_SUCCESS``), the summary there, and the counts
    reconcile (read = enriched + rejected + duplicates); else :class:`PublicationError`."""
    missing = artifacts.missing_outputs(store.exists, lambda dataset: join(staged, dataset))
    if missing:
        raise PublicationError(f"outputs missing from {staged}: {', '.join(missing)}")
    reconciliation = summary["reconciliation"]
    if not reconciliation["holds"]:
        raise PublicationError(
            f"reconciliation fails: read {reconciliation['read']} != enriched + rejected + duplicates "
            f"{reconciliation['enriched_plus_rejected_plus_duplicates']} ({summary['totals']})"
        )


def promote(store: HadoopStore, root: str, run_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Move a staged run's outputs into place and update the root summary; returns the summary.
    Safe to call again after a failure: datasets already moved are skipped."""
    staged = artifacts.staging_path(root, run_id)
    manifest = store.read_json(join(staged, artifacts.MANIFEST_NAME))
    if manifest is None:
        raise PublicationError(f"{staged}: no manifest, the run did not finish staging")
    interval = Interval.parse(manifest["interval"]["start"], manifest["interval"]["end"])
    trash = f"{staged}.replaced"
    for index, dataset in enumerate((*artifacts.PARQUET_DATASETS, artifacts.INSIGHTS_DATASET)):
        source = join(staged, dataset)
        if store.exists(source):
            _swap_in(store, source, artifacts.partition_path(root, dataset, interval), join(trash, dataset))
        if index == 0:
            fault_point("promotion")  # one dataset swapped, the others (and the summary) not yet
    summary = store.read_json(artifacts.summary_path(root, interval))
    _update_latest(store, root, summary, now)
    store.delete(trash)
    store.delete(staged)
    return summary


def _swap_in(store: HadoopStore, source: str, target: str, aside: str) -> None:
    if store.exists(target):
        store.delete(aside)  # left by an interrupted attempt: the target is the newer one
        store.rename(target, aside)
    store.rename(source, target)


def _update_latest(store: HadoopStore, root: str, summary: dict[str, Any], now: datetime | None) -> None:
    """The root summary, as :func:`ticket_etl.artifacts.next_latest` decides."""
    latest = join(root, artifacts.SUMMARY_NAME)
    chosen = artifacts.next_latest(
        store.read_json(latest),
        summary,
        lambda: artifacts.latest_ended(store.children, store.read_json, root, now),
        now,
    )
    if chosen is not None:
        store.write_json_atomic(latest, chosen)


def finish_interrupted(store: HadoopStore, root: str, run_id: str) -> bool:
    """Finish the promotion of this run's staged outputs when an earlier attempt staged and
    checked them (manifest written) and then died; returns True when it did."""
    staged = artifacts.staging_path(root, run_id)
    if store.read_json(join(staged, artifacts.MANIFEST_NAME)) is None:
        return False
    log.warning("run %s: an earlier attempt staged its outputs and stopped; finishing its promotion", run_id)
    promote(store, root, run_id)
    return True

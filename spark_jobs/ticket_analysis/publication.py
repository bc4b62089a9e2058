"""From a run's staged outputs to the published hour: checked, then promoted in place.

Promotion swaps each dataset's folder of the hour with the staged one (rename the old aside,
rename the new in, delete the old), the summary last, so a reader of the summary sees the old
hour or the new one. The manifest is written once the staged outputs passed their checks: a run
that dies after it leaves the staged run with its manifest, and the next attempt of the same run
finishes the swap first (:func:`finish_interrupted`); a staging without one is discarded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from ticket_analysis.faults import fault_point
from ticket_analysis.storage import HadoopStore, LockedError, join
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
    reconcile (read = enriched + rejected + duplicates + updates); else :class:`PublicationError`."""
    missing = artifacts.missing_outputs(store.exists, lambda dataset: join(staged, dataset))
    if missing:
        raise PublicationError(f"outputs missing from {staged}: {', '.join(missing)}")
    reconciliation = summary["reconciliation"]
    if not reconciliation["holds"]:
        raise PublicationError(
            f"reconciliation fails: read {reconciliation['read']} != enriched + rejected + duplicates + "
            f"updates {reconciliation['enriched_rejected_duplicates_updates']} ({summary['totals']})"
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


def finish_abandoned(
    store: HadoopStore,
    root: str,
    run_id: str,
    interval: Interval,
    hour_lock: Callable[[Interval], AbstractContextManager[Any]],
) -> list[dict[str, Any]]:
    """Find the checked stagings other runs left (a run that died after its checks and its Kafka
    writes and got no retry: a run timeout, a task marked failed), and finish each whose hour is
    free: promoted when its hour was not published since, else dropped. A staging of this run's
    own ``interval`` is dropped (this run publishes the hour). Returns what it did, per staging.
    Call with the lock of ``interval`` held."""
    done: list[dict[str, Any]] = []
    for folder in store.children(join(root, artifacts.STAGING)):
        staged = join(root, artifacts.STAGING, folder)
        manifest = store.read_json(join(staged, artifacts.MANIFEST_NAME))
        if manifest is None or manifest["run_id"] == run_id:
            continue
        hour = Interval.parse(manifest["interval"]["start"], manifest["interval"]["end"])
        if hour == interval:
            outcome = _drop(store, staged)
        else:
            try:
                with hour_lock(hour):
                    outcome = _finish_or_drop(store, root, manifest, staged)
            except LockedError:
                continue  # its run is at work
        log.warning(
            "run %s left the hour %s checked but not published: %s", manifest["run_id"], hour, outcome
        )
        done.append({**hour.as_dict(), "run_id": manifest["run_id"], "outcome": outcome})
    return done


def _finish_or_drop(store: HadoopStore, root: str, manifest: dict[str, Any], staged: str) -> str:
    """Promote an abandoned checked staging unless its hour was published after it."""
    interval = Interval.parse(manifest["interval"]["start"], manifest["interval"]["end"])
    published = store.read_json(artifacts.summary_path(root, interval))
    own = store.read_json(join(staged, artifacts.INSIGHTS_DATASET, artifacts.SUMMARY_NAME))
    newer = published is not None and (
        (own is None and published["run"]["run_id"] != manifest["run_id"])
        or (own is not None and published["run"]["generated_at"] > own["run"]["generated_at"])
    )
    if newer:
        return _drop(store, staged)
    promote(store, root, manifest["run_id"])
    return "promoted"


def _drop(store: HadoopStore, staged: str) -> str:
    store.delete(f"{staged}.replaced")
    store.delete(staged)
    return "dropped"

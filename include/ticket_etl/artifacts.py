"""Artifact layout, staging and atomic promotion.

    <STATS_DIR>/
      tickets_enriched/interval=20261128T0400Z_20261128T0500Z/part-*.parquet
      rejected_tickets/interval=.../      stats_by_type/interval=.../
      stats_by_team/interval=.../         word_frequency/interval=.../
      insights/interval=.../insights_summary.json
      insights_summary.json               (the latest interval's summary)
      _staging/<run>/...                  (a run's outputs before promotion)

The Spark job writes every output of a run under ``_staging/<run>``, then writes
``_MANIFEST.json`` last. ``promote`` swaps each dataset's interval folder with the
staged one (rename aside, rename in, delete the old), so readers see the old or the new
interval, never a half-written one, and other intervals are untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ticket_etl.interval import Interval, interval_of_token

PARQUET_DATASETS = (
    "tickets_enriched",
    "rejected_tickets",
    "stats_by_type",
    "stats_by_team",
    "word_frequency",
)
INSIGHTS_DATASET = "insights"
SUMMARY_NAME = "insights_summary.json"
MANIFEST_NAME = "_MANIFEST.json"
STAGING = "_staging"


def safe_run_id(run_id: str) -> str:
    """A run id usable as a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:200]


def partition_dir(output: Path, dataset: str, interval: Interval) -> Path:
    return output / dataset / f"interval={interval.token}"


def staging_dir(output: Path, run_id: str) -> Path:
    return output / STAGING / safe_run_id(run_id)


def read_manifest(staged: Path) -> dict[str, Any]:
    """The manifest of a complete staged run; raises if the run did not finish staging."""
    path = staged / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: the analysis of this run did not finish")
    return json.loads(path.read_text())


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write JSON to a temporary file, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)


def _swap_in(staged: Path, target: Path, trash: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, trash)
    os.replace(staged, target)


def promote(output: Path, run_id: str) -> dict[str, Any]:
    """Move a staged run's outputs into place and update the latest summary. Returns the summary.

    Safe to call again after a failure: datasets already moved are skipped.
    """
    staged = staging_dir(output, run_id)
    manifest = read_manifest(staged)
    interval = Interval.parse(manifest["interval"]["start"], manifest["interval"]["end"])
    trash = output / STAGING / f"{safe_run_id(run_id)}.replaced"
    for dataset in (*PARQUET_DATASETS, INSIGHTS_DATASET):
        source = staged / dataset
        if source.exists():
            _swap_in(source, partition_dir(output, dataset, interval), trash / dataset)
    summary_path = partition_dir(output, INSIGHTS_DATASET, interval) / SUMMARY_NAME
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    _update_latest(output, summary)
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    return summary


def _update_latest(output: Path, summary: dict[str, Any], now: datetime | None = None) -> None:
    """``insights_summary.json`` at the root: the summary of the most recent hour that has ended.

    It follows the most recent hour (backfills of older hours do not move it back; a reprocessing
    of that same hour does), and never points at an hour that has not ended: such a summary is
    not taken, and one found there (written before this rule) is replaced by the most recent
    published hour that has ended.
    """
    latest = output / SUMMARY_NAME
    current = json.loads(latest.read_text(encoding="utf-8")) if latest.is_file() else None
    if current is None or not _interval_of(current).has_ended(now):
        best = latest_ended_summary(output, now)
        if best is not None:
            write_json_atomic(latest, best)
        elif current is not None:
            latest.unlink()
        return
    new = _interval_of(summary)
    if new.has_ended(now) and new.end >= _interval_of(current).end:
        write_json_atomic(latest, summary)


def _interval_of(summary: dict[str, Any]) -> Interval:
    return Interval.parse(summary["interval"]["start"], summary["interval"]["end"])


def published_intervals(output: Path) -> list[Interval]:
    """The intervals with a published summary, oldest first (from the folder names)."""
    intervals = []
    for folder in (output / INSIGHTS_DATASET).glob("interval=*"):
        interval = interval_of_token(folder.name.removeprefix("interval="))
        if interval is not None and (folder / SUMMARY_NAME).is_file():
            intervals.append(interval)
    return sorted(intervals, key=lambda interval: interval.start)


def read_summary(output: Path, interval: Interval) -> dict[str, Any] | None:
    """The published summary of ``interval``, or None when the hour has none."""
    path = partition_dir(output, INSIGHTS_DATASET, interval) / SUMMARY_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def latest_ended_summary(output: Path, now: datetime | None = None) -> dict[str, Any] | None:
    """The published summary of the most recent interval that has ended, if any."""
    ended = [interval for interval in published_intervals(output) if interval.has_ended(now)]
    return read_summary(output, ended[-1]) if ended else None


def _missing(dataset_dir: Callable[[str], Path]) -> list[str]:
    """Datasets without their ``_SUCCESS`` marker and a missing summary, given where each dataset is."""
    missing = [dataset for dataset in PARQUET_DATASETS if not (dataset_dir(dataset) / "_SUCCESS").is_file()]
    if not (dataset_dir(INSIGHTS_DATASET) / SUMMARY_NAME).is_file():
        missing.append(f"{INSIGHTS_DATASET}/{SUMMARY_NAME}")
    return missing


def missing_artifacts(output: Path, interval: Interval) -> list[str]:
    """Published artifacts of ``interval`` that are absent (empty list when complete)."""
    return _missing(lambda dataset: partition_dir(output, dataset, interval))


def missing_staged(staged: Path) -> list[str]:
    """Outputs a staged run lacks (empty list when it can be promoted)."""
    return _missing(lambda dataset: staged / dataset)

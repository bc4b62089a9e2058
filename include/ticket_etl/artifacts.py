"""Artifact layout, and what a reader or the promotion decides from it.

    <STATS_DIR>/
      raw_tickets/topic=client_tickets/interval=20261128T0400Z_20261128T0500Z/batch=<n>/part-*.parquet
                                          the landing zone: every source record, by event hour
      tickets_enriched/interval=.../part-*.parquet
      rejected_tickets/interval=.../      stats_by_type/interval=.../
      stats_by_team/interval=.../         word_frequency/interval=.../
      keyword_trends/interval=.../       routing_changes/interval=.../
      insights/interval=.../insights_summary.json, term_counts.json
      insights_summary.json               (the latest hour's summary)
      _staging/<run>/...                  (a run's outputs before promotion)
      _locks/...                          (who is processing what)
      _rules/<version>-<hash>.json        (the rules content first published under each version)

The Spark job writes every output of a run under ``_staging/<run>``, then a manifest, then
promotes: each dataset's interval folder is swapped with the staged one (rename aside, rename
in, delete the old), so readers see the old or the new interval, and other intervals are
untouched. The job does it with Hadoop's FileSystem API (``ticket_analysis.storage``); this
module holds the layout and the decisions, and reads from Python (``ticket_etl.storage``).

``STATS_DIR`` may be a local path or a URI: locations here are strings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ticket_etl import storage
from ticket_etl.interval import Interval, interval_of_token
from ticket_etl.job_contract import Summary
from ticket_etl.storage import join

RAW_DATASET = "raw_tickets"
PARQUET_DATASETS = (
    "tickets_enriched",
    "rejected_tickets",
    "stats_by_type",
    "stats_by_team",
    "word_frequency",
    "keyword_trends",
    "routing_changes",
)
INSIGHTS_DATASET = "insights"
SUMMARY_NAME = "insights_summary.json"
TERM_COUNTS_NAME = "term_counts.json"  # the hour's overall term counts, for later hours' baselines
MANIFEST_NAME = "_MANIFEST.json"
STAGING = "_staging"
LOCKS = "_locks"
RULES_VERSIONS = "_rules"  # per rules version, the content first published under it
INTERVAL_COLUMN = "interval"  # the partition column of every dataset
INTERVAL_PREFIX = f"{INTERVAL_COLUMN}="
SUCCESS_MARKER = "_SUCCESS"  # a dataset written completely (Spark's and ours)


def json_text(document: dict[str, Any]) -> str:
    """How the artifacts' JSON documents (summaries, manifests) are written."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def safe_run_id(run_id: str) -> str:
    """A run id usable as a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:200]


def interval_folder(interval: Interval) -> str:
    """The folder name of an hour in every dataset: ``interval=<token>``."""
    return f"{INTERVAL_PREFIX}{interval.token}"


def partition_path(root: str, dataset: str, interval: Interval) -> str:
    return join(root, dataset, interval_folder(interval))


def rules_version_path(root: str, version: str) -> str:
    """Where the content first published under a rules ``version`` is recorded (the hash of the
    version keeps two versions apart that read the same once made safe as a file name)."""
    digest = hashlib.sha256(version.encode("utf-8")).hexdigest()[:8]
    return join(root, RULES_VERSIONS, f"{safe_run_id(version)[:100]}-{digest}.json")


def raw_topic_path(root: str, topic: str) -> str:
    """The landing zone of one source topic."""
    return join(root, RAW_DATASET, f"topic={topic}")


def raw_hour_path(root: str, topic: str, interval: Interval) -> str:
    """The landed records of one hour of one source topic (a folder per ingest batch)."""
    return join(raw_topic_path(root, topic), interval_folder(interval))


def raw_side_path(root: str, topic: str, side: str, interval: Interval) -> str:
    """An hour's landed records set aside in folder ``side`` of the topic's landing zone (while
    its batches are compacted)."""
    return join(raw_topic_path(root, topic), side, interval_folder(interval))


def hour_lock_path(root: str, interval: Interval) -> str:
    """The lock held by the run processing ``interval`` (see the job's storage locks)."""
    return join(root, LOCKS, f"{interval_folder(interval)}.lock")


def ingest_lock_path(root: str, topic: str) -> str:
    """The lock held by the run landing ``topic``'s new records."""
    return join(root, LOCKS, f"ingest-{topic}.lock")


def staging_path(root: str, run_id: str) -> str:
    return join(root, STAGING, safe_run_id(run_id))


def summary_path(root: str, interval: Interval) -> str:
    return join(partition_path(root, INSIGHTS_DATASET, interval), SUMMARY_NAME)


def term_counts_path(root: str, interval: Interval) -> str:
    return join(partition_path(root, INSIGHTS_DATASET, interval), TERM_COUNTS_NAME)


def interval_of(summary: dict[str, Any]) -> Interval:
    return Interval.parse(summary["interval"]["start"], summary["interval"]["end"])


def intervals_of_folders(names: list[str]) -> list[Interval]:
    """The intervals of ``interval=<token>`` folder names, oldest first (others are ignored)."""
    intervals = [interval_of_token(name.removeprefix(INTERVAL_PREFIX)) for name in names]
    return sorted((i for i in intervals if i is not None), key=lambda interval: interval.start)


def next_latest(
    current: dict[str, Any] | None,
    promoted: dict[str, Any],
    latest_ended: Callable[[], dict[str, Any] | None],
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """What the root ``insights_summary.json`` should hold once ``promoted`` is published, or None
    to leave it as it is. ``latest_ended()``: the published summary of the most recent hour that
    has ended (asked only when needed).

    The root follows the most recent hour (backfills of older hours do not move it back; a
    reprocessing of that same hour does), and never points at an hour that has not ended: such a
    summary is not taken, and one found there (written before this rule) is replaced by the most
    recent published hour that has ended.
    """
    if current is None or not interval_of(current).has_ended(now):
        return latest_ended()
    new = interval_of(promoted)
    if new.has_ended(now) and new.end >= interval_of(current).end:
        return promoted
    return None


def missing_outputs(exists: Callable[[str], bool], location: Callable[[str], str]) -> list[str]:
    """The datasets not written completely, and the summary if absent; ``location(dataset)``:
    where the dataset's hour is (staged or published), ``exists``: the store's test."""
    missing = [name for name in PARQUET_DATASETS if not exists(join(location(name), SUCCESS_MARKER))]
    if not exists(join(location(INSIGHTS_DATASET), SUMMARY_NAME)):
        missing.append(f"{INSIGHTS_DATASET}/{SUMMARY_NAME}")
    return missing


def latest_ended(
    children: Callable[[str], list[str]],
    read_json: Callable[[str], dict[str, Any] | None],
    root: str,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """The published summary of the most recent hour that has ended, read with the store's
    ``children`` and ``read_json``; None when there is none."""
    ended = [i for i in intervals_of_folders(children(join(root, INSIGHTS_DATASET))) if i.has_ended(now)]
    return read_json(summary_path(root, ended[-1])) if ended else None


# --- reading from Python ------------------------------------------------------------------------


def read_summary(root: str, interval: Interval) -> Summary | None:
    """The published summary of ``interval``, or None when the hour has none."""
    return _read_json(summary_path(root, interval))


def read_rules_version(root: str, version: str) -> dict[str, Any] | None:
    """The record of the content first published under a rules ``version``, or None."""
    return _read_json(rules_version_path(root, version))


def _read_json(location: str) -> Any:
    text = storage.read_text(location)
    return None if text is None else json.loads(text)


def published_intervals(root: str) -> list[Interval]:
    """The intervals with a published summary folder, oldest first."""
    return intervals_of_folders(storage.children(join(root, INSIGHTS_DATASET)))


def latest_ended_summary(root: str, now: datetime | None = None) -> Summary | None:
    """The published summary of the most recent interval that has ended, if any."""
    return latest_ended(storage.children, _read_json, root, now)


def landed_keys(root: str, topic: str, interval: Interval) -> set[bytes]:
    """The record keys landed for an hour (reads the ``key`` column only)."""
    import pyarrow.dataset as ds

    location = raw_hour_path(root, topic, interval)
    if not storage.exists(location):
        return set()
    fs, path = storage.filesystem(location)
    keys = ds.dataset(path, filesystem=fs, format="parquet").to_table(columns=["key"]).column("key")
    return {key for key in keys.to_pylist() if key is not None}


def missing_artifacts(root: str, interval: Interval) -> list[str]:
    """Published artifacts of ``interval`` that are absent (empty list when complete)."""
    return missing_outputs(storage.exists, lambda dataset: partition_path(root, dataset, interval))

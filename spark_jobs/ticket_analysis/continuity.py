"""Is the source topic still the one the landing zone was landed from, and does it still hold
every record not landed yet? Checked before each ingest, from the broker's answer
(:class:`~ticket_analysis.source.TopicState`) and the landing query's checkpoint.

A topic deleted and created again, or the stack moved to a new cluster, gives a topic whose id
differs from the one recorded in ``_source.json`` (Kafka 4 topic ids) or whose offsets are
behind those already landed: one data error, :class:`SourceReplaced`, until a run is told
``new_source_topic``; that run keeps every landed hour, moves the old checkpoint aside and lands
the new topic from its earliest offset. Records the broker deleted before they were landed
(retention) are :class:`RecordsLost`, until a run is told ``accept_data_loss``.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from ticket_analysis.source import TopicState
from ticket_analysis.storage import HadoopStore, join
from ticket_etl import artifacts

log = logging.getLogger("analyze_tickets")

CHECKPOINT = "_checkpoint"
SOURCE_FILE = "_source.json"


class SourceReplaced(ValueError):
    """The topic is not the one the landing zone was landed from (a data error)."""


class RecordsLost(ValueError):
    """The broker deleted records that were never landed (a data error)."""


def checkpoint_path(root: str, topic: str) -> str:
    """The landing query's checkpoint (offsets and commits of every micro-batch)."""
    return join(artifacts.raw_topic_path(root, topic), CHECKPOINT)


def prepare_ingest(
    store: HadoopStore,
    root: str,
    topic: str,
    state: TopicState,
    accept_data_loss: bool = False,
    new_source_topic: bool = False,
) -> int:
    """Check the topic against the landing zone before landing; returns the number the landing
    query's batch ids are offset by in folder names (``batch=<base + id>``), so the batches of
    a new topic never replace those landed from an earlier one. Call with the ingest lock held."""
    base = artifacts.raw_topic_path(root, topic)
    recorded = store.read_json(join(base, SOURCE_FILE)) or {}
    batch_base = int(recorded.get("batch_base", 0))
    committed = committed_offsets(store, checkpoint_path(root, topic), topic)
    replaced = replacement(recorded.get("topic_id"), committed, state)
    if replaced is not None:
        if not new_source_topic:
            raise SourceReplaced(
                f"the topic {topic!r} is not the one the landing zone was landed from: {replaced}. "
                "Every landed hour is kept. To land the new topic from its first record, run once "
                "with the DAG param new_source_topic set to true (the job's --new-source-topic)."
            )
        batch_base = _set_checkpoint_aside(store, root, topic, recorded.get("topic_id"), batch_base)
        log.warning("topic %s replaced (%s): landing the new topic from its earliest offset", topic, replaced)
    elif not accept_data_loss:
        _refuse_gaps(topic, committed, state)
    if recorded != {"topic_id": state.topic_id, "batch_base": batch_base}:
        store.write_json_atomic(
            join(base, SOURCE_FILE), {"topic_id": state.topic_id, "batch_base": batch_base}
        )
    return batch_base


def replacement(recorded_id: str | None, committed: dict[int, int], state: TopicState) -> str | None:
    """Why the topic is not the landed one (its id changed, a partition is gone, or its offsets
    went backwards), or None when it is."""
    if recorded_id is not None and recorded_id != state.topic_id:
        return f"its topic id is {state.topic_id}, the landing zone's is {recorded_id}"
    gone = sorted(set(committed) - set(state.latest))
    if gone:
        return f"partitions {gone} were landed from and no longer exist"
    behind = {p: (landed, state.latest[p]) for p, landed in committed.items() if state.latest[p] < landed}
    if behind:
        described = ", ".join(
            f"partition {p} ends at {end}, {landed} were landed" for p, (landed, end) in behind.items()
        )
        return f"its offsets went backwards ({described})"
    return None


def _refuse_gaps(topic: str, committed: dict[int, int], state: TopicState) -> None:
    gaps = {p: (landed, state.earliest[p]) for p, landed in committed.items() if state.earliest[p] > landed}
    if gaps:
        lost = sum(first - landed for landed, first in gaps.values())
        described = ", ".join(
            f"partition {p} offsets {landed}-{first - 1}" for p, (landed, first) in gaps.items()
        )
        raise RecordsLost(
            f"the broker deleted {lost} records of topic {topic!r} that were never landed ({described}; "
            "retention). To land what it still holds and record the gap, run once with the DAG param "
            "accept_data_loss set to true (the job's --accept-data-loss)."
        )


def committed_offsets(store: HadoopStore, checkpoint: str, topic: str) -> dict[int, int]:
    """The next offset to land per partition, as the last committed micro-batch left it; empty
    when nothing was committed."""
    commits = _batch_ids(store, join(checkpoint, "commits"))
    if not commits:
        return {}
    text = store.read_text(join(checkpoint, "offsets", str(max(commits)))) or ""
    lines = text.splitlines()
    for line in lines[2:]:  # "v1", the batch's metadata, then one line per source
        offsets = json.loads(line) if line.startswith("{") else {}
        if topic in offsets:
            return {int(partition): int(offset) for partition, offset in offsets[topic].items()}
    return {}


def _batch_ids(store: HadoopStore, folder: str) -> list[int]:
    return [int(name) for name in store.children(folder) if name.isdigit()]


def _set_checkpoint_aside(
    store: HadoopStore, root: str, topic: str, old_topic_id: str | None, batch_base: int
) -> int:
    """Move the old topic's checkpoint aside (kept for the record); returns the batch base past
    every batch it numbered, landed or begun."""
    checkpoint = checkpoint_path(root, topic)
    numbered = _batch_ids(store, join(checkpoint, "offsets"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    store.rename(checkpoint, f"{checkpoint}.replaced-{stamp}-{old_topic_id or 'unknown'}")
    return batch_base + (max(numbered) + 1 if numbered else 0)

"""Tickets that change team: the ``routing_changes`` dataset and the tombstones that tell the old
team's consumers (issue 23, items 2 and 3).

A ticket changes team when the team a run gives it differs from the one of its last published
version: the hour's own previous run (a reprocess, with other rules) or, for a ticket updated
since, the newest of the hours before that published it. The old team's topic then gets a
tombstone (key = ticket id, null value) after the new team's topic got the ticket, so that a
consumer of the compacted team topics ends with exactly the tickets the latest rules give it.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ticket_analysis.sinks import header

ASSIGNMENT = ("support_team", "team_topic", "routing_rule_id", "rules_version", "run_id", "interval_start")
# The dataset's contract: the ticket, where it was (its last published version) and where it
# goes, then the run columns (the run that moved it). Rows of earlier runs of the hour are kept:
# the dataset is the hour's history.
OLD = {
    "old_team": "support_team",
    "old_team_topic": "team_topic",
    "old_rule": "routing_rule_id",
    "old_rules_version": "rules_version",
    "old_run_id": "run_id",
    "old_interval_start": "interval_start",
}
NEW = {
    "new_team": "support_team",
    "new_team_topic": "team_topic",
    "new_rule": "routing_rule_id",
    "new_rules_version": "rules_version",
}


def last_assignments(versions: DataFrame) -> DataFrame:
    """Per ``ticket_id``, the :data:`ASSIGNMENT` of its newest published version (``versions``:
    published tickets of several hours, with those columns)."""
    newest = F.max_by(F.struct(*ASSIGNMENT), "interval_start")
    return versions.groupBy("ticket_id").agg(newest.alias("old"))


def _change_columns(run_columns: tuple[str, ...]) -> list[Column]:
    """The dataset's columns (:data:`OLD`, :data:`NEW`) from an enriched ticket joined with its
    last published assignment (``old``)."""
    return [
        F.col("ticket_id"),
        *[F.col(f"old.{source}").alias(name) for name, source in OLD.items()],
        *[F.col(source).alias(name) for name, source in NEW.items()],
        *map(F.col, run_columns),
    ]


def routing_changes(
    enriched: DataFrame, versions: DataFrame | None, recorded: DataFrame | None, run_columns: tuple[str, ...]
) -> DataFrame:
    """The hour's ``routing_changes``: the changes already ``recorded`` by its earlier runs, then
    this run's: each enriched ticket whose team topic differs from its last published version's
    (``versions``: see :func:`last_assignments`; None when nothing was published)."""
    if versions is None:  # nothing published before: no change (an empty dataset of the contract)
        versions = enriched.select("ticket_id", *ASSIGNMENT).limit(0)
    moved = (
        enriched.join(last_assignments(versions), "ticket_id", how="inner")
        .where(F.col("old.team_topic") != F.col("team_topic"))
        .select(*_change_columns(run_columns))
    )
    return moved if recorded is None else recorded.select(*moved.columns).unionByName(moved)


def of_run(changes: DataFrame, run_id: str) -> DataFrame:
    """The changes ``run_id`` made (a reprocess keeps the earlier runs' rows)."""
    return changes.where(F.col("run_id") == run_id)


def tombstones(changes: DataFrame) -> DataFrame:
    """One record per ticket that left a team, to the old team's topic: key the ticket id, a null
    value (compaction then drops the ticket), headers naming the run, the hour, the new team and
    the rules version that moved it."""
    return changes.select(
        F.col("old_team_topic").alias("topic"),
        F.col("ticket_id").cast("binary").alias("key"),
        F.lit(None).cast("binary").alias("value"),
        F.array(
            header("run_id", F.col("run_id")),
            header("interval_start", F.col("interval_start")),
            header("interval_end", F.col("interval_end")),
            header("new_team", F.col("new_team")),
            header("new_team_topic", F.col("new_team_topic")),
            header("rules_version", F.col("new_rules_version")),
        ).alias("headers"),
    )


def moves(changes: DataFrame) -> dict[str, Any]:
    """The summary's ``routing_changes`` of one run (:func:`tally`) from its ``changes``: one small
    collect, at most teams² rows."""
    return tally(changes.groupBy("old_team", "old_team_topic", "new_team").count().collect())


def tally(rows: list[Any]) -> dict[str, Any]:
    """The tickets moved, how many per ``old team -> new team``, and the tombstones per old team
    topic, from rows of ``old_team, old_team_topic, new_team, count`` (none: nothing moved)."""
    by_move: dict[str, int] = {}
    by_topic: dict[str, int] = {}
    for row in rows:
        move = f"{row['old_team']} -> {row['new_team']}"
        by_move[move] = by_move.get(move, 0) + row["count"]
        by_topic[row["old_team_topic"]] = by_topic.get(row["old_team_topic"], 0) + row["count"]
    return {"tickets": sum(by_move.values()), "moves": dict(sorted(by_move.items())), "tombstones": by_topic}

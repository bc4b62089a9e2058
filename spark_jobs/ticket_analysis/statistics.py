"""Statistics by type, team, routing rule and SLA due hour, and keyword frequencies."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ticket_etl import schema
from ticket_etl.interval import iso_utc
from ticket_etl.topology import TEAMS

HIGH_PRIORITIES = ("high", "critical")
OVERALL_SCOPE = "all"
SHARE_QUANTUM = Decimal("0.000001")


def ticket_counts(tickets: DataFrame) -> DataFrame:
    """Tickets per (type, support_team, priority, routing_rule_id, sla_due_hour): every count of
    the statistics, in one scan. ``sla_due_hour``: the hour in which the ticket's SLA falls due."""
    return tickets.groupBy(
        "type",
        "support_team",
        "priority",
        "routing_rule_id",
        F.date_trunc("hour", "sla_due_at").alias("sla_due_hour"),
    ).agg(F.count(F.lit(1)).alias("tickets"))


def count_table(tickets: DataFrame) -> list[dict[str, Any]]:
    """:func:`ticket_counts`, collected. Bounded whatever the volume: types x teams x priorities x
    rules x 2 due hours at most (an hour's tickets of one priority fall due within two clock
    hours), so the statistics are computed on the driver from one scan, without a Spark job each."""
    return [row.asDict() for row in ticket_counts(tickets).collect()]


def tickets_by_rule(counts: list[dict[str, Any]]) -> dict[str, int]:
    """Tickets routed by each rule id (only the rules that routed a ticket), by rule id."""
    by_rule: dict[str, int] = defaultdict(int)
    for row in counts:
        by_rule[row["routing_rule_id"]] += row["tickets"]
    return dict(sorted(by_rule.items()))


def sla_pressure(counts: list[dict[str, Any]], interval_end: datetime) -> dict[str, Any]:
    """Per priority: the tickets already past their SLA due time at the end of the interval
    (``overdue_at_end``; exact for an interval that ends on the hour), and the tickets falling
    due in each clock hour (``due_by_hour``, ISO hour -> tickets)."""
    priorities = schema.enums()["priority"]
    overdue = dict.fromkeys(priorities, 0)
    due: dict[str, dict[str, int]] = {priority: defaultdict(int) for priority in priorities}
    for row in counts:
        due_hour = _utc(row["sla_due_hour"])
        if due_hour < interval_end:
            overdue[row["priority"]] += row["tickets"]
        due[row["priority"]][iso_utc(due_hour)] += row["tickets"]
    return {
        "overdue_at_end": overdue,
        "due_by_hour": {priority: dict(sorted(hours.items())) for priority, hours in due.items()},
    }


def _utc(moment: datetime) -> datetime:
    """A timestamp collected from Spark (naive, in the session time zone: UTC) as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _share(tickets: int, total: int) -> float:
    """``tickets / total`` rounded half-up to 6 decimals (0.0 for an empty interval)."""
    if not total:
        return 0.0
    return float((Decimal(tickets) / Decimal(total)).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_UP))


def _group_stats(
    counts: list[dict[str, Any]], key: str, groups: list[str], total: int
) -> list[dict[str, Any]]:
    """One row per group (zero rows for groups absent from the interval, so every interval has
    the same rows): tickets, tickets per priority, high-or-critical, share of the total."""
    priorities = schema.enums()["priority"]
    rows = []
    for group in sorted(groups):
        per_priority = dict.fromkeys(priorities, 0)
        for row in counts:
            if row[key] == group:
                per_priority[row["priority"]] += row["tickets"]
        tickets = sum(per_priority.values())
        rows.append(
            {
                key: group,
                "tickets": tickets,
                **{f"{priority}_count": n for priority, n in per_priority.items()},
                "high_or_critical_count": sum(per_priority[priority] for priority in HIGH_PRIORITIES),
                "share_of_total": _share(tickets, total),
            }
        )
    return rows


def stats_by_type(counts: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """One row per ticket type of the schema. ``counts``: :func:`count_table`; ``total``: the
    enriched tickets."""
    return _group_stats(counts, "type", schema.enums()["type"], total)


def stats_by_team(counts: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """One row per support team, with its topic. ``counts``: :func:`count_table`."""
    rows = _group_stats(counts, "support_team", list(TEAMS), total)
    return [
        {"support_team": row["support_team"], "team_topic": TEAMS[row["support_team"]], **row} for row in rows
    ]


def stats_schema(keys: tuple[str, ...]) -> pa.Schema:
    """The ``stats_by_type`` / ``stats_by_team`` contract: ``keys`` (the text columns) first, then
    the counts and the share."""
    priorities = schema.enums()["priority"]
    counts = ["tickets", *(f"{priority}_count" for priority in priorities), "high_or_critical_count"]
    return pa.schema(
        [
            *(pa.field(name, pa.string(), nullable=True) for name in keys),
            *(pa.field(name, pa.int64(), nullable=False) for name in counts),
            pa.field("share_of_total", pa.float64(), nullable=False),
        ]
    )


def keyword_ranking(tickets: DataFrame, depth: int) -> DataFrame:
    """The ``depth`` most frequent keywords overall (scope ``all``) and per ticket type (scope =
    the type), ranked: ``scope, rank, word, tickets``.

    ``tickets`` counts the tickets whose subject or description mention the word (keywords are
    distinct per ticket, so the overall count is the sum over the types: one scan); ties are
    broken alphabetically so the ranking is deterministic.
    """
    per_type = (
        tickets.select(F.col("type").alias("scope"), F.explode("keywords").alias("word"))
        .groupBy("scope", "word")
        .agg(F.count(F.lit(1)).alias("tickets"))
    )
    overall = per_type.groupBy("word").agg(F.sum("tickets").alias("tickets"))
    ranking = Window.partitionBy("scope").orderBy(F.col("tickets").desc(), F.col("word").asc())
    return (
        per_type.unionByName(overall.select(F.lit(OVERALL_SCOPE).alias("scope"), "word", "tickets"))
        .withColumn("rank", F.row_number().over(ranking))
        .where(F.col("rank") <= depth)
        .select("scope", "rank", "word", "tickets")
    )


WORD_FREQUENCY_SCHEMA = pa.schema(
    [
        pa.field("scope", pa.string(), nullable=False),
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("word", pa.string(), nullable=False),
        pa.field("tickets", pa.int64(), nullable=False),
    ]
)


def word_frequency_rows(ranking: list[dict[str, Any]], top_n: int) -> list[dict[str, Any]]:
    """The ``word_frequency`` dataset's rows: the top ``top_n`` of each scope of a collected
    ranking, by scope and rank."""
    return sorted((row for row in ranking if row["rank"] <= top_n), key=lambda r: (r["scope"], r["rank"]))


def keywords_by_scope(ranking: list[dict[str, Any]], kept: int) -> dict[str, dict[str, Any]]:
    """Per scope, the ``kept`` most frequent words with their tickets, and ``others_max``: the
    tickets of the most frequent word left out (0 when none is). A reader merging hours sums the
    words' tickets; a word missing from an hour's list counts at most that hour's ``others_max``
    there, so the merge knows which totals are exact. ``ranking``: :func:`keyword_ranking` of
    depth ``kept + 1``, collected."""
    scopes: dict[str, dict[str, Any]] = {}
    for row in sorted(ranking, key=lambda r: (r["scope"], r["rank"])):
        scope = scopes.setdefault(row["scope"], {"words": [], "others_max": 0})
        if row["rank"] <= kept:
            scope["words"].append({"word": row["word"], "tickets": row["tickets"]})
        else:
            scope["others_max"] = max(scope["others_max"], row["tickets"])
    return scopes

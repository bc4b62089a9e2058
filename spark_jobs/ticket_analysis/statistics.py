"""Statistics by type and by team, and keyword frequencies."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

from ticket_etl import schema
from ticket_etl.config import TEAMS

HIGH_PRIORITIES = ("high", "critical")
OVERALL_SCOPE = "all"
SHARE_QUANTUM = Decimal("0.000001")


def ticket_counts(tickets: DataFrame) -> DataFrame:
    """Tickets per (type, support_team, priority): every count of the statistics, in one scan."""
    return tickets.groupBy("type", "support_team", "priority").agg(F.count(F.lit(1)).alias("tickets"))


def count_table(tickets: DataFrame) -> list[dict[str, Any]]:
    """:func:`ticket_counts`, collected: at most types x teams x priorities rows (the schema's
    enums and the teams bound it, whatever the volume), so the statistics by type and by team
    are computed on the driver from one scan, without a Spark job each."""
    return [row.asDict() for row in ticket_counts(tickets).collect()]


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


def stats_frame(spark: SparkSession, rows: list[dict[str, Any]], keys: tuple[str, ...]) -> DataFrame:
    """``rows`` of :func:`stats_by_type` or :func:`stats_by_team` as a DataFrame, ``keys`` (the
    text columns) first, then the counts and the share."""
    priorities = schema.enums()["priority"]
    counts = ["tickets", *(f"{priority}_count" for priority in priorities), "high_or_critical_count"]
    fields = [
        *(StructField(name, StringType(), True) for name in keys),
        *(StructField(name, LongType(), False) for name in counts),
        StructField("share_of_total", DoubleType(), False),
    ]
    names = [field.name for field in fields]
    return spark.createDataFrame([tuple(row[name] for name in names) for row in rows], StructType(fields))


def word_frequency(tickets: DataFrame, top_n: int) -> DataFrame:
    """Top ``top_n`` keywords overall (scope ``all``) and per ticket type (scope = the type).

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
        .where(F.col("rank") <= top_n)
        .select("scope", "rank", "word", "tickets")
    )

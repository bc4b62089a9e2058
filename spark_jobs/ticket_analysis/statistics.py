"""Statistics by type and by team, and keyword frequencies."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ticket_etl import schema
from ticket_etl.config import TEAMS

HIGH_PRIORITIES = ("high", "critical")
OVERALL_SCOPE = "all"


def ticket_counts(tickets: DataFrame) -> DataFrame:
    """Tickets per (type, support_team, priority): every count of the statistics, in one scan.

    Small and bounded (the product of the schema's enums and the teams): derive the statistics
    from it rather than scanning the tickets once per statistic.
    """
    return tickets.groupBy("type", "support_team", "priority").agg(F.count(F.lit(1)).alias("tickets"))


def _priority_sums() -> list[Column]:
    tickets = F.col("tickets")
    return [
        F.sum(F.when(F.col("priority") == F.lit(priority), tickets).otherwise(0)).alias(f"{priority}_count")
        for priority in schema.enums()["priority"]
    ]


def _counts_by(counts: DataFrame, key: str, total: int) -> DataFrame:
    share = F.col("tickets") / F.lit(total) if total else F.lit(None).cast("double")
    high = F.when(F.col("priority").isin(*HIGH_PRIORITIES), F.col("tickets")).otherwise(0)
    return (
        counts.groupBy(key)
        .agg(
            F.sum("tickets").alias("tickets"),
            *_priority_sums(),
            F.sum(high).alias("high_or_critical_count"),
        )
        .withColumn("share_of_total", F.round(share, 6))
    )


def stats_by_type(counts: DataFrame, total: int) -> DataFrame:
    """One row per ticket type of the schema (zero rows for types absent from the interval
    are included, so every interval has the same rows). ``counts``: :func:`ticket_counts`."""
    spark = counts.sparkSession
    types = spark.createDataFrame([(t,) for t in schema.enums()["type"]], "type string")
    return _zero_filled(types.join(_counts_by(counts, "type", total), on="type", how="left"))


def stats_by_team(counts: DataFrame, total: int) -> DataFrame:
    """One row per support team, with its topic. ``counts``: :func:`ticket_counts`."""
    spark = counts.sparkSession
    teams = spark.createDataFrame(list(TEAMS.items()), "support_team string, team_topic string")
    return _zero_filled(teams.join(_counts_by(counts, "support_team", total), on="support_team", how="left"))


def _zero_filled(stats: DataFrame) -> DataFrame:
    count_columns = [name for name in stats.columns if name == "tickets" or name.endswith("_count")]
    filled = stats.fillna(0, subset=count_columns)
    return filled.fillna(0.0, subset=["share_of_total"]) if count_columns else filled


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

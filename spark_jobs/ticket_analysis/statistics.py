"""Statistics by type and by team, and keyword frequencies."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ticket_etl import schema
from ticket_etl.config import TEAMS

HIGH_PRIORITIES = ("high", "critical")
OVERALL_SCOPE = "all"


def _priority_counts() -> list[Column]:
    return [
        F.count_if(F.col("priority") == F.lit(priority)).alias(f"{priority}_count")
        for priority in schema.enums()["priority"]
    ]


def _counts_by(tickets: DataFrame, key: str, total: int) -> DataFrame:
    share = F.col("tickets") / F.lit(total) if total else F.lit(None).cast("double")
    return (
        tickets.groupBy(key)
        .agg(
            F.count(F.lit(1)).alias("tickets"),
            *_priority_counts(),
            F.count_if(F.col("priority").isin(*HIGH_PRIORITIES)).alias("high_or_critical_count"),
        )
        .withColumn("share_of_total", F.round(share, 6))
    )


def stats_by_type(tickets: DataFrame, total: int) -> DataFrame:
    """One row per ticket type of the schema (zero rows for types absent from the interval
    are included, so every interval has the same rows)."""
    spark = tickets.sparkSession
    types = spark.createDataFrame([(t,) for t in schema.enums()["type"]], "type string")
    counts = _counts_by(tickets, "type", total)
    return _zero_filled(types.join(counts, on="type", how="left"))


def stats_by_team(tickets: DataFrame, total: int) -> DataFrame:
    """One row per support team, with its topic."""
    spark = tickets.sparkSession
    teams = spark.createDataFrame(list(TEAMS.items()), "support_team string, team_topic string")
    counts = _counts_by(tickets, "support_team", total)
    return _zero_filled(teams.join(counts, on="support_team", how="left"))


def _zero_filled(stats: DataFrame) -> DataFrame:
    count_columns = [name for name in stats.columns if name == "tickets" or name.endswith("_count")]
    filled = stats.fillna(0, subset=count_columns)
    return filled.fillna(0.0, subset=["share_of_total"]) if count_columns else filled


def word_frequency(tickets: DataFrame, top_n: int) -> DataFrame:
    """Top ``top_n`` keywords overall (scope ``all``) and per ticket type (scope = the type).

    ``tickets`` counts the tickets whose subject or description mention the word; ties are
    broken alphabetically so the ranking is deterministic.
    """
    words = tickets.select("type", F.explode("keywords").alias("word"))
    per_type = words.groupBy(F.col("type").alias("scope"), "word").agg(F.count(F.lit(1)).alias("tickets"))
    overall = (
        words.groupBy("word")
        .agg(F.count(F.lit(1)).alias("tickets"))
        .select(F.lit(OVERALL_SCOPE).alias("scope"), "word", "tickets")
    )
    ranking = Window.partitionBy("scope").orderBy(F.col("tickets").desc(), F.col("word").asc())
    return (
        per_type.unionByName(overall)
        .withColumn("rank", F.row_number().over(ranking))
        .where(F.col("rank") <= top_n)
        .select("scope", "rank", "word", "tickets")
    )

"""Enrichment of accepted tickets: priority level, SLA due time, normalized keywords."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ticket_analysis.columns import map_lookup
from ticket_etl import schema

# A word is a run of at least two letters of any script ("réseau" stays "réseau"); anything
# else separates words, so numbers and one-letter words never become keywords.
WORD = r"\p{L}{2,}"
HOUR_MS = 3600 * 1000


def load_stopwords(path: Path) -> list[str]:
    """Stop words, one per line; '#' starts a comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return sorted({line.strip().lower() for line in lines if line.strip() and not line.startswith("#")})


def priority_levels() -> dict[str, int]:
    """1 for the lowest priority of the schema's enum, up to 4 for critical."""
    return {priority: level for level, priority in enumerate(schema.enums()["priority"], start=1)}


def with_created_ts(tickets: DataFrame) -> DataFrame:
    return tickets.withColumn("created_ts", F.to_timestamp("created_at", schema.CREATED_AT_SPARK_FORMAT))


def with_priority_level(tickets: DataFrame) -> DataFrame:
    return tickets.withColumn("priority_level", map_lookup(priority_levels(), F.col("priority")).cast("int"))


def with_sla_due_at(tickets: DataFrame, sla_hours: dict[str, float]) -> DataFrame:
    """``sla_due_at`` = created_at + the SLA hours of the ticket's priority."""
    sla_ms = {priority: int(hours * HOUR_MS) for priority, hours in sla_hours.items()}
    due_ms = F.unix_millis("created_ts") + map_lookup(sla_ms, F.col("priority"))
    return tickets.withColumn("sla_due_at", F.timestamp_millis(due_ms))


def keywords_of(text: Column, stopwords: list[str]) -> Column:
    """Distinct lower-case words of ``text`` (runs of two or more Unicode letters), without stop
    words, in order of first appearance.

    The words are extracted by one regex scan (no empty or one-letter tokens to filter out), and
    ``isin`` over many literals becomes a hash-set lookup (Spark's InSet), built once per plan,
    so dropping stop words costs one lookup per distinct word.
    """
    words = F.array_distinct(F.regexp_extract_all(F.lower(text), F.lit(WORD), 0))
    return F.filter(words, lambda word: ~word.isin(*stopwords))


def with_keywords(tickets: DataFrame, stopwords: list[str]) -> DataFrame:
    return tickets.withColumn("keywords", keywords_of(F.concat_ws(" ", "subject", "description"), stopwords))

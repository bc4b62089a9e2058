"""Enrichment of accepted tickets: priority level, SLA due time, terms and phrases."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ticket_analysis import sql_text as sql
from ticket_analysis.columns import map_lookup
from ticket_etl import schema

# A term is a run of at least three letters of any script ("réseau" stays "réseau") not glued to
# a digit, so numbers, ids ("C-10293", "E-1042") and ordinal suffixes ("5th", "2e") never become
# terms; a sentence end is kept as a boundary so that phrases do not span two sentences.
WORD = r"(?<![\p{L}\p{N}])\p{L}{3,}(?![\p{L}\p{N}])"
BOUNDARY = r"[.!?;:\n]"
TOKEN = f"{WORD}|{BOUNDARY}"
STOPWORD_LANGUAGES = ("french", "english")
HOUR_MS = 3600 * 1000


def load_stopwords(path: Path) -> list[str]:
    """The domain stop words (include/stopwords.txt): one per line, '#' starts a comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return sorted({line.strip().lower() for line in lines if line.strip() and not line.startswith("#")})


def with_default_stopwords(domain: list[str]) -> list[str]:
    """Spark ML's French and English stop words with the ``domain`` list (needs a Spark session:
    the lists ship in Spark's own jars). Asked of the JVM as ``pyspark.ml`` does, without
    importing it (0.4 s)."""
    remover = SparkSession.active().sparkContext._jvm.org.apache.spark.ml.feature.StopWordsRemover
    defaults = {word for lang in STOPWORD_LANGUAGES for word in remover.loadDefaultStopWords(lang)}
    return sorted(defaults | set(domain))


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


def tokens_of(text: str, stopwords: list[str]) -> Column:
    """The lower-case terms of the SQL expression ``text`` in order, stop words removed, sentence
    ends kept as one-character boundaries (one regex scan; ``IN`` over many literals is a hash-set
    lookup). Written as SQL text: the stop words are one py4j call, not one each."""
    tokens = sql.call("regexp_extract_all", sql.call("lower", text), sql.lit(TOKEN), "0")
    return sql.column(sql.call("filter", tokens, f"token -> {sql.not_(sql.isin('token', stopwords))}"))


def words_of(tokens: Column) -> Column:
    """Distinct terms of :func:`tokens_of`, in order of first appearance."""
    return F.array_distinct(F.filter(tokens, lambda token: F.length(token) > 1))


def phrases_of(tokens: Column) -> Column:
    """Distinct two-term phrases of :func:`tokens_of`: neighbours once stop words are gone
    ("le paiement est refusé" gives "paiement refusé"), never across a sentence end."""
    size = F.size(tokens)
    pairs = F.zip_with(
        F.slice(tokens, 1, F.greatest(size - 1, F.lit(0))),
        F.slice(tokens, 2, F.greatest(size - 1, F.lit(0))),
        lambda first, second: F.when(
            (F.length(first) > 1) & (F.length(second) > 1), F.concat_ws(" ", first, second)
        ),
    )
    return F.array_distinct(F.filter(pairs, lambda pair: pair.isNotNull()))


def with_terms(tickets: DataFrame, stopwords: list[str]) -> DataFrame:
    """``keywords`` (distinct terms) and ``phrases`` (distinct two-term phrases) of the subject and
    description; a line break separates the two, so no phrase joins them."""
    tokens = tokens_of(sql.call("concat_ws", sql.lit("\n"), "subject", "description"), stopwords)
    return (
        tickets.withColumn("_tokens", tokens)
        .withColumns({"keywords": words_of(F.col("_tokens")), "phrases": phrases_of(F.col("_tokens"))})
        .drop("_tokens")
    )

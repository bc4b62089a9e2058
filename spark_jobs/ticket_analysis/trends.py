"""What is new in an hour: its terms against the trailing published hours (surging terms and
alerts), example tickets for them, and the ``keyword_trends`` dataset's rows.

The baseline is read from what earlier hours published (their ``term_counts.json``, or their
summary), a small JSON file per hour, so the cost does not grow with the raw history. Scores and thresholds: :mod:`ticket_etl.keywords`.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from ticket_analysis import statistics
from ticket_analysis.sinks import header
from ticket_analysis.storage import HadoopStore
from ticket_etl import artifacts, keywords
from ticket_etl.interval import Interval
from ticket_etl.job_contract import Baseline, TermEntry

MIN_PHRASE_TICKETS = 2  # a phrase of one ticket is not a phrase people use
SURGING = "surging"
DISTINCTIVE = "distinctive"
KEYWORD_TRENDS_SCHEMA = pa.schema(
    [
        pa.field("scope", pa.string(), nullable=False),
        pa.field("analysis", pa.string(), nullable=False),
        pa.field("term", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("tickets", pa.int64(), nullable=False),
        pa.field("expected", pa.float64(), nullable=False),
        pa.field("lift", pa.float64(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
    ]
)


def baseline_hours(
    store: HadoopStore, root: str, interval: Interval, look_back: int
) -> list[keywords.HourTerms]:
    """The term counts of the published hours among the ``look_back`` hours before ``interval``:
    from their ``term_counts.json``, or the summary's shorter lists for an hour published before
    that file existed. Hours never published, or empty, are left out."""
    found = []
    for hour in interval.hours_before(look_back):
        counted = store.read_json(artifacts.term_counts_path(root, hour))
        if counted is not None:
            terms = keywords.counted_terms(counted)
        else:
            summary = store.read_json(artifacts.summary_path(root, hour))
            terms = keywords.hour_terms(summary) if summary else None
        if terms is not None:
            found.append(terms)
    return found


def ranking_rows(enriched: DataFrame, type_tickets: dict[str, int], kept: int) -> list[dict[str, Any]]:
    """:func:`statistics.term_ranking`, collected: ``kept + 1`` terms of each kind per type scope,
    :data:`keywords.COUNTED_TERMS` + 1 in scope ``all``, and the distinctive ones (bounded)."""
    scopes = 1 + len(type_tickets)
    per_kind = scopes * (kept + 1 + keywords.LISTED_PER_SCOPE) + keywords.COUNTED_TERMS + 1
    bound = len(keywords.KINDS) * per_kind
    return statistics.ranked_terms(enriched, kept + 1, type_tickets, keywords.COUNTED_TERMS + 1, bound)


def surge(
    counted: dict[str, Any], past: list[keywords.HourTerms], look_back: int
) -> tuple[Baseline, list[TermEntry]]:
    """The surging terms of an hour (``counted``: its :func:`counts_document`) against the
    published hours ``past`` found in the ``look_back`` hours before it."""
    return keywords.surging(keywords.counted_terms(counted), past, look_back)


def counts_document(ranking: list[dict[str, Any]], tickets: int) -> dict[str, Any]:
    """The hour's ``term_counts.json``: its :data:`keywords.COUNTED_TERMS` overall terms and phrases
    mentioned by most tickets, with ``others_max``, from a collected :func:`statistics.term_ranking`
    of that overall depth (+ 1)."""
    overall = [row for row in ranking if row["scope"] == keywords.OVERALL_SCOPE]
    empty = {"others_max": 0}
    lists = {
        kind: statistics.terms_by_scope(overall, kind, keywords.COUNTED_TERMS).get(
            keywords.OVERALL_SCOPE, {f"{kind}s": [], **empty}
        )
        for kind in keywords.KINDS
    }
    return {"tickets": tickets, "keywords": lists[keywords.WORD], "phrases": lists[keywords.PHRASE]}


def hour_figures(
    ranking: list[dict[str, Any]], type_tickets: dict[str, int], top_n: int, kept: int
) -> dict[str, Any]:
    """The summary's term lists of one hour from its collected :func:`statistics.term_ranking`
    (depth ``kept + 1``): counts by scope, the top ``top_n`` words and phrases, and what
    distinguishes each type."""
    words = statistics.terms_by_scope(ranking, keywords.WORD, kept)
    phrases = statistics.terms_by_scope(ranking, keywords.PHRASE, kept)
    overall = keywords.OVERALL_SCOPE
    return {
        "top_keywords": words.get(overall, {}).get("words", [])[:top_n],
        "keywords_by_scope": words,
        "top_phrases": [
            e
            for e in phrases.get(overall, {}).get("phrases", [])[:top_n]
            if e["tickets"] >= MIN_PHRASE_TICKETS
        ],
        "phrases_by_scope": phrases,
        "distinctive_terms_by_type": statistics.distinctive_by_type(ranking, type_tickets),
    }


def with_examples(enriched: DataFrame, terms: list[TermEntry]) -> list[TermEntry]:
    """``terms`` with up to :data:`keywords.EXAMPLES` ticket ids each (the smallest ids: the same
    on every run of the hour), from one Spark job over the hour's enriched tickets."""
    if not terms:
        return terms
    wanted = [term["term"] for term in terms]
    first = Window.partitionBy("term").orderBy("ticket_id")
    terms_of = F.concat("keywords", "phrases")
    rows = (
        enriched.where(F.arrays_overlap(terms_of, F.array(*map(F.lit, wanted))))
        .select("ticket_id", F.explode(terms_of).alias("term"))
        .where(F.col("term").isin(*wanted))
        .withColumn("n", F.row_number().over(first))
        .where(F.col("n") <= keywords.EXAMPLES)
        .collect()
    )
    examples: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r["term"], r["n"])):
        examples.setdefault(row["term"], []).append(row["ticket_id"])
    return [{**term, "examples": examples.get(term["term"], [])} for term in terms]


def alerts(surging: list[TermEntry], baseline: Baseline) -> list[TermEntry]:
    """The surging terms past the alert thresholds (:func:`ticket_etl.keywords.is_alert`)."""
    return [term for term in surging if keywords.is_alert(term, baseline)]


def trend_rows(surging: list[TermEntry], distinctive: dict[str, list[TermEntry]]) -> list[dict[str, Any]]:
    """The ``keyword_trends`` rows: scope ``all`` for the surging terms, the type for the
    distinctive ones."""
    rows = [{"scope": keywords.OVERALL_SCOPE, "analysis": SURGING, **term} for term in surging]
    for scope, terms in sorted(distinctive.items()):
        rows += [{"scope": scope, "analysis": DISTINCTIVE, **term} for term in terms]
    return rows


def alert_records(
    spark: SparkSession, found: list[TermEntry], interval: Interval, run_id: str, topic: str
) -> DataFrame:
    """One Kafka record per alert: key ``<hour token>|<kind>|<term>`` (a re-run of the hour sends
    the same keys), the alert as JSON, headers naming the run and the hour."""
    bounds = interval.as_dict()
    rows = [
        (
            f"{interval.token}|{term['kind']}|{term['term']}",
            json.dumps({"interval": bounds, "run_id": run_id, **term}, ensure_ascii=False),
        )
        for term in found
    ]
    records = spark.createDataFrame(rows, "key string, value string")
    return records.select(
        F.lit(topic).alias("topic"),
        F.col("key").cast("binary").alias("key"),
        F.col("value").cast("binary").alias("value"),
        F.array(
            header("run_id", F.lit(run_id)),
            header("interval_start", F.lit(bounds["start"])),
            header("interval_end", F.lit(bounds["end"])),
        ).alias("headers"),
    )

"""What is new in an hour: its terms against the trailing published hours (surging terms and
alerts), example tickets for them, and the ``keyword_trends`` dataset's rows.

The baseline is read from the published summaries only (one small JSON file per hour), so the
cost does not grow with the raw history. Scores and thresholds: :mod:`ticket_etl.keywords`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from ticket_analysis.sinks import header
from ticket_analysis.storage import HadoopStore
from ticket_etl import artifacts, keywords
from ticket_etl.interval import Interval
from ticket_etl.job_contract import Baseline, TermEntry

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
    """The term counts of the published hours among the ``look_back`` hours before ``interval``
    (hours never published, or whose summary lists no terms, are left out)."""
    found = []
    for back in range(1, look_back + 1):
        hour = Interval.hour_starting(interval.start - timedelta(hours=back))
        summary = store.read_json(artifacts.summary_path(root, hour))
        terms = keywords.hour_terms(summary) if summary else None
        if terms is not None and terms.tickets:
            found.append(terms)
    return found


def surging_terms(
    store: HadoopStore, root: str, interval: Interval, look_back: int, current: keywords.HourTerms
) -> tuple[Baseline, list[TermEntry]]:
    """The hour's surging terms against its baseline, and the baseline they were measured on."""
    return keywords.surging(current, baseline_hours(store, root, interval, look_back), look_back)


def with_examples(enriched: DataFrame, terms: list[TermEntry]) -> list[TermEntry]:
    """``terms`` with up to :data:`keywords.EXAMPLES` ticket ids each (the smallest ids: the same
    on every run of the hour), from one Spark job over the hour's enriched tickets."""
    if not terms:
        return terms
    wanted = [f"{term['kind']}|{term['term']}" for term in terms]
    tagged = F.concat(
        F.transform("keywords", lambda term: F.concat(F.lit(f"{keywords.WORD}|"), term)),
        F.transform("phrases", lambda term: F.concat(F.lit(f"{keywords.PHRASE}|"), term)),
    )
    first = Window.partitionBy("tag").orderBy("ticket_id")
    rows = (
        enriched.select("ticket_id", F.explode(tagged).alias("tag"))
        .where(F.col("tag").isin(*wanted))
        .withColumn("n", F.row_number().over(first))
        .where(F.col("n") <= keywords.EXAMPLES)
        .collect()
    )
    examples: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r["tag"], r["n"])):
        examples.setdefault(row["tag"], []).append(row["ticket_id"])
    return [{**term, "examples": examples.get(f"{term['kind']}|{term['term']}", [])} for term in terms]


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

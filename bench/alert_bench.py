"""False alarms and detection of the keyword alerts, on generated demo hours.

    python -m bench.alert_bench [--hours 48] [--tickets 1000] [--wave "certificat SSL expiré:0.06"]

Generates ``--hours`` ordinary hours, runs the job's own term functions on each (tokenization,
ranking and the figures its summary carries, on a local Spark session), compares each hour with
the hours before it exactly as the job compares with published summaries, and counts the hours
that raise an alert: the false-alarm rate. Then one more hour with the planted wave: where its
terms rank, and whether it alerts. No broker, no files: the same functions, in memory.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.sql import SparkSession

from bench.common import RESULTS_DIR, local_session, title, write_report
from ticket_analysis import enrichment, trends
from ticket_analysis.analysis import KEYWORDS_IN_SUMMARY
from ticket_demo.generator import IncidentWave, generate_batch
from ticket_etl import config, keywords
from ticket_etl.job_args import DEFAULT_TOP_N
from ticket_etl.job_contract import TermEntry

FIRST_HOUR = datetime(2026, 11, 2, tzinfo=UTC)
DEFAULT_WAVE = "certificat SSL expiré:0.06"


@dataclass(frozen=True)
class HourResult:
    """One simulated hour: its baseline, surging terms and alerts."""

    hours_of_baseline: int
    surging: list[TermEntry]
    alerts: list[TermEntry]


def counted_hour(
    spark: SparkSession, start: datetime, tickets: int, wave: IncidentWave | None, stopwords: list[str]
):
    """The ``term_counts.json`` the job would publish for a generated hour."""
    batch = generate_batch(start, start + timedelta(hours=1), tickets, seed=3, incident_wave=wave)
    rows = [(t["type"], t["subject"], t["description"]) for t in batch.dicts()]
    df = spark.createDataFrame(rows, "type string, subject string, description string")
    enriched = enrichment.with_terms(df, stopwords).cache()
    type_tickets = {row["type"]: row["count"] for row in enriched.groupBy("type").count().collect()}
    ranking = trends.ranking_rows(enriched, type_tickets, max(DEFAULT_TOP_N, KEYWORDS_IN_SUMMARY))
    enriched.unpersist()
    return trends.counts_document(ranking, sum(type_tickets.values()))


def simulate(
    spark: SparkSession, hours: int, tickets: int, wave: IncidentWave | None, look_back: int = 24
) -> list[HourResult]:
    """``hours`` ordinary hours, then one with ``wave`` when given, each compared with the
    ``look_back`` hours before it."""
    stopwords = enrichment.with_default_stopwords(enrichment.load_stopwords(config.STOPWORDS_PATH))
    published: list[keywords.HourTerms] = []
    results = []
    waves = [None] * hours + ([wave] if wave else [])
    for number, planted in enumerate(waves):
        counted = counted_hour(spark, FIRST_HOUR + timedelta(hours=number), tickets, planted, stopwords)
        baseline, surging = trends.surge(counted, published[-look_back:][::-1], look_back)
        results.append(HourResult(baseline["hours"], surging, trends.alerts(surging, baseline)))
        published.append(keywords.counted_terms(counted))
    return results


def report(results: list[HourResult], wave: IncidentWave | None) -> str:
    """A Markdown report: false alarms over the ordinary hours, then the wave hour."""
    ordinary = results[:-1] if wave else results
    judged = [r for r in ordinary if r.hours_of_baseline >= keywords.ALERT_MIN_BASELINE_HOURS]
    false_alarms = [r for r in judged if r.alerts]
    top_scores = sorted((t["score"] for r in judged for t in r.surging), reverse=True)[:3]
    lines = [
        "| measure | value |",
        "|---|---:|",
        f"| ordinary hours with a baseline of {keywords.ALERT_MIN_BASELINE_HOURS}+ hours | {len(judged)} |",
        f"| of which raised an alert (false alarms) | {len(false_alarms)} ({len(false_alarms) / max(len(judged), 1):.1%}) |",
        f"| highest surging scores of ordinary hours (alert at {keywords.ALERT_MIN_SCORE:g}) | {', '.join(f'{s:.1f}' for s in top_scores) or 'none'} |",
    ]
    if wave:
        last = results[-1]
        leaders = ", ".join(
            f"{t['term']} ({t['tickets']} vs {t['expected']:g}, G² {t['score']:.0f})"
            for t in last.surging[:3]
        )
        lines += [
            f"| wave hour ({wave.text!r}, {wave.share:.0%} of tickets): leading surging terms | {leaders} |",
            f"| wave hour: alerts | {len(last.alerts)} |",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alert_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=int, default=48, help="ordinary hours (default: %(default)s)")
    parser.add_argument("--tickets", type=int, default=1000, help="tickets per hour (default: %(default)s)")
    parser.add_argument("--wave", default=DEFAULT_WAVE, help="TEXT:SHARE of the planted hour ('' for none)")
    parser.add_argument("--look-back", type=int, default=24, help="baseline hours (default: %(default)s)")
    args = parser.parse_args(argv)
    wave = IncidentWave.parse(args.wave) if args.wave else None
    with local_session("alert_bench") as spark:
        table = report(simulate(spark, args.hours, args.tickets, wave, args.look_back), wave)
    write_report(RESULTS_DIR / "alerts.md", f"{title('Keyword alerts on generated hours')}\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

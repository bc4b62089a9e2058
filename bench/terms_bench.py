"""What the keyword analysis' tokenization costs on its own, per hour of generated tickets.

    python -m bench.terms_bench [--tickets 1000000] [--runs 5]

Writes ``--tickets`` generated tickets to a temporary Parquet dataset, then times, interleaved on
a local Spark session shaped like the job's driver (``local[2]``, ``SPARK_DRIVER_MEMORY``), a
no-op write of the tickets as read against one of the tickets with their terms and phrases
(``enrichment.with_terms``, the job's own function). The difference is the part of the job's
enrichment step that no I/O floor has: issue 25 compares it with what 1.25x (c) allows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession

from bench.common import RESULTS_DIR, local_session, markdown_table, median, title, write_report
from ticket_analysis import enrichment
from ticket_demo.generator import generate_batch
from ticket_etl import config

FIRST_HOUR = datetime(2026, 11, 2, tzinfo=UTC)
CHUNK = 250_000  # tickets generated on the driver at a time
TEXT_SCHEMA = "ticket_id string, type string, subject string, description string"
READ, WITH_TERMS = "read", "read + terms and phrases"


def write_tickets(spark: SparkSession, path: str, tickets: int) -> None:
    """``tickets`` generated tickets (their id, type and texts) as Parquet at ``path``."""
    for first in range(0, tickets, CHUNK):
        count = min(CHUNK, tickets - first)
        batch = generate_batch(FIRST_HOUR, FIRST_HOUR + timedelta(hours=1), count, seed=10 + first // CHUNK)
        rows = [(t["ticket_id"], t["type"], t["subject"], t["description"]) for t in batch.dicts()]
        spark.createDataFrame(rows, TEXT_SCHEMA).coalesce(1).write.mode("append").parquet(path)


def timed_noop_write(df: DataFrame) -> float:
    """Seconds to compute every row of ``df`` and throw it away."""
    started = time.monotonic()
    df.write.format("noop").mode("overwrite").save()
    return time.monotonic() - started


def measure(spark: SparkSession, path: str, runs: int) -> dict[str, list[float]]:
    """The seconds of each variant's runs, interleaved."""
    stopwords = enrichment.with_default_stopwords(enrichment.load_stopwords(config.STOPWORDS_PATH))
    variants: dict[str, Callable[[DataFrame], DataFrame]] = {
        READ: lambda tickets: tickets,
        WITH_TERMS: lambda tickets: enrichment.with_terms(tickets, stopwords),
    }
    tickets = spark.read.schema(TEXT_SCHEMA).parquet(path)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, variant in variants.items():
            seconds[name].append(timed_noop_write(variant(tickets)))
    return seconds


def report(seconds: dict[str, list[float]], tickets: int) -> str:
    """A Markdown table: each variant's median and runs, then the tokenization's own cost."""
    rows = [
        [name, f"{median(runs):.2f}", ", ".join(f"{s:.2f}" for s in sorted(runs))]
        for name, runs in seconds.items()
    ]
    cost = median(seconds[WITH_TERMS]) - median(seconds[READ])
    rows.append(["tokenization alone (difference of the medians)", f"{cost:.2f}", ""])
    return f"{tickets:,} generated tickets\n\n" + markdown_table(["variant", "median s", "runs s"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.terms_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each variant (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="terms_bench_") as folder, local_session("terms_bench") as spark:
        write_tickets(spark, f"{folder}/tickets", args.tickets)
        table = report(measure(spark, f"{folder}/tickets", args.runs), args.tickets)
    write_report(RESULTS_DIR / "terms.md", f"{title('Tokenization of the keyword analysis')}\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

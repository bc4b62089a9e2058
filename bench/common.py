"""Small helpers shared by the benchmarks: medians, Markdown tables, verdicts, reports, and the
local Spark session of those that run the job's functions in process."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@contextmanager
def local_session(app_name: str) -> Iterator[SparkSession]:
    """A local Spark session shaped like the job's driver on this machine (``local[2]``,
    ``SPARK_DRIVER_MEMORY``), no UI, quiet logs; stopped at the end."""
    # Imported here: the benchmarks without a session (producer, UI) need neither.
    from pyspark.sql import SparkSession

    from ticket_etl import config

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.driver.memory", config.spark_driver_memory())
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    """A Markdown table; columns from ``numeric_from`` on are right-aligned."""
    align = ["---" if i < numeric_from else "---:" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool) -> str:
    """Bold ``met`` / ``NOT met``."""
    return "**met**" if met else "**NOT met**"


def title(name: str) -> str:
    """A report's first line, with the UTC time it was produced."""
    return f"# {name} ({datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')})"


def write_report(path: Path, report: str) -> None:
    """Print the report and write it to ``path``."""
    print(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report, encoding="utf-8")


def broker_is_up(bootstrap: str) -> bool:
    """True when a broker answers at ``bootstrap``; otherwise says so on stderr."""
    import sys

    from ticket_devstack.kafka_service import broker_answers

    if broker_answers(bootstrap):
        return True
    print(f"error: no broker answers at {bootstrap}: start one or pass --bootstrap", file=sys.stderr)
    return False

"""Every benchmark, in order (the ``make bench`` entry point).

    python -m bench.run_all [--quick] [--spark-counts 1000,100000,1000000,3000000] [--runs 3]

Starts a broker of its own (``.platform/bench-kafka``, port ``BENCH_KAFKA_PORT``, default
39192), creates the pipeline's topics on it, runs the producer and Spark benchmarks against it,
then stops it and deletes its data: the millions of benchmark tickets never reach the topics of
the ``make run`` broker (the schema registry is the stack's: started if needed, and then stopped
with its database). Then the keyword alerts and the tokenization's cost, on a local Spark
session; then the orchestration benchmark when an Airflow answers (``make
run`` starts one; it measures real pipeline runs on that stack), and the UI benchmark when
``STATS_DIR`` has a published hour to copy. Each benchmark writes its table
to ``bench/results/``.
``--quick``: 100,000 tickets and one run each (minutes instead of most of an hour).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bench import (
    alert_bench,
    orchestration_bench,
    producer_bench,
    reprocess_bench,
    spark_bench,
    terms_bench,
    ui_bench,
)
from bench.common import RESULTS_DIR
from ticket_devstack import kafka_service
from ticket_etl.config import PLATFORM_DIR

QUICK_COUNT = 100_000
DEFAULT_BENCH_PORT = 39192
# The job before the keyword analysis (issue 21), whose statistics step ours is compared with.
KEYWORD_ANALYSIS_BASE = "9b1e764"


def bench_layout() -> kafka_service.BrokerLayout:
    """The benchmarks' own broker: its own folder and loopback ports."""
    port = int(os.environ.get("BENCH_KAFKA_PORT") or DEFAULT_BENCH_PORT)
    return kafka_service.BrokerLayout(PLATFORM_DIR / "bench-kafka", port, port + 1)


@contextmanager
def broker() -> Iterator[str]:
    """Bootstrap servers of a fresh broker for the benchmarks; stopped and deleted afterwards."""
    from confluent_kafka.admin import AdminClient

    from ticket_etl.topics import ensure_topics

    layout = bench_layout()
    kafka_service.stop(layout)  # one left over by an interrupted benchmark, found by its pid file
    shutil.rmtree(layout.root, ignore_errors=True)
    print(f"bench: starting the benchmarks' own broker on {layout.bootstrap}", file=sys.stderr)
    kafka_service.start(layout)
    try:
        ensure_topics(AdminClient({"bootstrap.servers": layout.bootstrap}))
        with ticket_contract():
            yield layout.bootstrap
    finally:
        kafka_service.stop(layout)
        shutil.rmtree(layout.root, ignore_errors=True)


@contextmanager
def ticket_contract() -> Iterator[None]:
    """The stack's schema registry up with the ticket contract registered: the producer names its
    ids, the job reads its versions. The registry and its PostgreSQL are stopped afterwards when
    they were started here (those of a running ``make run`` stack stay up)."""
    from ticket_devstack import postgres_service, registry_service
    from ticket_etl.schema_registry import register_contract

    start_registry = registry_service.status_line() is None
    start_database = start_registry and postgres_service.status_line() is None
    registry_service.start()
    try:
        register_contract()
        yield
    finally:
        if start_registry:
            registry_service.stop()
        if start_database:
            postgres_service.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_COUNT:,} tickets, one run each")
    parser.add_argument("--spark-counts", help="Spark benchmark counts (default 1000,100000,1000000,3000000)")
    parser.add_argument("--runs", type=int, help="runs per method (default 3, 1 with --quick)")
    parser.add_argument("--skip-orchestration", action="store_true", help="even if Airflow answers")
    return parser.parse_args(argv)


def plan(args: argparse.Namespace, bootstrap: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Arguments of the producer, Spark, reprocessing and orchestration benchmarks."""
    runs = str(args.runs or (1 if args.quick else 3))
    producer = ["--bootstrap", bootstrap, "--runs", runs]
    if args.quick:
        producer += ["--count", str(QUICK_COUNT), "--baseline-count", str(QUICK_COUNT // 5)]
    counts = args.spark_counts or (str(QUICK_COUNT) if args.quick else "1000,100000,1000000,3000000")
    spark = ["--bootstrap", bootstrap, "--counts", counts, "--runs", runs, "--ref", KEYWORD_ANALYSIS_BASE]
    reprocess = ["--bootstrap", bootstrap, "--runs", runs]
    if args.quick:
        reprocess += ["--after", str(QUICK_COUNT)]
    return producer, spark, reprocess, ["--runs", runs]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; the exit code is the first failure's, or 0."""
    args = parse_args(argv)
    codes: dict[str, int] = {}
    with broker() as bootstrap:
        producer_args, spark_args, reprocess_args, orchestration_args = plan(args, bootstrap)
        print("bench: producer benchmark", file=sys.stderr)
        codes["producer"] = producer_bench.main(producer_args)
        print("bench: Spark benchmark", file=sys.stderr)
        codes["spark"] = spark_bench.main(spark_args)
        print("bench: reprocessing benchmark", file=sys.stderr)
        codes["reprocess"] = reprocess_bench.main(reprocess_args)
    print("bench: keyword alerts on generated hours", file=sys.stderr)
    codes["alerts"] = alert_bench.main(["--hours", "12" if args.quick else "48"])
    print("bench: cost of the keyword tokenization", file=sys.stderr)
    codes["terms"] = terms_bench.main(["--tickets", str(QUICK_COUNT), "--runs", "1"] if args.quick else [])
    if args.skip_orchestration:
        print("bench: orchestration benchmark skipped (--skip-orchestration)", file=sys.stderr)
    elif not orchestration_bench.airflow_answers():
        from ticket_devstack.airflow_service import base_url

        print(
            f"bench: orchestration benchmark skipped: no Airflow answers at {base_url()} "
            "(run `make run` first, or set AIRFLOW__API__PORT)",
            file=sys.stderr,
        )
    else:
        print("bench: orchestration benchmark", file=sys.stderr)
        codes["orchestration"] = orchestration_bench.main(orchestration_args)
    if ui_bench.has_summaries():
        print("bench: UI benchmark", file=sys.stderr)
        codes["ui"] = ui_bench.main(["--runs", "3" if args.quick else "5"])
    else:
        print(
            "bench: UI benchmark skipped: no published hour in STATS_DIR (run `make run` first)",
            file=sys.stderr,
        )
    print(f"bench: results in {RESULTS_DIR}: " + ", ".join(f"{k} exit {v}" for k, v in codes.items()))
    return next((code for code in codes.values() if code), 0)


if __name__ == "__main__":
    sys.exit(main())

"""Reprocessing benchmark: the cost of reprocessing an hour must follow the hour's size, not what
the source topic received after it (issue #17).

    python -m bench.reprocess_bench [--bootstrap B] [--hour-count 1000] [--after 1000000] [--runs 3]

On a fresh source topic and artifacts root: ``--hour-count`` tickets in hour H (three hours ago),
processed once. Then, run after run (median of ``--runs``), the wall time of one spark-submit of
the real job reprocessing H:

- (a) with nothing produced after H;
- (b) after ``--after`` tickets were produced in the hour after H and landed by a run of that
  hour (what the hourly schedule does): the reprocessing of H reads H's landing partition only.

Also printed, apart: the run that landed the ``--after`` tickets (a one-time cost of the ingest,
not of reprocessing). Target: (b) / (a) <= 1.2. Writes ``bench/results/reprocess.md``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

from bench.common import RESULTS_DIR, broker_is_up, markdown_table, median, title, verdict, write_report
from bench.producer_bench import delete_topic, fresh_topic
from bench.spark_bench import Submission, submit
from ticket_etl import config
from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments

RESULTS_FILE = RESULTS_DIR / "reprocess.md"
TARGET_RATIO = 1.2


def hours() -> tuple[Interval, Interval]:
    """H (three hours ago) and the hour after it."""
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hour = Interval.hour_starting(top - timedelta(hours=3))
    return hour, Interval.hour_starting(hour.end)


def produce(bootstrap: str, topic: str, interval: Interval, count: int, seed: int) -> None:
    from ticket_demo.generator import generate_batch
    from ticket_demo.producer import build_producer, produce_records

    produce_records(
        build_producer(bootstrap), topic, generate_batch(interval.start, interval.end, count, seed).records()
    )


def job(bootstrap: str, topic: str, output: str, interval: Interval, label: str) -> Submission:
    """One spark-submit of the real job for ``interval`` (no Kafka outputs: they do not depend on
    what came after the hour and would only add noise)."""
    from ticket_etl.spark_submit import spark_submit_command

    args = JobArguments(
        interval=interval,
        run_id=f"bench-{uuid.uuid4().hex[:8]}",
        bootstrap=bootstrap,
        topic=topic,
        artifacts_root=output,
        publish_to_kafka=False,
    )
    return submit(spark_submit_command(args.argv()), label)


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds of every run of each case."""
    hour, after = hours()
    topic = fresh_topic(args.bootstrap, "reprocess")
    output = tempfile.mkdtemp(prefix="reprocess_bench_")
    seconds: dict[str, list[float]] = {
        "nothing after": [],
        "after, landing run": [],
        f"{args.after:,} after": [],
    }
    try:
        produce(args.bootstrap, topic, hour, args.hour_count, seed=1)
        job(args.bootstrap, topic, output, hour, "first run of H")
        for i in range(args.runs):
            seconds["nothing after"].append(job(args.bootstrap, topic, output, hour, "(a)").seconds)
            print(f"  (a) run {i + 1}: {seconds['nothing after'][-1]:.1f}s", file=sys.stderr)
        produce(args.bootstrap, topic, after, args.after, seed=2)
        seconds["after, landing run"].append(job(args.bootstrap, topic, output, after, "landing").seconds)
        for i in range(args.runs):
            seconds[f"{args.after:,} after"].append(job(args.bootstrap, topic, output, hour, "(b)").seconds)
            print(f"  (b) run {i + 1}: {seconds[f'{args.after:,} after'][-1]:.1f}s", file=sys.stderr)
    finally:
        shutil.rmtree(output, ignore_errors=True)
        delete_topic(args.bootstrap, topic)
    return seconds


def render(seconds: dict[str, list[float]], args: argparse.Namespace) -> str:
    (a, landing, b) = (seconds[key] for key in seconds)
    ratio = median(b) / median(a)
    rows = [
        [f"(a) reprocess H ({args.hour_count:,} tickets), nothing after it", f"{median(a):.1f}", str(len(a))],
        [f"(b) reprocess H, {args.after:,} tickets after it (landed)", f"{median(b):.1f}", str(len(b))],
        [f"the run that landed the {args.after:,} (its own hour; once)", f"{median(landing):.1f}", "1"],
    ]
    return (
        "\n".join(
            [
                title("Reprocessing benchmark"),
                "",
                f"Wall time of one spark-submit of the job (JVM start included), median of the runs. "
                f"master {config.spark_master()}, driver memory {config.spark_driver_memory()}.",
                "",
                markdown_table(["run", "seconds", "runs"], rows),
                "",
                f"- target (b) / (a) <= {TARGET_RATIO:g}: {ratio:.2f}x, {verdict(ratio <= TARGET_RATIO)}",
            ]
        )
        + "\n"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reprocess_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--bootstrap", default=config.kafka_broker(), help="running broker (default KAFKA_BROKER)"
    )
    parser.add_argument("--hour-count", type=int, default=1_000, help="tickets in the reprocessed hour")
    parser.add_argument("--after", type=int, default=1_000_000, help="tickets produced after it")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not broker_is_up(args.bootstrap):
        return 1
    write_report(RESULTS_FILE, render(measure(args), args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

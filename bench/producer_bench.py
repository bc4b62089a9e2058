"""Producer benchmark: our producer against the proof-of-concept way and Kafka's own tool.

    python -m bench.producer_bench [--bootstrap B] [--count 1000000] [--baseline-count 200000] [--runs 3]

Expects a running broker (it starts nothing); every run writes to a fresh topic, deleted
afterwards. Tickets are generated once (generation rate reported separately), then, for
each method, the median of ``--runs`` runs is reported:

- ours: :func:`ticket_demo.producer.produce_records` (idempotent, acks=all, lz4, batching,
  every delivery report checked) with the generator's ready-made bytes, flush included;
- (a) the proof of concept: kafka-python ``KafkaProducer`` with a ``json.dumps`` value
  serializer, one ``send()`` per ticket dict, then ``flush()`` (its defaults: acks=1, no
  compression);
- (b) ``org.apache.kafka.tools.ProducerPerformance`` with our average value size and the
  same acks, idempotence, compression, linger and batch size.

Targets: ours >= 10x (a) and >= 0.5x (b), in tickets/s. The table is printed and written
to ``bench/results/producer.md``. MB/s counts value bytes (MiB, as ProducerPerformance does).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import broker_is_up
from ticket_demo.generator import TicketBatch, generate_batch
from ticket_demo.producer import TUNING_SETTINGS, build_producer, produce_records
from ticket_etl import config

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "producer.md"
TARGET_VS_POC = 10.0
TARGET_VS_KAFKA_TOOL = 0.5
MIB = 1024 * 1024
_PERF_LINE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


@dataclass(frozen=True)
class Result:
    """Median of the runs of one method."""

    name: str
    records: int
    seconds: float
    mib_per_record: float
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.records / self.seconds

    @property
    def mib_per_second(self) -> float:
        return self.per_second * self.mib_per_record


def fresh_topic(bootstrap: str, prefix: str) -> str:
    """A new 3-partition topic with unlimited time retention (bench records carry past timestamps)."""
    from ticket_etl.kafka_io import create_topic

    name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, name, partitions=3, config={"retention.ms": "-1"})
    return name


def delete_topic(bootstrap: str, name: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})  # must outlive the futures
    for future in admin.delete_topics([name]).values():
        future.result(30)


def median_seconds(runs: int, bootstrap: str, prefix: str, run: Callable[[str], float]) -> float:
    """Median duration of ``runs`` calls of ``run(topic)``, each on a fresh topic."""
    durations = []
    for i in range(runs):
        topic = fresh_topic(bootstrap, prefix)
        try:
            durations.append(run(topic))
        finally:
            delete_topic(bootstrap, topic)
        print(f"  {prefix} run {i + 1}/{runs}: {durations[-1]:.2f}s", file=sys.stderr)
    return statistics.median(durations)


def run_ours(bootstrap: str, batch: TicketBatch) -> Callable[[str], float]:
    def run(topic: str) -> float:
        producer = build_producer(bootstrap)
        began = time.perf_counter()
        delivered = produce_records(producer, topic, batch.records())
        elapsed = time.perf_counter() - began
        assert delivered == len(batch), (delivered, len(batch))
        return elapsed

    return run


def run_proof_of_concept(bootstrap: str, tickets: list[dict]) -> Callable[[str], float]:
    def run(topic: str) -> float:
        from kafka import KafkaProducer

        producer = KafkaProducer(
            bootstrap_servers=bootstrap, value_serializer=lambda v: json.dumps(v).encode()
        )
        began = time.perf_counter()
        for ticket in tickets:
            producer.send(topic, ticket)
        producer.flush()
        elapsed = time.perf_counter() - began
        producer.close()
        return elapsed

    return run


def kafka_tool_command(bootstrap: str, topic: str, records: int, record_size: int) -> list[str]:
    props = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": "true",
        "compression.type": TUNING_SETTINGS["compression.type"],
        "linger.ms": TUNING_SETTINGS["linger.ms"],
        "batch.size": TUNING_SETTINGS["batch.size"],
    }
    return [
        "java", "-Xmx1g", "-cp", str(config.KAFKA_JARS_DIR / "*"),
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic, "--num-records", str(records), "--record-size", str(record_size),
        "--throughput", "-1", "--producer-props", *(f"{k}={v}" for k, v in props.items()),
    ]  # fmt: skip


def run_kafka_tool(bootstrap: str, records: int, record_size: int) -> Callable[[str], float]:
    def run(topic: str) -> float:
        out = subprocess.run(
            kafka_tool_command(bootstrap, topic, records, record_size),
            capture_output=True,
            text=True,
            timeout=900,
        )
        matches = _PERF_LINE.findall(out.stdout)
        if out.returncode != 0 or not matches:
            raise RuntimeError(f"ProducerPerformance failed ({out.returncode}): {out.stderr[-2000:]}")
        sent, per_second, _ = matches[-1]
        return int(sent) / float(per_second)

    return run


def interval() -> tuple[datetime, datetime]:
    """The last complete hour (the broker refuses timestamps more than 1 h ahead)."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end


def render(count: int, generation_s: float, results: dict[str, Result], record_size: int) -> str:
    """The Markdown report."""
    ours, poc, tool = results["ours"], results["poc"], results["tool"]
    vs_poc, vs_tool = ours.per_second / poc.per_second, ours.per_second / tool.per_second
    lines = [
        f"# Producer benchmark ({datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')})",
        "",
        f"Generation: {count:,} tickets in {generation_s:.2f}s = **{count / generation_s:,.0f} tickets/s** "
        f"(average value {record_size} bytes).",
        "",
        "| method | records | median s | tickets/s | MB/s | ours / this |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in (ours, poc, tool):
        ratio = ours.per_second / result.per_second
        lines.append(
            f"| {result.name}{' (' + result.note + ')' if result.note else ''} | {result.records:,} | "
            f"{result.seconds:.2f} | {result.per_second:,.0f} | {result.mib_per_second:.1f} | {ratio:.2f}x |"
        )
    both = count / (generation_s + ours.seconds * count / ours.records)
    lines += [
        "",
        f"Ours including generation: {both:,.0f} tickets/s ({both / poc.per_second:.1f}x (a), "
        f"{both / tool.per_second:.2f}x (b)).",
        "",
        f"- target ours >= {TARGET_VS_POC:g}x (a): {vs_poc:.1f}x, "
        f"**{'met' if vs_poc >= TARGET_VS_POC else 'NOT met'}**",
        f"- target ours >= {TARGET_VS_KAFKA_TOOL:g}x (b): {vs_tool:.2f}x, "
        f"**{'met' if vs_tool >= TARGET_VS_KAFKA_TOOL else 'NOT met'}**",
        "",
        "MB/s = value bytes / 2^20 per second. (b) sends random A-Z payloads of our average size, no keys; "
        "ours sends keys, headers and timestamps too.",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.producer_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--bootstrap", default=config.kafka_broker(), help="running broker (default KAFKA_BROKER)"
    )
    parser.add_argument("--count", type=int, default=1_000_000, help="tickets for ours and (b)")
    parser.add_argument("--baseline-count", type=int, default=200_000, help="tickets for (a), the slow one")
    parser.add_argument("--runs", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown report")
    args = parser.parse_args(argv)
    if args.count <= 0 or args.baseline_count <= 0 or args.runs <= 0:
        parser.error("--count, --baseline-count and --runs must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not broker_is_up(args.bootstrap):
        return 1
    start, end = interval()
    generate_batch(start, end, 1_000)  # build the text pools outside the timing
    began = time.perf_counter()
    batch = generate_batch(start, end, args.count, seed=42)
    generation_s = time.perf_counter() - began
    value_mib = batch.value_bytes() / MIB / len(batch)
    record_size = round(batch.value_bytes() / len(batch))
    baseline = min(args.baseline_count, args.count)
    tickets = [json.loads(v) for v in batch.values[:baseline]]
    ours_s = median_seconds(args.runs, args.bootstrap, "ours", run_ours(args.bootstrap, batch))
    poc_s = median_seconds(args.runs, args.bootstrap, "poc", run_proof_of_concept(args.bootstrap, tickets))
    tool_s = median_seconds(
        args.runs, args.bootstrap, "tool", run_kafka_tool(args.bootstrap, args.count, record_size)
    )
    poc_note = f"{baseline:,} records" if baseline < args.count else ""
    results = {
        "ours": Result("ours: confluent-kafka, idempotent, acks=all, lz4", args.count, ours_s, value_mib),
        "poc": Result(
            "(a) kafka-python, json.dumps, send() per ticket", baseline, poc_s, value_mib, poc_note
        ),
        "tool": Result("(b) Kafka ProducerPerformance", args.count, tool_s, record_size / MIB),
    }
    report = render(args.count, generation_s, results, record_size)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

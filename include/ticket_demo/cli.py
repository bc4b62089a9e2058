"""Generate tickets and produce them to Kafka from the command line.

    python -m ticket_demo.cli batch --start 2026-11-28T04:00 --end 2026-11-28T05:00 [--count N]
    python -m ticket_demo.cli stream --rate 200 [--duration 60 | --count N]

``batch`` produces the tickets of one interval (re-running it sends only what is missing);
``stream`` sends tickets created "now" at a steady rate until the duration or count is
reached (or Ctrl-C). Both take ``--incident-wave TEXT:SHARE``: a share of the tickets become
incidents quoting TEXT, to watch a term surge. Exit codes: 0 done, 1 production failed, 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ticket_etl import config
from ticket_etl.interval import parse_utc

if TYPE_CHECKING:
    from ticket_demo.generator import IncidentWave

MAX_FUTURE = timedelta(hours=1)  # the broker rejects timestamps more than 1 h ahead
STREAM_TICK_S = 0.1


def parse_time(text: str) -> datetime:
    """ISO-8601 date-time; without an offset it is UTC."""
    try:
        return parse_utc(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid date-time {text!r}: use ISO-8601, e.g. 2026-11-28T04:00 or 2026-11-28T04:00:00+01:00"
        ) from None


def _number(text: str, convert: type, kind: str, valid: Callable[[float], bool], requirement: str) -> Any:
    """``convert(text)`` if it meets ``valid``, else an argparse error naming the requirement."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
    if not valid(value):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
    return value


def non_negative_int(text: str) -> int:
    return _number(text, int, "an integer", lambda v: v >= 0, ">= 0")


def positive_float(text: str) -> float:
    return _number(text, float, "a number", lambda v: v > 0, "> 0")


def share(text: str) -> float:
    return _number(text, float, "a number", lambda v: 0.0 <= v <= 1.0, "between 0 and 1")


def incident_wave(text: str) -> IncidentWave:
    """An :class:`~ticket_demo.generator.IncidentWave` from ``TEXT:SHARE``; a bad value is a usage error."""
    from ticket_demo.generator import IncidentWave

    try:
        return IncidentWave.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def schema_version(text: str) -> int:
    """A committed version of the ticket schema; another is a usage error."""
    from ticket_etl import schema

    committed = list(schema.versions())
    return _number(text, int, "an integer", lambda v: v in committed, f"one of {committed}")


def build_parser() -> argparse.ArgumentParser:
    from ticket_demo.generator import DEFAULT_SCHEMA_VERSION

    parser = argparse.ArgumentParser(
        prog="python -m ticket_demo.cli", description="Generate support tickets and produce them to Kafka."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{batch,stream}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--topic", default=config.source_topic(), help="topic (default TOPIC_NAME: %(default)s)"
    )
    common.add_argument(
        "--bootstrap",
        default=config.kafka_broker(),
        help="bootstrap servers (default KAFKA_BROKER: %(default)s)",
    )
    common.add_argument(
        "--malformed-share", type=share, default=0.0, help="share of malformed records, 0..1 (default 0)"
    )
    common.add_argument(
        "--incident-wave",
        type=incident_wave,
        default=None,
        metavar="TEXT:SHARE",
        help="make SHARE (0..1] of the tickets incidents quoting TEXT, e.g. "
        "'paiement refusé par la banque:0.06' (default: none)",
    )
    common.add_argument(
        "--schema-version",
        type=schema_version,
        default=DEFAULT_SCHEMA_VERSION,
        help="version of the ticket schema to write (2 adds tags; default %(default)s)",
    )
    common.add_argument(
        "--timeout",
        type=positive_float,
        default=30.0,
        help="bound in seconds of each wait on Kafka (default 30)",
    )
    common.add_argument("--no-progress", action="store_true", help="no progress bar")

    batch = sub.add_parser("batch", parents=[common], help="the tickets of one interval [start, end)")
    batch.add_argument(
        "--start", type=parse_time, required=True, help="interval start, ISO-8601 (UTC if naive)"
    )
    batch.add_argument("--end", type=parse_time, required=True, help="interval end, ISO-8601 (UTC if naive)")
    batch.add_argument("--count", type=non_negative_int, default=None, help="tickets (default BATCH_SIZE)")
    batch.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    stream = sub.add_parser("stream", parents=[common], help="a continuous stream created now")
    stream.add_argument("--rate", type=positive_float, required=True, help="tickets per second")
    limit = stream.add_mutually_exclusive_group()
    limit.add_argument("--duration", type=positive_float, help="seconds to run (default: until Ctrl-C)")
    limit.add_argument("--count", type=non_negative_int, help="tickets to send")
    stream.add_argument("--seed", type=int, default=None, help="seed of the ids (default: from the clock)")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parsed and cross-checked arguments; exits with code 2 and a usage message when invalid."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "batch":
        if args.end <= args.start:
            parser.error(f"--end ({args.end.isoformat()}) must be after --start ({args.start.isoformat()})")
        latest = datetime.now(UTC) + MAX_FUTURE
        if args.end > latest:
            parser.error(
                f"--end ({args.end.isoformat()}) is more than 1 hour in the future; "
                "the broker rejects such timestamps"
            )
        if args.count is None:
            try:
                args.count = config.batch_size()
            except ValueError as error:
                parser.error(str(error))
    return args


def _progress_bar(total: int | None, disable: bool, unit: str = "ticket") -> Any:
    """A tqdm bar on stderr."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, disable=disable, file=sys.stderr)


def run_batch(args: argparse.Namespace) -> int:
    from ticket_demo.producer import build_producer, generate_and_produce

    producer = build_producer(args.bootstrap, int(args.timeout * 1000))
    with _progress_bar(args.count, args.no_progress) as bar:
        report = generate_and_produce(
            producer,
            args.topic,
            args.start,
            args.end,
            args.count,
            args.seed,
            args.malformed_share,
            bootstrap=args.bootstrap,
            progress=bar.update,
            read_timeout_s=args.timeout,
            incident_wave=args.incident_wave,
            schema_version=args.schema_version,
        )
    print(
        f"{args.topic}: [{args.start.isoformat()}, {args.end.isoformat()}) generated={report.generated} "
        f"already_present={report.already_present} sent={report.sent} malformed={report.malformed} "
        f"failed={report.failed}" + (f" wave={report.wave}" if args.incident_wave else "")
    )
    return 0


def run_stream(args: argparse.Namespace) -> int:
    """Send ``rate`` tickets per second, created now, in ticks of 100 ms."""
    from ticket_demo.generator import generate_stream_chunk
    from ticket_demo.producer import build_producer, produce_records

    seed = args.seed if args.seed is not None else time.time_ns() // 1000
    producer = build_producer(args.bootstrap, int(args.timeout * 1000))
    total = (
        args.count
        if args.count is not None
        else (int(args.rate * args.duration) if args.duration is not None else None)
    )
    sent = 0
    began = time.monotonic()
    with _progress_bar(total, args.no_progress) as bar:
        try:
            while total is None or sent < total:
                due = int(args.rate * (time.monotonic() - began + STREAM_TICK_S)) - sent
                n = due if total is None else min(due, total - sent)
                if n > 0:
                    now_ms = time.time_ns() // 1_000_000
                    created = [now_ms - (n - 1 - i) * 100 // n for i in range(n)]  # spread over the tick
                    batch = generate_stream_chunk(
                        seed, sent, created, args.malformed_share, args.incident_wave, args.schema_version
                    )
                    sent += produce_records(
                        producer, args.topic, batch.records(), schema_version=args.schema_version
                    )
                    bar.update(n)
                time.sleep(STREAM_TICK_S)
        except KeyboardInterrupt:
            producer.flush(10)
    print(f"{args.topic}: stream seed={seed} sent={sent} in {time.monotonic() - began:.1f}s")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=config.log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ticket_demo.producer import ProduceError

    try:
        return run_batch(args) if args.command == "batch" else run_stream(args)
    except (ProduceError, RuntimeError, TimeoutError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

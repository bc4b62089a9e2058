"""Produce generated tickets to Kafka without losing or double-counting any.

- Idempotent producer, ``acks=all``, lz4 batches; key = ticket_id, Kafka timestamp =
  created_at, headers ``schema_version`` (the ticket schema's version) and ``schema_id`` (the
  schema registry's id of that version, looked up once per registry and version).
- Every delivery report is checked: one failure and :class:`ProduceError` is raised (with
  the count and the first error) and nothing is reported as sent. Delivery is bounded by
  ``message.timeout.ms`` (30 s), so a stopped broker fails the call in bounded time.
- Re-running an interval skips the tickets already in the topic for that interval
  (:func:`existing_keys`), so the analysis never counts a ticket twice.

Heavy imports (confluent_kafka) happen inside functions: DAG files may import this module while
they are parsed. The producer of an Airflow connection is ``ticket_airflow.hooks``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from ticket_demo.generator import DEFAULT_SCHEMA_VERSION, IncidentWave, Record, generate_batch
from ticket_etl import config, schema, schema_registry
from ticket_etl.interval import to_epoch_ms

if TYPE_CHECKING:
    from confluent_kafka import Producer

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_MS = 30_000
READ_TIMEOUT_S = 30.0
POLL_EVERY = 5_000  # serve delivery reports every N records while producing
FLUSH_MARGIN_S = 15.0

# Properties that make delivery safe: always applied, over any connection setting.
SAFETY_SETTINGS: dict[str, Any] = {"enable.idempotence": True, "acks": "all"}
# Throughput settings: a connection may override them.
TUNING_SETTINGS: dict[str, Any] = {
    "compression.type": "lz4",
    "linger.ms": 25,
    "batch.size": 1_000_000,
    "batch.num.messages": 100_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 1_048_576,
}


class ProduceError(RuntimeError):
    """Some records were not delivered; :attr:`report` says how many (``sent`` is 0)."""

    def __init__(self, message: str, report: ProduceReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ProduceReport:
    """Outcome of one production: only a fully delivered batch counts as sent."""

    generated: int
    already_present: int
    sent: int
    failed: int
    malformed: int = 0
    wave: int = 0  # incident-wave tickets among those sent


def schema_headers(version: int = DEFAULT_SCHEMA_VERSION) -> list[tuple[str, bytes]]:
    """Headers every record of ``version`` carries: the version, and the schema registry's id of
    it (``SCHEMA_REGISTRY_URL``; :class:`~ticket_etl.schema_registry.RegistryError` when the
    registry does not answer or does not hold the version)."""
    schema_id = _schema_id(config.schema_registry_url(), schema_registry.ticket_subject(), version)
    return [
        (schema.SCHEMA_VERSION_HEADER, str(version).encode()),
        (schema_registry.SCHEMA_ID_HEADER, str(schema_id).encode()),
    ]


@cache
def _schema_id(url: str, subject: str, version: int) -> int:
    """A version's id in one registry never changes: asked once per process."""
    return schema_registry.schema_id(version, url, subject)


def producer_settings(delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS) -> dict[str, Any]:
    """librdkafka settings of the ticket producer (without ``bootstrap.servers``)."""
    return {**TUNING_SETTINGS, "message.timeout.ms": delivery_timeout_ms, **SAFETY_SETTINGS}


def merged_settings(
    connection: Mapping[str, Any], delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS
) -> dict[str, Any]:
    """A connection's client config (bootstrap, security, ...) completed with our settings.

    Tuning keys and the delivery timeout set on the connection win; the safety keys
    (idempotence, ``acks=all``) always come from here.
    """
    timeout = {"message.timeout.ms": delivery_timeout_ms}
    return {**TUNING_SETTINGS, **timeout, **connection, **SAFETY_SETTINGS}


def build_producer(bootstrap: str | None = None, delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS) -> Producer:
    """A ticket producer for ``bootstrap`` (default ``KAFKA_BROKER``)."""
    from confluent_kafka import Producer

    return Producer(
        {"bootstrap.servers": bootstrap or config.kafka_broker(), **producer_settings(delivery_timeout_ms)}
    )


def produce_records(
    producer: Producer,
    topic: str,
    records: Iterable[Record],
    progress: Callable[[int], None] | None = None,
    flush_timeout_s: float | None = None,
    schema_version: int = DEFAULT_SCHEMA_VERSION,
) -> int:
    """Produce ``(key, value, timestamp_ms)`` records of the ticket schema's ``schema_version``
    and wait for every delivery report.

    Every report goes through one callback that records the failed ones. Returns the number
    delivered (all of them). Raises :class:`ProduceError` when any delivery fails or is
    still pending after the flush; ``progress(n)`` is called with the number of records
    newly acknowledged.
    """
    from confluent_kafka import KafkaException

    failures: list[Any] = []

    def on_delivery(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(error)

    headers = schema_headers(schema_version)
    produce, poll = producer.produce, producer.poll
    total = reported = 0
    try:
        for key, value, timestamp_ms in records:
            while True:
                try:
                    produce(
                        topic, value, key, on_delivery=on_delivery, timestamp=timestamp_ms, headers=headers
                    )
                    break
                except BufferError:  # local queue full: serve delivery reports to make room
                    poll(0.05)
            total += 1
            if total % POLL_EVERY == 0:
                poll(0)
                if progress:
                    done = total - len(producer) - len(failures)
                    progress(done - reported)
                    reported = done
    except KafkaException as error:  # e.g. a fatal idempotence error
        pending = producer.flush(FLUSH_MARGIN_S)
        raise ProduceError(
            f"producing to {topic} failed after {total} records: {error}. Nothing is reported as sent.",
            ProduceReport(generated=total, already_present=0, sent=0, failed=len(failures) + pending),
        ) from error
    timeout = flush_timeout_s if flush_timeout_s is not None else DELIVERY_TIMEOUT_MS / 1000 + FLUSH_MARGIN_S
    pending = producer.flush(timeout)
    failed = len(failures) + pending
    if failed:
        first = f"; first error: {failures[0]}" if failures else ""
        raise ProduceError(
            f"{failed} of {total} records to {topic} were not delivered "
            f"({len(failures)} failed, {pending} still pending after {timeout:.0f}s){first}. "
            "Nothing is reported as sent; re-run the interval: delivered tickets are skipped.",
            ProduceReport(generated=total, already_present=0, sent=0, failed=failed),
        )
    if progress and total > reported:
        progress(total - reported)
    return total


def existing_keys(
    bootstrap: str | None,
    topic: str,
    start_ms: int,
    end_ms: int,
    client_config: Mapping[str, Any] | None = None,
    timeout_s: float = READ_TIMEOUT_S,
) -> set[bytes]:
    """Keys of the records of ``topic`` whose timestamp is in ``[start_ms, end_ms)``.

    Per partition: from the earliest offset with timestamp >= start (``offsets_for_times``)
    to the current end offset, keeping the keys with a timestamp in the interval. Exact
    even when timestamps are out of order. An absent topic has no keys.
    """
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer(
        {
            **(client_config or {}),
            **({"bootstrap.servers": bootstrap} if bootstrap else {}),
            "group.id": f"ticket-producer-skip-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "log_level": 3,
        }
    )
    try:
        try:
            topics = consumer.list_topics(topic, timeout=timeout_s).topics
        except KafkaException as error:
            raise RuntimeError(f"cannot read topic {topic} to skip existing tickets: {error}") from error
        metadata = topics.get(topic)
        if metadata is None or metadata.error is not None:
            return set()
        wanted = [TopicPartition(topic, p, start_ms) for p in metadata.partitions]
        starts = consumer.offsets_for_times(wanted, timeout=timeout_s)
        positions, ends = [], {}
        for tp in starts:
            if tp.offset < 0:  # no record with timestamp >= start
                continue
            end = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout_s)[1]
            if end > tp.offset:
                positions.append(TopicPartition(topic, tp.partition, tp.offset))
                ends[tp.partition] = end
        return _read_keys(consumer, positions, ends, start_ms, end_ms, timeout_s)
    finally:
        consumer.close()


def _read_keys(
    consumer: Any, positions: list[Any], ends: dict[int, int], start_ms: int, end_ms: int, timeout_s: float
) -> set[bytes]:
    keys: set[bytes] = set()
    if not positions:
        return keys
    consumer.assign(positions)
    pending = set(ends)
    deadline = time.monotonic() + timeout_s
    while pending:
        messages = consumer.consume(10_000, 1.0)
        if not messages and time.monotonic() > deadline:
            raise TimeoutError(f"no progress reading existing keys within {timeout_s}s; partitions {pending}")
        for message in messages:
            if message.error():
                raise RuntimeError(f"error reading existing keys: {message.error()}")
            deadline = time.monotonic() + timeout_s
            if start_ms <= message.timestamp()[1] < end_ms and message.key() is not None:
                keys.add(message.key())
            if message.offset() + 1 >= ends[message.partition()]:
                pending.discard(message.partition())
    return keys


def generate_and_produce(
    producer: Producer,
    topic: str,
    start: datetime,
    end: datetime,
    count: int | None = None,
    seed: int = 0,
    malformed_share: float = 0.0,
    bootstrap: str | None = None,
    client_config: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    read_timeout_s: float = READ_TIMEOUT_S,
    landed: set[bytes] | frozenset[bytes] = frozenset(),
    incident_wave: IncidentWave | None = None,
    schema_version: int = DEFAULT_SCHEMA_VERSION,
) -> ProduceReport:
    """Generate the tickets of ``[start, end)`` (of ``schema_version``) and produce those not
    already in ``topic``.

    ``bootstrap`` (default ``KAFKA_BROKER``) and ``client_config`` (e.g. a connection's
    security settings) are used to read the keys already present (each read step bounded by
    ``read_timeout_s``); ``landed``: keys already landed for the interval (the topic may no
    longer hold them); ``incident_wave``: see :class:`IncidentWave` (its tickets have ids of their
    own, so a wave added to an hour already generated is sent). Raises :class:`ProduceError` if
    any delivery fails.
    """
    batch = generate_batch(start, end, count, seed, malformed_share, incident_wave, schema_version)
    present = existing_keys(
        bootstrap
        or (None if client_config and "bootstrap.servers" in client_config else config.kafka_broker()),
        topic,
        to_epoch_ms(start),
        to_epoch_ms(end),
        client_config,
        read_timeout_s,
    )
    present |= landed
    rows = [i for i, key in enumerate(batch.keys) if key not in present]
    records = [(batch.keys[i], batch.values[i], batch.timestamps_ms[i]) for i in rows]
    sent = (
        produce_records(producer, topic, records, progress, schema_version=schema_version) if records else 0
    )
    report = ProduceReport(
        generated=len(batch),
        already_present=len(batch) - len(rows),
        sent=sent,
        failed=0,
        malformed=sum(1 for i in rows if i in batch.malformed),
        wave=len(set(rows).intersection(batch.wave_rows)),
    )
    log.info("tickets of [%s, %s) to %s: %s", start.isoformat(), end.isoformat(), topic, report)
    return report

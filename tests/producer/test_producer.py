"""Producing to the real broker: keys, timestamps, headers, re-runs, failures."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from ticket_airflow.hooks import TicketProducerHook
from ticket_demo.generator import generate_batch
from ticket_demo.producer import (
    SAFETY_SETTINGS,
    ProduceError,
    build_producer,
    existing_keys,
    generate_and_produce,
    merged_settings,
    produce_records,
)
from ticket_etl import schema, schema_registry
from ticket_etl.interval import to_epoch_ms
from ticket_etl.kafka_io import consume_all

pytestmark = pytest.mark.integration

# A recent complete hour: the broker rejects timestamps more than 1 h in the future.
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
START = END - timedelta(hours=1)


def test_interval_comes_back_with_keys_timestamps_and_headers(
    kafka_bootstrap: str, unique_topic: str
) -> None:
    report = generate_and_produce(
        build_producer(kafka_bootstrap), unique_topic, START, END, 3_000, seed=1, bootstrap=kafka_bootstrap
    )
    assert (report.generated, report.already_present, report.sent, report.failed) == (3_000, 0, 3_000, 0)

    expected = {k: (v, ts) for k, v, ts in generate_batch(START, END, 3_000, seed=1).records()}
    received = list(consume_all(kafka_bootstrap, unique_topic))
    assert len(received) == 3_000
    registry_id = schema_registry.schema_id(1)  # what the registry answers for version 1
    version = [
        (schema.SCHEMA_VERSION_HEADER, b"1"),
        (schema_registry.SCHEMA_ID_HEADER, str(registry_id).encode()),
    ]
    for message in received:
        value, timestamp_ms = expected[message.key()]
        assert message.value() == value
        assert message.timestamp()[1] == timestamp_ms
        assert message.headers() == version
        ticket = json.loads(message.value())
        assert ticket["ticket_id"].encode() == message.key()
        assert to_epoch_ms(datetime.fromisoformat(ticket["created_at"])) == timestamp_ms


def test_rerun_of_an_interval_sends_nothing_new(kafka_bootstrap: str, unique_topic: str) -> None:
    producer = build_producer(kafka_bootstrap)
    first = generate_and_produce(
        producer, unique_topic, START, END, 1_000, seed=2, malformed_share=0.05, bootstrap=kafka_bootstrap
    )
    again = generate_and_produce(
        producer, unique_topic, START, END, 1_000, seed=2, malformed_share=0.05, bootstrap=kafka_bootstrap
    )
    assert (first.sent, first.malformed) == (1_000, 50)
    assert (again.generated, again.already_present, again.sent) == (1_000, 1_000, 0)
    more = generate_and_produce(producer, unique_topic, START, END, 1_500, seed=2, bootstrap=kafka_bootstrap)
    assert (more.already_present, more.sent) == (1_000, 500)  # ids depend on the index only
    keys = [m.key() for m in consume_all(kafka_bootstrap, unique_topic)]
    assert len(keys) == len(set(keys)) == 1_500


def test_existing_keys_only_sees_the_interval(kafka_bootstrap: str, unique_topic: str) -> None:
    producer = build_producer(kafka_bootstrap)
    before, after = START - timedelta(hours=1), END
    for lo, hi in ((before, START), (after, after + timedelta(minutes=30)), (START, END)):
        generate_and_produce(producer, unique_topic, lo, hi, 300, seed=3, bootstrap=kafka_bootstrap)
    keys = existing_keys(kafka_bootstrap, unique_topic, to_epoch_ms(START), to_epoch_ms(END))
    assert keys == set(generate_batch(START, END, 300, seed=3).keys)
    assert existing_keys(kafka_bootstrap, "no_such_topic_here", 0, 1) == set()


def test_stopped_broker_fails_loudly_in_bounded_time() -> None:
    producer = build_producer("127.0.0.1:1", delivery_timeout_ms=3_000)
    records = generate_batch(START, END, 200, seed=4).records()
    delivered: list[int] = []
    began = time.monotonic()
    with pytest.raises(ProduceError, match=r"200 of 200 records .* not delivered.*first error") as caught:
        produce_records(producer, "client_tickets", records, progress=delivered.append)
    assert time.monotonic() - began < 20
    assert caught.value.report.sent == 0 and caught.value.report.failed == 200
    assert delivered == []


def test_unreachable_broker_fails_before_producing() -> None:
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="cannot read topic"):
        generate_and_produce(
            build_producer("127.0.0.1:1", 3_000),
            "client_tickets",
            START,
            END,
            10,
            bootstrap="127.0.0.1:1",
            read_timeout_s=3,
        )
    assert time.monotonic() - began < 20


def test_connection_settings_never_weaken_safety() -> None:
    merged = merged_settings(
        {"bootstrap.servers": "b:9092", "acks": "1", "enable.idempotence": False, "linger.ms": 5}
    )
    assert merged["bootstrap.servers"] == "b:9092" and merged["linger.ms"] == 5
    assert {k: merged[k] for k in SAFETY_SETTINGS} == SAFETY_SETTINGS
    assert merged["compression.type"] == "lz4" and merged["message.timeout.ms"] == 30_000


def test_producer_from_airflow_connection(
    kafka_bootstrap: str, unique_topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_TICKETS_TEST",
        json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": kafka_bootstrap}}),
    )
    producer = TicketProducerHook("tickets_test").get_producer()
    report = generate_and_produce(producer, unique_topic, START, END, 100, seed=5, bootstrap=kafka_bootstrap)
    assert report.sent == 100

"""The real broker keeps keys, values, timestamps and headers of what is produced."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from ticket_etl.kafka_io import consume_all

pytestmark = pytest.mark.integration


def test_produced_records_come_back_identical(kafka_bootstrap: str, unique_topic: str) -> None:
    sent = [
        (
            f"key-{i}".encode(),
            f"value-é-{i}".encode(),
            1_700_000_000_000 + i * 1000,
            [("schema_version", b"1"), ("n", str(i).encode())],
        )
        for i in range(50)
    ]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    errors: list[str] = []
    for key, value, ts, headers in sent:
        producer.produce(
            unique_topic,
            value=value,
            key=key,
            timestamp=ts,
            headers=headers,
            on_delivery=lambda err, _msg: err and errors.append(str(err)),
        )
    assert producer.flush(30) == 0
    assert errors == []

    received = sorted(
        (m.key(), m.value(), m.timestamp()[1], m.headers())
        for m in consume_all(kafka_bootstrap, unique_topic)
    )
    assert received == sorted(sent)

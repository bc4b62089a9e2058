"""spark-submit reads from and writes to the real broker through the Maven-fetched connector jars,
in local mode and on the standalone cluster (whose executors get the jars from the driver)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from ticket_etl.kafka_io import consume_all, create_topic
from ticket_etl.spark_submit import submission

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("where", ["local mode", "standalone cluster"])
def test_spark_submit_copies_a_topic(
    kafka_bootstrap: str, unique_topic: str, where: str, request: pytest.FixtureRequest
) -> None:
    master = request.getfixturevalue("spark_cluster").url if where == "standalone cluster" else "local[2]"
    target = f"test_copy_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, target, partitions=1)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i in range(20):
        producer.produce(unique_topic, key=f"k{i}", value=f"réseau {i}", headers=[("h", b"v")])
    assert producer.flush(30) == 0

    job = Path(__file__).with_name("spark_copy_job.py")
    command = submission([kafka_bootstrap, unique_topic, target], application=job).command(master)
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]

    copied = sorted(
        (m.key().decode(), m.value().decode(), m.headers()) for m in consume_all(kafka_bootstrap, target)
    )
    assert copied == sorted((f"k{i}", f"RÉSEAU {i}", [("h", b"v")]) for i in range(20))

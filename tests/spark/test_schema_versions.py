"""Issue 24, items 3 to 5, through spark-submit against the real broker and the real schema
registry: one hour holding version 1 and version 2 tickets is processed together (``tags`` kept,
null for version 1), each record checked against the version its ``schema_id`` header names; an
id the registry does not hold and a ticket that breaks its version are quarantined with their
reason and version; and the registry stopped once the run has read the versions does not stop
the run."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from confluent_kafka.admin import AdminClient
from job_runs import held_at, zone_args
from timeline import hour

from ticket_demo.generator import generate_batch
from ticket_demo.producer import build_producer, produce_records
from ticket_devstack import registry_service
from ticket_etl import artifacts, schema_registry
from ticket_etl.interval import to_epoch_ms
from ticket_etl.job_contract import ExitCode
from ticket_etl.kafka_io import consume_all, create_topic
from ticket_etl.topics import ensure_topics
from ticket_etl.topology import TEAM_TOPICS, topic_specs

pytestmark = pytest.mark.integration

# Yesterday, as every integration test: a fixed date more than the broker's default retention (7
# days) ago had its records deleted by the retention check (every 5 minutes) before the job read them.
HOUR = hour(2)
V1, V2 = 60, 40  # tickets of each version in the hour


def _raw(bootstrap: str, topic: str, ticket: dict, schema_id: str) -> None:
    """One record as another producer might write it: its own ``schema_id`` header."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    value = json.dumps(ticket, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = to_epoch_ms(datetime.fromisoformat(ticket["created_at"]))
    producer.produce(
        topic,
        value,
        ticket["ticket_id"].encode(),
        headers=[("schema_id", schema_id.encode())],
        timestamp=timestamp,
    )
    assert producer.flush(30) == 0


@pytest.fixture(scope="module")
def mixed_hour(kafka_bootstrap: str, tmp_path_factory) -> dict:
    """A source topic whose hour holds V1 version 1 tickets, V2 version 2 tickets (with tags), a
    record naming a schema id the registry does not hold and a version 1 record with tags."""
    source = f"tickets_versions_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, source, partitions=3)
    create_topic(kafka_bootstrap, f"{source}_dlq", partitions=1)
    team_topics = tuple(spec for spec in topic_specs() if spec.name in TEAM_TOPICS)
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), team_topics)
    first = generate_batch(HOUR.start, HOUR.end, V1, seed=31)
    second = generate_batch(HOUR.start, HOUR.end, V2, seed=32, schema_version=2)
    producer = build_producer(kafka_bootstrap)
    produce_records(producer, source, first.records())
    produce_records(producer, source, second.records(), schema_version=2)
    unknown = {**second.dicts()[0], "ticket_id": "TCK-unknown-id"}
    tagged_v1 = {**first.dicts()[0], "ticket_id": "TCK-v1-with-tags", "tags": ["vip"]}
    _raw(kafka_bootstrap, source, unknown, "99999")
    _raw(kafka_bootstrap, source, tagged_v1, str(schema_registry.schema_id(1)))
    return {
        "bootstrap": kafka_bootstrap,
        "source": source,
        "output": str(tmp_path_factory.mktemp("versions")),
        "v1": first.dicts(),
        "v2": second.dicts(),
    }


@pytest.fixture(scope="module")
def run(mixed_hour: dict, tmp_path_factory) -> dict:
    """The job run against a second registry instance (same database), stopped while the run
    holds just after it read the versions."""
    folder = tmp_path_factory.mktemp("held")
    port = 28381 + int(os.environ.get("TEST_KAFKA_PORT", "0")) % 100
    url = f"http://127.0.0.1:{port}"
    root = folder / "registry"
    previous = os.environ.get("SCHEMA_REGISTRY_URL")
    os.environ["SCHEMA_REGISTRY_URL"] = url  # the service module reads its port there
    try:
        registry_service.start(root)
        args = zone_args(mixed_hour, HOUR, "versions-1", schema_registry=url)
        stopped: list[bool] = []
        exit_code, report = held_at(
            args, "schemas_read", folder, lambda: stopped.append(registry_service.stop(root))
        )
    finally:
        registry_service.stop(root)
        os.environ["SCHEMA_REGISTRY_URL"] = previous or ""
    assert stopped == [True]
    assert exit_code == ExitCode.OK and report is not None, report and report.error
    summary = json.loads(Path(artifacts.summary_path(mixed_hour["output"], HOUR)).read_text())
    return {"report": report, "summary": summary, "url": url}


def _dataset(zone: dict, name: str) -> pd.DataFrame:
    return pd.read_parquet(artifacts.partition_path(zone["output"], name, HOUR))


def test_both_versions_are_enriched_with_their_tags(mixed_hour: dict, run: dict) -> None:
    enriched = _dataset(mixed_hour, "tickets_enriched").set_index("ticket_id")
    assert run["summary"]["totals"]["enriched"] == V1 + V2 == len(enriched)
    assert run["summary"]["tickets_by_schema_version"] == {"1": V1, "2": V2}
    for ticket in mixed_hour["v2"]:
        assert list(enriched.loc[ticket["ticket_id"], "tags"]) == ticket["tags"]
        assert enriched.loc[ticket["ticket_id"], "schema_version"] == 2
    assert enriched.loc[[t["ticket_id"] for t in mixed_hour["v1"]], "tags"].isna().all()


def test_a_record_is_quarantined_with_its_reason_and_version(mixed_hour: dict, run: dict) -> None:
    rejected = _dataset(mixed_hour, "rejected_tickets")
    found = {
        row.key.decode(): (
            row.reject_reason,
            None if pd.isna(row.checked_schema_version) else row.checked_schema_version,
        )
        for row in rejected.itertuples()
    }
    assert found == {
        "TCK-unknown-id": ("unknown_schema_id:99999", None),
        "TCK-v1-with-tags": ("unknown_field:tags", 1),
    }
    dead = {
        m.key(): dict(m.headers())
        for m in consume_all(mixed_hour["bootstrap"], f"{mixed_hour['source']}_dlq")
    }
    assert dead[b"TCK-v1-with-tags"]["dlq_schema_version"] == b"1"
    assert dead[b"TCK-unknown-id"]["dlq_reason"] == b"unknown_schema_id:99999"


def test_the_summary_records_the_versions_read_once(mixed_hour: dict, run: dict) -> None:
    """The run read the registry once, before the registry was stopped, and says what it read."""
    schemas = run["summary"]["schemas"]
    assert schemas["registry"] == run["url"] and schemas["subject"] == "client_tickets-value"
    assert schemas["compatibility"] == "BACKWARD"
    assert [(v["version"], v["id"]) for v in schemas["versions"]] == [
        (version, schema_registry.schema_id(version)) for version in (1, 2)
    ]

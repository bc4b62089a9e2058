"""A hand-made batch of one hour with every trap the job must handle: malformed records, duplicates,
out-of-order timestamps, records one millisecond outside the hour on both sides; and what the job
must find in it. Shared by the job's tests in local mode and on the Spark cluster."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from timeline import RECENT_DAY

from ticket_etl.interval import Interval
from ticket_etl.kafka_io import create_topic
from ticket_etl.topics import ensure_topics
from ticket_etl.topology import TEAM_TOPICS, topic_specs

START = RECENT_DAY + timedelta(hours=10)
END = START + timedelta(hours=1)
INTERVAL = Interval(START, END)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def created_at(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def ticket(n: int, ticket_type: str, priority: str, at: datetime, **extra) -> dict:
    return {
        "ticket_id": f"TCK-job-{n}",
        "client_id": f"CLI-{n % 3}",
        "created_at": created_at(at),
        "channel": "email",
        "language": "fr" if n % 2 else "en",
        "subject": "Panne réseau" if ticket_type == "incident" else "Question facture",
        "description": "Le réseau de l'agence est en panne depuis ce matin."
        if n % 2
        else "Where can I download my invoice export?",
        "type": ticket_type,
        "priority": priority,
        "schema_version": 1,
        **extra,
    }


def batch() -> list[tuple[bytes, bytes, int, int]]:
    """(key, value, timestamp ms, partition) in production order, and the expected outcome."""
    types = ["incident", "question", "feature_request", "billing"]
    priorities = ["low", "medium", "high", "critical"]
    valid = [
        ticket(i, types[i % 4], priorities[(i // 4) % 4], START + timedelta(minutes=5 * i)) for i in range(12)
    ]
    valid[0]["created_at"] = created_at(START)  # first millisecond: inside
    valid[11]["created_at"] = created_at(END - timedelta(milliseconds=1))  # last millisecond: inside
    records = []
    for i, document in enumerate(valid):
        at = datetime.fromisoformat(document["created_at"].replace("Z", "+00:00"))
        records.append(
            (document["ticket_id"].encode(), json.dumps(document, ensure_ascii=False).encode(), ms(at), i % 3)
        )
    # just outside the interval, on both sides
    before = ticket(100, "incident", "high", START - timedelta(milliseconds=1))
    after = ticket(101, "incident", "high", END)
    records += [
        (b"TCK-job-100", json.dumps(before).encode(), ms(START) - 1, 0),
        (b"TCK-job-101", json.dumps(after).encode(), ms(END), 0),
    ]
    # out of order: a later record first, then one of the interval behind it, same partition
    late = ticket(102, "question", "low", END + timedelta(minutes=5))
    records.append((b"TCK-job-102", json.dumps(late).encode(), ms(END) + 300_000, 1))
    ooo = ticket(12, "incident", "critical", START + timedelta(minutes=30))
    records.append((b"TCK-job-12", json.dumps(ooo, ensure_ascii=False).encode(), ms(START) + 1_800_000, 1))
    # duplicates: the same ticket twice more (on other partitions)
    records.append((records[3][0], records[3][1], records[3][2] + 10, 2))
    records.append((records[3][0], records[3][1], records[3][2] + 20, 0))
    # malformed
    inside = ms(START) + 60_000
    missing = ticket(200, "incident", "low", START)
    del missing["client_id"]
    records += [
        (b"bad-1", b"{not json", inside, 0),
        (b"bad-2", b"\xc3\x28 invalid utf-8", inside, 1),
        (b"bad-3", json.dumps(missing).encode(), inside, 2),
        (b"bad-4", json.dumps(ticket(201, "incident", 5, START)).encode(), inside, 0),
        (b"bad-5", json.dumps(ticket(202, "complaint", "low", START)).encode(), inside, 1),
        (
            b"bad-6",
            json.dumps(ticket(203, "question", "low", START, description="x" * 6000)).encode(),
            inside,
            2,
        ),
    ]
    return records


EXPECTED = {
    "read": 13 + 2 + 6,
    "enriched": 13,
    "duplicates": 2,
    "rejected": 6,
    "updates": 0,
    "earlier_tickets_updated": 0,
}


def fill_source(bootstrap: str, source: str) -> None:
    """Create ``source`` (three partitions) and the team topics, and produce :func:`batch` into it,
    each record with the producer's ``schema_version`` header."""
    create_topic(bootstrap, source, partitions=3)
    ensure_topics(
        AdminClient({"bootstrap.servers": bootstrap}),
        tuple(spec for spec in topic_specs() if spec.name in TEAM_TOPICS),
    )
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value, timestamp, partition in batch():
        producer.produce(
            source,
            key=key,
            value=value,
            timestamp=timestamp,
            partition=partition,
            headers=[("schema_version", b"1")],
        )
    assert producer.flush(30) == 0

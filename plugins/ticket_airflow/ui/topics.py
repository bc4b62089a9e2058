"""Read-only views of the pipeline's Kafka topics: offsets and retention, the latest records, and
where one ticket went.

Every read is bounded: at most :data:`MAX_RECORDS` records per page, at most
:data:`LOOKUP_SCAN_LIMIT` records per partition for a lookup, and a deadline for the whole read.
The consumer is only *assigned* partitions at explicit offsets: it never joins a consumer group
and never commits an offset. Nothing here produces.

A ticket's partition is computed, not searched: the source topic is written by librdkafka
(confluent-kafka), whose default partitioner (``consistent_random``) takes the CRC-32 of the key;
the team topics are written by Spark's Java client, whose default partitioner takes the
murmur2 hash of the key. The dead-letter topic is scanned in every partition.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ticket_airflow.ui.filters import RecordQuery, Seek
from ticket_etl import topology
from ticket_etl.interval import to_epoch_ms

if TYPE_CHECKING:
    from confluent_kafka import Message
    from confluent_kafka.admin import AdminClient

MAX_RECORDS = 500
DEFAULT_RECORDS = 50
READ_TIMEOUT_S = 10.0
LOOKUP_SCAN_LIMIT = 200_000
# Records read per partition by a filtered view, unless it says how many (``scan``, at most
# LOOKUP_SCAN_LIMIT); a view without a filter reads only the records it shows.
FILTER_SCAN = 20_000
MAX_GROUPS = 200  # consumer groups whose committed offsets are read, by group id
VALUE_SHOWN_BYTES = 64 * 1024
CONSUME_BATCH = 5_000
CONSUME_WAIT_S = 0.2  # one consume() call waits at most this long for a full batch
# Topic settings shown in the overview (retention and compaction).
SHOWN_CONFIG = (
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "min.compaction.lag.ms",
    "compression.type",
)
SOURCE, TEAM, DEAD_LETTER, ALERTS = "source", "team", "dead-letter", "alerts"


class TopicError(RuntimeError):
    """Kafka could not answer (broker down, unknown topic, ...); the message says what failed."""


@dataclass(frozen=True)
class ProjectTopic:
    """One of the pipeline's topics and its role: ``source``, ``team`` (with the team),
    ``dead-letter`` or ``alerts``."""

    name: str
    role: str
    team: str | None = None


def project_topics() -> list[ProjectTopic]:
    """The topics of :func:`ticket_etl.topology.topic_specs`, in that order, with their role."""
    teams = {topic: team for team, topic in topology.TEAMS.items()}
    topics = []
    for spec in topology.topic_specs():
        if spec.name in teams:
            topics.append(ProjectTopic(spec.name, TEAM, teams[spec.name]))
        elif spec.name == topology.DEAD_LETTER_TOPIC:
            topics.append(ProjectTopic(spec.name, DEAD_LETTER))
        elif spec.name == topology.ALERTS_TOPIC:
            topics.append(ProjectTopic(spec.name, ALERTS))
        else:
            topics.append(ProjectTopic(spec.name, SOURCE))
    return topics


def project_topic(name: str) -> ProjectTopic:
    """The project topic called ``name``; any other name is refused (:class:`LookupError`)."""
    for topic in project_topics():
        if topic.name == name:
            return topic
    raise LookupError(f"{name!r} is not one of the pipeline's topics")


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (``org.apache.kafka.common.utils.Utils.murmur2``), as an unsigned 32-bit value."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = data[whole:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    return h ^ (h >> 15)


def java_partition(key: bytes, partitions: int) -> int:
    """Partition of a keyed record written by Kafka's Java producer (its default partitioner)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def librdkafka_partition(key: bytes, partitions: int) -> int:
    """Partition of a keyed record written by librdkafka with its default ``consistent_random``
    partitioner (CRC-32 of the key)."""
    return zlib.crc32(key) % partitions


def key_partitions(topic: ProjectTopic, key: bytes, partitions: int) -> list[int]:
    """The partitions that can hold the ticket ``key`` in ``topic`` (every partition of the
    dead-letter topic; none of the alerts topic, keyed by hour and term)."""
    if topic.role == ALERTS:
        return []
    if topic.role == SOURCE:
        return [librdkafka_partition(key, partitions)]
    if topic.role == TEAM:
        return [java_partition(key, partitions)]
    return list(range(partitions))


@dataclass(frozen=True)
class PartitionOffsets:
    """A partition's earliest and latest offsets (``latest``: the offset the next record gets)."""

    partition: int
    earliest: int
    latest: int

    @property
    def span(self) -> int:
        """Offsets between earliest and latest: the record count, or an upper bound of it in a
        compacted topic."""
        return max(0, self.latest - self.earliest)


@dataclass(frozen=True)
class TopicOverview:
    """A topic's partitions, offsets and retention settings (``exists`` False: not created yet)."""

    topic: ProjectTopic
    exists: bool
    partitions: list[PartitionOffsets] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)
    config_defaults: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(p.span for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.topic.name,
            "role": self.topic.role,
            "team": self.topic.team,
            "exists": self.exists,
            "records": self.records,
            "partitions": [{**p.__dict__, "records": p.span} for p in self.partitions],
            "config": self.config,
            "config_defaults": self.config_defaults,
        }


@dataclass(frozen=True)
class Record:
    """One Kafka record, decoded for reading. ``value``: pretty-printed JSON when the value is JSON,
    else its text (undecodable bytes escaped); ``facts``: what the headers say for its topic's role
    (rule and run of a team record; reason and source position of a dead-letter record)."""

    topic: str
    partition: int
    offset: int
    timestamp: str | None
    timestamp_type: str
    key: str | None
    headers: list[tuple[str, str]]
    value: str | None
    value_is_json: bool
    value_bytes: int
    facts: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "headers": [list(pair) for pair in self.headers]}


# What the record's headers mean, by topic role: (fact, header).
FACT_HEADERS: dict[str, tuple[tuple[str, str], ...]] = {
    TEAM: (
        ("rule", "routing_rule_id"),
        ("run_id", "run_id"),
        ("interval_start", "interval_start"),
        ("rules_version", "rules_version"),
    ),
    DEAD_LETTER: (
        ("reason", "dlq_reason"),
        ("source_topic", "source_topic"),
        ("source_partition", "source_partition"),
        ("source_offset", "source_offset"),
        ("run_id", "run_id"),
    ),
    SOURCE: (),
    ALERTS: (("run_id", "run_id"), ("interval_start", "interval_start")),
}
_TIMESTAMP_TYPES = {0: "none", 1: "create time", 2: "log append time"}


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    return data.decode("utf-8", errors="backslashreplace")


def _millis_text(millis: int) -> str:
    """``2026-11-30T13:06:42.456Z`` (a Kafka timestamp, in milliseconds since the epoch)."""
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decode_value(data: bytes | None) -> tuple[str | None, bool]:
    """A value for reading: indented JSON when it parses, else its text; cut at
    :data:`VALUE_SHOWN_BYTES`."""
    if data is None:
        return None, False
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False), True
    except ValueError:
        text = _text(data[:VALUE_SHOWN_BYTES]) or ""
        cut = len(data) > VALUE_SHOWN_BYTES
        return text + (f"\n… ({len(data)} bytes, cut)" if cut else ""), False


def decode_record(message: Message, role: str) -> Record:
    """A consumed message as a :class:`Record` of a topic with ``role``."""
    kind, millis = message.timestamp()
    headers = [(name, _text(value) or "") for name, value in message.headers() or []]
    by_name = dict(headers)
    value, is_json = decode_value(message.value())
    return Record(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        timestamp=_millis_text(millis) if kind else None,
        timestamp_type=_TIMESTAMP_TYPES.get(kind, str(kind)),
        key=_text(message.key()),
        headers=headers,
        value=value,
        value_is_json=is_json,
        value_bytes=len(message.value() or b""),
        facts={fact: by_name[h] for fact, h in FACT_HEADERS.get(role, ()) if h in by_name},
    )


@dataclass(frozen=True)
class PartitionScan:
    """What a bounded read covered in one partition: offsets ``[first, end)`` requested, how many
    records were read, whether it finished in time (reached ``end``, or stopped early with
    ``enough`` matches: a view reading forward needs no more than it shows), and whether ``first``
    was the partition's earliest offset (nothing older exists)."""

    topic: str
    partition: int
    first: int
    end: int
    read: int
    finished: bool
    from_earliest: bool
    enough: bool = False


@dataclass(frozen=True)
class ScanResult:
    """Records found by a bounded read, and what it covered."""

    records: list[Record]
    scans: list[PartitionScan]

    @property
    def complete(self) -> bool:
        """Every scan reached the end of its range before the deadline."""
        return all(scan.finished for scan in self.scans)

    def scan_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "records": [record.as_dict() for record in self.records],
            "scans": [scan.__dict__ for scan in self.scans],
        }


@dataclass(frozen=True)
class RecordPage(ScanResult):
    """Records of a topic (or of one partition) that pass a query's filters, and what was scanned:
    the newest first, or the oldest first when the query reads forward (``seek`` or ``from``).
    ``matched``: the records of the scanned ranges that pass the filters (more than are shown
    when they exceed the limit)."""

    topic: ProjectTopic = field(kw_only=True)
    partitions: int = field(kw_only=True)
    matched: int = field(kw_only=True, default=0)
    query: RecordQuery = field(kw_only=True, default_factory=RecordQuery)

    @property
    def forward(self) -> bool:
        return reads_forward(self.query)

    @property
    def scanned(self) -> int:
        return sum(scan.read for scan in self.scans)

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic.name,
            "role": self.topic.role,
            "partitions": self.partitions,
            "query": self.query.as_dict(),
            "order": "oldest first" if self.forward else "newest first",
            "scanned": self.scanned,
            "matched": self.matched,
            "shown": len(self.records),
            **self.scan_dict(),
        }


def reads_forward(query: RecordQuery) -> bool:
    """A view reads forward (oldest first) from ``seek``, or from ``from`` without one; otherwise it
    shows the latest records."""
    return query.seek is not None or query.start is not None


@dataclass(frozen=True)
class GroupPartition:
    """A consumer group's position in one partition: ``committed`` None when it committed no offset
    there; ``lag`` = ``latest`` (the end offset) - ``committed``, never below 0."""

    topic: str
    partition: int
    committed: int | None
    latest: int

    @property
    def lag(self) -> int | None:
        return None if self.committed is None else max(0, self.latest - self.committed)


@dataclass(frozen=True)
class GroupMember:
    """A member of a consumer group, as the group coordinator describes it."""

    member_id: str
    client_id: str
    host: str
    assigned: list[str]  # "topic[partition]"


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group that committed offsets on a project topic: its state, members and, per
    partition of the topics it committed on, committed and end offsets and lag."""

    group_id: str
    state: str
    members: list[GroupMember]
    partitions: list[GroupPartition]

    def on(self, topic: str) -> ConsumerGroup:
        """The group's partitions of ``topic`` only."""
        shown = [p for p in self.partitions if p.topic == topic]
        return ConsumerGroup(self.group_id, self.state, self.members, shown)

    @property
    def lag(self) -> int:
        """Total lag: the sum over the partitions where the group committed an offset."""
        return sum(p.lag for p in self.partitions if p.lag is not None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "state": self.state,
            "members": [
                {"member_id": m.member_id, "client_id": m.client_id, "host": m.host, "assigned": m.assigned}
                for m in self.members
            ],
            "partitions": [{**p.__dict__, "lag": p.lag} for p in self.partitions],
            "lag": self.lag,
            "uncommitted_partitions": sum(p.committed is None for p in self.partitions),
        }


@dataclass(frozen=True)
class Lookup(ScanResult):
    """Every record of one ticket id found in the project's topics, and what was scanned."""

    ticket_id: str = field(kw_only=True)

    def where(self) -> dict[str, list[dict[str, str]]]:
        """Where the ticket went: arrivals (source), routings (team topics: rule, run) and rejections
        (dead-letter: reason, source position)."""
        roles = {t.name: t.role for t in project_topics()}
        outcome: dict[str, list[dict[str, str]]] = {"arrived": [], "routed": [], "rejected": []}
        for record in self.records:
            role = roles.get(record.topic)
            position = {
                "topic": record.topic,
                "partition": str(record.partition),
                "offset": str(record.offset),
            }
            if role == SOURCE:
                outcome["arrived"].append({**position, "timestamp": record.timestamp or ""})
            elif role == TEAM:
                outcome["routed"].append({**position, **record.facts})
            elif role == DEAD_LETTER:
                outcome["rejected"].append({**position, **record.facts})
        return outcome

    def as_dict(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "where": self.where(), **self.scan_dict()}


READER_SETTINGS: dict[str, Any] = {
    # librdkafka wants a group id even for assigned partitions; with assign() it never joins the
    # group, and with auto commit and offset store off it never commits.
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "enable.partition.eof": True,
    "auto.offset.reset": "earliest",
    "client.id": "ticket-insights-ui",
    "fetch.wait.max.ms": 100,
    "log_level": 3,
}


class TopicReader:
    """Bounded reads of the project's topics with one Kafka client configuration (``client_config``:
    at least ``bootstrap.servers``, e.g. the ``kafka_default`` connection's extra)."""

    def __init__(self, client_config: Mapping[str, Any], timeout_s: float = READ_TIMEOUT_S) -> None:
        if not client_config.get("bootstrap.servers"):
            raise TopicError("the Kafka client configuration has no bootstrap.servers")
        self.client_config = dict(client_config)
        self.timeout_s = timeout_s

    def _admin(self) -> AdminClient:
        from confluent_kafka.admin import AdminClient

        return AdminClient({**self.client_config, "log_level": 3})

    def _partition_counts(self, admin: AdminClient) -> dict[str, int]:
        from confluent_kafka import KafkaException

        try:
            metadata = admin.list_topics(timeout=self.timeout_s)
        except KafkaException as error:
            raise TopicError(
                f"Kafka at {self.client_config['bootstrap.servers']} did not answer: {error}"
            ) from None
        return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}

    def _offsets(
        self, admin: AdminClient, partitions: dict[str, int], spec: Any
    ) -> dict[tuple[str, int], int]:
        from confluent_kafka import KafkaException, TopicPartition

        if not partitions:
            return {}
        wanted = {TopicPartition(name, p): spec for name, count in partitions.items() for p in range(count)}
        futures = admin.list_offsets(wanted, request_timeout=self.timeout_s)
        try:
            return {(tp.topic, tp.partition): future.result().offset for tp, future in futures.items()}
        except KafkaException as error:
            raise TopicError(f"listing offsets failed: {error}") from None

    def partition_offsets(
        self, admin: AdminClient, partitions: dict[str, int]
    ) -> dict[str, list[PartitionOffsets]]:
        """Earliest and latest offsets of every partition of ``partitions`` (topic -> count)."""
        from confluent_kafka.admin import OffsetSpec

        earliest = self._offsets(admin, partitions, OffsetSpec.earliest())
        latest = self._offsets(admin, partitions, OffsetSpec.latest())
        return {
            name: [PartitionOffsets(p, earliest[(name, p)], latest[(name, p)]) for p in range(count)]
            for name, count in partitions.items()
        }

    def _configs(self, admin: AdminClient, names: list[str]) -> dict[str, tuple[dict[str, str], list[str]]]:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import ConfigResource, ResourceType

        if not names:
            return {}
        futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in names])
        configs = {}
        for resource, future in futures.items():
            try:
                entries = future.result(timeout=self.timeout_s)
            except KafkaException as error:
                raise TopicError(f"describing {resource.name} failed: {error}") from None
            shown = {key: entries[key].value for key in SHOWN_CONFIG if key in entries}
            defaults = [key for key in SHOWN_CONFIG if key in entries and entries[key].is_default]
            configs[resource.name] = (shown, defaults)
        return configs

    def overview(self) -> list[TopicOverview]:
        """Every project topic: partitions with earliest and latest offsets, record counts and the
        retention settings."""
        admin = self._admin()
        counts = self._partition_counts(admin)
        topics = project_topics()
        present = {t.name: counts[t.name] for t in topics if t.name in counts}
        offsets = self.partition_offsets(admin, present)
        configs = self._configs(admin, list(present))
        return [
            TopicOverview(t, True, offsets[t.name], *configs[t.name])
            if t.name in present
            else TopicOverview(t, False)
            for t in topics
        ]

    def _consumer(self) -> Any:
        from confluent_kafka import Consumer

        group = f"ticket-insights-ui-{uuid.uuid4().hex[:12]}"
        return Consumer({**self.client_config, **READER_SETTINGS, "group.id": group})

    def scan(
        self,
        ranges: dict[tuple[str, int], tuple[int, int, bool]],
        keep: Callable[[Message], bool],
        deadline: float,
    ) -> tuple[list[Record], list[PartitionScan]]:
        """Read offsets ``[first, end)`` of partitions of project topics with one consumer
        (``ranges``: (topic, partition) -> (first, end, first is the earliest offset)) until
        ``deadline`` (a ``time.monotonic`` value); returns the records ``keep`` accepts and what was
        covered."""
        kept: list[Record] = []

        def visit(role: str, message: Message) -> bool:
            if keep(message):
                kept.append(decode_record(message, role))
            return True

        return kept, self._consume(ranges, visit, deadline)

    def _consume(
        self,
        ranges: dict[tuple[str, int], tuple[int, int, bool]],
        visit: Callable[[str, Message], bool],
        deadline: float,
    ) -> list[PartitionScan]:
        """Read ``ranges`` as :meth:`scan` says, calling ``visit(role of its topic, message)`` for
        each record in range; ``visit`` returns False when the record's partition gave enough
        (its read stops there)."""
        from confluent_kafka import KafkaError, TopicPartition

        roles = {topic.name: topic.role for topic in project_topics()}
        pending = {tp for tp, (first, end, _) in ranges.items() if first < end}
        read = dict.fromkeys(ranges, 0)
        enough: set[tuple[str, int]] = set()
        if pending:
            consumer = self._consumer()
            try:
                consumer.assign([TopicPartition(topic, p, ranges[(topic, p)][0]) for topic, p in pending])
                while pending and time.monotonic() < deadline:
                    timeout = max(0.0, min(CONSUME_WAIT_S, deadline - time.monotonic()))
                    for message in consumer.consume(CONSUME_BATCH, timeout):
                        where = (message.topic(), message.partition())
                        if where not in pending:
                            continue
                        error = message.error()
                        if error is not None:
                            if error.code() != KafkaError._PARTITION_EOF:
                                raise TopicError(f"reading {where[0]}[{where[1]}] failed: {error}")
                            pending.discard(where)
                            continue
                        end = ranges[where][1]
                        if message.offset() < end:
                            read[where] += 1
                            if not visit(roles[where[0]], message):
                                enough.add(where)
                                pending.discard(where)
                                consumer.pause([TopicPartition(*where)])
                                continue
                        if message.offset() + 1 >= end:
                            pending.discard(where)
            finally:
                consumer.close()
        return [
            PartitionScan(
                topic,
                p,
                first,
                end,
                read[(topic, p)],
                (topic, p) not in pending,
                from_earliest,
                (topic, p) in enough,
            )
            for (topic, p), (first, end, from_earliest) in sorted(ranges.items())
        ]

    def _existing(self, admin: AdminClient, topic: ProjectTopic) -> int:
        count = self._partition_counts(admin).get(topic.name)
        if count is None:
            raise TopicError(f"topic {topic.name} does not exist (yet): no run has created it")
        return count

    def latest(
        self,
        topic_name: str,
        limit: int = DEFAULT_RECORDS,
        partition: int | None = None,
        query: RecordQuery | None = None,
    ) -> RecordPage:
        """Up to ``limit`` records (1 to :data:`MAX_RECORDS`) of a project topic (or of
        ``partition``) that pass ``query``'s filters. Without ``seek`` or ``from``: the newest first,
        from the last ``scan`` records of each partition (without a filter, ``scan`` is ``limit``:
        the last ``limit`` of each partition, then the ``limit`` newest by timestamp). Reading
        forward: from the seek position (or the first record at or after ``from``), at most
        ``scan`` records per partition, each partition stopping once it has ``limit`` matches;
        the oldest first."""
        query = query or RecordQuery()
        if not 1 <= limit <= MAX_RECORDS:
            raise ValueError(f"limit={limit}: from 1 to {MAX_RECORDS} records")
        topic = project_topic(topic_name)
        admin = self._admin()
        count = self._existing(admin, topic)
        if partition is not None and not 0 <= partition < count:
            raise ValueError(f"partition={partition}: {topic.name} has partitions 0 to {count - 1}")
        offsets = self.partition_offsets(admin, {topic.name: count})[topic.name]
        chosen = [o for o in offsets if partition is None or o.partition == partition]
        ranges = self._view_ranges(admin, topic.name, count, chosen, limit, query)
        forward = reads_forward(query)
        kept: dict[tuple[str, int], Any] = {where: [] if forward else deque(maxlen=limit) for where in ranges}
        matched = 0

        def visit(_: str, message: Message) -> bool:
            nonlocal matched
            kind, millis = message.timestamp()
            if not query.matches(message.key(), message.headers(), message.value(), millis if kind else None):
                return True
            matched += 1
            found = kept[(message.topic(), message.partition())]
            found.append(message)
            return not forward or len(found) < limit

        scans = self._consume(ranges, visit, time.monotonic() + self.timeout_s)
        records = [decode_record(message, topic.role) for found in kept.values() for message in found]
        records.sort(key=lambda r: (r.timestamp or "", r.offset, r.partition), reverse=not forward)
        return RecordPage(records[:limit], scans, topic=topic, partitions=count, matched=matched, query=query)

    def _view_ranges(
        self,
        admin: AdminClient,
        name: str,
        count: int,
        chosen: list[PartitionOffsets],
        limit: int,
        query: RecordQuery,
    ) -> dict[tuple[str, int], tuple[int, int, bool]]:
        """The offsets :meth:`latest` reads in each chosen partition (see there)."""
        from confluent_kafka.admin import OffsetSpec

        size = query.scan or (FILTER_SCAN if query.filtered else limit)
        seek = query.seek or (Seek(time=query.start) if query.start else None)
        at_time: dict[tuple[str, int], int] = {}
        if seek is not None and seek.time is not None:
            at_time = self._offsets(admin, {name: count}, OffsetSpec.for_timestamp(to_epoch_ms(seek.time)))
        after: dict[tuple[str, int], int] = {}
        if query.start is not None and seek is not None and seek.time != query.start:
            after = self._offsets(admin, {name: count}, OffsetSpec.for_timestamp(query.start_ms))
        ranges = {}
        for o in chosen:
            where = (name, o.partition)
            if seek is None:
                first, end = max(o.earliest, o.latest - size), o.latest
            else:
                if seek.time is not None:
                    found = at_time[where]
                    first = o.latest if found < 0 else found
                else:
                    first = seek.offset or 0
                if where in after:  # no record before this offset is at or after `from`
                    first = max(first, o.latest if after[where] < 0 else after[where])
                first = min(max(first, o.earliest), o.latest)
                end = min(o.latest, first + size)
            ranges[where] = (first, end, first <= o.earliest)
        return ranges

    def consumer_groups(self, names: list[str]) -> list[ConsumerGroup]:
        """The consumer groups that committed offsets on topics ``names`` (at most
        :data:`MAX_GROUPS` groups are looked at, by group id), with their members and, for every
        partition of those topics they committed on, committed and end offsets and lag."""
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException

        admin = self._admin()
        counts = self._partition_counts(admin)
        present = {name: counts[name] for name in names if name in counts}
        try:
            listed = admin.list_consumer_groups(request_timeout=self.timeout_s).result()
            ids = sorted(group.group_id for group in listed.valid)[:MAX_GROUPS]
            futures = {
                group: admin.list_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout_s
                )[group]
                for group in ids
            }
            committed: dict[str, dict[tuple[str, int], int]] = {}
            for group, future in futures.items():
                offsets = {
                    (tp.topic, tp.partition): tp.offset
                    for tp in future.result().topic_partitions
                    if tp.topic in present and tp.error is None and tp.offset >= 0
                }
                if offsets:
                    committed[group] = offsets
            described = (
                admin.describe_consumer_groups(list(committed), request_timeout=self.timeout_s)
                if committed
                else {}
            )
            descriptions = {group: future.result() for group, future in described.items()}
        except KafkaException as error:
            raise TopicError(f"listing the consumer groups failed: {error}") from None
        latest = self.partition_offsets(admin, present)
        return [
            _group(group, descriptions[group], offsets, latest)
            for group, offsets in sorted(committed.items())
        ]

    def lookup(
        self, ticket_id: str, since: datetime | None = None, scan_limit: int = LOOKUP_SCAN_LIMIT
    ) -> Lookup:
        """Every record keyed ``ticket_id`` in the source, team and dead-letter topics: in the
        partitions the key maps to, the last ``scan_limit`` records of each (or, with ``since``, the
        records from the first one timestamped at or after ``since``, up to ``scan_limit``)."""
        from confluent_kafka.admin import OffsetSpec

        key = ticket_id.encode("utf-8")
        admin = self._admin()
        counts = self._partition_counts(admin)
        present = {t.name: counts[t.name] for t in project_topics() if t.name in counts}
        offsets = self.partition_offsets(admin, present)
        starts = self._offsets(admin, present, OffsetSpec.for_timestamp(to_epoch_ms(since))) if since else {}
        ranges = {}
        for topic in project_topics():
            if topic.name not in present:
                continue
            for o in (offsets[topic.name][p] for p in key_partitions(topic, key, present[topic.name])):
                first = max(o.earliest, o.latest - scan_limit)
                if since is not None:
                    found = starts[(topic.name, o.partition)]
                    first = o.latest if found < 0 else max(o.earliest, found)
                ranges[(topic.name, o.partition)] = (
                    first,
                    min(o.latest, first + scan_limit),
                    first <= o.earliest,
                )
        records, scans = self.scan(ranges, lambda m: m.key() == key, time.monotonic() + self.timeout_s)
        return Lookup(records, scans, ticket_id=ticket_id)


def _group(
    group_id: str,
    description: Any,
    committed: dict[tuple[str, int], int],
    latest: dict[str, list[PartitionOffsets]],
) -> ConsumerGroup:
    """A :class:`ConsumerGroup` from the admin client's description and committed offsets: every
    partition of each topic it committed on (``committed`` None where it did not)."""
    members = [
        GroupMember(
            member.member_id,
            member.client_id,
            member.host,
            [f"{tp.topic}[{tp.partition}]" for tp in (member.assignment.topic_partitions or [])],
        )
        for member in description.members
    ]
    topics = sorted({topic for topic, _ in committed})
    partitions = [
        GroupPartition(topic, o.partition, committed.get((topic, o.partition)), o.latest)
        for topic in topics
        for o in latest[topic]
    ]
    state = getattr(description.state, "name", str(description.state))
    return ConsumerGroup(group_id, state, members, partitions)

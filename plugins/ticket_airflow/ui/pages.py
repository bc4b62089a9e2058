"""What each page and JSON endpoint answers, as plain functions of their parameters (the FastAPI app
only adds security, HTTP status codes and templates)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ticket_airflow.ui import filters, insights, runs, schemas, topics
from ticket_etl import artifacts, config, schema_registry, storage
from ticket_etl.interval import Interval, as_utc, iso_utc, parse_utc

REJECTED_SAMPLE = 20


class NotFound(LookupError):
    """The thing asked for does not exist (HTTP 404)."""


class BadRequest(ValueError):
    """A parameter is wrong (HTTP 400); the message says which and what is accepted."""


def range_insights(
    start: str | None, end: str | None, preset: str | None, output: str | None = None
) -> dict[str, Any]:
    """The merged insights of a range of hours (:func:`insights.parse_range` decides the hours)."""
    try:
        hour_range = insights.parse_range(start, end, preset)
    except insights.RangeError as error:
        raise BadRequest(str(error)) from None
    hours, unreadable = insights.load_hours(output or config.stats_dir(), hour_range)
    return insights.range_insights(hours, hour_range, unreadable)


@dataclass(frozen=True)
class RunView:
    """A ``ticket_pipeline`` run, its hour and that hour's published summary merged as a one-hour
    range (``insights`` None when the hour has no published summary)."""

    hour: runs.RunHour
    insights: dict[str, Any] | None
    published_by: str | None

    @property
    def published_by_this_run(self) -> bool:
        return self.published_by == self.hour.run_id

    def as_dict(self) -> dict[str, Any]:
        interval = self.hour.interval
        return {
            "dag_id": runs.DAG_ID,
            "run_id": self.hour.run_id,
            "state": self.hour.state,
            "run_type": self.hour.run_type,
            "interval": interval.as_dict() if interval else None,
            "interval_source": self.hour.source,
            "problem": self.hour.problem,
            "published_by": self.published_by,
            "published_by_this_run": self.published_by_this_run,
            "insights": self.insights,
        }


def run_view(run_id: str, output: str | None = None) -> RunView:
    """The hour of ``ticket_pipeline`` run ``run_id`` and its published summary."""
    hour = runs.run_hour(run_id)
    if hour is None:
        raise NotFound(f"{runs.DAG_ID} has no run {run_id!r}")
    if hour.interval is None:
        return RunView(hour, None, None)
    return RunView(hour, *hour_insights(hour.interval, output or config.stats_dir()))


def hour_insights(interval: Interval, output: str) -> tuple[dict[str, Any] | None, str | None]:
    """One published hour merged as a range of one hour, and the run that published it."""
    summary = artifacts.read_summary(output, interval)
    if summary is None:
        return None, None
    hour = insights.Hour(interval, summary)
    merged = insights.range_insights([hour], insights.HourRange(interval.start, interval.end))
    merged["summary_other_fields"] = insights.other_fields(summary)
    merged["published"] = summary.get("published") if isinstance(summary.get("published"), Mapping) else {}
    merged["rejected_sample"] = rejected_sample(output, interval)
    return merged, merged["hours"][0]["run_id"]


def rejected_sample(output: str, interval: Interval, limit: int = REJECTED_SAMPLE) -> list[dict[str, Any]]:
    """The first ``limit`` rejected records of a published hour (reason, key, source position),
    from its ``rejected_tickets`` dataset; empty when the hour has none."""
    import pyarrow.dataset as ds

    folder = artifacts.partition_path(output, "rejected_tickets", interval)
    if not storage.exists(folder):
        return []
    columns = ["reject_reason", "key", "source_partition", "source_offset", "kafka_timestamp"]
    try:
        fs, path = storage.filesystem(folder)
        table = ds.dataset(path, filesystem=fs, format="parquet").head(limit, columns=columns)
    except (OSError, ValueError) as error:
        return [{"reject_reason": f"(could not read the dataset: {error})"}]
    rows = table.to_pylist()
    for row in rows:
        key = row.get("key")
        row["key"] = key.decode("utf-8", errors="backslashreplace") if isinstance(key, bytes) else key
        moment = row.get("kafka_timestamp")
        row["kafka_timestamp"] = iso_utc(as_utc(moment)) if isinstance(moment, datetime) else None
    return rows


def kafka_client_config() -> dict[str, Any]:
    """The Kafka client settings of the provider's default Kafka connection (its extra, as the
    provider reads it), looked up by the API server the way Airflow's server side does: the
    environment (``AIRFLOW_CONN_*``), then the secrets backends and the metadata database."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection
    from airflow.providers.apache.kafka.hooks.base import KafkaBaseHook

    conn_id = KafkaBaseHook.default_conn_name
    try:
        extra = Connection.get_connection_from_secrets(conn_id).extra_dejson
    except AirflowNotFoundException:
        raise topics.TopicError(f"the Airflow connection {conn_id} is not defined") from None
    if not extra.get("bootstrap.servers"):
        raise topics.TopicError(f"the Airflow connection {conn_id} has no bootstrap.servers in its extra")
    return dict(extra)


def reader() -> topics.TopicReader:
    """A :class:`topics.TopicReader` on the provider's default Kafka connection."""
    return topics.TopicReader(kafka_client_config())


def record_query(
    key: str | None = None,
    header: list[str] | None = None,
    field: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    seek: str | None = None,
    scan: int | None = None,
) -> filters.RecordQuery:
    """The records view's filters and read position from its query parameters (400 when wrong)."""
    try:
        return filters.parse_query(
            key, header or (), field or (), start, end, seek, scan, max_scan=topics.LOOKUP_SCAN_LIMIT
        )
    except filters.QueryError as error:
        raise BadRequest(str(error)) from None


def known_topic(topic: str) -> topics.ProjectTopic:
    """The project topic ``topic`` (404 for any other name)."""
    try:
        return topics.project_topic(topic)
    except LookupError as error:
        raise NotFound(str(error)) from None


def record_page(
    topic: str, limit: int | None, partition: int | None, query: filters.RecordQuery | None = None
) -> topics.RecordPage:
    """The records of a project topic (or of one partition) that pass ``query`` (default: the
    latest, unfiltered)."""
    known_topic(topic)
    try:
        return reader().latest(topic, topics.DEFAULT_RECORDS if limit is None else limit, partition, query)
    except ValueError as error:
        raise BadRequest(str(error)) from None


def record_view(page: topics.RecordPage) -> dict[str, Any]:
    """A :class:`topics.RecordPage` as a dict, each record with the schema version it names
    (``schema``) and what the page says of the registry (``registry``)."""
    view = page.as_dict()
    view["registry"] = schemas.annotate(view["records"])
    return view


def export_lines(page: topics.RecordPage) -> str:
    """The records of ``page`` as JSON Lines: one object per record (topic, partition, offset,
    timestamp, key, headers as ``[name, value]`` pairs, the value: its JSON, or its text when it is
    not JSON), in the page's order."""
    import json

    lines = []
    for record in page.records:
        value = (
            json.loads(record.value) if record.value_is_json and record.value is not None else record.value
        )
        entry = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "timestamp": record.timestamp,
            "key": record.key,
            "headers": [list(pair) for pair in record.headers],
            "value": value,
        }
        lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
    return "".join(lines)


def consumer_groups(topic: str) -> list[dict[str, Any]]:
    """The consumer groups that committed offsets on project topic ``topic``: members, committed
    and end offset and lag per partition of it, total lag."""
    known_topic(topic)
    return [group.on(topic).as_dict() for group in reader().consumer_groups([topic])]


def group_lags() -> dict[str, list[dict[str, Any]]]:
    """Per project topic, its consumer groups' ids and total lag (for the topics overview)."""
    names = [t.name for t in topics.project_topics()]
    groups = reader().consumer_groups(names)
    return {
        name: [{"group_id": g.group_id, "lag": g.on(name).lag} for g in groups if g.on(name).partitions]
        for name in names
    }


def registry_overview() -> dict[str, Any]:
    """The registry's subjects, versions and rules; when it does not answer, ``problem`` says so
    with its address (``subjects`` empty)."""
    try:
        return {**schemas.overview(), "problem": None}
    except schema_registry.RegistryError as error:
        url = config.schema_registry_url()
        return {"registry": url, "ticket_subject": None, "subjects": [], "problem": str(error)}


def lookup(ticket_id: str, since: str | None) -> topics.Lookup:
    """Where ``ticket_id`` went (``since``: an ISO time to start the scan from, e.g. its hour)."""
    ticket_id = ticket_id.strip()
    if not ticket_id or len(ticket_id) > 200:
        raise BadRequest("ticket_id: give a ticket id such as TCK-0123456789abcdef0123 (1 to 200 characters)")
    try:
        moment = parse_utc(since) if since else None
    except ValueError:
        raise BadRequest(f"since={since!r} is not an ISO-8601 time (e.g. 2026-11-26T08:00:00Z)") from None
    return reader().lookup(ticket_id, moment)


def rules_previews(output: str | None = None) -> list[dict[str, Any]]:
    """The rules previews' reports (the DAG ``ticket_rules_preview``, the CLI), newest first; a
    preview still running (no report yet) is not listed."""
    from ticket_etl.rules_preview import PREVIEWS

    root = storage.join(output or config.stats_dir(), PREVIEWS)
    found = [rules_preview(name, output) for name in storage.children(root)]
    return sorted(found, key=lambda report: report.get("previewed_at", ""), reverse=True)


def rules_preview(preview_id: str, output: str | None = None) -> dict[str, Any]:
    """One preview's report (``preview.json``)."""
    from ticket_etl.rules_preview import preview_path, read_report

    report = read_report(preview_path(output or config.stats_dir(), preview_id))
    if report is None:
        raise NotFound(f"no rules preview {preview_id!r} (or it has not finished)")
    return dict(report)

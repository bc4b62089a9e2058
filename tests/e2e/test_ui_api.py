"""The UI plugin's pages and JSON endpoints on the session's real Airflow API server (the plugin
loaded by Airflow's plugin manager), over hours processed by real runs of the pipeline."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
import pytest
from timeline import RECENT_DAY, UI_HOURS

from ticket_etl import artifacts
from ticket_etl.interval import iso_utc
from ticket_etl.job_contract import TOTALS
from ticket_etl.kafka_io import end_offsets
from ticket_etl.topology import DEAD_LETTER_TOPIC, TEAMS, topic_specs

# Each test's own time (func_only): the session's Airflow and the UI hours' runs, which the first
# test waits for, have their own deadlines (tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900, func_only=True)]

PREFIX = "/ticket-insights"
UI_RANGE = {"start": iso_utc(UI_HOURS[0].start), "end": iso_utc(UI_HOURS[-1].end)}
DAY = f"{RECENT_DAY:%Y-%m-%d}"


@pytest.fixture(scope="module")
def tokens(airflow_stack) -> dict[str, str]:
    return {user: airflow_stack.token(user) for user in ("admin", "viewer", "outsider")}


@pytest.fixture(scope="module")
def client(airflow_stack, tokens) -> httpx.Client:
    """Logged in as the viewer (read access to every DAG, nothing else)."""
    return httpx.Client(
        base_url=airflow_stack.base_url + PREFIX,
        headers={"Authorization": f"Bearer {tokens['viewer']}"},
        timeout=60,
    )


@pytest.fixture(scope="module")
def enriched(airflow_stack, ui_hours) -> pd.DataFrame:
    """The published enriched tickets of the UI hours."""
    return pd.concat(
        pd.read_parquet(artifacts.partition_path(airflow_stack.stats_dir, "tickets_enriched", h.interval))
        for h in ui_hours
    )


@pytest.fixture(scope="module")
def rejected(airflow_stack, ui_hours) -> pd.DataFrame:
    return pd.concat(
        pd.read_parquet(artifacts.partition_path(airflow_stack.stats_dir, "rejected_tickets", h.interval))
        for h in ui_hours
    )


def endpoints(run_id: str, ticket_id: str) -> list[str]:
    run = quote(run_id, safe="")
    return [
        "/",
        f"/?start={UI_RANGE['start']}&end={UI_RANGE['end']}",
        "/api/insights",
        f"/run?dag_id=ticket_pipeline&run_id={run}",
        f"/api/run?run_id={run}",
        "/topics",
        "/api/topics",
        "/topics/tickets_equipe_incident?limit=5",
        "/api/topics/tickets_equipe_incident?limit=5",
        f"/lookup?ticket_id={ticket_id}",
        f"/api/lookup?ticket_id={ticket_id}",
        "/topics/tickets_equipe_incident?limit=5&field=priority=critical&header=rules_version",
        "/api/topics/tickets_equipe_incident/export?limit=5&key=TCK",
        "/api/topics/tickets_equipe_incident/groups",
        "/api/topics/client_tickets_dlq/groups",
        "/schemas",
        "/api/schemas",
        "/previews",
        "/api/previews",
        "/static/plotly.min.js",
        "/static/ui.js",
        "/static/ui.css",
    ]


@pytest.fixture(scope="module")
def all_endpoints(ui_hours, enriched) -> list[str]:
    return endpoints(ui_hours[0].run_id, enriched["ticket_id"].iloc[0])


def test_every_endpoint_refuses_callers_without_access_and_answers_the_others(
    airflow_stack, tokens, all_endpoints
) -> None:
    base = airflow_stack.base_url + PREFIX
    for path in all_endpoints:
        anonymous = httpx.get(base + path, timeout=60)
        assert anonymous.status_code == 401, path
        assert anonymous.json() == {"detail": "Not authenticated"}, path  # never data
        garbage = httpx.get(base + path, headers={"Authorization": "Bearer not-a-jwt"}, timeout=60)
        assert garbage.status_code == 403, path
        outsider = httpx.get(
            base + path, headers={"Authorization": f"Bearer {tokens['outsider']}"}, timeout=60
        )
        assert outsider.status_code == 403, path
        assert outsider.json() == {"detail": "Forbidden"}, path
        viewer = httpx.get(base + path, headers={"Authorization": f"Bearer {tokens['viewer']}"}, timeout=60)
        assert viewer.status_code == 200, (path, viewer.text[:500])
        # The browser's way: the UI's `_token` cookie (sent by the same-origin iframe).
        cookie = httpx.get(base + path, cookies={"_token": tokens["admin"]}, timeout=60)
        assert cookie.status_code == 200, path


def test_a_browser_without_a_session_gets_a_login_link_not_data(airflow_stack) -> None:
    response = httpx.get(airflow_stack.base_url + PREFIX + "/", headers={"Accept": "text/html"}, timeout=60)
    assert response.status_code == 401
    assert "/auth/login?next=" in response.text and "Tickets read" not in response.text


def test_the_openapi_schema_and_docs_are_not_served(client) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 404


def test_the_plugin_is_listed_with_its_views(airflow_stack) -> None:
    plugins = airflow_stack.api.request("GET", "/plugins")["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "ticket_insights"]
    views = {view["url_route"]: view for view in plugin["external_views"]}
    assert views["ticket-insights"]["nav_top_level"] is True
    assert views["ticket-insights-run"]["destination"] == "dag_run"
    assert plugin["fastapi_apps"][0]["url_prefix"] == PREFIX


def summaries(stack, hours) -> list[dict]:
    return [artifacts.read_summary(stack.stats_dir, h.interval) for h in hours]


def test_range_insights_add_up_the_hours_summaries(airflow_stack, ui_hours, client) -> None:
    body = client.get("/api/insights", params=UI_RANGE).json()
    hours = summaries(airflow_stack, ui_hours)
    assert body["hours_published"] == 2
    for name in TOTALS:
        assert body["totals"][name] == sum(s["totals"][name] for s in hours), name
    assert body["totals"]["rejected"] > 0  # 5 % malformed records
    assert [row["run_id"] for row in body["hours"]] == [h.run_id for h in ui_hours]
    for team, figures in body["by_team"].items():
        assert figures["tickets"] == sum(s["by_team"].get(team, {}).get("tickets", 0) for s in hours)
    reasons = {}
    for s in hours:
        for reason, count in s["rejected_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    assert body["rejected_by_reason"] == reasons
    words = {w["word"]: w for w in body["keywords"]["all"]["words"]}
    for word, merged in words.items():
        listed = [
            next((e["tickets"] for e in s["keywords_by_scope"]["all"]["words"] if e["word"] == word), None)
            for s in hours
        ]
        assert merged["tickets_min"] == sum(n for n in listed if n is not None)
        assert merged["exact"] == (None not in listed)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": f"{DAY}T10:00Z", "end": f"{DAY}T08:00Z"}, "is not after start"),
        ({"start": "2020-10-01T00:00Z", "end": f"{DAY}T08:00Z"}, "at most 720 hours (30 days)"),
        ({"start": f"{DAY}T25:00", "end": f"{DAY}T08:00Z"}, "is not an ISO-8601 time"),
        ({"start": f"{DAY}T08:00Z"}, "give both start and end"),
        ({"preset": "1y"}, "preset='1y' is unknown"),
    ],
)
def test_a_bad_range_is_a_400_with_a_clear_message(client, params, message) -> None:
    response = client.get("/api/insights", params=params)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    page = client.get("/", params=params)
    assert page.status_code == 400 and message in page.text.replace("&#39;", "'")


def figures_of(page: str) -> dict:
    return json.loads(
        re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)[1]
    )


def test_an_empty_range_gives_empty_charts_not_an_error(client) -> None:
    params = {"start": "2020-01-01T00:00Z", "end": "2020-01-02T00:00Z"}
    body = client.get("/api/insights", params=params).json()
    assert body["hours_published"] == 0 and body["totals"]["read"] == 0 and body["hours"] == []
    page = client.get("/", params=params)
    assert page.status_code == 200 and "No published hour in this range" in page.text
    figures = figures_of(page.text)
    assert {"chart-tickets-by-team", "chart-priority-mix", "chart-rejects", "chart-sla"} <= figures.keys()
    for figure in figures.values():
        assert all(not any(trace.get("y") or trace.get("values") or []) for trace in figure["data"])


def test_the_run_tab_shows_the_runs_hour(airflow_stack, ui_hours, client) -> None:
    hour = ui_hours[1]
    body = client.get("/api/run", params={"run_id": hour.run_id}).json()
    assert body["interval"] == hour.interval.as_dict()
    assert body["interval_source"] == "resolve_interval" and body["published_by_this_run"] is True
    summary = summaries(airflow_stack, [hour])[0]
    assert body["insights"]["rejected_by_reason"] == summary["rejected_by_reason"]
    assert body["insights"]["by_rule"] == summary["by_rule"]
    page = client.get("/run", params={"dag_id": "ticket_pipeline", "run_id": hour.run_id}).text
    assert summary["rules_version"] in page and f"Hour {DAY} 20:00 to 21:00 UTC" in page


def test_the_run_tab_of_another_dag_or_an_unknown_run_answers_sensibly(client) -> None:
    other = client.get("/run", params={"dag_id": "some_other_dag", "run_id": "manual__x"})
    assert other.status_code == 200 and "is another" in other.text
    assert client.get("/api/run", params={"run_id": "no-such-run"}).status_code == 404
    assert client.get("/run", params={"run_id": "no-such-run"}).status_code == 404


def test_topics_overview_lists_the_projects_topics_with_offsets_and_retention(client, ui_hours) -> None:
    body = client.get("/api/topics").json()
    by_name = {t["name"]: t for t in body["topics"]}
    assert list(by_name) == [spec.name for spec in topic_specs()]
    for spec in topic_specs():
        topic = by_name[spec.name]
        assert topic["exists"] and len(topic["partitions"]) == spec.partitions
        assert topic["records"] == sum(p["latest"] - p["earliest"] for p in topic["partitions"])
        assert topic["config"]["retention.ms"] == spec.config["retention.ms"]
    assert all(by_name[topic]["records"] > 0 for topic in TEAMS.values())
    assert by_name[DEAD_LETTER_TOPIC]["records"] > 0


def test_latest_records_are_bounded_and_decoded(client) -> None:
    body = client.get("/api/topics/tickets_equipe_incident", params={"limit": 7}).json()
    assert 0 < len(body["records"]) <= 7 and body["complete"]
    record = body["records"][0]
    value = json.loads(record["value"])
    assert value["ticket_id"] == record["key"] and value["support_team"] == "incident"
    assert record["facts"]["rule"] == value["routing_rule_id"]
    timestamps = [r["timestamp"] for r in body["records"]]
    assert timestamps == sorted(timestamps, reverse=True)
    one = client.get("/api/topics/tickets_equipe_incident", params={"limit": 3, "partition": 1}).json()
    assert {r["partition"] for r in one["records"]} <= {1}
    dlq = client.get(f"/api/topics/{DEAD_LETTER_TOPIC}", params={"limit": 5}).json()
    assert all({"reason", "source_partition", "source_offset"} <= r["facts"].keys() for r in dlq["records"])


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/topics/tickets_equipe_incident?limit=501", 400, "from 1 to 500 records"),
        ("/api/topics/tickets_equipe_incident?limit=0", 400, "from 1 to 500 records"),
        ("/api/topics/tickets_equipe_incident?partition=9", 400, "has partitions 0 to 2"),
        ("/api/topics/some_other_topic", 404, "is not one of the pipeline's topics"),
        ("/api/lookup?ticket_id=TCK-1&since=soon", 400, "is not an ISO-8601 time"),
        ("/api/topics/tickets_equipe_incident?seek=soon", 400, "give earliest, an offset"),
        ("/api/topics/tickets_equipe_incident?field=priority", 400, "give path=value"),
        ("/api/topics/tickets_equipe_incident?scan=0", 400, "from 1 to 200000 records per partition"),
        ("/api/topics/tickets_equipe_incident/export?from=2026-01-02&to=2026-01-01", 400, "is not after"),
        ("/api/topics/some_other_topic/groups", 404, "is not one of the pipeline's topics"),
        ("/topics/tickets_equipe_incident?field=priority", 400, "give path=value"),
    ],
)
def test_bad_topic_requests_say_why(client, path, status, message) -> None:
    response = client.get(path)
    assert response.status_code == status
    detail = response.json()["detail"] if path.startswith("/api/") else response.text
    assert message in detail


def test_lookup_finds_where_a_ticket_went_and_by_which_rule(client, enriched) -> None:
    ticket = enriched.iloc[len(enriched) // 2]
    body = client.get("/api/lookup", params={"ticket_id": ticket["ticket_id"]}).json()
    assert body["complete"]
    (arrived,) = body["where"]["arrived"]
    assert arrived["topic"] == "client_tickets"
    assert {(r["topic"], r["rule"]) for r in body["where"]["routed"]} == {
        (TEAMS[ticket["support_team"]], ticket["routing_rule_id"])
    }
    assert body["where"]["rejected"] == []


def test_lookup_of_a_rejected_record_shows_its_reason_and_source_position(client, rejected) -> None:
    keyed = rejected[rejected["key"].map(lambda key: key is not None and key.isascii() and len(key) > 0)]
    row = keyed.iloc[0]
    body = client.get("/api/lookup", params={"ticket_id": row["key"].decode()}).json()
    rejections = body["where"]["rejected"]
    assert {
        "reason": row["reject_reason"],
        "source_partition": str(row["source_partition"]),
        "source_offset": str(row["source_offset"]),
    }.items() <= rejections[0].items()


def _active_runs(api) -> int:
    return api.request("GET", "/dags/ticket_pipeline/dagRuns", params={"state": ["queued", "running"]})[
        "total_entries"
    ]


@contextmanager
def quiet_pipeline(api, deadline_s: float = 900) -> Iterator[None]:
    """The DAG paused with no run of it active (the scheduler starts a run every hour).

    The DAG is paused only once no run is active: the scheduler examines no run of a paused DAG
    (queued or running), so a run caught by the pause would stay active for ever."""
    deadline = time.monotonic() + deadline_s
    while True:
        while _active_runs(api):
            assert time.monotonic() < deadline, "a run of ticket_pipeline is still active"
            time.sleep(3)
        api.request("PATCH", "/dags/ticket_pipeline", json={"is_paused": True})
        if not _active_runs(api):
            break
        api.request("PATCH", "/dags/ticket_pipeline", json={"is_paused": False})  # a run began meanwhile
    try:
        yield
    finally:
        api.request("PATCH", "/dags/ticket_pipeline", json={"is_paused": False})


def test_reading_writes_nothing_and_commits_no_consumer_offset(
    airflow_stack, client, enriched, kafka_bootstrap
) -> None:
    """Browsing leaves every topic's end offsets and the artifacts as they were, and leaves no
    consumer group behind (offsets are never committed)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})

    def ends() -> dict:
        return end_offsets(kafka_bootstrap, [spec.name for spec in topic_specs()])

    def files(root: Path) -> dict:
        return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if "_staging" not in p.parts}

    reads = (
        "/api/topics",
        "/api/topics/client_tickets?limit=500",
        f"/api/lookup?ticket_id={enriched['ticket_id'].iloc[0]}",
        "/api/insights",
        "/topics/client_tickets_dlq",
    )
    with quiet_pipeline(airflow_stack.api):
        before, artifacts_before = ends(), files(airflow_stack.stats_dir)
        for path in reads:
            assert client.get(path).status_code == 200
        assert ends() == before
        assert files(airflow_stack.stats_dir) == artifacts_before
    groups = admin.list_consumer_groups().result().valid
    assert not [g.group_id for g in groups if g.group_id.startswith("ticket-insights-ui")]


def test_keys_are_in_the_partitions_the_lookup_computes(kafka_bootstrap, ui_hours) -> None:
    """The source topic's keys follow librdkafka's CRC-32 partitioner and the team topics' keys
    Kafka's Java murmur2 partitioner (every record the runs wrote)."""
    from ticket_airflow.ui import topics
    from ticket_etl.kafka_io import consume_all

    checked = 0
    for topic in topics.project_topics():
        if topic.role in (topics.DEAD_LETTER, topics.ALERTS):  # keyed by position, or by hour and term
            continue
        for message in consume_all(kafka_bootstrap, topic.name):
            if message.key() is not None:
                assert topics.key_partitions(topic, message.key(), 3) == [message.partition()], topic.name
                checked += 1
    assert checked > 1000


# Console features (#24 item 6): consumer groups and lag, filters, seek, export, schema versions.
CONSOLE_TOPIC = TEAMS["incident"]
WHOLE = {"limit": 500, "scan": 200_000}  # the UI hours' records fit: every record is scanned


def _records(kafka_bootstrap: str, topic: str) -> list[dict]:
    """Every record of ``topic``, read with a plain consumer (the tests' oracle)."""
    from ticket_etl.kafka_io import consume_all

    return [
        {
            "partition": m.partition(),
            "offset": m.offset(),
            "timestamp_ms": m.timestamp()[1],
            "key": m.key().decode() if m.key() is not None else None,
            "headers": {name: (value or b"").decode() for name, value in m.headers() or []},
            "value": json.loads(m.value()) if m.value() else None,
        }
        for m in consume_all(kafka_bootstrap, topic)
    ]


def _positions(records) -> set[tuple[int, int]]:
    return {(r["partition"], r["offset"]) for r in records}


def _rarest(values) -> str:
    """The value held by the fewest records (a filter on it matches few, whatever the topic holds)."""
    counts = Counter(value for value in values if value is not None)
    return min(counts, key=lambda value: (counts[value], value))


def test_a_consumer_groups_lag_is_exact_per_partition_and_in_total(
    airflow_stack, client, kafka_bootstrap, ui_hours
) -> None:
    """A team consumer reads exactly half of a team topic and commits: the API and the page show its
    member, its committed offsets, and lag = end offset - committed offset per partition and in
    total (the unread half)."""
    from confluent_kafka import Consumer, TopicPartition

    group = "console-test-incident-reader"
    with quiet_pipeline(airflow_stack.api):
        records = _records(kafka_bootstrap, CONSOLE_TOPIC)
        ends = end_offsets(kafka_bootstrap, [CONSOLE_TOPIC])
        assert sum(ends.values()) == len(records)  # nothing compacted yet: offsets are records
        half = len(records) // 2
        consumer = Consumer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "group.id": group,
                "client.id": "console-test-client",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "log_level": 3,
            }
        )
        try:
            consumer.subscribe([CONSOLE_TOPIC])
            read, positions = 0, {}
            deadline = time.monotonic() + 60
            while read < half:
                assert time.monotonic() < deadline, f"read {read} of {half}"
                for message in consumer.consume(min(500, half - read), 1.0):
                    if message.error() is None:
                        positions[message.partition()] = message.offset() + 1
                        read += 1
            committed = {p: positions.get(p, 0) for (_, p) in ends}
            consumer.commit(
                offsets=[TopicPartition(CONSOLE_TOPIC, p, o) for p, o in committed.items()],
                asynchronous=False,
            )
            body = client.get(f"/api/topics/{CONSOLE_TOPIC}/groups").json()
            page = client.get(f"/topics/{CONSOLE_TOPIC}", params={"limit": 1}).text
            overview = client.get("/topics").text
        finally:
            consumer.close()
    (shown,) = [g for g in body["groups"] if g["group_id"] == group]
    assert [m["client_id"] for m in shown["members"]] == ["console-test-client"]
    expected = [
        {
            "topic": CONSOLE_TOPIC,
            "partition": p,
            "committed": committed[p],
            "latest": end,
            "lag": end - committed[p],
        }
        for (_, p), end in sorted(ends.items())
    ]
    assert shown["partitions"] == expected
    assert shown["lag"] == len(records) - half == sum(e["lag"] for e in expected)
    assert f'data-group="{group}"' in page and 'data-member="console-test-client"' in page
    total = re.search(rf'data-group="{group}">.*?data-total-lag>([^<]+)<', page, re.S)[1]
    assert int(re.sub(r"\D", "", total)) == shown["lag"]
    assert f"<code>{group}</code>" in overview


def test_filters_return_exactly_the_matching_records(
    airflow_stack, client, kafka_bootstrap, ui_hours
) -> None:
    """Each filter against an oracle computed from the whole topic read by a plain consumer."""
    with quiet_pipeline(airflow_stack.api):
        records = _records(kafka_bootstrap, CONSOLE_TOPIC)
        keyed = sorted(r["key"] for r in records if r["key"])
        # Every case matches at most a few hundred records, whatever the other tests of the session
        # sent to the topic before: the view shows at most 500.
        times = sorted(r["timestamp_ms"] for r in records)
        start_ms, end_ms = times[max(0, len(times) - 300)], times[max(1, len(times) - 100)]
        client_id = _rarest(r["value"].get("client_id") for r in records if r["value"])
        run = _rarest(r["headers"].get("run_id") for r in records if r["value"])
        priority = next(
            r["value"]["priority"] for r in records if r["value"] and r["value"]["client_id"] == client_id
        )
        cases = {
            "field": (
                {"field": f"client_id={client_id}"},
                lambda r: (r["value"] or {}).get("client_id") == client_id,
            ),
            "two fields": (
                {"field": [f"priority={priority}", f"client_id={client_id}"]},
                lambda r: (
                    (r["value"] or {}).get("priority") == priority
                    and (r["value"] or {}).get("client_id") == client_id
                ),
            ),
            "header": (
                {"header": f"run_id={run}"},
                lambda r: r["headers"].get("run_id") == run,
            ),
            "key": ({"key": keyed[0][4:9]}, lambda r: r["key"] is not None and keyed[0][4:9] in r["key"]),
            "time range": (
                {"from": _iso_ms(start_ms), "to": _iso_ms(end_ms)},
                lambda r: start_ms <= r["timestamp_ms"] < end_ms,
            ),
        }
        answers = {
            name: client.get(f"/api/topics/{CONSOLE_TOPIC}", params={**WHOLE, **params}).json()
            for name, (params, _) in cases.items()
        }
        export = client.get(f"/api/topics/{CONSOLE_TOPIC}/export", params={**WHOLE, **cases["field"][0]})
        page = client.get(f"/topics/{CONSOLE_TOPIC}", params={**WHOLE, **cases["field"][0]}).text
    for name, (_, keep) in cases.items():
        expected = _positions(r for r in records if keep(r))
        body = answers[name]
        assert 0 < len(expected) <= 500, name
        assert _positions(body["records"]) == expected, name
        assert body["matched"] == body["shown"] == len(expected) and body["complete"], name
        assert body["scanned"] >= len(expected), name
    assert answers["field"]["scanned"] == len(records)  # the whole topic: from the latest offsets back
    assert answers["time range"]["order"] == "oldest first"  # `from` reads forward from its offsets
    # The export: what the view shows, one JSON object per record, as a download.
    assert export.headers["content-disposition"].startswith(f'attachment; filename="{CONSOLE_TOPIC}-')
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [(line["partition"], line["offset"]) for line in lines] == [
        (r["partition"], r["offset"]) for r in answers["field"]["records"]
    ]
    by_position = {(r["partition"], r["offset"]): r for r in records}
    for line in lines:
        record = by_position[(line["partition"], line["offset"])]
        assert line["value"] == record["value"] and line["key"] == record["key"]
        assert dict(line["headers"]) == record["headers"] and line["timestamp"] == _iso_ms(
            record["timestamp_ms"]
        )
    assert export.headers["x-records-matched"] == str(len(lines)) == str(answers["field"]["matched"])
    matched = answers["field"]["matched"]
    assert f'data-scanned="{len(records)}"' in page and f'data-matched="{matched}"' in page


def _iso_ms(millis: int) -> str:
    from datetime import UTC, datetime

    return (
        datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def test_seek_to_an_offset_or_a_time(airflow_stack, client, kafka_bootstrap, ui_hours) -> None:
    with quiet_pipeline(airflow_stack.api):
        records = _records(kafka_bootstrap, CONSOLE_TOPIC)
        at_offset = client.get(
            f"/api/topics/{CONSOLE_TOPIC}", params={"seek": 5, "partition": 1, "limit": 3}
        ).json()
        times = sorted(r["timestamp_ms"] for r in records)
        moment = times[max(0, len(times) - 150)]  # about 150 records after it: within the view's 500
        at_time = client.get(f"/api/topics/{CONSOLE_TOPIC}", params={**WHOLE, "seek": _iso_ms(moment)}).json()
        everywhere = client.get(f"/api/topics/{CONSOLE_TOPIC}", params={"seek": 2, "limit": 1}).json()
    assert [(r["partition"], r["offset"]) for r in at_offset["records"]] == [(1, 5), (1, 6), (1, 7)]
    assert at_offset["scanned"] == 3 and at_offset["order"] == "oldest first"
    assert {(r["partition"], r["offset"]) for r in everywhere["records"]} <= {(p, 2) for p in range(3)}
    assert {s["first"] for s in everywhere["scans"]} == {2}
    # Kafka's offsets_for_times: per partition, from the first record timestamped at or after it.
    firsts = {}
    for r in records:
        if r["timestamp_ms"] >= moment:
            firsts[r["partition"]] = min(firsts.get(r["partition"], r["offset"]), r["offset"])
    expected = {
        (r["partition"], r["offset"]) for r in records if r["offset"] >= firsts.get(r["partition"], 1e18)
    }
    assert _positions(at_time["records"]) == expected and at_time["matched"] == len(expected)


def test_records_name_their_schema_version_and_the_schemas_page_lists_the_registry(
    airflow_stack, client, ui_hours
) -> None:
    """Ids as the real registry gives them (the DAG's register_schema registered the contract;
    registering again is idempotent)."""
    from ticket_etl import config, schema_registry

    registered = schema_registry.register_contract()
    body = client.get("/api/schemas").json()
    assert body["registry"] == config.schema_registry_url() and body["problem"] is None
    (subject,) = [s for s in body["subjects"] if s["subject"] == registered.subject]
    assert subject["compatibility"] == registered.compatibility == "BACKWARD"
    assert {v["version"]: v["id"] for v in subject["versions"]} == registered.ids
    assert all(len(v["sha256_short"]) == 12 for v in subject["versions"])
    page = client.get("/schemas").text
    assert f'data-subject="{registered.subject}"' in page and "BACKWARD" in page
    ids = {schema_id: version for version, schema_id in registered.ids.items()}
    seen = 0
    for topic in ("client_tickets", CONSOLE_TOPIC):
        for record in client.get(f"/api/topics/{topic}", params={"limit": 50}).json()["records"]:
            headers = dict(record["headers"])
            label = record["schema"]
            if "schema_id" in headers:
                version = ids.get(int(headers["schema_id"]))
                assert label["known"] is (version is not None), label
                assert label["text"].startswith(
                    f"schema v{version} (id {headers['schema_id']})" if version else "schema id"
                )
            elif "schema_version" in headers:
                assert label["text"] == f"schema v{headers['schema_version']} (no schema id)"
            else:
                assert label is None
            seen += 1
    assert seen > 0

"""The UI in a real browser: Debian's Chromium (never a downloaded build) driven by Playwright,
against the session's Airflow. Logs in through Airflow's login form, backfills two hours through
Trigger -> Backfill, opens Ticket insights and checks the charts' numbers against the hours'
summaries, opens a run's tab, browses the topics (a team consumer's lag, a filtered export, the
schemas) and looks a ticket up. Saves screenshots in
.platform/screenshots (`make screenshots` copies them to docs/img)."""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from timeline import RECENT_DAY

from ticket_etl import artifacts
from ticket_etl.config import PLATFORM_DIR
from ticket_etl.interval import Interval
from ticket_etl.topology import TEAMS

# Each test's own time (func_only): the session's Airflow and the UI hours' runs, which the first
# test waits for, have their own deadlines (tests/conftest.py); so has the backfill below.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800, func_only=True)]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = PLATFORM_DIR / "screenshots"
# Trigger -> Backfill from 22:00 to 23:00: the runs at 22:00 and 23:00, hours 21:00-22:00 and 22:00-23:00
# (the UI hours are 19:00 and 20:00: tests/e2e/conftest.py).
DAY = RECENT_DAY.strftime("%Y/%m/%d")
BACKFILL_FROM, BACKFILL_TO = (DAY, "22:00"), (DAY, "23:00")
BACKFILL_HOURS = [Interval.hour_starting(RECENT_DAY + timedelta(hours=h)) for h in (21, 22)]
RANGE = (f"{RECENT_DAY:%Y-%m-%d} 19:00", f"{RECENT_DAY:%Y-%m-%d} 23:00")
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} missing: `make test` installs Debian's chromium (apt-get)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, airflow_stack, ui_hours) -> Iterator:
    """A page logged in through Airflow's own login form, as a person does (one per test)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{airflow_stack.base_url}/auth/login?next=/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", airflow_stack.password("admin"))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    try:
        yield page
    finally:
        context.close()


def plugin_frame(page, path_part: str):
    """The plugin's iframe once it shows ``path_part`` and its charts are drawn
    (``body[data-charts-ready=true]``)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        frame = next((f for f in page.frames if f is not page.main_frame and path_part in f.url), None)
        if frame is not None:
            frame.wait_for_selector("body[data-charts-ready=true]")
            return frame
        page.wait_for_timeout(200)  # not time.sleep: Playwright only sees new frames while it runs
    raise AssertionError(f"no iframe showing {path_part}: {[f.url for f in page.frames]}")


def summaries_between(stats: Path, start: datetime, end: datetime) -> list[dict]:
    intervals = [i for i in artifacts.published_intervals(stats) if start <= i.start and i.end <= end]
    return [artifacts.read_summary(stats, i) for i in intervals]


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def test_backfill_two_hours_through_the_trigger_dialog(page, airflow_stack) -> None:
    """Trigger -> Backfill in Airflow's UI for two hours; both runs succeed and publish their hour."""
    page.goto(f"{airflow_stack.base_url}/dags/ticket_pipeline")
    page.get_by_role("button", name="Trigger").first.click()
    # The date pickers are popovers with role=dialog too, and one may still be mounted while it
    # closes: name the trigger dialog by its own parts, not by its role.
    dialog = page.locator("[data-scope=dialog][data-part=content]")
    dialog.get_by_text("Backfill", exact=True).click()
    for index, (day, clock) in enumerate((BACKFILL_FROM, BACKFILL_TO)):
        dialog.get_by_test_id("datetime-input").nth(index).click()
        picker = page.locator("[data-scope=popover][data-part=content][data-state=open]")
        picker.get_by_placeholder("YYYY/MM/DD").fill(day)
        picker.get_by_placeholder("HH:mm").fill(clock)
        page.keyboard.press("Escape")
    dialog.get_by_text("2 runs will be triggered").wait_for()
    dialog.get_by_role("button", name="Run Backfill").click()
    dialog.wait_for(state="hidden")
    page.goto("about:blank")  # the DAG page polls and redraws: no need while the runs run
    expected = {h.start.isoformat()[:19] for h in BACKFILL_HOURS}
    deadline = time.monotonic() + 1200
    while time.monotonic() < deadline:
        runs = airflow_stack.api.request(
            "GET", "/dags/ticket_pipeline/dagRuns", params={"run_type": "backfill", "limit": 100}
        )
        ours = {
            r["data_interval_start"][:19]: r
            for r in runs["dag_runs"]
            if r["run_type"] == "backfill" and r["data_interval_start"][:19] in expected
        }
        if len(ours) == 2 and all(r["state"] in ("success", "failed") for r in ours.values()):
            break
        time.sleep(5)
    else:
        raise AssertionError("the backfill's two runs did not finish")
    assert [r["state"] for r in ours.values()] == ["success", "success"], ours
    for hour in BACKFILL_HOURS:
        summary = artifacts.read_summary(airflow_stack.stats_dir, hour)
        assert summary is not None and summary["reconciliation"]["holds"], hour
        assert summary["run"]["run_id"] == ours[hour.start.isoformat()[:19]]["dag_run_id"]


def test_insights_page_draws_charts_that_match_the_hours_summaries(page, airflow_stack) -> None:
    page.goto(f"{airflow_stack.base_url}/")
    page.get_by_role("link", name="Ticket insights").first.click()
    frame = plugin_frame(page, "/ticket-insights/")
    frame.fill("input[name=start]", RANGE[0])
    frame.fill("input[name=end]", RANGE[1])
    frame.get_by_role("button", name="Show").click()
    frame = plugin_frame(page, "start=")
    assert (
        "/plugin/ticket-insights/ticket-insights/?start=" in page.url
    )  # Airflow's address follows: a link to it
    start, end = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in RANGE)
    hours = summaries_between(airflow_stack.stats_dir, start, end)
    assert len(hours) == 4  # two triggered through the API, two backfilled through the UI

    assert digits(frame.locator("[data-kpi=read]").inner_text()) == sum(s["totals"]["read"] for s in hours)
    assert digits(frame.locator("[data-kpi=rejected]").inner_text()) == sum(
        s["totals"]["rejected"] for s in hours
    )
    assert digits(frame.locator("[data-kpi=hours_published]").inner_text()) == 4

    def traces(chart: str) -> list[dict]:
        frame.wait_for_selector(f"#{chart} .main-svg")
        return frame.evaluate(
            f"document.getElementById('{chart}').data.map(t => ({{name: t.name, x: t.x, y: t.y, labels: t.labels, values: t.values}}))"
        )

    starts = [s["interval"]["start"] for s in hours]
    by_team = {t["name"]: t for t in traces("chart-tickets-by-team")}
    assert set(by_team) == set(TEAMS)
    for team, trace in by_team.items():
        assert trace["x"] == starts
        assert trace["y"] == [s["by_team"].get(team, {}).get("tickets", 0) for s in hours], team
    assert frame.locator("#chart-tickets-by-team .bars path").count() > 0  # bars are drawn

    rejects = {t["name"]: t["y"] for t in traces("chart-rejects")}
    assert rejects == {
        "rejected": [s["totals"]["rejected"] for s in hours],
        "duplicates": [s["totals"]["duplicates"] for s in hours],
    }
    (mix,) = traces("chart-priority-mix")
    priorities = Counter()
    for s in hours:
        for figures in s["by_type"].values():
            priorities.update(figures["by_priority"])
    assert dict(zip(mix["labels"], mix["values"], strict=True)) == {p: priorities[p] for p in mix["labels"]}

    (keywords,) = traces("chart-keywords-all")
    counts = Counter()
    for s in hours:
        counts.update({e["word"]: e["tickets"] for e in s["keywords_by_scope"]["all"]["words"]})
    assert keywords["x"] == [counts[word] for word in keywords["y"]]  # lower bounds: the listed counts
    assert keywords["x"] == sorted(keywords["x"])  # drawn bottom-up: the most frequent at the top

    rows = frame.locator("#hours-table tbody tr")
    assert rows.count() == 4
    assert sorted(
        frame.locator("#hours-table tbody tr td:nth-child(2) a:first-child").all_inner_texts()
    ) == sorted(s["run"]["run_id"] for s in hours)
    page.set_viewport_size({"width": 1440, "height": 2400})
    frame.wait_for_timeout(1500)  # charts follow the new size
    page.screenshot(path=SCREENSHOTS / "insights-charts.png")
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_whats_new_shows_the_planted_wave_and_links_to_a_ticket(page, airflow_stack, wave_hours) -> None:
    """The range ends with the hour of the planted incident wave: What's new leads the page with its
    surging terms, marks the alerts, and an example ticket opens in the lookup."""
    wave = wave_hours.wave
    summary = artifacts.read_summary(airflow_stack.stats_dir, wave.interval)
    start = wave_hours.ordinary[0].interval.start
    page.goto(f"{airflow_stack.base_url}/plugin/ticket-insights")
    frame = plugin_frame(page, "/ticket-insights/")
    frame.fill("input[name=start]", f"{start:%Y-%m-%d %H:%M}")
    frame.fill("input[name=end]", f"{wave.interval.end:%Y-%m-%d %H:%M}")
    frame.get_by_role("button", name="Show").click()
    frame = plugin_frame(page, "start=")
    panel = frame.locator("#whats-new")
    assert panel.evaluate(
        "node => node.compareDocumentPosition(document.querySelector('[data-kpi=read]')) & 4"
    )
    leader = summary["surging_terms"][0]
    row = panel.locator(
        f"#surging-table tr.surging-term[data-term='{leader['term']}'][data-kind='{leader['kind']}']"
    )
    assert digits(row.locator("td.observed").inner_text()) == leader["tickets"]
    assert row.locator(".badge.raised").count() == 1  # an alert
    assert frame.locator("#alerts-table tr.alert-row").count() >= len(summary["alerts"])
    page.set_viewport_size({"width": 1440, "height": 2400})
    frame.wait_for_timeout(1500)  # charts follow the new size
    page.screenshot(path=SCREENSHOTS / "insights.png")
    page.set_viewport_size({"width": 1440, "height": 1000})
    example = leader["examples"][0]
    row.locator(f"a.example-ticket[data-ticket-id='{example}']").click()
    frame = plugin_frame(page, "ticket_id=")
    assert frame.locator("[data-where=routed]").count() >= 1
    assert example in frame.locator("body").inner_text()


def test_run_tab_shows_the_runs_hour(page, airflow_stack, ui_hours) -> None:
    hour = ui_hours[0]
    summary = artifacts.read_summary(airflow_stack.stats_dir, hour.interval)
    page.goto(f"{airflow_stack.base_url}/dags/ticket_pipeline/runs/{quote(hour.run_id, safe='')}")
    # The run's own tab (the navigation bar has a "Ticket insights" link too), once the run page
    # has rendered its tabs.
    page.locator("a[href$='/plugin/ticket-insights-run']").click()
    frame = plugin_frame(page, "/ticket-insights/run")
    start = hour.interval.start
    assert frame.locator("h1").inner_text() == f"Hour {start:%Y-%m-%d %H:%M} to {hour.interval.end:%H:%M} UTC"
    assert frame.locator("#rules-version").inner_text() == summary["rules_version"]
    reasons = {
        row.locator("td").nth(0).inner_text(): digits(row.locator("td").nth(1).inner_text())
        for row in frame.locator("#reasons-table tbody tr").all()
    }
    assert reasons == summary["rejected_by_reason"] and reasons
    rules = {
        row.locator("td").nth(0).inner_text(): digits(row.locator("td").nth(1).inner_text())
        for row in frame.locator("#rules-table tbody tr").all()
    }
    assert rules == summary["by_rule"]
    for chart in (
        "chart-team",
        "chart-priority-mix",
        "chart-type-priority",
        "chart-reject-reasons",
        "chart-sla",
    ):
        frame.wait_for_selector(f"#{chart} .main-svg")
    page.set_viewport_size({"width": 1440, "height": 2000})
    frame.wait_for_timeout(1500)
    page.screenshot(path=SCREENSHOTS / "run-tab.png")
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_topic_browser_and_ticket_lookup(page, airflow_stack, ui_hours) -> None:
    enriched = pd.read_parquet(
        artifacts.partition_path(airflow_stack.stats_dir, "tickets_enriched", ui_hours[1].interval)
    )
    ticket = enriched.sort_values("ticket_id").iloc[0]
    page.goto(f"{airflow_stack.base_url}/plugin/ticket-topics")  # Browse -> Ticket topics
    frame = plugin_frame(page, "/ticket-insights/topics")
    for topic in TEAMS.values():
        assert digits(frame.locator(f"tr[data-topic={topic}] td[data-records]").inner_text()) > 0
    page.screenshot(path=SCREENSHOTS / "topics.png")

    frame.get_by_role("link", name=TEAMS["incident"]).click()
    frame = plugin_frame(page, "/ticket-insights/topics/")
    assert frame.locator("#records-table tbody tr").count() > 0

    frame.get_by_role("link", name="Find a ticket").click()
    frame = plugin_frame(page, "/ticket-insights/lookup")
    frame.fill("input[name=ticket_id]", ticket["ticket_id"])
    frame.get_by_role("button", name="Find").click()
    frame = plugin_frame(page, "ticket_id=")
    routed = frame.locator("[data-where=routed]")
    assert routed.count() >= 1
    assert (
        f"Routed to {TEAMS[ticket['support_team']]} by rule {ticket['routing_rule_id']}"
        in routed.first.inner_text()
    )
    assert frame.locator("[data-where=arrived]").count() == 1
    page.screenshot(path=SCREENSHOTS / "lookup.png")


def commit_half(kafka_bootstrap: str, topic: str, group: str) -> dict[int, int]:
    """A team consumer that committed, in every partition of ``topic``, the offset halfway between
    its earliest and end offsets (explicit offsets, as a consumer stopping there would)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group, "log_level": 3})
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        committed = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
            committed[p] = low + (high - low) // 2
        consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in committed.items()], asynchronous=False
        )
    finally:
        consumer.close()
    return committed


def test_topic_console_shows_a_team_consumers_lag_and_exports_filtered_records(
    page, airflow_stack, ui_hours, kafka_bootstrap
) -> None:
    """A team consumer's lag on the topic's page (per partition and in total, against the end
    offsets the page shows), a filtered view exported as JSON Lines, and the Schemas page."""
    import json

    topic, group = TEAMS["incident"], "console-browser-incident-reader"
    committed = commit_half(kafka_bootstrap, topic, group)
    page.goto(f"{airflow_stack.base_url}/plugin/ticket-topics")
    frame = plugin_frame(page, "/ticket-insights/topics")
    assert frame.locator(f"tr[data-topic={topic}] [data-group='{group}']").count() == 1
    frame.get_by_role("link", name=topic, exact=True).click()
    frame = plugin_frame(page, f"/ticket-insights/topics/{topic}")
    shown = frame.locator(f"#consumer-groups [data-group='{group}']")
    lags = []
    for p, offset in committed.items():
        row = shown.locator(f"tr[data-partition='{p}']")
        assert digits(row.locator("[data-committed]").inner_text() or "0") == offset
        lag = digits(row.locator("[data-lag]").inner_text() or "0")
        assert lag == digits(row.locator("[data-end]").inner_text()) - offset
        lags.append(lag)
    assert digits(shown.locator("[data-total-lag]").inner_text()) == sum(lags) > 0
    shown.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "topics-lag.png")

    frame.fill("input[name=field]", "priority=critical")
    frame.fill("input[name=limit]", "20")
    frame.get_by_role("button", name="Show").click()
    frame = plugin_frame(page, "field=priority")
    rows = frame.locator("#records-table tbody tr[data-offset]")
    matched = int(frame.locator("[data-matched]").get_attribute("data-matched"))
    assert 0 < rows.count() == min(20, matched)
    assert frame.locator(".fact.schema").count() == rows.count()  # each record names its schema version
    with page.expect_download() as download:
        frame.locator("#export").click()
    lines = Path(download.value.path()).read_text().splitlines()
    exported = [json.loads(line) for line in lines]
    assert [(e["partition"], e["offset"]) for e in exported] == [
        (int(r.get_attribute("data-partition")), int(r.get_attribute("data-offset"))) for r in rows.all()
    ]
    assert all(e["value"]["priority"] == "critical" for e in exported)

    frame.get_by_role("link", name="Schemas").click()
    frame = plugin_frame(page, "/ticket-insights/schemas")
    subject = frame.locator("[data-subject='client_tickets-value']")
    assert subject.locator("[data-compatibility]").inner_text() == "BACKWARD"
    assert subject.locator("tr[data-version]").count() >= 1
    page.screenshot(path=SCREENSHOTS / "schemas.png")


def test_rules_previews_page_leads_with_the_moves(page, airflow_stack, rules_preview) -> None:
    """Browse -> Rules previews: the preview the DAG made, its moves, an example opens the lookup."""
    page.goto(f"{airflow_stack.base_url}/plugin/ticket-rules-previews")
    frame = plugin_frame(page, "/ticket-insights/previews")
    moved = digits(frame.locator("[data-kpi=moved]").inner_text())
    assert moved > 0
    row = frame.locator("#moves-table tr[data-move='support_general -> produit']")
    assert digits(row.locator("td.num").inner_text()) == moved
    assert frame.locator("[data-kpi=never_matching]").inner_text() == "1"
    page.screenshot(path=SCREENSHOTS / "rules-preview.png")
    example = row.locator("a[data-example]").first
    ticket = example.inner_text()
    example.click()
    frame = plugin_frame(page, "ticket_id=")
    assert (
        frame.locator("[data-where=routed]").count() >= 1 and ticket in frame.locator("h2").first.inner_text()
    )

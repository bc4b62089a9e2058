"""Issue 23, item 1, as an operator does it: ``ticket_rules_preview`` triggered with candidate rules
pasted in the form, on the hours the UI tests published; the report in the task log, on the Rules
previews page and in ``_previews``; the published hours unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
import pytest
from rules_change import DEFAULT_RULE, NEVER_MATCHES, QUESTION_RULE, falling_to_default
from timeline import UI_HOURS

from ticket_etl import artifacts
from ticket_etl.rules_preview import REPORT_NAME, preview_path

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900, func_only=True)]
PREFIX = "/ticket-insights"


def _newest(stats_dir) -> pd.DataFrame:
    """The UI hours' published tickets, the newest version of each."""
    enriched = pd.concat(
        pd.read_parquet(artifacts.partition_path(stats_dir, "tickets_enriched", hour)) for hour in UI_HOURS
    )
    return enriched.sort_values("interval_start").groupby("ticket_id").tail(1)


def test_the_preview_dag_reports_the_moves_and_changes_no_published_hour(
    airflow_stack, rules_preview
) -> None:
    """The candidate drops the question rule and sends the default team's tickets to produit: the
    questions change rule, and they and the tickets no rule matches change team."""
    assert rules_preview.run["state"] == "success", rules_preview.run
    newest = _newest(airflow_stack.stats_dir)
    questions = sorted(newest.loc[newest["routing_rule_id"] == QUESTION_RULE, "ticket_id"])
    fallen = falling_to_default(newest)
    assert questions and len(fallen) > len(questions)
    report = json.loads(
        Path(preview_path(str(airflow_stack.stats_dir), rules_preview.run_id), REPORT_NAME).read_text()
    )
    assert (report["hours_read"], report["tickets"], report["moved"]) == (2, len(newest), len(fallen))
    assert report["moves"] == [
        {"old_team": "support_general", "new_team": "produit", "tickets": len(fallen), "examples": fallen[:3]}
    ]
    assert [(c["old_rule"], c["new_rule"], c["tickets"]) for c in report["rule_changes"]] == [
        (QUESTION_RULE, DEFAULT_RULE, len(questions))
    ]
    assert (report["default_team"]["tickets"], report["default_team"]["examples"]) == (
        len(fallen),
        fallen[:3],
    )
    assert report["never_matching"] == [NEVER_MATCHES]
    assert rules_preview.hours_files_after == rules_preview.hours_files

    run = quote(rules_preview.run_id, safe="")
    log = airflow_stack.api.request(
        "GET", f"/dags/ticket_rules_preview/dagRuns/{run}/taskInstances/preview/logs/1"
    )
    assert f"**{len(fallen)} ticket(s) would change team.**" in json.dumps(log["content"], ensure_ascii=False)


def test_the_previews_page_shows_the_report_with_links_to_the_lookup(airflow_stack, rules_preview) -> None:
    fallen = falling_to_default(_newest(airflow_stack.stats_dir))
    headers = {"Authorization": f"Bearer {airflow_stack.token('viewer')}"}
    page = httpx.get(f"{airflow_stack.base_url}{PREFIX}/previews", headers=headers, timeout=60)
    assert page.status_code == 200
    assert rules_preview.run_id in page.text and "candidate-e2e" in page.text
    assert f"/lookup?ticket_id={fallen[0]}" in page.text
    listed = httpx.get(f"{airflow_stack.base_url}{PREFIX}/api/previews", headers=headers, timeout=60).json()
    assert listed[0]["preview_id"] == rules_preview.run_id

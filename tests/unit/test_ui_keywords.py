"""Unit tests of the UI's keyword analysis: the "What's new" panel (surging terms, alerts, baseline),
what characterises each ticket type, top phrases, from hand-made summaries; the pages rendered by
the plugin's app in-process (Airflow's security dependencies answered by a stub, as in
``bench/ui_bench.py``), over summaries written to a temporary artifacts folder."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import plotly.graph_objects as go
import pytest

from ticket_airflow.ui import charts, insights, runs
from ticket_etl import artifacts
from ticket_etl.interval import Interval

DAY = datetime(2026, 11, 26, tzinfo=UTC)
RANGE = {"start": "2026-11-26T08:00:00Z", "end": "2026-11-26T12:00:00Z"}


def interval(h: int) -> Interval:
    return Interval(DAY.replace(hour=h), DAY.replace(hour=h + 1))


def term(name: str, tickets: int, expected: float, lift: float, score: float, **extra: Any) -> dict:
    """A term entry as the job writes it (a word unless ``kind`` says otherwise)."""
    return {
        "term": name,
        "kind": "word",
        "tickets": tickets,
        "share": 0.05,
        "expected": expected,
        "lift": lift,
        "score": score,
        **extra,
    }


def lists(key: str, **by_scope: tuple[dict[str, int], int]) -> dict:
    """``keywords_by_scope`` (``key`` ``word``) or ``phrases_by_scope`` (``phrase``)."""
    return {
        scope: {key + "s": [{key: t, "tickets": n} for t, n in counts.items()], "others_max": others}
        for scope, (counts, others) in by_scope.items()
    }


def summary(h: int, types: dict[str, int], **extra: Any) -> dict:
    """A published summary of hour ``h`` with ``types`` tickets per type (one team per type)."""
    enriched = sum(types.values())
    return {
        "interval": interval(h).as_dict(),
        "run": {"run_id": f"scheduled__{h:02d}"},
        "rules_version": "r1",
        "totals": {"read": enriched, "enriched": enriched, "rejected": 0, "duplicates": 0},
        "reconciliation": {"holds": True},
        "by_type": {
            t: {"tickets": n, "high_or_critical": 0, "by_priority": {"low": n}} for t, n in types.items()
        },
        "by_team": {
            "incident": {"tickets": enriched, "high_or_critical": 0, "by_priority": {"low": enriched}}
        },
        **extra,
    }


def hours_of(*summaries: dict) -> list[insights.Hour]:
    return [insights.Hour(insights.Interval.parse(**s["interval"]), s) for s in summaries]


def merged(*summaries: dict) -> dict:
    return insights.range_insights(hours_of(*summaries), insights.parse_range(RANGE["start"], RANGE["end"]))


PANNE = term("panne", 120, 12.3, 9.756, 310.2, exact=True, examples=["TCK-0000000000000000000a"])
PAIEMENT = term(
    "paiement refusé",
    60,
    1.2,
    50.0,
    250.1,
    kind="phrase",
    exact=False,
    examples=["TCK-0123456789abcdef0123", "TCK-0123456789abcdef0456"],
)
BASELINE_24 = {"hours": 24, "look_back_hours": 24, "tickets": 24000}


def analysed(h: int, surging: list[dict], alerts: list[dict], baseline: dict = BASELINE_24) -> dict:
    """A summary with the keyword analysis of the lead's contract (job_contract.Summary)."""
    return summary(
        h,
        {"incident": 600, "billing": 400},
        keywords_by_scope=lists("word", all=({"panne": 120}, 9), incident=({"panne": 110}, 5)),
        phrases_by_scope=lists(
            "phrase", all=({"paiement refusé": 60}, 3), billing=({"paiement refusé": 58}, 2)
        ),
        top_phrases=[{"phrase": "paiement refusé", "tickets": 60}],
        distinctive_terms_by_type={"incident": [PANNE], "billing": [PAIEMENT]},
        baseline=baseline,
        surging_terms=surging,
        alerts=alerts,
    )


class TestWhatsNew:
    def test_the_last_hours_surging_terms_against_its_baseline_with_alerts_marked(self) -> None:
        new = merged(analysed(8, [], []), analysed(10, [PAIEMENT, PANNE], [PAIEMENT]))["whats_new"]
        assert new["last_hour"] == {
            "start": "2026-11-26T10:00:00Z",
            "end": "2026-11-26T11:00:00Z",
            "run_id": "scheduled__10",
        }
        assert new["analysed"] and new["baseline"] == BASELINE_24
        assert [(e["term"], e["kind"], e["exact"], e["alert"]) for e in new["surging"]] == [
            ("paiement refusé", "phrase", False, True),
            ("panne", "word", True, False),
        ]
        assert new["surging"][0]["examples"] == PAIEMENT["examples"]

    def test_alerts_of_every_hour_newest_first(self) -> None:
        other = term("facture", 30, 2.0, 15.0, 80.0, examples=["TCK-1"])
        new = merged(
            analysed(8, [other], [other]), analysed(9, [], []), analysed(10, [PAIEMENT], [PAIEMENT, PANNE])
        )["whats_new"]
        assert [(a["hour"]["start"][11:16], a["term"]) for a in new["alerts"]] == [
            ("10:00", "paiement refusé"),
            ("10:00", "panne"),
            ("08:00", "facture"),
        ]
        assert new["hours_without_alerts"] == 0

    def test_older_summaries_have_no_analysis_and_malformed_entries_are_left_out(self) -> None:
        old = summary(9, {"incident": 5}, keywords_by_scope=lists("word", all=({"erreur": 4}, 1)))
        garbage = analysed(10, [{"term": 3}, "x", {**term("ok", 5, 1.0, 5.0, 9.0), "score": "high"}], "nope")
        new = merged(old, garbage)["whats_new"]
        assert [e["term"] for e in new["surging"]] == ["ok"] and "score" not in new["surging"][0]
        assert new["alerts"] == [] and new["hours_without_alerts"] == 2
        new = merged(analysed(8, [], [PANNE]), old)["whats_new"]
        assert not new["analysed"] and new["baseline"] is None and new["surging"] == []
        assert [a["term"] for a in new["alerts"]] == ["panne"] and new["hours_without_alerts"] == 1

    def test_new_fields_are_known_and_not_shown_again_as_other_fields(self) -> None:
        data = merged(analysed(10, [PANNE], []))
        assert data["hours"][0]["other_fields"] == {} and data["other_fields"] == {}


class TestDistinctive:
    def test_one_hour_shows_its_summarys_ranking(self) -> None:
        distinctive = merged(analysed(10, [], []))["distinctive"]
        assert distinctive["source"] == "summary"
        assert list(distinctive["types"]) == ["incident", "billing"]  # the schema's order
        assert distinctive["types"]["billing"]["tickets"] == 400
        assert [e["term"] for e in distinctive["types"]["billing"]["terms"]] == ["paiement refusé"]

    def test_one_older_hour_has_none(self) -> None:
        old = summary(10, {"incident": 5}, keywords_by_scope=lists("word", incident=({"erreur": 4}, 1)))
        assert merged(old)["distinctive"] == {
            "source": "none",
            "hours_unknown": 1,
            "hours_without_phrases": 0,
            "types": {},
        }

    def test_a_range_is_ranked_from_the_summed_counts_of_each_type(self) -> None:
        """incident: 100 tickets over the two hours, "panne" in 30 + 20 of them; billing never lists
        it: at most its others_max, 1 + 2 = 3 of its 100 tickets. Expected 100 x 3/100 = 3, lift
        50/3 = 16.667; G² of the table [[50, 50], [3, 97]] (expected 26.5, 73.5 in each row):
        2 (50 ln(50/26.5) + 50 ln(50/73.5) + 3 ln(3/26.5) + 97 ln(97/73.5)) = 65.711."""
        first = summary(
            8,
            {"incident": 60, "billing": 40},
            keywords_by_scope=lists("word", incident=({"panne": 30}, 2), billing=({"facture": 20}, 1)),
            phrases_by_scope=lists("phrase", incident=({"réseau coupé": 10}, 1), billing=({}, 1)),
        )
        second = summary(
            9,
            {"incident": 40, "billing": 60},
            keywords_by_scope=lists("word", incident=({"panne": 20}, 3), billing=({"facture": 30}, 2)),
            phrases_by_scope=lists("phrase", incident=({"réseau coupé": 8}, 1), billing=({}, 1)),
        )
        distinctive = merged(first, second)["distinctive"]
        assert distinctive["source"] == "range" and distinctive["hours_unknown"] == 0
        incident = {e["term"]: e for e in distinctive["types"]["incident"]["terms"]}
        assert incident["panne"] == {
            "term": "panne",
            "kind": "word",
            "tickets": 50,
            "share": 0.5,
            "expected": 3.0,
            "lift": 16.667,
            "score": 65.711,
        }
        # 18 of 100 against billing's bound 1 + 1 = 2 of 100.
        assert (incident["réseau coupé"]["kind"], incident["réseau coupé"]["expected"]) == ("phrase", 2.0)
        assert incident["réseau coupé"]["lift"] == 9.0
        (facture,) = distinctive["types"]["billing"]["terms"]
        assert (facture["term"], facture["tickets"], facture["expected"]) == ("facture", 50, 5.0)

    def test_hours_without_lists_are_left_out_and_those_without_phrases_bound_them_by_their_size(
        self,
    ) -> None:
        phrases = summary(
            8,
            {"incident": 50, "billing": 50},
            keywords_by_scope=lists("word", incident=({}, 0), billing=({"facture": 5}, 0)),
            phrases_by_scope=lists("phrase", incident=({"réseau coupé": 40}, 0), billing=({}, 0)),
        )
        no_phrases = summary(
            9, {"incident": 10, "billing": 10}, keywords_by_scope=lists("word", billing=({}, 0))
        )
        no_lists = summary(10, {"incident": 1000, "billing": 1000})
        distinctive = merged(phrases, no_phrases, no_lists)["distinctive"]
        assert distinctive["hours_unknown"] == 1
        assert {t: d["tickets"] for t, d in distinctive["types"].items()} == {"incident": 60, "billing": 60}
        (entry,) = distinctive["types"]["incident"]["terms"]
        # billing (60 tickets): 0 listed in the first hour, at most its 10 tickets in the second.
        assert (entry["tickets"], entry["expected"]) == (40, 10.0)


def test_top_phrases_are_merged_like_keywords() -> None:
    first = analysed(8, [], [])
    second = summary(9, {"incident": 5}, phrases_by_scope=lists("phrase", all=({"login loop": 17}, 4)))
    phrases = merged(first, second)["phrases"]["all"]
    assert phrases["phrases"] == [
        {"phrase": "paiement refusé", "tickets_min": 60, "tickets_max": 64, "exact": False, "label": "≥ 60"},
        {"phrase": "login loop", "tickets_min": 17, "tickets_max": 20, "exact": False, "label": "≥ 17"},
    ]
    assert phrases["unlisted_max"] == 7 and phrases["hours_unknown"] == 0
    figure = charts.range_figures(merged(first, second))["chart-phrases-all"]
    go.Figure(figure)
    assert figure["data"][0]["y"] == ["login loop", "paiement refusé"]


# The pages, rendered by the app.


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from bench.ui_bench import test_client

    monkeypatch.setenv("STATS_DIR", str(tmp_path))
    return test_client()


def publish(root: Path, *summaries: dict) -> None:
    for document in summaries:
        path = Path(artifacts.summary_path(str(root), artifacts.interval_of(document)))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(artifacts.json_text(document), encoding="utf-8")


def text(page: str) -> str:
    """A page's text: tags dropped, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def section(page: str, element_id: str) -> str:
    """The element with ``element_id`` (a <section> or a <table>) and what it holds."""
    tag, start = re.search(rf'<(section|table|p)\b[^>]*\bid="{element_id}"', page).group(1, 0)
    begin = page.index(start)
    return page[begin : page.index(f"</{tag}>", begin)]


def lookups(fragment: str) -> list[dict[str, list[str]]]:
    """The query of every lookup link of a page fragment."""
    hrefs = re.findall(r'<a class="example-ticket"[^>]*href="([^"]+)"', fragment)
    assert all(urlsplit(html.unescape(h)).path.endswith("/lookup") for h in hrefs)
    return [parse_qs(urlsplit(html.unescape(h)).query) for h in hrefs]


class TestInsightsPage:
    def test_whats_new_leads_with_surging_terms_alerts_and_lookup_links(self, client, tmp_path) -> None:
        older = term("facture", 30, 2.0, 15.0, 80.0, examples=["TCK-1"])
        publish(tmp_path, analysed(8, [older], [older]), analysed(10, [PAIEMENT, PANNE], [PAIEMENT]))
        page = client.get("/", params=RANGE).text
        assert page.index('id="whats-new"') < page.index('data-kpi="read"') < page.index('id="distinctive"')

        surging = section(page, "surging-table")
        rows = re.findall(r'<tr class="surging-term" data-term="([^"]+)" data-kind="(\w+)"', surging)
        assert rows == [("paiement refusé", "phrase"), ("panne", "word")]
        words = text(surging)
        assert "observed: tickets this hour" in words and "expected at the baseline's rate" in words
        assert "paiement refusé phrase alert 60 ≤ 1.2 ≥ ×50 250.1" in words
        assert "panne word 120 12.3 ×9.8 310.2" in words
        assert lookups(surging) == [
            {"ticket_id": [ticket], "since": ["2026-11-26T10:00:00Z"]}
            for ticket in [*PAIEMENT["examples"], *PANNE["examples"]]
        ]
        whats_new = text(section(page, "whats-new"))
        assert "Surging in the range's last published hour, 2026-11-26 10:00 to 11:00 UTC" in whats_new
        assert "Compared with the 24 published hours before it (24 000 tickets)." in whats_new

        alerts = section(page, "alerts-table")
        assert re.findall(r'class="alert-row" data-hour="([^"]+)" data-term="([^"]+)"', alerts) == [
            ("2026-11-26T10:00:00Z", "paiement refusé"),
            ("2026-11-26T08:00:00Z", "facture"),
        ]
        assert [q["since"] for q in lookups(alerts)][-1] == ["2026-11-26T08:00:00Z"]

        distinctive = text(section(page, "distinctive"))
        assert "billing 800 tickets" in distinctive  # ranked from the two hours' lists
        assert "paiement refusé phrase 116 0.0 ×116" in distinctive  # incident lists no phrase
        assert 'id="phrases-panel"' in page and 'id="chart-phrases-all"' in page

    def test_no_baseline_yet_and_nothing_surged_are_said(self, client, tmp_path) -> None:
        publish(tmp_path, analysed(10, [], [], baseline={"hours": 0, "look_back_hours": 24, "tickets": 0}))
        page = client.get("/", params=RANGE).text
        assert 'id="surging-table"' not in page
        assert text(section(page, "surging-empty")).startswith("No baseline yet: first published hour")
        publish(tmp_path, analysed(11, [], [], baseline={"hours": 20, "look_back_hours": 24, "tickets": 9}))
        page = client.get("/", params=RANGE).text
        whats_new = text(section(page, "whats-new"))
        assert (
            "No term surged in the range's last published hour (compared with 20 published hours)."
            in whats_new
        )
        assert "Compared with the 20 published hours of the 24 hours before it (9 tickets)." in whats_new
        assert "No alert." in whats_new

    def test_older_summaries_say_they_have_no_analysis(self, client, tmp_path) -> None:
        publish(
            tmp_path, summary(10, {"incident": 5}, keywords_by_scope=lists("word", all=({"erreur": 4}, 1)))
        )
        response = client.get("/", params=RANGE)
        assert response.status_code == 200
        page = response.text
        assert "no keyword analysis" in text(section(page, "surging-empty"))
        assert "published before it" in text(section(page, "distinctive"))
        assert "published before phrases were counted" in text(section(page, "phrases-panel"))
        assert 'id="other-fields"' not in page

    def test_the_json_endpoint_carries_the_new_figures(self, client, tmp_path) -> None:
        publish(tmp_path, analysed(10, [PANNE], [PANNE]))
        body = client.get("/api/insights", params=RANGE).json()
        assert body["whats_new"]["surging"][0]["term"] == "panne"
        assert body["whats_new"]["alerts"][0]["hour"]["start"] == "2026-11-26T10:00:00Z"
        assert body["distinctive"]["types"]["incident"]["terms"][0]["term"] == "panne"
        assert body["phrases"]["all"]["phrases"][0]["phrase"] == "paiement refusé"


def test_the_run_tab_shows_the_same_panels_for_its_hour(client, tmp_path, monkeypatch) -> None:
    publish(tmp_path, analysed(10, [PAIEMENT], [PAIEMENT]))
    hour = runs.RunHour("scheduled__10", "success", "scheduled", interval(10), runs.FROM_XCOM)
    monkeypatch.setattr(runs, "run_hour", lambda run_id: hour if run_id == hour.run_id else None)
    page = client.get("/run", params={"run_id": hour.run_id}).text
    assert page.index('id="whats-new"') < page.index('data-kpi="read"')
    whats_new = text(section(page, "whats-new"))
    assert (
        "Surging in this hour, 2026-11-26 10:00 to 11:00 UTC" in whats_new
        and "Alerts of this hour" in whats_new
    )
    assert {q["ticket_id"][0] for q in lookups(section(page, "surging-table"))} == set(PAIEMENT["examples"])
    assert 'data-type="billing"' in section(page, "distinctive")
    body = client.get("/api/run", params={"run_id": hour.run_id}).json()
    assert body["insights"]["whats_new"]["alerts"][0]["term"] == "paiement refusé"
    assert "surging_terms" not in body["insights"]["summary_other_fields"]

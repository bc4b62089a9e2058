"""Unit tests of the UI plugin's data functions: ranges, the merge of hourly summaries (hand-made
summaries, as small as each case needs), Kafka partitioners, figures, text helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import plotly.graph_objects as go
import pytest

from ticket_airflow.ui import app, charts, insights, topics
from ticket_etl.interval import Interval

NOW = datetime(2026, 11, 30, 13, 25, tzinfo=UTC)


def hour(h: int, **summary) -> insights.Hour:
    """A published hour of 2026-11-26 with a (partial) summary."""
    return insights.Hour(
        Interval(datetime(2026, 11, 26, h, tzinfo=UTC), datetime(2026, 11, 26, h + 1, tzinfo=UTC)), summary
    )


def scopes(**lists: tuple[dict[str, int], int]) -> dict:
    """``keywords_by_scope`` from ``scope=({word: tickets}, others_max)``."""
    return {
        scope: {"words": [{"word": w, "tickets": n} for w, n in words.items()], "others_max": others}
        for scope, (words, others) in lists.items()
    }


class TestParseRange:
    def test_default_is_the_24_complete_hours_before_now(self) -> None:
        hours = insights.parse_range(None, None, None, NOW)
        assert (hours.start, hours.end, hours.hours) == (
            datetime(2026, 11, 29, 13, tzinfo=UTC),
            datetime(2026, 11, 30, 13, tzinfo=UTC),
            24,
        )

    def test_seven_days(self) -> None:
        assert insights.parse_range(None, None, "7d", NOW).hours == 168

    def test_custom_range_is_widened_to_whole_hours_and_read_as_utc(self) -> None:
        hours = insights.parse_range("2026-11-26 08:30", "2026-11-26T10:10+01:00", None, NOW)
        assert (hours.start, hours.end) == (
            datetime(2026, 11, 26, 8, tzinfo=UTC),
            datetime(2026, 11, 26, 10, tzinfo=UTC),
        )

    def test_the_limit_is_720_hours(self) -> None:
        assert insights.parse_range("2026-10-01T00:00Z", "2026-10-31T00:00Z").hours == 720
        with pytest.raises(insights.RangeError, match="covers 721 hours; at most 720 hours"):
            insights.parse_range("2026-10-01T00:00Z", "2026-10-31T01:00Z")

    @pytest.mark.parametrize(
        ("start", "end", "preset", "message"),
        [
            ("2026-11-26T10:00Z", "2026-11-26T08:00Z", None, "end 2026-11-26T08:00:00Z is not after start"),
            ("2026-11-26T10:00Z", "2026-11-26T10:00Z", None, "is not after start"),
            ("yesterday", "2026-11-26T08:00Z", None, "start='yesterday' is not an ISO-8601 time"),
            ("2026-11-26T08:00Z", "2026-13-01", None, "end='2026-13-01' is not an ISO-8601 time"),
            ("2026-11-26T08:00Z", None, None, "give both start and end"),
            (None, None, "3w", "preset='3w' is unknown"),
        ],
    )
    def test_bad_ranges_say_why(self, start, end, preset, message) -> None:
        with pytest.raises(insights.RangeError, match=message):
            insights.parse_range(start, end, preset, NOW)


class TestMergeKeywords:
    def test_counts_are_summed_and_exact_when_every_hour_lists_the_word(self) -> None:
        per_hour = [scopes(all=({"erreur": 10, "panne": 4}, 2)), scopes(all=({"erreur": 7, "panne": 9}, 3))]
        merged = insights.merge_keywords(per_hour, 10)["all"]
        assert [(w.term, w.tickets_min, w.tickets_max, w.exact) for w in merged.terms] == [
            ("erreur", 17, 17, True),
            ("panne", 13, 13, True),
        ]
        assert merged.unlisted_max == 5

    def test_a_word_missing_from_an_hour_is_a_lower_bound_up_to_that_hours_others_max(self) -> None:
        per_hour = [scopes(all=({"erreur": 10, "facture": 8}, 3)), scopes(all=({"erreur": 6}, 4))]
        words = {w.term: w for w in insights.merge_keywords(per_hour, 10)["all"].terms}
        assert (words["facture"].tickets_min, words["facture"].tickets_max) == (8, 12)
        assert words["facture"].label == "≥ 8" and words["erreur"].label == "16"

    def test_ranking_is_by_summed_counts_not_by_average_rank(self) -> None:
        """'rare' is first in one small hour; 'common' is second everywhere but far more frequent."""
        per_hour = [
            scopes(all=({"rare": 5, "common": 4}, 0)),
            scopes(all=({"x": 50, "common": 40}, 1)),
            scopes(all=({"y": 50, "common": 40}, 1)),
        ]
        ranked = [w.term for w in insights.merge_keywords(per_hour, 3)["all"].terms]
        assert ranked == ["common", "x", "y"]

    def test_an_hour_without_the_scope_adds_nothing_and_one_without_lists_is_counted_apart(self) -> None:
        per_hour = [scopes(incident=({"panne": 3}, 1)), scopes(question=({"aide": 2}, 0)), None]
        merged = insights.merge_keywords(per_hour, 10)["incident"]
        assert [(w.term, w.tickets_min, w.tickets_max) for w in merged.terms] == [("panne", 3, 3)]
        assert merged.hours_unknown == 1

    def test_shown_words_are_cut_after_ranking(self) -> None:
        per_hour = [scopes(all=({f"w{i}": i for i in range(1, 30)}, 0))]
        assert [w.term for w in insights.merge_keywords(per_hour, 3)["all"].terms] == ["w29", "w28", "w27"]


def test_sla_pressure_sums_overdue_and_buckets_due_times_after_each_hours_end() -> None:
    hours = [
        hour(
            8,
            sla={
                "overdue_at_end": {"critical": 2},
                "due_by_hour": {
                    "critical": {
                        "2026-11-26T08:00:00Z": 2,
                        "2026-11-26T09:00:00Z": 5,
                        "2026-11-26T12:00:00Z": 1,
                    },
                    "low": {"2026-11-29T08:00:00Z": 7},
                },
            },
        ),
        hour(
            9,
            sla={"overdue_at_end": {"critical": 1}, "due_by_hour": {"critical": {"2026-11-26T10:00:00Z": 3}}},
        ),
    ]
    sla = insights.merge_sla(hours)
    assert sla["priorities"] == ["low", "medium", "high", "critical"]
    assert sla["overdue_at_end"] == {"low": 0, "medium": 0, "high": 0, "critical": 3}
    assert sla["due_after_hour_end"]["critical"] == {
        "within 1 h": 8,
        "1-4 h": 1,
        "4-24 h": 0,
        "after 24 h": 0,
    }
    assert sla["due_after_hour_end"]["low"]["after 24 h"] == 7
    assert sla["due_by_hour"]["critical"]["2026-11-26T09:00:00Z"] == 5


def full_summary(read: int, team_tickets: dict[str, int], **extra) -> dict:
    """A summary with the fields the range figures use."""
    by_team = {
        team: {"tickets": n, "high_or_critical": n // 2, "by_priority": {"low": n - n // 2, "high": n // 2}}
        for team, n in team_tickets.items()
    }
    enriched = sum(team_tickets.values())
    return {
        "run": {"run_id": f"run-{read}"},
        "rules_version": "r1",
        "totals": {"read": read, "enriched": enriched, "rejected": read - enriched, "duplicates": 0},
        "reconciliation": {"holds": True},
        "by_team": by_team,
        "by_type": {
            "incident": {"tickets": enriched, "high_or_critical": enriched // 2, "by_priority": {"low": 1}}
        },
        "rejected_by_reason": {"not_json": read - enriched},
        "by_rule": {"rule-a": enriched},
        **extra,
    }


def test_range_insights_count_the_tickets_moved_to_another_team() -> None:
    """Issue 23, item 2: the page counts the moves of the range's runs; an hour published before
    routing changes were recorded counts none."""
    hours = [
        hour(8, **full_summary(10, {"incident": 4}, routing_changes={"tickets": 3, "moves": {"a -> b": 3}})),
        hour(9, **full_summary(20, {"incident": 12})),
    ]
    merged = insights.range_insights(hours, insights.parse_range("2026-11-26T08:00Z", "2026-11-26T10:00Z"))
    assert merged["rerouted"] == 3
    assert [row["rerouted"] for row in merged["hours"]] == [3, 0]


def test_range_insights_count_the_tickets_a_later_hour_updated() -> None:
    """Tickets an hour keeps but did not send again, a later hour having published them anew:
    summed over the range; an hour published before the count existed counts none."""
    hours = [
        hour(8, **full_summary(10, {"incident": 4}, updated_later=2)),
        hour(9, **full_summary(20, {"incident": 12})),
    ]
    merged = insights.range_insights(hours, insights.parse_range("2026-11-26T08:00Z", "2026-11-26T10:00Z"))
    assert merged["updated_later"] == 2
    assert [row["updated_later"] for row in merged["hours"]] == [2, 0]


def test_range_insights_merges_hours_and_passes_unknown_fields_through() -> None:
    hours = [
        hour(8, **full_summary(10, {"incident": 4, "produit": 5}, late_records=2)),
        hour(9, **full_summary(20, {"incident": 12, "produit": 6}, late_records=3, notes={"x": 1})),
    ]
    merged = insights.range_insights(hours, insights.parse_range("2026-11-26T08:00Z", "2026-11-26T10:00Z"))
    # Summaries published before updates were counted have no such totals: 0.
    assert merged["totals"] == {
        "read": 30,
        "enriched": 27,
        "rejected": 3,
        "duplicates": 0,
        "updates": 0,
        "earlier_tickets_updated": 0,
    }
    assert merged["by_team"]["incident"]["tickets"] == 16
    assert merged["busiest_team"] == {"team": "incident", "tickets": 16}
    assert merged["high_or_critical"] == 2 + 2 + 6 + 3
    assert merged["share_high_or_critical"] == round(13 / 27, 6)
    assert merged["rejected_by_reason"] == {"not_json": 3}
    assert merged["other_fields"] == {"late_records": 5}  # numbers are summed; the dict is not
    assert merged["hours"][1]["other_fields"] == {"late_records": 3, "notes": {"x": 1}}
    assert [row["tickets_by_team"] for row in merged["hours"]] == [
        {"incident": 4, "produit": 5},
        {"incident": 12, "produit": 6},
    ]
    json.dumps(merged)  # JSON-ready


def test_a_summary_without_optional_fields_does_not_break_the_merge() -> None:
    hours = [hour(8, totals={"read": 5}), hour(9, by_team="garbage", sla=None, keywords_by_scope=[1])]
    merged = insights.range_insights(hours, insights.parse_range("2026-11-26T08:00Z", "2026-11-26T10:00Z"))
    assert merged["totals"]["read"] == 5
    assert merged["busiest_team"] is None and merged["keywords"] == {}
    assert [row["reconciled"] for row in merged["hours"]] == [None, None]
    for figure in charts.range_figures(merged).values():
        go.Figure(figure)


def test_an_empty_range_gives_empty_figures() -> None:
    merged = insights.range_insights([], insights.parse_range(None, None, None, NOW))
    assert merged["hours_published"] == 0 and merged["totals"]["read"] == 0
    figures = charts.range_figures(merged)
    for figure in figures.values():
        go.Figure(figure)  # a valid Plotly figure
        assert all(not any(trace.get("y") or trace.get("values") or []) for trace in figure["data"])


def test_every_figure_is_valid_plotly_and_teams_keep_their_colours() -> None:
    hours = [
        hour(
            8,
            **full_summary(
                10, {"incident": 4, "support_general": 5}, keywords_by_scope=scopes(all=({"a": 3}, 1))
            ),
        ),
        hour(9, **full_summary(9, {"produit": 6, "new_team": 1})),
    ]
    merged = insights.range_insights(hours, insights.parse_range("2026-11-26T08:00Z", "2026-11-26T10:00Z"))
    for figure in [*charts.range_figures(merged).values(), *charts.hour_figures(merged).values()]:
        go.Figure(figure)
    traces = charts.range_figures(merged)["chart-tickets-by-team"]["data"]
    assert [t["name"] for t in traces] == ["incident", "support_general", "produit", "new_team"]
    assert traces[0]["marker"]["color"] == charts.TEAM_COLOURS["incident"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # Kafka's own test vectors (org.apache.kafka.common.utils.UtilsTest), as signed ints.
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_matches_kafka(key: bytes, expected: int) -> None:
    value = topics.murmur2(key)
    assert (value - 2**32 if value >= 2**31 else value) == expected


def test_partitions_of_a_key_by_topic_role() -> None:
    source, team, dead_letter = (
        topics.ProjectTopic("s", topics.SOURCE),
        topics.ProjectTopic("t", topics.TEAM),
        topics.ProjectTopic("d", topics.DEAD_LETTER),
    )
    key = b"TCK-0123456789abcdef0123"
    assert topics.key_partitions(source, key, 3) == [topics.librdkafka_partition(key, 3)]
    assert topics.key_partitions(team, key, 3) == [(topics.murmur2(key) & 0x7FFFFFFF) % 3]
    assert topics.key_partitions(dead_letter, key, 2) == [0, 1]


def test_values_are_pretty_printed_when_json_and_escaped_when_not_text() -> None:
    assert topics.decode_value(b'{"a":1}') == ('{\n  "a": 1\n}', True)
    assert topics.decode_value(b"caf\xe9") == ("caf\\xe9", False)
    assert topics.decode_value(None) == (None, False)


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("retention.ms", "2592000000", "30 days"),
        ("retention.ms", "-1", "unlimited"),
        ("retention.bytes", str(2 * 1024**3), "2 GiB"),
        ("min.compaction.lag.ms", "3600000", "1 h"),
        ("cleanup.policy", "compact,delete", "compact,delete"),
    ],
)
def test_retention_settings_read_as_text(key: str, value: str, text: str) -> None:
    assert app.retention_text(key, value) == text


def test_figures_cannot_close_their_script_element() -> None:
    text = app.figures_json({"chart": {"data": [{"y": ["</script><script>alert(1)</script>"]}]}})
    assert "</script>" not in text and json.loads(text)["chart"]["data"][0]["y"][0].startswith("</script>")


def test_a_runs_hour_from_its_xcom_and_derived_when_it_has_none() -> None:
    from types import SimpleNamespace

    from airflow.sdk.serde import serialize

    from ticket_airflow.ui import runs

    hour = Interval(datetime(2026, 11, 26, 8, tzinfo=UTC), datetime(2026, 11, 26, 9, tzinfo=UTC))
    stored = serialize(hour)
    assert runs.interval_from_xcom(stored) == hour
    assert runs.interval_from_xcom(json.dumps(stored)) == hour  # databases without a JSON type
    assert runs.interval_from_xcom({"not": "an interval"}) is None and runs.interval_from_xcom(None) is None

    def run(run_type: str, conf: dict, start: datetime | None = None) -> SimpleNamespace:
        end = start and start.replace(hour=start.hour + 1)
        return SimpleNamespace(
            run_type=run_type,
            conf=conf,
            data_interval_start=start,
            data_interval_end=end,
            logical_date=None,
            run_after=NOW,
        )

    assert runs.derived_interval(run("manual", {"interval_start": "2026-11-26T08:00:00Z"})) == (hour, None)
    assert runs.derived_interval(run("backfill", {}, hour.start)) == (hour, None)
    assert runs.derived_interval(run("manual", {}))[0] == Interval.hour_before(NOW)
    interval, problem = runs.derived_interval(run("manual", {"interval_start": "2030-01-01T00:00:00Z"}))
    assert interval is None and "has not ended" in problem

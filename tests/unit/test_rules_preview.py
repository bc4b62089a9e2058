"""The rules preview's contract without Spark: the range it accepts, the report it builds from the
transitions dataset, the Markdown, the trigger form's rules and a bad rules file on the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from ticket_airflow.preview_tasks import candidate_text, check_candidate
from ticket_airflow.tasks import DataError
from ticket_etl import cli
from ticket_etl.config import ROUTING_RULES_PATH
from ticket_etl.interval import Interval
from ticket_etl.rules import parse_text
from ticket_etl.rules_preview import (
    PreviewArguments,
    PreviewError,
    build_report,
    check_span,
    default_span,
    markdown,
)

H1, H2 = "2026-12-01T04:00:00Z", "2026-12-01T05:00:00Z"
RULES = parse_text(ROUTING_RULES_PATH.read_text())


def _row(hour: str, old: tuple[str, str], new: tuple[str, str], tickets: int, examples: list[str]) -> dict:
    return {
        "interval_start": hour,
        "old_team": old[0],
        "old_rule": old[1],
        "new_team": new[0],
        "new_rule": new[1],
        "tickets": tickets,
        "examples": examples,
    }


def test_the_report_sums_hours_per_move_and_names_rules_that_route_nothing() -> None:
    args = PreviewArguments(
        Interval.parse(H1, "2026-12-01T07:00:00Z"), Path("c.yaml"), "p1", RULES.digest, "/x"
    )
    question, default = (
        ("support_general", "question-to-general-support"),
        ("support_general", "default-general-support"),
    )
    incident = ("incident", "incident-to-incident-team")
    rows = [
        _row(H1, incident, incident, 5, ["i1", "i2", "i3"]),
        _row(H1, question, ("produit", "feature-request-to-product"), 2, ["q7", "q9"]),
        _row(H2, question, ("produit", "feature-request-to-product"), 3, ["q1", "q2", "q3"]),
        _row(H2, question, default, 1, ["q4"]),
    ]
    read = [Interval.parse(H1, H2), Interval.parse(H2, "2026-12-01T06:00:00Z")]
    report = build_report(args, RULES, rows, read, datetime(2026, 12, 2, 9, 0, 1, 5, tzinfo=UTC))
    assert (report["tickets"], report["moved"], report["hours_read"]) == (11, 5, 2)
    assert report["previewed_at"] == "2026-12-02T09:00:01Z"
    assert report["hours_missing"] == ["2026-12-01T06:00:00Z"]
    assert report["moves"] == [
        {"old_team": "support_general", "new_team": "produit", "tickets": 5, "examples": ["q1", "q2", "q3"]}
    ]
    assert [(c["old_rule"], c["new_rule"], c["tickets"]) for c in report["rule_changes"]] == [
        ("question-to-general-support", "feature-request-to-product", 5),
        ("question-to-general-support", "default-general-support", 1),
    ]
    assert report["never_matching"] == ["question-to-general-support"]
    assert report["default_team"] == {
        "rule": "default-general-support",
        "team": "support_general",
        "tickets": 1,
        "examples": ["q4"],
    }
    assert report["by_hour"] == [
        {"hour": H1, "tickets": 7, "moved": 2},
        {"hour": H2, "tickets": 4, "moved": 3},
    ]
    text = markdown(report, lookup_url="/lookup")
    assert "**5 ticket(s) would change team.**" in text
    assert "| support_general | produit | 5 | [q1](/lookup?ticket_id=q1), [q2](/lookup?ticket_id=q2)" in text
    assert "Rules that route no ticket: `question-to-general-support`." in text


def test_a_preview_range_is_whole_past_hours_of_at_most_a_week() -> None:
    with pytest.raises(PreviewError, match="on the hour"):
        check_span(Interval.parse("2026-12-01T04:30:00Z", H2))
    with pytest.raises(PreviewError, match="longer than 168 hours"):
        check_span(Interval.parse("2026-11-01T00:00:00Z", "2026-11-09T00:00:00Z"))
    with pytest.raises(PreviewError, match="has not ended"):
        check_span(Interval.hour_before(datetime(2100, 1, 1, tzinfo=UTC)))
    span = default_span(datetime(2026, 12, 5, 8, 20, tzinfo=UTC))
    assert span.as_dict() == {"start": "2026-12-04T08:00:00Z", "end": "2026-12-05T08:00:00Z"}


def test_the_trigger_form_takes_a_file_under_include_or_pasted_yaml() -> None:
    text = ROUTING_RULES_PATH.read_text()
    assert candidate_text("routing_rules.yaml") == (text, str(ROUTING_RULES_PATH.resolve()))
    assert candidate_text(text)[1] == "<pasted rules>"
    with pytest.raises(DataError, match="not under include/"):
        candidate_text("../../etc/passwd")
    with pytest.raises(DataError, match="no rules file"):
        candidate_text("missing.yaml")
    bad = yaml.safe_load(text)
    bad["rules"][1]["when"] = {"colour": ["red"]}
    with pytest.raises(DataError, match=r"question-to-general-support.*colour"):
        check_candidate(yaml.safe_dump(bad), H1, H2)


def test_the_cli_refuses_a_bad_rules_file_before_spark_naming_the_rule(tmp_path, capsys) -> None:
    rules = yaml.safe_load(ROUTING_RULES_PATH.read_text())
    rules["rules"][2]["team"] = "billing"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(rules))
    assert cli.main(["rules", "preview", "--rules", str(path), "--from", H1, "--to", H2]) == 2
    error = capsys.readouterr().err
    assert (
        error.startswith("preview_rules: error: ")
        and "feature-request-to-product" in error
        and "billing" in error
    )

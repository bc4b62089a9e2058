"""A run applies the rules it checked: a snapshot by content, its digest verified by the job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ticket_airflow import tasks
from ticket_etl import artifacts
from ticket_etl.config import ROUTING_RULES_PATH
from ticket_etl.rules import RulesError, digest_of, load_rules, parse_text, snapshot_path, write_snapshot


def test_the_snapshot_is_the_checked_text_and_keeps_its_digest() -> None:
    text = ROUTING_RULES_PATH.read_text(encoding="utf-8")
    path = write_snapshot(text)
    assert path == snapshot_path(digest_of(text)) and path.read_text(encoding="utf-8") == text
    rules = load_rules(path, digest_of(text))
    assert rules.digest == digest_of(text) and rules.version == parse_text(text).version


def test_a_file_that_changed_since_the_check_is_refused(tmp_path: Path) -> None:
    checked = ROUTING_RULES_PATH.read_text(encoding="utf-8")
    replaced = tmp_path / "rules.yaml"
    replaced.write_text(checked.replace('version: "', 'version: "edited-'), encoding="utf-8")
    with pytest.raises(RulesError, match="is not the one this run checked"):
        load_rules(replaced, digest_of(checked))


def _record(root: Path, text: str) -> None:
    """What the first run publishing under the text's version records in ``_rules/``."""
    rules = parse_text(text)
    path = Path(artifacts.rules_version_path(str(root), rules.version))
    path.parent.mkdir(parents=True)
    hour = {"start": "2026-12-05T10:00:00Z", "end": "2026-12-05T11:00:00Z"}
    path.write_text(
        json.dumps({"version": rules.version, "digest": rules.digest, "run_id": "r1", "interval": hour})
    )


def test_check_rules_refuses_edited_rules_under_a_published_version(tmp_path: Path) -> None:
    """The run's first task says it, before Spark starts (the job checks it again)."""
    published = ROUTING_RULES_PATH.read_text(encoding="utf-8")
    _record(tmp_path / "stats", published)
    edited = tmp_path / "rules.yaml"
    edited.write_text(published.replace("team: support_general\n", "team: produit\n", 1), encoding="utf-8")
    with pytest.raises(
        tasks.DataError, match=r"declared by two different contents: .* run r1 \(hour 2026-12-05T10"
    ):
        tasks.check_rules(edited, str(tmp_path / "stats"))
    assert tasks.check_rules(ROUTING_RULES_PATH, str(tmp_path / "stats"))["digest"] == digest_of(published)
    assert (
        tasks.check_rules(edited, str(tmp_path / "nothing-published"))["version"]
        == parse_text(published).version
    )

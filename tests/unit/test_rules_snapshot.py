"""A run applies the rules it checked: a snapshot by content, its digest verified by the job."""

from __future__ import annotations

from pathlib import Path

import pytest

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

"""One content per rules version (issue 23, item 4): the first run that publishes under a
version records its digest in ``_rules/``; a run whose rules declare that version with other
content is refused, naming both digests, before it changes anything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ticket_analysis.storage import HadoopStore
from ticket_etl import artifacts
from ticket_etl.interval import Interval, iso_utc
from ticket_etl.rules import RuleSet, digest_of, version_conflict


class RulesVersionConflict(ValueError):
    """Two different rules contents declare the same version."""


def check(store: HadoopStore, root: str, rules: RuleSet) -> None:
    """Refuse ``rules`` if their version was recorded with another content."""
    problem = version_conflict(rules, store.read_json(artifacts.rules_version_path(root, rules.version)))
    if problem:
        raise RulesVersionConflict(problem)


def record(
    store: HadoopStore, root: str, rules: RuleSet, source: Path, run_id: str, interval: Interval
) -> None:
    """Record ``rules``' version with its digest and text (read from ``source``), unless it is
    already; a record created meanwhile by another run is checked (:func:`check`)."""
    text = source.read_text(encoding="utf-8")
    document: dict[str, Any] = {
        "version": rules.version,
        "digest": rules.digest,
        "run_id": run_id,
        "interval": interval.as_dict(),
        "recorded_at": iso_utc(datetime.now(UTC)),
        "text": text if digest_of(text) == rules.digest else None,
    }
    if not store.create_new(artifacts.rules_version_path(root, rules.version), artifacts.json_text(document)):
        check(store, root, rules)

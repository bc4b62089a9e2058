"""What the ``ticket_rules_preview`` DAG's tasks do (issue 23, item 1): read the candidate rules
from the trigger form, check them and the range before Spark starts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ticket_airflow.tasks import DataError
from ticket_etl import config
from ticket_etl.interval import Interval
from ticket_etl.rules import RulesError, parse_text, write_snapshot
from ticket_etl.rules_preview import PreviewArguments, PreviewError, check_span, default_span

log = logging.getLogger(__name__)


def candidate_text(value: str) -> tuple[str, str]:
    """The candidate rules' text and where it came from: ``value`` is either a file under
    ``include/`` (e.g. ``routing_rules.yaml``) or the YAML itself, pasted (several lines)."""
    if "\n" in value.strip():
        return value, "<pasted rules>"
    path = (config.INCLUDE_DIR / value.strip()).resolve()
    if not path.is_relative_to(config.INCLUDE_DIR.resolve()):
        raise DataError(
            f"the rules file {value!r} is not under include/: give a path under it, or paste the YAML"
        )
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (FileNotFoundError, IsADirectoryError):
        raise DataError(f"no rules file {value!r} under include/ ({path})") from None


def check_candidate(rules: str, start: str | None, end: str | None) -> dict[str, Any]:
    """Validate the candidate rules and the range; returns what the preview job needs: the rules
    kept by content (:func:`write_snapshot`), their digest and version, the range."""
    text, source = candidate_text(rules)
    try:
        checked = parse_text(text, source=source)
        span = check_span(Interval.parse(start, end)) if start or end else default_span()
    except (RulesError, PreviewError, ValueError) as error:
        raise DataError(str(error)) from None
    log.info(
        "candidate rules %s: version %s, sha256 %s, hours %s", source, checked.version, checked.digest, span
    )
    return {
        "rules": str(write_snapshot(text)),
        "digest": checked.digest,
        "version": checked.version,
        **span.as_dict(),
    }


def preview_arguments(checked: dict[str, Any], run_id: str) -> PreviewArguments:
    """The job's arguments for the checked candidate (the run id is the preview's id)."""
    span = Interval.parse(checked["start"], checked["end"])
    return PreviewArguments(span, Path(checked["rules"]), run_id, checked["digest"])

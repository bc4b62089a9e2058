"""Routing rules and SLAs: loaded from YAML and validated before any data is read.

A bad file raises ``RulesError`` whose message names the rule and the problem; the
Spark job turns that into a clear exit (no stack trace) and the DAG does not retry it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticket_etl import schema
from ticket_etl.config import PLATFORM_DIR
from ticket_etl.topology import TEAMS

TERM = re.compile(r"[^\W\d_]{3,}")  # what the job's tokenizer makes a keyword: 3+ letters
CONDITION_FIELDS = ("type", "priority", "language", "keywords")


class RulesError(ValueError):
    """The rules file is invalid; the message says where and why."""


@dataclass(frozen=True)
class Rule:
    """One routing rule: all of ``when`` must hold for the ticket to go to ``team``."""

    id: str
    team: str
    when: dict[str, tuple[str, ...]]
    description: str = ""


@dataclass(frozen=True)
class RuleSet:
    """The ordered rules, the default route, the SLA table and the version recorded on tickets;
    ``digest``: the SHA-256 of the file's bytes they were read from."""

    version: str
    rules: tuple[Rule, ...]
    default_rule_id: str
    default_team: str
    sla_hours: dict[str, float]
    digest: str = ""


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def version_conflict(rules: RuleSet, recorded: Mapping[str, Any] | None) -> str | None:
    """Why ``rules`` cannot be published: their version was first published (``recorded``, the
    version's record in ``_rules/``, None when it has none) with another content. None when
    they can."""
    if recorded is None or recorded["digest"] == rules.digest:
        return None
    return (
        f"rules version {rules.version!r} is declared by two different contents: this run's "
        f"sha256 {rules.digest[:12]} and sha256 {recorded['digest'][:12]}, published first by run "
        f"{recorded['run_id']} (hour {recorded['interval']['start']}). Nothing was changed; give the "
        "changed rules a new version"
    )


def load_rules(path: Path, expected_digest: str | None = None) -> RuleSet:
    """Read and validate a rules file; with ``expected_digest``, the file must be exactly the one
    that was checked (a run applies the rules it validated)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"rules file not found: {path}") from None
    if expected_digest is not None and digest_of(text) != expected_digest:
        raise RulesError(
            f"rules file {path} is not the one this run checked (sha256 {digest_of(text)[:12]}, "
            f"expected {expected_digest[:12]})"
        )
    return parse_text(text, source=str(path))


def parse_text(text: str, source: str = "<rules>") -> RuleSet:
    """Validate the text of a rules file and build the ``RuleSet`` (with its digest)."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulesError(f"rules file {source} is not valid YAML: {error}") from None
    return dataclasses.replace(parse_rules(document, source), digest=digest_of(text))


def snapshot_path(digest: str) -> Path:
    """Where a checked rules file is kept for the run that checked it: by content, so a run
    finds exactly the bytes it validated whatever happens to ``include/routing_rules.yaml``."""
    return PLATFORM_DIR / "build" / "rules" / f"{digest}.yaml"


def write_snapshot(text: str) -> Path:
    """Keep a checked rules text at :func:`snapshot_path` (atomically; once per content)."""
    target = snapshot_path(digest_of(text))
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".tmp-{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    return target


def parse_rules(document: Any, source: str = "<rules>") -> RuleSet:
    """Validate a parsed rules document and build the ``RuleSet``."""
    if not isinstance(document, dict):
        raise RulesError(f"{source}: expected a mapping with version, rules, default, sla_hours")
    _require_keys(document, {"version", "rules", "default", "sla_hours"}, source)
    version = document["version"]
    if not isinstance(version, str) or not version.strip():
        raise RulesError(f"{source}: version must be a non-empty string")
    raw_rules = document["rules"]
    if not isinstance(raw_rules, list):
        raise RulesError(f"{source}: rules must be a list")
    rules = tuple(_parse_rule(raw, index, source) for index, raw in enumerate(raw_rules))
    default = document["default"]
    if not isinstance(default, dict) or set(default) != {"id", "team"}:
        raise RulesError(f"{source}: default must have exactly the keys id and team")
    default_id = _rule_id(default["id"], "default", source)
    _check_team(default["team"], f"default rule {default_id!r}", source)
    ids = [rule.id for rule in rules] + [default_id]
    duplicated = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicated:
        raise RulesError(f"{source}: rule ids must be unique, repeated: {', '.join(duplicated)}")
    return RuleSet(
        version.strip(), rules, default_id, default["team"], _parse_sla(document["sla_hours"], source)
    )


def _require_keys(document: dict, expected: set[str], source: str) -> None:
    missing, unknown = expected - set(document), set(document) - expected
    if missing or unknown:
        raise RulesError(
            f"{source}: "
            + "; ".join(
                part
                for part in (
                    f"missing keys: {', '.join(sorted(missing))}" if missing else "",
                    f"unknown keys: {', '.join(sorted(unknown))}" if unknown else "",
                )
                if part
            )
        )


def _rule_id(value: Any, where: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RulesError(f"{source}: {where} needs a non-empty string id")
    return value.strip()


def _check_team(team: Any, where: str, source: str) -> None:
    if team not in TEAMS:
        raise RulesError(f"{source}: {where}: unknown team {team!r} (teams: {', '.join(TEAMS)})")


def _parse_rule(raw: Any, index: int, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise RulesError(f"{source}: rule #{index + 1} must be a mapping")
    rule_id = _rule_id(raw.get("id"), f"rule #{index + 1}", source)
    where = f"rule {rule_id!r}"
    unknown = set(raw) - {"id", "team", "when", "description"}
    if unknown:
        raise RulesError(f"{source}: {where}: unknown keys {', '.join(sorted(unknown))}")
    _check_team(raw.get("team"), where, source)
    when = raw.get("when")
    if not isinstance(when, dict) or not when:
        raise RulesError(f"{source}: {where}: `when` must list at least one condition")
    conditions = {name: _parse_condition(name, values, where, source) for name, values in when.items()}
    return Rule(rule_id, raw["team"], conditions, str(raw.get("description", "")))


def _parse_condition(name: str, values: Any, where: str, source: str) -> tuple[str, ...]:
    if name not in CONDITION_FIELDS:
        raise RulesError(f"{source}: {where}: unknown condition {name!r} (use {', '.join(CONDITION_FIELDS)})")
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise RulesError(f"{source}: {where}: condition {name!r} must be a non-empty list of strings")
    allowed = schema.enums().get(name)
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise RulesError(
                f"{source}: {where}: condition {name!r} has unknown values {bad} (allowed: {allowed})"
            )
    if name == "keywords":
        values = [v.lower() for v in values]
        bad = [v for v in values if not TERM.fullmatch(v)]
        if bad:
            raise RulesError(
                f"{source}: {where}: keywords {bad} can never match: a keyword is one word of at "
                "least three letters (numbers, spaces and punctuation are not part of any keyword)"
            )
    return tuple(values)


def _parse_sla(raw: Any, source: str) -> dict[str, float]:
    priorities = schema.enums()["priority"]
    if not isinstance(raw, dict) or set(raw) != set(priorities):
        raise RulesError(f"{source}: sla_hours must give hours for exactly: {', '.join(priorities)}")
    for priority, hours in raw.items():
        if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
            raise RulesError(f"{source}: sla_hours.{priority} must be a positive number, got {hours!r}")
    return {priority: float(raw[priority]) for priority in priorities}

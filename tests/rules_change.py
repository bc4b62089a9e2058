"""The candidate routing rules the rules-change tests preview and apply (issue 23)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ticket_etl.config import ROUTING_RULES_PATH

NEVER_MATCHES = "never-matches"


def rules_copy(folder: Path) -> Path:
    """A copy of the shipped rules in ``folder``: a stack's ``ROUTING_RULES``, which tests edit
    as an operator would (never the checkout's file)."""
    copy = folder / "routing_rules.yaml"
    copy.write_text(ROUTING_RULES_PATH.read_text())
    return copy


def candidate_rules(version: str, default_team: str) -> dict:
    """The shipped rules without the question rule (questions fall to the default team, given
    ``default_team``), with a rule that matches no ticket, as ``version``."""
    rules = yaml.safe_load(ROUTING_RULES_PATH.read_text())
    rules["version"] = version
    rules["rules"] = [r for r in rules["rules"] if r["when"].get("type") != ["question"]]
    rules["rules"].insert(1, {"id": NEVER_MATCHES, "when": {"keywords": ["zzqxnothing"]}, "team": "incident"})
    rules["default"]["team"] = default_team
    return rules


QUESTION_RULE, DEFAULT_RULE = "question-to-general-support", "default-general-support"


def falling_to_default(enriched) -> list[str]:
    """The ids of the tickets (a ``tickets_enriched`` frame routed by the shipped rule ids) that
    the candidate sends to the default team: the questions and those no rule matched."""
    return sorted(enriched.loc[enriched["routing_rule_id"].isin([QUESTION_RULE, DEFAULT_RULE]), "ticket_id"])

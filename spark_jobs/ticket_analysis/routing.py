"""Explainable routing: the first matching rule of the rules file gives the team."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ticket_analysis.columns import map_lookup
from ticket_etl.rules import Rule, RuleSet
from ticket_etl.topology import TEAMS


def rule_matches(rule: Rule) -> Column:
    """True when every condition of the rule holds (a condition lists accepted values)."""
    conditions = [
        F.arrays_overlap(F.col("keywords"), F.array(*[F.lit(word) for word in values]))
        if name == "keywords"
        else F.col(name).isin(*values)
        for name, values in rule.when.items()
    ]
    matched = conditions[0]
    for condition in conditions[1:]:
        matched = matched & condition
    return F.coalesce(matched, F.lit(False))


def routing_rule_id(rules: RuleSet) -> Column:
    """Id of the first matching rule, or of the default rule when none matches."""
    return F.coalesce(
        *[F.when(rule_matches(rule), F.lit(rule.id)) for rule in rules.rules], F.lit(rules.default_rule_id)
    )


def with_route(tickets: DataFrame, rules: RuleSet) -> DataFrame:
    """Add ``routing_rule_id``, ``support_team``, ``team_topic`` and ``rules_version``."""
    team_of_rule = {rule.id: rule.team for rule in rules.rules} | {rules.default_rule_id: rules.default_team}
    return (
        tickets.withColumn("routing_rule_id", routing_rule_id(rules))
        .withColumn("support_team", map_lookup(team_of_rule, F.col("routing_rule_id")))
        .withColumn("team_topic", map_lookup(TEAMS, F.col("support_team")))
        .withColumn("rules_version", F.lit(rules.version))
    )

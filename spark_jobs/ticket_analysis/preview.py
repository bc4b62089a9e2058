"""The preview of candidate routing rules on published hours (issue 23, item 1): the newest
published version of each ticket in the range, routed again, counted per hour and transition."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ticket_analysis import routing
from ticket_etl.rules import CONDITION_FIELDS, RuleSet
from ticket_etl.rules_preview import EXAMPLES, TRANSITION_KEY

OLD = {"support_team": "old_team", "routing_rule_id": "old_rule"}
NEW = {"support_team": "new_team", "routing_rule_id": "new_rule"}


def newest_versions(published: DataFrame) -> DataFrame:
    """One row per ``ticket_id``: its newest published version (an updated ticket is published in
    each hour it changed; a backfill of the range leaves the newest on the team topics)."""
    kept = ("interval_start", *CONDITION_FIELDS, *OLD)
    newest = F.max_by(F.struct(*kept), "interval_start")
    return published.groupBy("ticket_id").agg(newest.alias("v")).select("ticket_id", "v.*")


def transitions(published: DataFrame, rules: RuleSet) -> DataFrame:
    """Tickets per :data:`TRANSITION_KEY` (hour, old/new team and rule) under ``rules``, with the
    :data:`EXAMPLES` smallest ticket ids of each."""
    routed = (
        newest_versions(published)
        .withColumnsRenamed(OLD)
        .transform(lambda tickets: routing.with_route(tickets, rules))
        .withColumnsRenamed(NEW)
    )
    rank = F.row_number().over(Window.partitionBy(*TRANSITION_KEY).orderBy("ticket_id"))
    example = F.when(F.col("rank") <= EXAMPLES, F.col("ticket_id"))
    return (
        routed.withColumn("rank", rank)
        .groupBy(*TRANSITION_KEY)
        .agg(F.count("*").alias("tickets"), F.array_sort(F.collect_list(example)).alias("examples"))
    )

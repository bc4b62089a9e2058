"""Statistics by type, team, routing rule and SLA due hour; term and phrase counts and contrast."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyarrow as pa
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from ticket_analysis.columns import map_lookup
from ticket_etl import keywords, schema
from ticket_etl.interval import iso_utc
from ticket_etl.job_contract import TermEntry
from ticket_etl.topology import TEAMS

HIGH_PRIORITIES = ("high", "critical")
DRIVER_RANKING_MAX_COUNTS = 100_000  # (type, term) counts an hour's terms are ranked from on the driver
OVERALL_SCOPE = keywords.OVERALL_SCOPE
SHARE_QUANTUM = Decimal("0.000001")


def ticket_counts(tickets: DataFrame) -> DataFrame:
    """Tickets per (type, support_team, priority, routing_rule_id, schema_version, sla_due_hour):
    every count of the statistics, in one scan. ``sla_due_hour``: the hour in which the ticket's
    SLA falls due."""
    return tickets.groupBy(
        "type",
        "support_team",
        "priority",
        "routing_rule_id",
        "schema_version",
        F.date_trunc("hour", "sla_due_at").alias("sla_due_hour"),
    ).agg(F.count(F.lit(1)).alias("tickets"))


def count_table(tickets: DataFrame) -> list[dict[str, Any]]:
    """:func:`ticket_counts`, collected. Bounded whatever the volume: types x teams x priorities x
    rules x schema versions x 2 due hours at most (an hour's tickets of one priority fall due within two clock
    hours), so the statistics are computed on the driver from one scan, without a Spark job each."""
    return [row.asDict() for row in ticket_counts(tickets).collect()]


def tickets_by_rule(counts: list[dict[str, Any]]) -> dict[str, int]:
    """Tickets routed by each rule id (only the rules that routed a ticket), by rule id."""
    by_rule: dict[str, int] = defaultdict(int)
    for row in counts:
        by_rule[row["routing_rule_id"]] += row["tickets"]
    return dict(sorted(by_rule.items()))


def tickets_by_schema_version(counts: list[dict[str, Any]]) -> dict[str, int]:
    """Tickets of each version of the ticket schema (the version a ticket says it follows)."""
    by_version: dict[str, int] = defaultdict(int)
    for row in counts:
        by_version[str(row["schema_version"])] += row["tickets"]
    return dict(sorted(by_version.items()))


def sla_pressure(counts: list[dict[str, Any]], interval_end: datetime) -> dict[str, Any]:
    """Per priority: the tickets already past their SLA due time at the end of the interval
    (``overdue_at_end``; exact for an interval that ends on the hour), and the tickets falling
    due in each clock hour (``due_by_hour``, ISO hour -> tickets)."""
    priorities = schema.enums()["priority"]
    overdue = dict.fromkeys(priorities, 0)
    due: dict[str, dict[str, int]] = {priority: defaultdict(int) for priority in priorities}
    for row in counts:
        due_hour = _utc(row["sla_due_hour"])
        if due_hour < interval_end:
            overdue[row["priority"]] += row["tickets"]
        due[row["priority"]][iso_utc(due_hour)] += row["tickets"]
    return {
        "overdue_at_end": overdue,
        "due_by_hour": {priority: dict(sorted(hours.items())) for priority, hours in due.items()},
    }


def _utc(moment: datetime) -> datetime:
    """A timestamp collected from Spark (naive, in the session time zone: UTC) as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _share(tickets: int, total: int) -> float:
    """``tickets / total`` rounded half-up to 6 decimals (0.0 for an empty interval)."""
    if not total:
        return 0.0
    return float((Decimal(tickets) / Decimal(total)).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_UP))


def _group_stats(
    counts: list[dict[str, Any]], key: str, groups: list[str], total: int
) -> list[dict[str, Any]]:
    """One row per group (zero rows for groups absent from the interval, so every interval has
    the same rows): tickets, tickets per priority, high-or-critical, share of the total."""
    priorities = schema.enums()["priority"]
    rows = []
    for group in sorted(groups):
        per_priority = dict.fromkeys(priorities, 0)
        for row in counts:
            if row[key] == group:
                per_priority[row["priority"]] += row["tickets"]
        tickets = sum(per_priority.values())
        rows.append(
            {
                key: group,
                "tickets": tickets,
                **{f"{priority}_count": n for priority, n in per_priority.items()},
                "high_or_critical_count": sum(per_priority[priority] for priority in HIGH_PRIORITIES),
                "share_of_total": _share(tickets, total),
            }
        )
    return rows


def stats_by_type(counts: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """One row per ticket type of the schema. ``counts``: :func:`count_table`; ``total``: the
    enriched tickets."""
    return _group_stats(counts, "type", schema.enums()["type"], total)


def stats_by_team(counts: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """One row per support team, with its topic. ``counts``: :func:`count_table`."""
    rows = _group_stats(counts, "support_team", list(TEAMS), total)
    return [
        {"support_team": row["support_team"], "team_topic": TEAMS[row["support_team"]], **row} for row in rows
    ]


def stats_schema(keys: tuple[str, ...]) -> pa.Schema:
    """The ``stats_by_type`` / ``stats_by_team`` contract: ``keys`` (the text columns) first, then
    the counts and the share."""
    priorities = schema.enums()["priority"]
    counts = ["tickets", *(f"{priority}_count" for priority in priorities), "high_or_critical_count"]
    return pa.schema(
        [
            *(pa.field(name, pa.string(), nullable=True) for name in keys),
            *(pa.field(name, pa.int64(), nullable=False) for name in counts),
            pa.field("share_of_total", pa.float64(), nullable=False),
        ]
    )


def kind_of(term: Column) -> Column:
    """``phrase`` for a term with a space (two terms), else ``word``: a term never has one."""
    return F.when(F.instr(term, " ") > 0, F.lit(keywords.PHRASE)).otherwise(F.lit(keywords.WORD))


def term_counts(tickets: DataFrame) -> DataFrame:
    """Tickets per (type, term): ``scope, term, tickets, kind``; words and phrases from one scan
    with no higher-order function (terms are distinct per ticket, so a count is of tickets)."""
    terms = tickets.select(
        F.col("type").alias("scope"), F.explode(F.concat("keywords", "phrases")).alias("term")
    )
    counted = terms.groupBy("scope", "term").agg(F.count(F.lit(1)).alias("tickets"))
    return counted.withColumn("kind", kind_of(F.col("term")))


def _xlogx(x: Column) -> Column:
    return F.when(x > 0, x * F.log(x)).otherwise(F.lit(0.0))


def g2_column(tickets: Column, total: Column, other: Column, other_total: Column) -> Column:
    """:func:`ticket_etl.keywords.g2` as a column expression (unsigned: callers keep the terms
    that are over-represented)."""
    tickets, other = tickets.cast("double"), other.cast("double")
    cells = _xlogx(tickets) + _xlogx(total - tickets) + _xlogx(other) + _xlogx(other_total - other)
    margins = _xlogx(total) + _xlogx(other_total) + _xlogx(tickets + other)
    margins = margins + _xlogx(total - tickets + other_total - other)
    return F.greatest(F.lit(0.0), F.lit(2.0) * (cells - margins + _xlogx(total + other_total)))


def ranked_terms(
    tickets: DataFrame, depth: int, type_tickets: dict[str, int], overall_depth: int, bound: int
) -> list[dict[str, Any]]:
    """:func:`term_ranking`'s rows, collected (at most ``bound``). An hour with at most
    :data:`DRIVER_RANKING_MAX_COUNTS` (type, term) counts (any demo hour: about 5,000 whatever its
    size) is ranked on the driver from its collected counts, one shuffle instead of three and no
    window to plan: the step's fixed cost, which dominates a small hour. A larger vocabulary is
    ranked by Spark, the counts computed again."""
    counts = [row.asDict() for row in term_counts(tickets).limit(DRIVER_RANKING_MAX_COUNTS + 1).collect()]
    if len(counts) <= DRIVER_RANKING_MAX_COUNTS:
        return rank_counts(counts, depth, type_tickets, overall_depth)[:bound]
    ranking = term_ranking(tickets, depth, type_tickets, overall_depth)
    return [row.asDict() for row in ranking.limit(bound).collect()]


def rank_counts(
    counts: list[dict[str, Any]], depth: int, type_tickets: dict[str, int], overall_depth: int | None = None
) -> list[dict[str, Any]]:
    """:func:`term_ranking` on the driver, from the collected :func:`term_counts`: the same rows
    (scores from :func:`ticket_etl.keywords.g2`, which :func:`g2_column` mirrors)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in _scored_rows(counts, type_tickets):
        groups[(row["scope"], row["kind"])].append(row)
    ranked = []
    for (scope, _), members in groups.items():
        ranked += _ranked_scope(members, (overall_depth or depth) if scope == OVERALL_SCOPE else depth)
    return ranked


def _scored_rows(counts: list[dict[str, Any]], type_tickets: dict[str, int]) -> list[dict[str, Any]]:
    """Each (type, term) count with the term's tickets in all types and its listable score, then
    one row per term in scope ``all`` (no score)."""
    total = sum(type_tickets.values())
    term_tickets: dict[str, int] = defaultdict(int)
    kinds = {}
    for count in counts:
        term_tickets[count["term"]] += count["tickets"]
        kinds[count["term"]] = count["kind"]
    rows = [
        {
            **count,
            "term_tickets": term_tickets[count["term"]],
            "score": _listable_score(count, type_tickets, total, term_tickets),
        }
        for count in counts
    ]
    overall = {"scope": OVERALL_SCOPE, "score": None}
    return rows + [
        {**overall, "kind": kinds[term], "term": term, "tickets": n, "term_tickets": n}
        for term, n in term_tickets.items()
    ]


def _ranked_scope(members: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The rows of one scope and kind with their ``rank`` (by tickets) and ``distinctive_rank``
    (by score), kept when within ``limit`` or among the listed distinctive ones. Ties go
    alphabetically, as Spark orders strings (by code point)."""
    by_score = sorted(
        members, key=lambda r: (r["score"] is None, -(r["score"] or 0.0), -r["tickets"], r["term"])
    )
    distinctive = {row["term"]: number for number, row in enumerate(by_score, 1)}  # a term once a scope
    kept = []
    for rank, row in enumerate(sorted(members, key=lambda r: (-r["tickets"], r["term"])), 1):
        distinctive_rank = distinctive[row["term"]]
        if rank <= limit or (row["score"] is not None and distinctive_rank <= keywords.LISTED_PER_SCOPE):
            kept.append({**row, "rank": rank, "distinctive_rank": distinctive_rank})
    return kept


def _listable_score(
    count: dict[str, Any], type_tickets: dict[str, int], total: int, term_tickets: dict[str, int]
) -> float | None:
    """A type's term's G² against the other types when it may be listed as distinctive (the
    conditions of :func:`term_ranking`), else None."""
    own = type_tickets.get(count["scope"])
    if own is None:
        return None
    tickets, other = count["tickets"], term_tickets[count["term"]] - count["tickets"]
    if (
        tickets < keywords.MIN_TICKETS
        or tickets < own * keywords.MIN_SHARE
        or tickets * (total - own) <= other * own
    ):
        return None
    score = keywords.g2(tickets, own, other, total - own)
    return score if score >= keywords.MIN_SCORE else None


def term_ranking(
    tickets: DataFrame, depth: int, type_tickets: dict[str, int], overall_depth: int | None = None
) -> DataFrame:
    """Per scope (``all`` and each type) and kind: the ``depth`` terms mentioned by most tickets
    (``rank``; ``overall_depth`` of them in scope ``all``, ``depth`` by default), and per type the
    :data:`keywords.LISTED_PER_SCOPE` most distinctive against the other types
    (``distinctive_rank``, by G²); ``term_tickets``: the term's tickets in all types.
    ``type_tickets``: the enriched tickets of each type. Ties go alphabetically.

    Three shuffles, as a plain ranking needs: the counts, the term's total (a window, which also
    yields the ``all`` row), the ranks."""
    total = float(sum(type_tickets.values()))
    own = map_lookup(type_tickets, F.col("scope")).cast("double")
    other = F.col("term_tickets") - F.col("tickets")
    over_represented = F.col("tickets") * (F.lit(total) - own) > other * own
    score = g2_column(F.col("tickets"), own, other, F.lit(total) - own)
    listable = (
        (F.col("tickets") >= keywords.MIN_TICKETS)
        & (F.col("tickets") >= own * keywords.MIN_SHARE)
        & over_represented
        & (score >= keywords.MIN_SCORE)
    )
    by_term = Window.partitionBy("term").orderBy("scope")
    whole_term = by_term.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    per_type = term_counts(tickets).withColumns(
        {"term_tickets": F.sum("tickets").over(whole_term), "first": F.row_number().over(by_term) == 1}
    )
    row = ("scope", "tickets", "score")
    own_row = F.struct(F.col("scope"), F.col("tickets"), F.when(listable, score).alias("score"))
    overall_row = F.when(
        F.col("first"),
        F.struct(
            F.lit(OVERALL_SCOPE).alias("scope"),
            F.col("term_tickets").alias("tickets"),
            F.lit(None).cast("double").alias("score"),
        ),
    )
    rows = per_type.select(
        "kind", "term", "term_tickets", F.explode(F.array(own_row, overall_row)).alias("row")
    )
    rows = rows.where(F.col("row").isNotNull()).select(
        "kind", "term", "term_tickets", *(F.col(f"row.{n}").alias(n) for n in row)
    )
    by_tickets = Window.partitionBy("scope", "kind").orderBy(F.desc("tickets"), "term")
    by_score = Window.partitionBy("scope", "kind").orderBy(
        F.desc_nulls_last("score"), F.desc("tickets"), "term"
    )
    limit = F.when(F.col("scope") == OVERALL_SCOPE, overall_depth or depth).otherwise(depth)
    return (
        rows.withColumns(
            {"rank": F.row_number().over(by_tickets), "distinctive_rank": F.row_number().over(by_score)}
        )
        .where(
            (F.col("rank") <= limit)
            | (F.col("score").isNotNull() & (F.col("distinctive_rank") <= keywords.LISTED_PER_SCOPE))
        )
        .select("scope", "kind", "term", "tickets", "term_tickets", "score", "rank", "distinctive_rank")
    )


WORD_FREQUENCY_SCHEMA = pa.schema(
    [
        pa.field("scope", pa.string(), nullable=False),
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("word", pa.string(), nullable=False),
        pa.field("tickets", pa.int64(), nullable=False),
    ]
)


def word_frequency_rows(ranking: list[dict[str, Any]], top_n: int) -> list[dict[str, Any]]:
    """The ``word_frequency`` dataset's rows: the top ``top_n`` words of each scope of a collected
    :func:`term_ranking`, by scope and rank."""
    words = [row for row in ranking if row["kind"] == keywords.WORD and row["rank"] <= top_n]
    rows = [
        {"scope": r["scope"], "rank": r["rank"], "word": r["term"], "tickets": r["tickets"]} for r in words
    ]
    return sorted(rows, key=lambda r: (r["scope"], r["rank"]))


def terms_by_scope(ranking: list[dict[str, Any]], kind: str, kept: int) -> dict[str, dict[str, Any]]:
    """Per scope, the ``kept`` terms of ``kind`` mentioned by most tickets, and ``others_max``: the
    tickets of the most frequent one left out (0 when none is). A reader merging hours sums the
    terms' tickets; a term missing from an hour's list counts at most that hour's ``others_max``
    there, so the merge knows which totals are exact. ``ranking``: :func:`term_ranking` of depth
    ``kept + 1``, collected. Keys as published: ``words``/``word`` or ``phrases``/``phrase``."""
    scopes: dict[str, dict[str, Any]] = {}
    listed = f"{kind}s"
    rows = [row for row in ranking if row["kind"] == kind and row["rank"] <= kept + 1]
    for row in sorted(rows, key=lambda r: (r["scope"], r["rank"])):
        scope = scopes.setdefault(row["scope"], {listed: [], "others_max": 0})
        if row["rank"] <= kept:
            scope[listed].append({kind: row["term"], "tickets": row["tickets"]})
        else:
            scope["others_max"] = max(scope["others_max"], row["tickets"])
    return scopes


def distinctive_by_type(
    ranking: list[dict[str, Any]], type_tickets: dict[str, int]
) -> dict[str, list[TermEntry]]:
    """Per type, its most distinctive terms and phrases against the other types, with their figures
    (:func:`ticket_etl.keywords.entry`), from a collected :func:`term_ranking`."""
    total = sum(type_tickets.values())
    candidates: dict[str, list[TermEntry]] = {name: [] for name in sorted(type_tickets)}
    for row in ranking:
        if row["score"] is None or row["distinctive_rank"] > keywords.LISTED_PER_SCOPE:
            continue
        own = type_tickets[row["scope"]]
        other = row["term_tickets"] - row["tickets"]
        candidates[row["scope"]].append(
            keywords.entry(row["term"], row["kind"], row["tickets"], own, other, total - own)
        )
    return {name: keywords.ranked(terms) for name, terms in candidates.items()}

"""A range of hours and the figures of their published summaries, merged.

Only published hours are read, through :func:`ticket_etl.artifacts.published_intervals` and
:func:`ticket_etl.artifacts.read_summary` (never the staging area). The work per request is
bounded: a range covers at most :data:`MAX_RANGE_HOURS` hours, and each hour is one summary.

Every function here takes plain values and returns plain values (no HTTP, no Airflow): the pages,
the JSON endpoints, the benchmark and the unit tests share them. A summary may lack an optional
field (an older schema) or carry one this module does not know (a newer one): a missing field
counts as absent, an unknown one is passed through in ``other_fields``.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ticket_etl import artifacts, schema
from ticket_etl.interval import Interval, iso_utc, parse_utc
from ticket_etl.job_contract import SUMMARY_FIELDS, TOTALS

HOUR = timedelta(hours=1)
MAX_RANGE_HOURS = 720  # 30 days of hourly runs
PRESETS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
DEFAULT_PRESET = "24h"
KEYWORDS_SHOWN = 20
# SLA pressure: tickets not overdue at the end of their hour, by how long after that end they fall
# due (upper bounds in hours; None: the rest).
SLA_HORIZONS: tuple[tuple[str, int | None], ...] = (
    ("within 1 h", 1),
    ("1-4 h", 4),
    ("4-24 h", 24),
    ("after 24 h", None),
)
# Top-level fields of a summary the pages show in their own place; any other one is shown as is.
KNOWN_FIELDS = SUMMARY_FIELDS - {"rules_digest", "ingest", "shrunk_from"}


class RangeError(ValueError):
    """A range that cannot be answered; the message says why and what is accepted."""


@dataclass(frozen=True)
class HourRange:
    """Whole UTC hours ``[start, end)``; an hour belongs to the range when it lies inside it."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        return (self.end - self.start) // HOUR

    def contains(self, interval: Interval) -> bool:
        return self.start <= interval.start and interval.end <= self.end

    def as_dict(self) -> dict[str, Any]:
        return {"start": iso_utc(self.start), "end": iso_utc(self.end), "hours": self.hours}


def floor_hour(moment: datetime) -> datetime:
    """``moment`` (aware) truncated to its hour, in UTC."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    """The first whole hour at or after ``moment``, in UTC."""
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def _parse_time(name: str, text: str) -> datetime:
    try:
        return parse_utc(text)
    except ValueError:
        raise RangeError(
            f"{name}={text!r} is not an ISO-8601 time; expected e.g. 2026-11-26T08:00:00Z "
            "(a time without offset is UTC)"
        ) from None


def parse_range(
    start: str | None, end: str | None, preset: str | None = None, now: datetime | None = None
) -> HourRange:
    """The hours a request asks for: ``start`` and ``end`` (ISO-8601, widened to whole hours), or a
    preset (``24h``, ``7d``: the complete hours before ``now``), by default the last 24 hours.

    Raises :class:`RangeError` for a malformed time, an end not after the start, only one bound,
    an unknown preset, or more than :data:`MAX_RANGE_HOURS` hours.
    """
    if start or end:
        if not (start and end):
            raise RangeError("give both start and end (ISO-8601, UTC), or a preset: 24h or 7d")
        first, last = _parse_time("start", start), _parse_time("end", end)
        if last <= first:
            raise RangeError(f"end {iso_utc(last)} is not after start {iso_utc(first)}")
        try:
            hours = HourRange(floor_hour(first), ceil_hour(last))
        except OverflowError:
            raise RangeError(f"end {iso_utc(last)} is out of range") from None
    else:
        preset = preset or DEFAULT_PRESET
        if preset not in PRESETS:
            raise RangeError(f"preset={preset!r} is unknown; use one of {', '.join(PRESETS)}")
        until = floor_hour(now or datetime.now(UTC))
        hours = HourRange(until - PRESETS[preset], until)
    if hours.hours > MAX_RANGE_HOURS:
        raise RangeError(
            f"the range covers {hours.hours} hours; at most {MAX_RANGE_HOURS} hours (30 days) per request"
        )
    return hours


@dataclass(frozen=True)
class Hour:
    """One published hour: its interval and its summary."""

    interval: Interval
    summary: dict[str, Any]


def load_hours(output: str, hours: HourRange) -> tuple[list[Hour], list[str]]:
    """The published hours of the range, oldest first, and the tokens of hours whose summary could
    not be read (a corrupt file is reported, not fatal)."""
    loaded, unreadable = [], []
    for interval in artifacts.published_intervals(output):
        if not hours.contains(interval):
            continue
        try:
            summary = artifacts.read_summary(output, interval)
        except (OSError, ValueError):
            unreadable.append(interval.token)
            continue
        if isinstance(summary, dict):
            loaded.append(Hour(interval, summary))
        elif summary is not None:
            unreadable.append(interval.token)
    return loaded, unreadable


_EMPTY: dict[str, Any] = {}


def _mapping(value: Any) -> dict[str, Any]:
    """A JSON object of a summary; anything else counts as an empty one."""
    return value if type(value) is dict else _EMPTY


def _count(value: Any) -> int:
    """A count from a summary; anything that is not a whole number counts as 0."""
    return value if type(value) is int else 0


def sum_counts(documents: Iterable[Any]) -> dict[str, int]:
    """Key-wise sum of ``{name: count}`` mappings (missing or malformed ones count as empty)."""
    total: Counter[str] = Counter()
    for document in documents:
        for key, value in _mapping(document).items():
            total[key] += _count(value)
    return dict(total)


def other_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The summary's top-level fields that the pages do not show in a place of their own."""
    return {key: value for key, value in summary.items() if key not in KNOWN_FIELDS}


def ordered_priorities(seen: Iterable[str] = ()) -> list[str]:
    """The schema's priorities (low to critical), then any other one seen, sorted."""
    known = list(schema.enums()["priority"])
    return known + sorted(set(seen) - set(known))


def ordered_scopes(seen: Iterable[str]) -> list[str]:
    """Keyword scopes: ``all``, the schema's ticket types in order, then any other one, sorted."""
    seen = set(seen)
    known = ["all", *schema.enums()["type"]]
    return [scope for scope in known if scope in seen] + sorted(seen - set(known))


def hour_row(hour: Hour) -> dict[str, Any]:
    """One hour as a row of the hours table and a point of the per-hour charts."""
    summary = hour.summary
    run = _mapping(summary.get("run"))
    totals = _mapping(summary.get("totals"))
    by_team = _mapping(summary.get("by_team"))
    high = sum(_count(_mapping(figures).get("high_or_critical")) for figures in by_team.values())
    enriched = _count(totals.get("enriched"))
    reconciliation = _mapping(summary.get("reconciliation"))
    return {
        "start": iso_utc(hour.interval.start),
        "end": iso_utc(hour.interval.end),
        "token": hour.interval.token,
        "run_id": run.get("run_id"),
        "generated_at": run.get("generated_at"),
        "rules_version": summary.get("rules_version"),
        **{name: _count(totals.get(name)) for name in TOTALS},
        "reconciled": reconciliation.get("holds") if isinstance(reconciliation.get("holds"), bool) else None,
        "tickets_by_team": {team: _count(_mapping(f).get("tickets")) for team, f in by_team.items()},
        "high_or_critical": high,
        "share_high_or_critical": round(high / enriched, 6) if enriched else 0.0,
        "other_fields": other_fields(summary),
    }


@dataclass(frozen=True)
class MergedWord:
    """A keyword's tickets over several hours: exact when every hour listed it (or had no such
    scope), else between ``tickets_min`` (the hours that listed it) and ``tickets_max`` (plus, for
    every other hour, that hour's ``others_max``)."""

    word: str
    tickets_min: int
    tickets_max: int

    @property
    def exact(self) -> bool:
        return self.tickets_min == self.tickets_max

    @property
    def label(self) -> str:
        """``412``, or ``≥ 412`` when only a lower bound is known."""
        return f"{self.tickets_min}" if self.exact else f"≥ {self.tickets_min}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exact": self.exact, "label": self.label}


@dataclass(frozen=True)
class MergedKeywords:
    """The ranking of one scope over a range: ``words`` by lower bound (then upper bound, then word);
    ``unlisted_max``: a word that no hour listed has at most this many tickets; ``hours_unknown``:
    hours whose summary has no keyword lists (not counted in any bound)."""

    words: list[MergedWord]
    unlisted_max: int
    hours_unknown: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "words": [word.as_dict() for word in self.words],
            "unlisted_max": self.unlisted_max,
            "hours_unknown": self.hours_unknown,
        }


def merge_keywords(per_hour: list[Mapping[str, Any] | None], shown: int) -> dict[str, MergedKeywords]:
    """Merge the keyword lists of several hours, every scope in one pass (``per_hour``: each hour's
    ``keywords_by_scope``, None when the summary has none); the ``shown`` first words per scope.

    Counts are summed, never ranks averaged. An hour that lists the word adds its count to both
    bounds; an hour that has the scope but does not list the word adds 0 to the lower bound and its
    ``others_max`` to the upper one; an hour without the scope had no ticket of it (adds 0).
    """
    lower: dict[str, dict[str, int]] = defaultdict(dict)
    covered: dict[str, dict[str, int]] = defaultdict(dict)  # the others_max of the hours listing a word
    others_total: Counter[str] = Counter()
    unknown = 0
    for scopes in per_hour:
        if type(scopes) is not dict:
            unknown += 1
            continue
        for scope, lists in scopes.items():
            lists = _mapping(lists)
            others_max = _count(lists.get("others_max"))
            others_total[scope] += others_max
            counts, seen = lower[scope], covered[scope]
            for entry in lists.get("words") or ():
                entry = _mapping(entry)
                word, tickets = entry.get("word"), entry.get("tickets")
                if type(word) is str and type(tickets) is int:
                    counts[word] = counts.get(word, 0) + tickets
                    seen[word] = seen.get(word, 0) + others_max
    merged = {}
    for scope, counts in lower.items():
        total, seen = others_total[scope], covered[scope]
        ranked = heapq.nsmallest(shown, ((-n, -(n + total - seen[w]), w) for w, n in counts.items()))
        words = [MergedWord(word, -low, -high) for low, high, word in ranked]
        merged[scope] = MergedKeywords(words, total, unknown)
    return merged


def _due_horizon(due_hour: datetime, hour_end: datetime) -> str | None:
    """The :data:`SLA_HORIZONS` label of a due hour after the end of its ticket's hour (None: overdue)."""
    if due_hour < hour_end:
        return None
    lead_hours = (due_hour - hour_end) / HOUR
    return next(label for label, limit in SLA_HORIZONS if limit is None or lead_hours < limit)


def merge_sla(hours: list[Hour]) -> dict[str, Any]:
    """SLA pressure of the range, by priority: tickets past their due time at the end of their hour
    (``overdue_at_end``), those falling due later by how long after the end of their hour
    (``due_after_hour_end``, :data:`SLA_HORIZONS`), and the due times by clock hour (``due_by_hour``)."""
    overdue: Counter[str] = Counter()
    horizons: dict[str, Counter[str]] = defaultdict(Counter)
    by_clock: dict[str, Counter[str]] = defaultdict(Counter)
    for hour in hours:
        sla = _mapping(hour.summary.get("sla"))
        overdue.update(sum_counts([sla.get("overdue_at_end")]))
        for priority, due in _mapping(sla.get("due_by_hour")).items():
            for clock, tickets in _mapping(due).items():
                try:
                    horizon = _due_horizon(parse_utc(clock), hour.interval.end)
                except ValueError:
                    continue
                by_clock[priority][clock] += _count(tickets)
                if horizon is not None:
                    horizons[priority][horizon] += _count(tickets)
    priorities = ordered_priorities([*overdue, *by_clock])
    return {
        "priorities": priorities,
        "horizons": [label for label, _ in SLA_HORIZONS],
        "overdue_at_end": {p: overdue[p] for p in priorities},
        "due_after_hour_end": {
            p: {label: horizons[p][label] for label, _ in SLA_HORIZONS} for p in priorities
        },
        "due_by_hour": {p: dict(sorted(by_clock[p].items())) for p in priorities},
    }


def _sum_groups(hours: list[Hour], field: str) -> dict[str, dict[str, Any]]:
    """``by_team`` or ``by_type`` of several hours, summed: tickets, high_or_critical, by_priority."""
    groups: dict[str, dict[str, Any]] = {}
    for hour in hours:
        for name, figures in _mapping(hour.summary.get(field)).items():
            figures = _mapping(figures)
            group = groups.setdefault(name, {"tickets": 0, "high_or_critical": 0, "by_priority": Counter()})
            group["tickets"] += _count(figures.get("tickets"))
            group["high_or_critical"] += _count(figures.get("high_or_critical"))
            group["by_priority"].update(sum_counts([figures.get("by_priority")]))
    return {name: {**g, "by_priority": dict(g["by_priority"])} for name, g in sorted(groups.items())}


def _numeric_other_fields(rows: list[dict[str, Any]]) -> dict[str, int | float]:
    """Sums of the unknown top-level fields that are numbers in every hour that has them."""
    sums: dict[str, int | float] = {}
    skipped: set[str] = set()
    for row in rows:
        for key, value in row["other_fields"].items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                skipped.add(key)
            else:
                sums[key] = sums.get(key, 0) + value
    return {key: value for key, value in sorted(sums.items()) if key not in skipped}


def range_insights(
    hours: list[Hour], hour_range: HourRange, unreadable: list[str] | None = None, shown: int = KEYWORDS_SHOWN
) -> dict[str, Any]:
    """Everything the insights page shows for a range, from its published hours (JSON-ready)."""
    rows = [hour_row(hour) for hour in hours]
    teams = _sum_groups(hours, "by_team")
    types = _sum_groups(hours, "by_type")
    totals = {name: sum(row[name] for row in rows) for name in TOTALS}
    high = sum(team["high_or_critical"] for team in teams.values())
    by_priority = sum_counts(group["by_priority"] for group in types.values())
    busiest = max(teams.items(), key=lambda item: (item[1]["tickets"], item[0]), default=None)
    keywords = merge_keywords([hour.summary.get("keywords_by_scope") for hour in hours], shown)
    rules_versions = Counter(row["rules_version"] for row in rows if row["rules_version"])
    return {
        "range": hour_range.as_dict(),
        "hours_published": len(rows),
        "unreadable_hours": list(unreadable or []),
        "totals": totals,
        "hours_not_reconciled": [row["start"] for row in rows if row["reconciled"] is False],
        "share_high_or_critical": round(high / totals["enriched"], 6) if totals["enriched"] else 0.0,
        "high_or_critical": high,
        "by_priority": {p: by_priority.get(p, 0) for p in ordered_priorities(by_priority)},
        "by_team": teams,
        "by_type": types,
        "busiest_team": (
            {"team": busiest[0], "tickets": busiest[1]["tickets"]}
            if busiest and busiest[1]["tickets"]
            else None
        ),
        "keywords": {scope: keywords[scope].as_dict() for scope in ordered_scopes(keywords)},
        "sla": merge_sla(hours),
        "rejected_by_reason": dict(
            sorted(sum_counts(h.summary.get("rejected_by_reason") for h in hours).items())
        ),
        "by_rule": dict(sorted(sum_counts(h.summary.get("by_rule") for h in hours).items())),
        "rules_versions": dict(sorted(rules_versions.items())),
        "other_fields": _numeric_other_fields(rows),
        "hours": rows,
    }

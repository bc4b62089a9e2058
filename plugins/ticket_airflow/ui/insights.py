"""A range of hours and the figures of their published summaries, merged: counts, keywords and
phrases (with bounds), SLA pressure, and the keyword analysis (what is new in the last hour, the
alerts of the range, what characterises each ticket type, ranked by :mod:`ticket_etl.keywords`).

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ticket_etl import artifacts, keywords, schema
from ticket_etl.interval import Interval, iso_utc, parse_utc
from ticket_etl.job_contract import SUMMARY_FIELDS, TOTALS

HOUR = timedelta(hours=1)
MAX_RANGE_HOURS = 720  # 30 days of hourly runs
PRESETS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
DEFAULT_PRESET = "24h"
KEYWORDS_SHOWN = 20
MAX_EXAMPLES = 10  # example tickets kept per term entry (the job lists 3)
# SLA pressure: tickets not overdue at the end of their hour, by how long after that end they fall
# due (upper bounds in hours; None: the rest).
SLA_HORIZONS: tuple[tuple[str, int | None], ...] = (
    ("within 1 h", 1),
    ("1-4 h", 4),
    ("4-24 h", 24),
    ("after 24 h", None),
)
# Top-level fields of a summary the pages show in their own place; any other one is shown as is.
KNOWN_FIELDS = SUMMARY_FIELDS - {"rules_digest", "ingest", "kafka", "shrunk_from"}


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
        "rerouted": _count(_mapping(summary.get("routing_changes")).get("tickets")),
        "updated_later": _count(summary.get("updated_later")),
        "tickets_by_team": {team: _count(_mapping(f).get("tickets")) for team, f in by_team.items()},
        "high_or_critical": high,
        "share_high_or_critical": round(high / enriched, 6) if enriched else 0.0,
        "other_fields": other_fields(summary),
    }


@dataclass(frozen=True)
class TermKind:
    """How a summary lists one kind of term per scope: ``keywords_by_scope`` lists ``words`` of
    ``{"word", "tickets"}``, ``phrases_by_scope`` lists ``phrases`` of ``{"phrase", "tickets"}``;
    ``kind`` is the :mod:`ticket_etl.keywords` kind."""

    field: str
    lists: str
    name: str
    kind: str


WORDS = TermKind("keywords_by_scope", "words", "word", keywords.WORD)
PHRASES = TermKind("phrases_by_scope", "phrases", "phrase", keywords.PHRASE)


@dataclass(frozen=True)
class MergedTerm:
    """A word's or phrase's tickets over several hours: exact when every hour listed it (or had no
    such scope), else between ``tickets_min`` (the hours that listed it) and ``tickets_max`` (plus,
    for every other hour, that hour's ``others_max``)."""

    term: str
    tickets_min: int
    tickets_max: int

    @property
    def exact(self) -> bool:
        return self.tickets_min == self.tickets_max

    @property
    def label(self) -> str:
        """``412``, or ``≥ 412`` when only a lower bound is known."""
        return f"{self.tickets_min}" if self.exact else f"≥ {self.tickets_min}"

    def as_dict(self, name: str) -> dict[str, Any]:
        """``name`` (``word`` or ``phrase``) holds the term, as in the summaries."""
        return {
            name: self.term,
            "tickets_min": self.tickets_min,
            "tickets_max": self.tickets_max,
            "exact": self.exact,
            "label": self.label,
        }


@dataclass(frozen=True)
class MergedTerms:
    """The ranking of one scope over a range: ``terms`` by lower bound (then upper bound, then term);
    ``unlisted_max``: a term that no hour listed has at most this many tickets; ``hours_unknown``:
    hours whose summary has no lists of this kind (not counted in any bound)."""

    kind: TermKind
    terms: list[MergedTerm]
    unlisted_max: int
    hours_unknown: int

    def as_dict(self) -> dict[str, Any]:
        return {
            self.kind.lists: [term.as_dict(self.kind.name) for term in self.terms],
            "unlisted_max": self.unlisted_max,
            "hours_unknown": self.hours_unknown,
        }


@dataclass
class ScopeSums:
    """One scope's lists summed over hours: every listed term's tickets (``counts``, a lower bound),
    the ``others_max`` of the hours that listed it (``covered``) and of every hour (``others_total``)."""

    counts: dict[str, int]
    covered: dict[str, int]
    others_total: int = 0


@dataclass(frozen=True)
class TermSums:
    """A kind's lists summed over hours, every scope; ``hours_unknown``: hours without such lists."""

    kind: TermKind
    scopes: dict[str, ScopeSums]
    hours_unknown: int


def sum_terms(per_hour: Iterable[Any], kind: TermKind = WORDS) -> TermSums:
    """Sum the lists of several hours, every scope in one pass (``per_hour``: each hour's
    ``keywords_by_scope`` or ``phrases_by_scope``, None when the summary has none).

    An hour that lists the term adds its count (and its ``others_max`` to ``covered``); an hour
    without the scope had no ticket of it (adds nothing).
    """
    scopes: dict[str, ScopeSums] = {}
    unknown = 0
    for by_scope in per_hour:
        if type(by_scope) is not dict:
            unknown += 1
            continue
        for scope, lists in by_scope.items():
            lists = _mapping(lists)
            others_max = _count(lists.get("others_max"))
            sums = scopes.get(scope)
            if sums is None:
                sums = scopes[scope] = ScopeSums({}, {})
            sums.others_total += others_max
            counts, seen = sums.counts, sums.covered
            for entry in lists.get(kind.lists) or ():
                entry = _mapping(entry)
                term, tickets = entry.get(kind.name), entry.get("tickets")
                if type(term) is str and type(tickets) is int:
                    counts[term] = counts.get(term, 0) + tickets
                    seen[term] = seen.get(term, 0) + others_max
    return TermSums(kind, scopes, unknown)


def rank_terms(sums: TermSums, shown: int) -> dict[str, MergedTerms]:
    """The ``shown`` first terms per scope, by lower bound; the upper bound adds, for every hour
    that has the scope but does not list the term, that hour's ``others_max``. Counts are summed,
    never ranks averaged."""
    merged = {}
    for scope, s in sums.scopes.items():
        total, seen = s.others_total, s.covered
        ranked = heapq.nsmallest(shown, ((-n, -(n + total - seen[t]), t) for t, n in s.counts.items()))
        terms = [MergedTerm(term, -low, -high) for low, high, term in ranked]
        merged[scope] = MergedTerms(sums.kind, terms, total, sums.hours_unknown)
    return merged


def merge_keywords(
    per_hour: list[Mapping[str, Any] | None], shown: int, kind: TermKind = WORDS
) -> dict[str, MergedTerms]:
    """Merge the keyword (or phrase) lists of several hours: :func:`sum_terms`, then
    :func:`rank_terms`."""
    return rank_terms(sum_terms(per_hour, kind), shown)


def _number(value: Any) -> float | None:
    """A finite number of a summary (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return value


def term_entry(value: Any) -> dict[str, Any] | None:
    """A :class:`~ticket_etl.job_contract.TermEntry` of a summary, checked (None when it has no
    term or no tickets): figures that are not numbers, an ``exact`` that is not a bool are dropped;
    ``examples`` keeps at most :data:`MAX_EXAMPLES` ticket ids, those that are text."""
    value = _mapping(value)
    term, tickets = value.get("term"), value.get("tickets")
    if type(term) is not str or type(tickets) is not int:
        return None
    kind = value.get("kind")
    checked: dict[str, Any] = {"term": term, "kind": kind if type(kind) is str else keywords.WORD}
    checked["tickets"] = tickets
    for name in ("share", "expected", "lift", "score"):
        number = _number(value.get(name))
        if number is not None:
            checked[name] = number
    if type(value.get("exact")) is bool:
        checked["exact"] = value["exact"]
    if type(value.get("examples")) is list:
        checked["examples"] = [e for e in value["examples"] if type(e) is str][:MAX_EXAMPLES]
    return checked


def term_entries(value: Any) -> list[dict[str, Any]]:
    """A summary's list of term entries, the malformed ones left out."""
    entries = (term_entry(item) for item in value) if type(value) is list else ()
    return [entry for entry in entries if entry is not None]


def _baseline(value: Any) -> dict[str, int] | None:
    """A summary's ``baseline`` (hours, look-back hours, tickets), None when absent or malformed."""
    value = _mapping(value)
    if type(value.get("hours")) is not int:
        return None
    return {name: _count(value.get(name)) for name in ("hours", "look_back_hours", "tickets")}


def whats_new(hours: list[Hour]) -> dict[str, Any]:
    """The "What's new" panel: the surging terms of the range's last published hour, against its
    baseline, and every alert of the range, newest first.

    ``analysed``: the last hour's summary has a keyword analysis (older ones do not: the page says
    so rather than show an empty list); ``baseline`` None: not stated, ``hours`` 0: the hour had no
    published hour before it, nothing could surge. Surging terms that raised an alert are marked
    ``alert``. ``hours_with_alerts``, ``hours_without_alerts``: hours of the range whose summary
    has an alert list (even empty), and those whose summary has none (their alerts are unknown).
    """
    ordered = sorted(hours, key=lambda hour: hour.interval.start)
    last = ordered[-1] if ordered else None
    summary = last.summary if last else _EMPTY
    surging = term_entries(summary.get("surging_terms"))
    alerted = {(e["kind"], e["term"]) for e in term_entries(summary.get("alerts"))}
    alerts = []
    without = 0
    for hour in reversed(ordered):
        listed = hour.summary.get("alerts")
        if type(listed) is not list:
            without += 1
            continue
        when = {"start": iso_utc(hour.interval.start), "end": iso_utc(hour.interval.end)}
        alerts.extend({"hour": when, **entry} for entry in term_entries(listed))
    return {
        "last_hour": (
            {
                "start": iso_utc(last.interval.start),
                "end": iso_utc(last.interval.end),
                "run_id": _mapping(summary.get("run")).get("run_id"),
            }
            if last
            else None
        ),
        "analysed": "surging_terms" in summary or "baseline" in summary,
        "baseline": _baseline(summary.get("baseline")),
        "surging": [{**e, "alert": (e["kind"], e["term"]) in alerted} for e in surging],
        "alerts": alerts,
        "hours_with_alerts": len(hours) - without,
        "hours_without_alerts": without,
    }


def _type_terms(name: str, sums: Iterable[TermSums], tickets: int, phrases_silent: int) -> keywords.HourTerms:
    """A type's term counts over the range, as :func:`ticket_etl.keywords.distinctive` takes them:
    the summed listed counts and, per kind, the summed ``others_max`` (hours without phrase lists
    bound a phrase by their tickets of the type, as :func:`ticket_etl.keywords.hour_terms` does)."""
    counts: dict[tuple[str, str], int] = {}
    others: dict[str, int] = {}
    for kind_sums in sums:
        kind = kind_sums.kind.kind
        own = kind_sums.scopes.get(name) or ScopeSums({}, {})
        counts.update({(kind, term): n for term, n in own.counts.items()})
        others[kind] = own.others_total
    others[keywords.PHRASE] += phrases_silent
    return keywords.HourTerms(tickets, counts, others)


def distinctive_by_type(
    hours: list[Hour], types: Mapping[str, Mapping[str, Any]], words: TermSums, phrases: TermSums
) -> dict[str, Any]:
    """Per ticket type, the terms and phrases that characterise it against the other types.

    One published hour: its summary's ``distinctive_terms_by_type`` (the job's own ranking;
    ``source`` ``"none"`` when the summary predates it). Several: ranked here with
    :func:`ticket_etl.keywords.distinctive` from the summed lists (``words``, ``phrases``: those of
    the hours that have keyword lists, and only their tickets count; ``hours_unknown``: the others;
    ``hours_without_phrases``: counted hours without phrase lists).
    """
    if len(hours) == 1:
        listed = hours[0].summary.get("distinctive_terms_by_type")
        by_type = {name: term_entries(entries) for name, entries in _mapping(listed).items()}
        source = "summary" if type(listed) is dict else "none"
        tickets = {name: figures["tickets"] for name, figures in types.items()}
        hours_unknown = 0 if source == "summary" else 1
        hours_without_phrases = 0
    else:
        tickets, silent = Counter(), Counter()
        counted = [hour for hour in hours if type(hour.summary.get(WORDS.field)) is dict]
        for hour in counted:
            no_phrases = type(hour.summary.get(PHRASES.field)) is not dict
            for name, figures in _mapping(hour.summary.get("by_type")).items():
                n = _count(_mapping(figures).get("tickets"))
                tickets[name] += n
                silent[name] += n if no_phrases else 0
        terms = {name: _type_terms(name, (words, phrases), tickets[name], silent[name]) for name in tickets}
        by_type = keywords.distinctive(terms) if counted else {}
        source = "range" if counted else "none"
        hours_unknown = len(hours) - len(counted)
        hours_without_phrases = sum(type(hour.summary.get(PHRASES.field)) is not dict for hour in counted)
    return {
        "source": source,
        "hours_unknown": hours_unknown,
        "hours_without_phrases": hours_without_phrases,
        "types": {
            name: {"tickets": _count(tickets.get(name)), "terms": by_type[name]}
            for name in ordered_scopes(by_type)
        },
    }


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
    words = sum_terms(hour.summary.get(WORDS.field) for hour in hours)
    phrases = sum_terms((hour.summary.get(PHRASES.field) for hour in hours), PHRASES)
    top_words, top_phrases = rank_terms(words, shown), rank_terms(phrases, shown)
    rules_versions = Counter(row["rules_version"] for row in rows if row["rules_version"])
    return {
        "range": hour_range.as_dict(),
        "hours_published": len(rows),
        "unreadable_hours": list(unreadable or []),
        "totals": totals,
        "rerouted": sum(row["rerouted"] for row in rows),
        "updated_later": sum(row["updated_later"] for row in rows),
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
        "whats_new": whats_new(hours),
        "keywords": {scope: top_words[scope].as_dict() for scope in ordered_scopes(top_words)},
        "phrases": {scope: top_phrases[scope].as_dict() for scope in ordered_scopes(top_phrases)},
        "distinctive": distinctive_by_type(hours, types, words, phrases),
        "sla": merge_sla(hours),
        "rejected_by_reason": dict(
            sorted(sum_counts(h.summary.get("rejected_by_reason") for h in hours).items())
        ),
        "by_rule": dict(sorted(sum_counts(h.summary.get("by_rule") for h in hours).items())),
        "rules_versions": dict(sorted(rules_versions.items())),
        "other_fields": _numeric_other_fields(rows),
        "hours": rows,
    }

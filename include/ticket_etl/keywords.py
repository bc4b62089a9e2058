"""Keyword contrast, defined once: the G² score, what counts as surging, distinctive or an alert.

The Spark job ranks an hour's terms with these rules; the UI ranks a range's with the same
functions, from the published summaries. Why G² and why these thresholds: docs/keywords.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ticket_etl.job_contract import Baseline, TermEntry

WORD, PHRASE = "word", "phrase"
OVERALL_SCOPE = "all"  # every ticket of the hour; the other scopes are the ticket types
KINDS = (WORD, PHRASE)
# What a term must reach to be listed (one-off typos and chance never rank: G² of 10.83 is p = 0.001
# for a chi-square of 1 degree of freedom) ...
MIN_TICKETS = 5
MIN_SHARE = 0.01
MIN_SCORE = 10.83
# ... and to raise an alert (a chi-square of 1 degree of freedom above 50: p < 1e-11).
ALERT_MIN_SCORE = 50.0
ALERT_MIN_TICKETS = 10
ALERT_MIN_LIFT = 4.0
ALERT_MIN_BASELINE_HOURS = 1
COUNTED_TERMS = 1000  # overall terms of each kind in an hour's term_counts.json
LISTED_PER_SCOPE = 10  # entries of each ranking in the summary (surging, distinctive per type)
EXAMPLES = 3  # ticket ids shown with each surging term


def _xlogx(x: float) -> float:
    return x * math.log(x) if x > 0 else 0.0


def g2(tickets: float, total: float, other_tickets: float, other_total: float) -> float:
    """Dunning's log-likelihood ratio of a 2x2 table: the term in ``tickets`` of ``total`` tickets
    against ``other_tickets`` of ``other_total``. Signed: positive when the term is more frequent
    in the first set, negative when less. 0 when either set is empty."""
    if total <= 0 or other_total <= 0:
        return 0.0
    absent, other_absent = total - tickets, other_total - other_tickets
    cells = _xlogx(tickets) + _xlogx(absent) + _xlogx(other_tickets) + _xlogx(other_absent)
    rows = _xlogx(total) + _xlogx(other_total)
    columns = _xlogx(tickets + other_tickets) + _xlogx(absent + other_absent)
    score = max(0.0, 2.0 * (cells - rows - columns + _xlogx(total + other_total)))
    return score if tickets * other_total >= other_tickets * total else -score


def lift(tickets: float, expected: float) -> float:
    """How many times more tickets than expected, counting at least one expected ticket (a term the
    reference never saw does not divide by zero)."""
    return tickets / max(expected, 1.0)


def entry(
    term: str, kind: str, tickets: int, total: int, other_tickets: float, other_total: int, **extra: Any
) -> TermEntry:
    """A term's figures against a reference: expected at the reference's rate, lift, score."""
    expected = total * other_tickets / other_total if other_total else 0.0
    return {
        "term": term,
        "kind": kind,
        "tickets": tickets,
        "share": round(tickets / total, 6) if total else 0.0,
        "expected": round(expected, 3),
        "lift": round(lift(tickets, expected), 3),
        "score": round(g2(tickets, total, other_tickets, other_total), 3),
        **extra,
    }


def listable(term: TermEntry) -> bool:
    """Enough support and clearly over-represented: :data:`MIN_TICKETS` tickets,
    :data:`MIN_SHARE` of the set, a score of at least :data:`MIN_SCORE`."""
    return term["tickets"] >= MIN_TICKETS and term["share"] >= MIN_SHARE and term["score"] >= MIN_SCORE


def ranked(terms: Iterable[TermEntry], limit: int = LISTED_PER_SCOPE) -> list[TermEntry]:
    """The listable terms by score (then tickets, then term), at most ``limit``."""
    keep = [term for term in terms if listable(term)]
    return sorted(keep, key=lambda t: (-t["score"], -t["tickets"], t["term"], t["kind"]))[:limit]


def is_alert(term: TermEntry, baseline: Baseline) -> bool:
    """A surging term past every alert threshold, against a baseline of enough hours."""
    return (
        baseline["hours"] >= ALERT_MIN_BASELINE_HOURS
        and term["score"] >= ALERT_MIN_SCORE
        and term["tickets"] >= ALERT_MIN_TICKETS
        and term["lift"] >= ALERT_MIN_LIFT
    )


@dataclass(frozen=True)
class HourTerms:
    """Term counts of a set of tickets (an hour, or a type over a range): the listed terms and
    ``others_max``, the most tickets an unlisted term can have there. ``counts`` are exact for one
    hour; over several they are lower bounds, and ``upper`` (when given) the upper bounds."""

    tickets: int
    counts: Mapping[tuple[str, str], int]  # (kind, term) -> tickets
    others_max: Mapping[str, int]  # kind -> bound
    upper: Mapping[tuple[str, str], int] | None = None

    def at_most(self, kind: str, term: str) -> int:
        """The most tickets ``term`` can have here: a reference is never understated."""
        listed = (self.upper or self.counts).get((kind, term))
        return self.others_max.get(kind, 0) if listed is None else listed


def term_counts(tickets: int, words: Mapping[str, Any], phrases: Mapping[str, Any] | None) -> HourTerms:
    """An hour's overall term counts from its published lists (``{"words": [...], "others_max"}``,
    ``{"phrases": [...], "others_max"}``). A list published before phrases were counted says
    nothing of them: a phrase is then bounded by the hour's size."""
    counts = {(WORD, e["word"]): e["tickets"] for e in words.get("words", [])}
    counts.update({(PHRASE, e["phrase"]): e["tickets"] for e in (phrases or {}).get("phrases", [])})
    phrase_bound = phrases.get("others_max", 0) if phrases else tickets
    return HourTerms(tickets, counts, {WORD: words.get("others_max", 0), PHRASE: phrase_bound})


def counted_terms(document: Mapping[str, Any]) -> HourTerms | None:
    """An hour's ``term_counts.json`` (its overall terms, listed deeper than the summary's, so that
    later hours compare with exact counts): ``{"tickets", "keywords", "phrases"}``; None for an
    empty hour."""
    if not document.get("tickets"):
        return None
    return term_counts(document["tickets"], document["keywords"], document["phrases"])


def hour_terms(summary: Mapping[str, Any]) -> HourTerms | None:
    """A published summary's overall term counts (None when it lists no words: an older summary,
    or an empty hour)."""
    words = (summary.get("keywords_by_scope") or {}).get(OVERALL_SCOPE)
    tickets = (summary.get("totals") or {}).get("enriched", 0)
    if not isinstance(words, Mapping) or not tickets:
        return None
    return term_counts(tickets, words, (summary.get("phrases_by_scope") or {}).get(OVERALL_SCOPE))


def surging(
    current: HourTerms | None, baseline_hours: list[HourTerms], look_back: int
) -> tuple[Baseline, list[TermEntry]]:
    """The current hour's listed terms (None: an empty hour, nothing surges) against the published hours of the ``look_back`` hours
    before it (``baseline_hours``): exact where every baseline hour lists the term (or lists every
    term), an upper bound (each silent hour's ``others_max``) where one does not, so an unlisted
    past never makes a term look newer than it is."""
    baseline_total = sum(hour.tickets for hour in baseline_hours)
    baseline: Baseline = {
        "hours": len(baseline_hours),
        "look_back_hours": look_back,
        "tickets": baseline_total,
    }
    if current is None or not baseline_total:
        return baseline, []
    terms = []
    for (kind, term), tickets in current.counts.items():
        bound = sum(hour.at_most(kind, term) for hour in baseline_hours)
        exact = all((kind, term) in hour.counts or not hour.others_max[kind] for hour in baseline_hours)
        terms.append(entry(term, kind, tickets, current.tickets, bound, baseline_total, exact=exact))
    return baseline, ranked(terms)


def distinctive(
    by_type: Mapping[str, HourTerms], limit: int = LISTED_PER_SCOPE
) -> dict[str, list[TermEntry]]:
    """Per type, its terms against every other type's tickets (``by_type``: each type's term counts,
    of one hour or merged over a range). A type's own count is its lower bound, the other types'
    their upper bound (:meth:`HourTerms.at_most`), so a term never looks more distinctive than it is."""
    total = sum(terms.tickets for terms in by_type.values())
    result = {}
    for name, own in by_type.items():
        others = [terms for other, terms in by_type.items() if other != name]
        candidates = []
        for (kind, term), tickets in own.counts.items():
            rest = sum(o.at_most(kind, term) for o in others)
            candidates.append(entry(term, kind, tickets, own.tickets, rest, total - own.tickets))
        result[name] = ranked(candidates, limit)
    return result

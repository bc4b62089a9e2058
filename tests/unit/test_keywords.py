"""The keyword contrast rules (ticket_etl.keywords) on hand-computed values."""

from __future__ import annotations

import pytest

from ticket_etl import keywords
from ticket_etl.keywords import PHRASE, WORD, HourTerms


def test_g2_of_a_term_in_30_of_100_tickets_against_10_of_1000() -> None:
    # 2 * sum(O ln(O/E)) over [[30, 70], [10, 990]]: E = [[3.636, 96.364], [36.364, 963.636]]
    # 30 ln 8.25 + 70 ln 0.72642 + 10 ln 0.275 + 990 ln 1.027358 = 54.743
    assert keywords.g2(30, 100, 10, 1000) == pytest.approx(109.486, abs=1e-3)


def test_g2_is_signed_zero_for_equal_rates_and_empty_sets() -> None:
    assert keywords.g2(10, 1000, 30, 100) == pytest.approx(-keywords.g2(30, 100, 10, 1000))
    assert keywords.g2(10, 100, 100, 1000) == pytest.approx(0.0, abs=1e-9)
    assert keywords.g2(5, 0, 1, 10) == 0.0 and keywords.g2(5, 10, 0, 0) == 0.0


def test_an_entry_says_expected_lift_and_score() -> None:
    term = keywords.entry("panne", WORD, 30, 100, 10, 1000)
    assert term == {
        "term": "panne",
        "kind": WORD,
        "tickets": 30,
        "share": 0.3,
        "expected": 1.0,  # 100 tickets at the baseline's 1%
        "lift": 30.0,
        "score": pytest.approx(109.486, abs=1e-3),
    }
    assert keywords.entry("neuf", WORD, 12, 100, 0, 1000)["lift"] == 12.0  # never seen: one expected


def test_ranked_keeps_supported_over_represented_terms_by_score() -> None:
    terms = [
        keywords.entry("typo", WORD, 2, 100, 0, 1000),  # below MIN_TICKETS
        keywords.entry("rare", WORD, 5, 1000, 0, 1000),  # below MIN_SHARE
        keywords.entry("usual", WORD, 10, 100, 100, 1000),  # as often as before
        keywords.entry("new", PHRASE, 20, 100, 10, 1000),
        keywords.entry("newer", WORD, 30, 100, 10, 1000),
    ]
    assert [t["term"] for t in keywords.ranked(terms)] == ["newer", "new"]


def _hour(tickets: int, counts: dict[tuple[str, str], int], others: int = 0) -> HourTerms:
    return HourTerms(tickets, counts, {WORD: others, PHRASE: others})


def test_surging_is_exact_where_every_baseline_hour_lists_the_term() -> None:
    current = _hour(100, {(WORD, "panne"): 30, (WORD, "facture"): 10})
    past = [_hour(500, {(WORD, "panne"): 5, (WORD, "facture"): 50}, 4) for _ in range(2)]
    baseline, surging = keywords.surging(current, past, 24)
    assert baseline == {"hours": 2, "look_back_hours": 24, "tickets": 1000}
    assert [(t["term"], t["expected"], t["exact"]) for t in surging] == [("panne", 1.0, True)]
    assert surging[0]["score"] == pytest.approx(109.486, abs=1e-3)


def test_surging_counts_an_unlisted_term_at_the_bound_of_each_silent_hour() -> None:
    current = _hour(100, {(PHRASE, "paiement refusé"): 30})
    past = [_hour(500, {(PHRASE, "paiement refusé"): 2}, 3), _hour(500, {}, 8)]
    _, surging = keywords.surging(current, past, 24)
    assert [(t["term"], t["expected"], t["exact"]) for t in surging] == [("paiement refusé", 1.0, False)]


def test_a_term_no_baseline_hour_has_is_exactly_new_when_they_list_every_term() -> None:
    current = _hour(100, {(WORD, "certificat"): 30})
    _, surging = keywords.surging(current, [_hour(500, {(WORD, "facture"): 50}, 0)] * 3, 24)
    assert [(t["expected"], t["exact"]) for t in surging] == [(0.0, True)]


def test_no_baseline_no_surge() -> None:
    baseline, surging = keywords.surging(_hour(100, {(WORD, "panne"): 30}), [], 24)
    assert baseline["hours"] == 0 and surging == []


def test_alert_needs_score_tickets_lift_and_enough_baseline_hours() -> None:
    wave = keywords.entry("paiement refusé", PHRASE, 60, 1000, 10, 24000)
    assert keywords.is_alert(wave, {"hours": 24, "look_back_hours": 24, "tickets": 24000})
    assert not keywords.is_alert(wave, {"hours": 0, "look_back_hours": 24, "tickets": 0})
    small = keywords.entry("paiement refusé", PHRASE, 8, 100, 0, 24000)
    assert small["score"] >= keywords.ALERT_MIN_SCORE and not keywords.is_alert(
        small, {"hours": 24, "look_back_hours": 24, "tickets": 1}
    )
    common = keywords.entry("facture", WORD, 300, 1000, 3000, 24000)  # 30% against 12.5%: lift 2.4
    assert common["score"] >= keywords.ALERT_MIN_SCORE and not keywords.is_alert(
        common, {"hours": 24, "look_back_hours": 24, "tickets": 1}
    )


def test_distinctive_against_the_other_types_counts_their_bound_when_unlisted() -> None:
    by_type = {
        "billing": _hour(100, {(WORD, "remboursement"): 30, (WORD, "erreur"): 20}),
        "incident": _hour(1000, {(WORD, "erreur"): 200}, others=10),
    }
    result = keywords.distinctive(by_type)
    # remboursement: 30 of 100 against at most 10 of 1000 (incident's bound); erreur is as frequent
    assert [(t["term"], t["tickets"], t["expected"]) for t in result["billing"]] == [
        ("remboursement", 30, 1.0)
    ]
    assert result["billing"][0]["score"] == pytest.approx(109.486, abs=1e-3)
    assert result["incident"] == []


def test_hour_terms_of_a_summary_and_of_an_older_one() -> None:
    summary = {
        "totals": {"enriched": 50},
        "keywords_by_scope": {"all": {"words": [{"word": "panne", "tickets": 9}], "others_max": 2}},
        "phrases_by_scope": {"all": {"phrases": [{"phrase": "login loop", "tickets": 4}], "others_max": 1}},
    }
    terms = keywords.hour_terms(summary)
    assert terms == HourTerms(50, {(WORD, "panne"): 9, (PHRASE, "login loop"): 4}, {WORD: 2, PHRASE: 1})
    older = {"totals": {"enriched": 50}, "keywords_by_scope": summary["keywords_by_scope"]}
    assert keywords.hour_terms(older).others_max == {WORD: 2, PHRASE: 50}  # phrases unknown: bound = size
    assert keywords.hour_terms({"totals": {"enriched": 0}}) is None

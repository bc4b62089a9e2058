"""The generator: schema-valid, deterministic, realistic distributions, malformed records on demand."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ticket_demo.generator import MALFORMED_KINDS, generate_batch, generate_stream_chunk
from ticket_etl import schema

START = datetime(2026, 11, 28, 4, tzinfo=UTC)
END = START + timedelta(hours=1)


@pytest.fixture(scope="module")
def big_batch() -> list[dict]:
    return generate_batch(START, END, 20_000, seed=7).dicts()


def test_same_inputs_give_identical_tickets() -> None:
    first, second = generate_batch(START, END, 2_000, seed=3), generate_batch(START, END, 2_000, seed=3)
    assert first.records() == second.records()


def test_other_interval_or_seed_gives_disjoint_ids() -> None:
    base = set(generate_batch(START, END, 5_000, seed=3).keys)
    other_seed = set(generate_batch(START, END, 5_000, seed=4).keys)
    next_hour = set(generate_batch(END, END + timedelta(hours=1), 5_000, seed=3).keys)
    overlapping = set(generate_batch(START + timedelta(minutes=30), END, 5_000, seed=3).keys)
    assert len(base) == 5_000
    assert base.isdisjoint(other_seed) and base.isdisjoint(next_hour) and base.isdisjoint(overlapping)


def test_ids_have_the_documented_shape() -> None:
    keys = generate_batch(START, END, 100).keys
    assert all(k.startswith(b"TCK-") and len(k) == 24 and int(k[4:], 16) >= 0 for k in keys)


def test_every_ticket_matches_the_schema(big_batch: list[dict]) -> None:
    errors = [(t["ticket_id"], e) for t in big_batch for e in schema.validation_errors(t)]
    assert errors == []
    assert all(list(t) == schema.fields() for t in big_batch[:100])


def test_created_at_inside_interval_and_equal_to_timestamp() -> None:
    start = datetime(2026, 11, 28, 4, 0, 0, 500, tzinfo=UTC)  # bounds with microseconds
    end = datetime(2026, 11, 28, 4, 0, 0, 9_500, tzinfo=UTC)
    batch = generate_batch(start, end, 2_000, seed=1)
    for value, timestamp_ms in zip(batch.values, batch.timestamps_ms, strict=True):
        created = datetime.strptime(json.loads(value)["created_at"], schema.CREATED_AT_FORMAT).replace(
            tzinfo=UTC
        )
        assert start <= created < end
        assert int(created.timestamp() * 1000) == timestamp_ms
    assert batch.timestamps_ms == sorted(batch.timestamps_ms)


def test_distributions(big_batch: list[dict]) -> None:
    n = len(big_batch)
    priority = Counter(t["priority"] for t in big_batch)
    assert 0.32 < priority["low"] / n < 0.39
    assert 0.36 < priority["medium"] / n < 0.43
    assert 0.15 < priority["high"] / n < 0.21
    assert 0.05 < priority["critical"] / n < 0.10
    assert 0.57 < sum(t["language"] == "fr" for t in big_batch) / n < 0.63
    types = Counter(t["type"] for t in big_batch)
    assert set(types) == set(schema.enums()["type"]) and min(types.values()) / n > 0.10
    clients = Counter(t["client_id"] for t in big_batch).most_common()
    top_decile = clients[: max(1, len(clients) // 10)]
    assert sum(c for _, c in top_decile) / n > 0.5  # heavy tail of repeat clients
    assert clients[0][1] > 50


def test_texts_correlate_with_type(big_batch: list[dict]) -> None:
    keywords = {
        "incident": ("panne", "erreur", "error", "outage", "down", "échoué", "failed", "fails"),
        "billing": (
            "facture",
            "invoice",
            "rembours",
            "refund",
            "prélev",
            "charged",
            "paiement",
            "payment",
            "montant",
            "amount",
            "avoir",
            "credit",
            "reçu",
            "receipt",
            "relevé",
            "statement",
            "devis",
            "quote",
            "échéancier",
            "schedule",
        ),
    }
    for kind, words in keywords.items():
        texts = [(t["subject"] + " " + t["description"]).lower() for t in big_batch if t["type"] == kind]
        assert sum(any(w in text for w in words) for text in texts) / len(texts) > 0.95


def test_french_accents_and_a_few_typos(big_batch: list[dict]) -> None:
    french = [t["description"] for t in big_batch if t["language"] == "fr"]
    assert sum(any(c in text for c in "éèàçù") for text in french) / len(french) > 0.5
    subjects = {t["subject"] for t in big_batch}
    assert any("connexion" in s.lower() for s in subjects) and any("mot de passe" in s for s in subjects)
    assert len(subjects) > 300


def test_malformed_share_and_kinds() -> None:
    batch = generate_batch(START, END, 1_200, seed=5, malformed_share=0.05)
    assert len(batch.malformed) == 60
    assert Counter(batch.malformed.values()) == {kind: 10 for kind in MALFORMED_KINDS}
    again = generate_batch(START, END, 1_200, seed=5, malformed_share=0.05)
    assert again.records() == batch.records() and again.malformed == batch.malformed
    assert batch.keys == generate_batch(START, END, 1_200, seed=5).keys  # malformed records keep their key
    for row, kind in batch.malformed.items():
        value = batch.values[row]
        if kind == "invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                value.decode("utf-8")
        elif kind == "not_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(value)
        else:
            ticket = json.loads(value)
            assert schema.validation_errors(ticket) != []
            if kind == "oversized":
                assert len(ticket["description"]) > schema.max_lengths()["description"]
            elif kind == "unknown_enum":
                assert ticket["type"] not in schema.enums()["type"]
            elif kind == "wrong_type":
                assert isinstance(ticket["priority"], int)
            elif kind == "missing_field":
                assert set(schema.required_fields()) - set(ticket)
    valid = [json.loads(v) for i, v in enumerate(batch.values) if i not in batch.malformed]
    assert all(schema.validation_errors(t) == [] for t in valid)


def test_no_malformed_by_default_and_share_bounds() -> None:
    assert generate_batch(START, END, 500).malformed == {}
    assert len(generate_batch(START, END, 50, malformed_share=1.0).malformed) == 50
    with pytest.raises(ValueError, match="malformed_share"):
        generate_batch(START, END, 10, malformed_share=1.5)
    with pytest.raises(ValueError, match="after start"):
        generate_batch(END, START, 10)


def test_stream_ids_depend_on_seed_and_index_only() -> None:
    whole = generate_stream_chunk(9, 0, [1_764_302_400_000] * 100)
    parts = generate_stream_chunk(9, 0, [1] * 40).keys + generate_stream_chunk(9, 40, [2] * 60).keys
    assert whole.keys == parts
    assert set(whole.keys).isdisjoint(generate_stream_chunk(10, 0, [1] * 100).keys)
    assert all(schema.validation_errors(t) == [] for t in whole.dicts())

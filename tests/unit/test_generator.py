"""The generator: schema-valid, deterministic, realistic distributions, malformed records and
incident waves on demand, text without slips."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from ticket_demo.generator import (
    MALFORMED_KINDS,
    TAGS,
    VOCABULARY_PATH,
    WAVE_TEXT_MAX,
    IncidentWave,
    generate_batch,
    generate_stream_chunk,
)
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
    assert all(list(t) == schema.committed(1).fields() for t in big_batch[:100])


def test_a_version_2_ticket_is_its_version_1_twin_with_tags() -> None:
    """Asked for version 2, the generator writes ``tags`` (1 to 3 distinct known tags) last, and
    every other field as in version 1: only the version and the tags differ."""
    first = generate_batch(START, END, 500, seed=5).dicts()
    second = generate_batch(START, END, 500, seed=5, schema_version=2).dicts()
    assert [schema.validation_errors(t) for t in second] == [[]] * 500
    assert all(list(t) == schema.committed(2).fields() for t in second)
    for one, two in zip(first, second, strict=True):
        tags = two.pop("tags")
        assert 1 <= len(tags) <= 3 and len(set(tags)) == len(tags) and set(tags) <= set(TAGS)
        assert two == {**one, "schema_version": 2}
    assert schema.validation_errors({**first[0], "tags": ["vip"]}) != []  # not a field of version 1


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
        "incident": (
            "panne",
            "erreur",
            "error",
            "outage",
            "down",
            "échoué",
            "failed",
            "fails",
            "plant",
            "crash",
            "lenteur",
            "temps de réponse",
            "response times",
            "inaccessible",
            "unable",
            "impossible",
            "cannot",
        ),
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


# --- text quality ----------------------------------------------------------------------------------

ORDINAL = re.compile(r"\b(\d+)(th|st|nd|rd)\b", re.IGNORECASE)


def english_suffix(number: int) -> str:
    """The right English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th-13th, 21st, 22nd, 112th."""
    if 10 <= number % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def texts(tickets: list[dict], language: str | None = None) -> list[str]:
    return [t["subject"] + "\n" + t["description"] for t in tickets if language in (None, t["language"])]


def test_english_ordinals_are_right_and_no_th_token(big_batch: list[dict]) -> None:
    ordinals = [m for text in texts(big_batch) for m in ORDINAL.finditer(text)]
    assert len(ordinals) > 100  # the detail sentence is there, with its ordinals
    wrong = {m.group(0) for m in ordinals if m.group(2).lower() != english_suffix(int(m.group(1)))}
    assert wrong == set()
    assert not any(re.search(r"\bth\b", text, re.IGNORECASE) for text in texts(big_batch))


def test_french_elisions_and_contractions(big_batch: list[dict]) -> None:
    """No "de avril", "de le portail", "à le VPN", "la devis": articles agree and elide."""
    slips = re.compile(
        r"(?<![\w-])(de|que|je) [aeiouéèêàâîôûAEIOUÉ]|\b(de|à) (le|les)\b"  # "puis-je exporter" is right
        r"|\b(la|ma) (avoir|devis|reçu|relevé|échéancier)\b"
    )
    french = texts(big_batch, "fr")
    assert [text for text in french if slips.search(text)] == []


def test_several_phrasings_per_language_and_type() -> None:
    vocabulary = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    for language in schema.enums()["language"]:
        for kind in schema.enums()["type"]:
            key = f"{language}/{kind}"
            assert len(vocabulary["subjects"][key]["templates"]) >= 10, key
            assert len(vocabulary["bodies"][key]["templates"]) >= 8, key


def test_every_template_is_about_as_likely_as_the_others(big_batch: list[dict]) -> None:
    """A template with one filling is not drowned by one with hundreds (each is drawn first)."""
    vocabulary = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    for section, field_ in (("subjects", "subject"), ("bodies", "description")):
        for key, group in vocabulary[section].items():
            language, kind = key.split("/")
            found = [t[field_] for t in big_batch if (t["language"], t["type"]) == (language, kind)]
            for template in group["templates"]:
                pattern = re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.escape(template)), re.IGNORECASE)
                share = sum(bool(pattern.search(text)) for text in found) / len(found)
                assert share > 0.5 / len(group["templates"]), (key, template, share)


def test_openings_and_closings_in_fewer_than_half(big_batch: list[dict]) -> None:
    vocabulary = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    openings = {text for texts_ in vocabulary["openings"].values() for text in texts_}
    closings = {text for texts_ in vocabulary["closings"].values() for text in texts_}
    lines = [t["description"].split("\n") for t in big_batch]
    opened = sum(len(parts) > 1 and parts[0] in openings for parts in lines) / len(lines)
    closed = sum(len(parts) > 1 and parts[-1] in closings for parts in lines) / len(lines)
    assert 0.15 < opened < 0.5 and 0.15 < closed < 0.5


# --- incident wave ---------------------------------------------------------------------------------

WAVE_TEXT = "paiement refusé par la banque"
WAVE = IncidentWave(WAVE_TEXT, 0.06)


def test_wave_takes_exactly_round_share_tickets_all_incidents_quoting_the_text() -> None:
    plain = generate_batch(START, END, 1_234, seed=8)
    batch = generate_batch(START, END, 1_234, seed=8, incident_wave=WAVE)
    assert len(batch.wave_rows) == round(0.06 * 1_234) == 74
    tickets = [json.loads(v) for v in batch.values]
    wave = [tickets[row] for row in batch.wave_rows]
    assert all(WAVE_TEXT in t["subject"] and WAVE_TEXT in t["description"] for t in wave)
    assert all(t["type"] == "incident" for t in wave)
    assert sum(t["priority"] in ("high", "critical") for t in wave) / len(wave) > 0.6
    assert {t["language"] for t in wave} == {"fr", "en"}
    assert all(schema.validation_errors(t) == [] for t in tickets)
    others = set(range(len(batch))) - set(batch.wave_rows)
    assert not any(WAVE_TEXT in tickets[i]["description"] for i in others)
    # The other tickets are those of the batch without a wave; the wave's tickets have ids of their
    # own, so a wave added to an hour already generated is sent in full.
    assert all(batch.records()[i] == plain.records()[i] for i in others)
    assert not {batch.keys[row] for row in batch.wave_rows} & set(plain.keys)
    assert len(set(batch.keys)) == len(batch)


def test_wave_is_deterministic_and_nested() -> None:
    first = generate_batch(START, END, 2_000, seed=3, incident_wave=WAVE)
    again = generate_batch(START, END, 2_000, seed=3, incident_wave=IncidentWave.parse(f"{WAVE_TEXT}:0.06"))
    assert first.records() == again.records() and first.wave_rows == again.wave_rows
    other_seed = generate_batch(START, END, 2_000, seed=4, incident_wave=WAVE)
    assert other_seed.wave_rows != first.wave_rows
    larger = generate_batch(START, END, 2_000, seed=3, incident_wave=IncidentWave(WAVE_TEXT, 0.1))
    assert set(first.wave_rows) < set(larger.wave_rows)  # a larger share takes the same tickets and more
    assert generate_batch(START, END, 2_000, seed=3).wave_rows == []


def test_wave_with_malformed_records() -> None:
    batch = generate_batch(START, END, 1_200, seed=5, malformed_share=0.05, incident_wave=WAVE)
    assert len(batch.malformed) == 60 and len(batch.wave_rows) == 72
    assert batch.malformed == generate_batch(START, END, 1_200, seed=5, malformed_share=0.05).malformed
    valid_wave = [json.loads(batch.values[row]) for row in batch.wave_rows if row not in batch.malformed]
    assert valid_wave and all(t["type"] == "incident" and WAVE_TEXT in t["subject"] for t in valid_wave)
    assert all(schema.validation_errors(t) == [] for t in batch.dicts())


def test_wave_text_is_kept_verbatim_and_escaped() -> None:
    text = 'échec "SSO" \\ boucle de connexion ' + "x" * (WAVE_TEXT_MAX - 34)
    assert len(text) == WAVE_TEXT_MAX
    batch = generate_batch(START, END, 300, seed=2, incident_wave=IncidentWave(text, 1.0))
    tickets = batch.dicts()
    assert len(batch.wave_rows) == 300
    assert all(text in t["subject"] and text in t["description"] for t in tickets)
    assert all(schema.validation_errors(t) == [] for t in tickets)


def test_stream_wave_depends_on_the_index_only() -> None:
    wave = IncidentWave("login loop after the update", 0.1)
    whole = generate_stream_chunk(9, 0, [1_764_302_400_000] * 4_000, incident_wave=wave)
    first = generate_stream_chunk(9, 0, [1] * 1_500, incident_wave=wave)
    second = generate_stream_chunk(9, 1_500, [2] * 2_500, incident_wave=wave)
    assert whole.wave_rows == first.wave_rows + [1_500 + row for row in second.wave_rows]
    assert 0.08 < len(whole.wave_rows) / 4_000 < 0.12
    assert whole.keys == first.keys + second.keys
    tickets = [json.loads(v) for v in whole.values]
    assert all(wave.text in tickets[row]["description"] for row in whole.wave_rows)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("paiement refusé", "no ':' between the text and the share"),
        ("paiement refusé:", "the share '' is not a number"),
        ("paiement refusé:6%", "the share '6%' is not a number"),
        (":0.06", "the text is empty"),
        ("   :0.06", "the text is empty"),
        ("paiement refusé:0", r"the share must be in \(0, 1\], got 0.0"),
        ("paiement refusé:1.5", r"the share must be in \(0, 1\], got 1.5"),
        ("paiement refusé:nan", r"the share must be in \(0, 1\], got nan"),
        ("x" * (WAVE_TEXT_MAX + 1) + ":0.1", f"more than {WAVE_TEXT_MAX}"),
        ("paiement\nrefusé:0.1", "one line"),
    ],
)
def test_bad_wave_values_give_one_clear_line(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        IncidentWave.parse(value)
    text = str(caught.value)
    assert "\n" not in text and text.startswith("incident wave ") and "TEXT:SHARE" in text


def test_wave_parse_splits_at_the_last_colon() -> None:
    assert IncidentWave.parse(" erreur : paiement refusé : 0.5 ") == IncidentWave(
        "erreur : paiement refusé", 0.5
    )
    assert IncidentWave.parse("outage:1") == IncidentWave("outage", 1.0)
    with pytest.raises(ValueError, match="incident wave: the share"):
        IncidentWave("outage", 0)

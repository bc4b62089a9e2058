"""Unit tests of the job's transformations, on a local SparkSession (no Kafka)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from ticket_analysis import analysis, enrichment, routing, statistics, validation
from ticket_etl import keywords, schema
from ticket_etl.config import ROUTING_RULES_PATH, STOPWORDS_PATH
from ticket_etl.rules import RulesError, load_rules, parse_rules

# The committed versions as a registry would hold them, under ids other than their numbers (a
# record's header names the id, not the version).
REGISTRY_IDS = {101: 1, 102: 2}
CONTRACT = validation.Contract({v: schema.committed(v) for v in REGISTRY_IDS.values()}, REGISTRY_IDS)
RECORDS_SCHEMA = (
    "key binary, value binary, headers array<struct<key:string,value:binary>>, partition int, offset long, "
    "timestamp timestamp"
)


def _checked(spark, values: list[bytes], schema_ids: list[str | None] | None = None):
    """``values`` checked as records (offset = index), each with a ``schema_id`` header if given."""
    ids = schema_ids or [None] * len(values)
    rows = [
        (b"k", v, None if i is None else [("schema_id", i.encode())], 0, n, datetime(2026, 11, 28, 4))
        for n, (v, i) in enumerate(zip(values, ids, strict=True))
    ]
    records = spark.createDataFrame(rows, RECORDS_SCHEMA)
    return records.transform(lambda frame: validation.with_reject_reason(frame, CONTRACT)).orderBy("offset")


def _ticket(**overrides) -> dict:
    ticket = {
        "ticket_id": "TCK-1",
        "client_id": "CLI-1",
        "created_at": "2026-11-28T04:10:00.123Z",
        "channel": "email",
        "language": "fr",
        "subject": "Panne réseau",
        "description": "Le réseau est en panne.",
        "type": "incident",
        "priority": "high",
        "schema_version": 1,
    }
    ticket.update(overrides)
    return ticket


def _terms(spark, text: str, stopwords: list[str]) -> tuple[list[str], list[str]]:
    """The keywords and phrases of one ticket whose subject is ``text``."""
    df = spark.createDataFrame([(text, "")], "subject string, description string")
    row = enrichment.with_terms(df, stopwords).first()
    return row["keywords"], row["phrases"]


@pytest.fixture(scope="module")
def stopwords(spark) -> list[str]:
    return enrichment.with_default_stopwords(enrichment.load_stopwords(STOPWORDS_PATH))


def test_tokenization_keeps_french_accents_and_drops_elisions(spark, stopwords) -> None:
    words, _ = _terms(
        spark, "Le réseau ne répond plus jusqu'à aujourd'hui, problème de connexion à l'élément", stopwords
    )
    assert words == ["réseau", "répond", "problème", "connexion", "élément"]


def test_tokenization_lowercases_and_drops_stopwords_numbers_ids_and_ordinals(spark, stopwords) -> None:
    text = "Hello, the INVOICE 2024 is wrong; invoice #42 (C-10293, E-1042) please! The 5th time, la 2e fois."
    assert _terms(spark, text, stopwords)[0] == ["invoice", "wrong"]


def test_salutations_and_sign_offs_are_no_terms(spark, stopwords) -> None:
    text = (
        "Bonjour, Madame, Monsieur. Merci d'avance. Cordialement. Hi team, thanks in advance. Best regards."
    )
    assert _terms(spark, text, stopwords) == ([], [])


def test_phrases_join_neighbours_once_stop_words_are_gone_never_across_a_sentence(spark, stopwords) -> None:
    words, phrases = _terms(spark, "Le paiement est refusé par la banque. Login loop again", stopwords)
    assert words == ["paiement", "refusé", "banque", "login", "loop"]  # "again": Spark's English list
    assert phrases == ["paiement refusé", "refusé banque", "login loop"]


def test_no_phrase_joins_the_subject_and_the_description(spark, stopwords) -> None:
    df = spark.createDataFrame([("Paiement refusé", "Banque fermée")], "subject string, description string")
    assert enrichment.with_terms(df, stopwords).first()["phrases"] == ["paiement refusé", "banque fermée"]


def test_tokenization_of_empty_text_is_empty(spark, stopwords) -> None:
    assert _terms(spark, "", stopwords) == ([], [])


RULES = parse_rules(
    {
        "version": "t1",
        "rules": [
            {
                "id": "critical-billing",
                "when": {"type": ["billing"], "priority": ["critical"]},
                "team": "incident",
            },
            {"id": "outage-words", "when": {"keywords": ["panne", "outage"]}, "team": "incident"},
            {
                "id": "english-questions",
                "when": {"type": ["question"], "language": ["en"]},
                "team": "produit",
            },
            {"id": "questions", "when": {"type": ["question"]}, "team": "support_general"},
        ],
        "default": {"id": "fallback", "team": "support_general"},
        "sla_hours": {"low": 72, "medium": 24, "high": 8, "critical": 4},
    }
)


@pytest.mark.parametrize(
    ("row", "rule_id", "team"),
    [
        (("billing", "critical", "fr", ["facture"]), "critical-billing", "incident"),
        (("billing", "critical", "fr", ["panne"]), "critical-billing", "incident"),  # first match wins
        (("billing", "low", "fr", ["panne"]), "outage-words", "incident"),
        (("question", "low", "en", ["login"]), "english-questions", "produit"),
        (("question", "low", "fr", ["login"]), "questions", "support_general"),
        (("feature_request", "low", "fr", ["export"]), "fallback", "support_general"),  # default
    ],
)
def test_rules_apply_in_order_with_default(spark, row, rule_id, team) -> None:
    df = spark.createDataFrame([row], "type string, priority string, language string, keywords array<string>")
    routed = df.transform(lambda d: routing.with_route(d, RULES)).first()
    assert (routed["routing_rule_id"], routed["support_team"], routed["rules_version"]) == (
        rule_id,
        team,
        "t1",
    )
    assert routed["team_topic"] == f"tickets_equipe_{team}"


def test_shipped_rules_reproduce_the_proof_of_concept_mapping(spark) -> None:
    rules = load_rules(ROUTING_RULES_PATH)
    df = spark.createDataFrame(
        [(t, "low", "fr", []) for t in ("incident", "question", "feature_request", "billing")],
        "type string, priority string, language string, keywords array<string>",
    )
    teams = {
        r["type"]: r["support_team"] for r in df.transform(lambda d: routing.with_route(d, rules)).collect()
    }
    assert teams == {
        "incident": "incident",
        "question": "support_general",
        "feature_request": "produit",
        "billing": "support_general",
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {
                "version": "v",
                "rules": [{"id": "r", "when": {"type": ["complaint"]}, "team": "incident"}],
                "default": {"id": "d", "team": "incident"},
                "sla_hours": {},
            },
            "rule 'r': condition 'type' has unknown values",
        ),
        (
            {
                "version": "v",
                "rules": [{"id": "r", "when": {"type": ["incident"]}, "team": "ops"}],
                "default": {"id": "d", "team": "incident"},
                "sla_hours": {},
            },
            "rule 'r': unknown team 'ops'",
        ),
        (
            {
                "version": "v",
                "rules": [{"id": "r", "when": {"colour": ["red"]}, "team": "incident"}],
                "default": {"id": "d", "team": "incident"},
                "sla_hours": {},
            },
            "rule 'r': unknown condition 'colour'",
        ),
        (
            {
                "version": "v",
                "rules": [{"id": "r", "when": {}, "team": "incident"}],
                "default": {"id": "d", "team": "incident"},
                "sla_hours": {},
            },
            "rule 'r': `when` must list",
        ),
        (
            {
                "version": "v",
                "rules": [{"id": "d", "when": {"type": "incident"}, "team": "incident"}],
                "default": {"id": "d", "team": "incident"},
                "sla_hours": {"low": 1, "medium": 1, "high": 1, "critical": 1},
            },
            "repeated: d",
        ),
        (
            {
                "version": "v",
                "rules": [],
                "default": {"id": "d", "team": "incident"},
                "sla_hours": {"low": 1, "medium": 1, "high": -1, "critical": 1},
            },
            "sla_hours.high must be a positive",
        ),
    ],
)
def test_bad_rules_name_the_rule_and_the_problem(document, message) -> None:
    with pytest.raises(RulesError, match=message.replace("(", r"\(").replace("`", ".")):
        parse_rules(document)


def test_sla_due_time_follows_priority(spark) -> None:
    rows = [("high", "2026-11-28T04:10:00.123Z"), ("low", "2026-11-28T23:00:00.000Z")]
    df = spark.createDataFrame(rows, "priority string, created_at string")
    enriched = (
        df.transform(enrichment.with_created_ts)
        .transform(lambda d: enrichment.with_sla_due_at(d, RULES.sla_hours))
        .transform(enrichment.with_priority_level)
    )
    expected = spark.createDataFrame(
        [("high", datetime(2026, 11, 28, 12, 10, 0, 123000), 3), ("low", datetime(2026, 12, 1, 23, 0), 1)],
        "priority string, sla_due_at timestamp, priority_level int",
    )
    assertDataFrameEqual(enriched.select("priority", "sla_due_at", "priority_level"), expected)


def _reasons(spark, values: list[bytes], schema_ids: list[str | None] | None = None) -> list[str | None]:
    return [row["reject_reason"] for row in _checked(spark, values, schema_ids).collect()]


def test_validation_names_the_reason(spark) -> None:
    def doc(**kw) -> bytes:
        return json.dumps(_ticket(**kw), ensure_ascii=False).encode()

    missing = _ticket()
    del missing["priority"]
    values = [
        doc(),
        b"\xff\xfe not utf-8",
        b"not json at all",
        b"[1, 2]",
        doc(extra_field=1),
        json.dumps(missing).encode(),
        doc(priority=3),
        doc(type="complaint"),
        doc(description="x" * 5001),
        doc(subject=""),
        doc(created_at="2026-11-28 04:10:00"),
        doc(schema_version=3),
        doc(client_id=None),
    ]
    assert _reasons(spark, values) == [
        None,
        "invalid_utf8",
        "not_json",
        "not_an_object",
        "unknown_field:extra_field",
        "missing_field:priority",
        "wrong_type:priority",
        "unknown_value:type",
        "too_long:description",
        "empty:subject",
        "invalid_timestamp:created_at",
        "unsupported_schema_version",
        "missing_field:client_id",
    ]


def _compact(ticket: dict) -> bytes:
    """The ticket as the producer writes it: compact JSON, schema order, accents unescaped."""
    return json.dumps(ticket, ensure_ascii=False, separators=(",", ":")).encode()


def test_canonical_form_is_only_what_round_trips_exactly(spark) -> None:
    ticket = _ticket(description='Le réseau "principal" est en panne.\nMerci.')
    values = {
        _compact(ticket): True,
        json.dumps(ticket, ensure_ascii=False).encode(): False,  # spaces
        json.dumps(ticket, separators=(",", ":")).encode(): False,  # accents escaped
        _compact(dict(reversed(ticket.items()))): False,  # another field order
        _compact(_ticket(priority=3)): False,  # a number where a string is expected
        _compact(_ticket(schema_version="1")): False,  # a string where an integer is expected
        _compact({**ticket, "extra": "x"}): False,
        _compact(ticket)[:-1] + b',"type":"question"}': False,  # a key twice
        b"\xff\xfe": False,
    }
    df = spark.createDataFrame([(v,) for v in values], "value binary").select(
        F.when(F.is_valid_utf8("value"), F.col("value").cast("string")).alias("_text")
    )
    parsed = df.withColumn("_ticket", F.from_json("_text", schema.spark_schema()))
    assert [row[0] for row in parsed.select(F.expr(validation.canonical())).collect()] == list(
        values.values()
    )


def test_fast_and_exact_paths_give_the_same_rows(spark) -> None:
    """Every ticket, valid or not, gets the same reason and typed fields whether it arrives in
    the producer's canonical form (fast path) or with spaces (exact path only)."""
    tickets = [
        _ticket(),
        _ticket(subject="Écran noir après la mise à jour", language="fr"),
        _ticket(type="complaint"),
        _ticket(priority=3),
        _ticket(description="x" * 5001),
        _ticket(subject=""),
        _ticket(created_at="2026-11-28 04:10:00"),
        _ticket(created_at="2026-02-30T04:10:00.000Z"),
        _ticket(schema_version=3),
        _ticket(client_id=None),
        {**_ticket(), "extra": 1},
    ]
    compact = [_compact(t) for t in tickets]
    spaced = [json.dumps(t, ensure_ascii=False).encode() for t in tickets]
    columns = ["offset", "reject_reason", *schema.fields()]

    def rows(values: list[bytes]) -> list[tuple]:
        return [tuple(row) for row in _checked(spark, values).select(*columns).collect()]

    fast = rows(compact)
    assert fast == rows(spaced)
    assert [row[1] for row in fast] == [
        None,
        None,
        "unknown_value:type",
        "wrong_type:priority",
        "too_long:description",
        "empty:subject",
        "invalid_timestamp:created_at",
        "invalid_timestamp:created_at",
        "unsupported_schema_version",
        "missing_field:client_id",
        "unknown_field:extra",
    ]
    assert fast[1][columns.index("subject")] == "Écran noir après la mise à jour"


def test_each_record_is_checked_against_the_version_its_header_names(spark) -> None:
    """Issue 24, item 3: the ``schema_id`` header names the registry's id of the record's version;
    ``tags`` is a field of version 2 only; an id the registry does not hold is quarantined with
    its reason; without the header, the ``schema_version`` field names the version. Both paths
    (canonical text and spaced text) give the same verdicts."""
    tagged = _ticket(schema_version=2, tags=["vip", "mobile-app"])
    cases = [
        (tagged, "102", None, 2),
        (_ticket(), "101", None, 1),
        (_ticket(schema_version=2), "102", None, 2),  # tags are optional
        (_ticket(), "102", None, 2),  # version 2 reads a version 1 ticket (BACKWARD)
        (tagged, None, None, 2),  # no header: the field names the version
        ({**_ticket(), "tags": ["vip"]}, "101", "unknown_field:tags", 1),
        ({**_ticket(), "tags": ["vip"]}, None, "unknown_field:tags", 1),
        (tagged, "101", "unknown_field:tags", 1),
        (tagged, "999", "unknown_schema_id:999", None),
        (tagged, "not-an-id", "unknown_schema_id:not-an-id", None),
        (_ticket(schema_version=2, tags=[f"t{i}" for i in range(11)]), "102", "too_many:tags", 2),
        (_ticket(schema_version=2, tags=["x" * 33]), "102", "too_long:tags", 2),
        (_ticket(schema_version=2, tags=[""]), "102", "empty:tags", 2),
        (_ticket(schema_version=2, tags="vip"), "102", "wrong_type:tags", 2),
        (_ticket(schema_version=2, tags=[1]), "102", "wrong_type:tags", 2),
        (_ticket(schema_version=2), "101", "unsupported_schema_version", 1),
    ]
    ids = [schema_id for _, schema_id, _, _ in cases]
    for encode in (_compact, lambda t: json.dumps(t, ensure_ascii=False).encode()):
        rows = _checked(spark, [encode(t) for t, *_ in cases], ids).collect()
        found = [(row["reject_reason"], row["checked_schema_version"]) for row in rows]
        assert found == [(reason, version) for _, _, reason, version in cases]
    first = _checked(spark, [_compact(tagged)], ["102"]).first()
    assert first["tags"] == ["vip", "mobile-app"] and first["schema_version"] == 2


def test_hours_published_before_and_after_tags_hash_alike(spark, tmp_path) -> None:
    """A version 1 ticket has the same content hash in an hour published before ``tags`` existed
    (no column) and in one published after (null), whichever folder Spark reads its schema from;
    a version 2 ticket keeps its tags."""
    v1 = _ticket()
    tagged = {**_ticket(ticket_id="TCK-2", schema_version=2), "tags": ["vip"]}
    for old, new in (("a", "b"), ("d", "c")):  # the folder without tags first, then last
        spark.createDataFrame([v1]).write.parquet(str(tmp_path / old))
        rows = [{**v1, "tags": None}, tagged]
        spark.createDataFrame(rows, schema.spark_schema_of(CONTRACT.types)).write.parquet(str(tmp_path / new))
        for paths in ([old, new], [new, old]):
            read = analysis.read_enriched(spark, [str(tmp_path / path) for path in paths])
            hashes = read.where(F.col("ticket_id") == "TCK-1").select(validation.content_hash()).collect()
            assert len(hashes) == 2 and hashes[0] == hashes[1]
            assert read.where(F.col("ticket_id") == "TCK-2").first()["tags"] == ["vip"]


def test_unknown_type_is_quarantined_not_routed(spark) -> None:
    assert _reasons(spark, [json.dumps(_ticket(type="complaint")).encode()]) == ["unknown_value:type"]


def test_load_rules_reports_missing_file(tmp_path) -> None:
    with pytest.raises(RulesError, match="not found"):
        load_rules(tmp_path / "nope.yaml")


DEDUP_ROWS = [
    # ticket_id, priority, kafka_timestamp, partition, offset, reject_reason
    ("A", "low", datetime(2026, 11, 28, 4, 0, 1), 2, 3, None),  # a duplicate of (1, 7)
    ("A", "low", datetime(2026, 11, 28, 4, 0, 5), 1, 7, None),  # superseded by (2, 9)
    ("A", "high", datetime(2026, 11, 28, 4, 0, 5), 2, 9, None),  # same time, later partition: kept
    ("B", "low", datetime(2026, 11, 28, 4, 0, 2), 0, 1, None),
    ("B", "low", datetime(2026, 11, 28, 4, 0, 3), 0, 0, "not_json"),  # rejected: not a version
    ("C", "low", datetime(2026, 11, 28, 4, 0, 3), 0, 2, None),  # as published: a duplicate
    ("D", "high", datetime(2026, 11, 28, 4, 0, 3), 0, 3, None),  # published as low: updated
]
PUBLISHED = [
    ("C", "low", "2026-11-28T03:00:00Z"),
    ("D", "high", "2026-11-28T02:00:00Z"),
    ("D", "low", "2026-11-28T03:00:00Z"),
]


def _versions(spark, rows: list[tuple]):
    """Checked records whose fields are the same but for ``ticket_id`` and ``priority``."""
    fields = [name for name in schema.fields() if name not in ("ticket_id", "priority")]
    columns = "ticket_id string, priority string, kafka_timestamp timestamp, partition int, offset long, reject_reason string"
    return spark.createDataFrame(rows, columns).withColumns({name: F.lit("same") for name in fields})


def _published(spark):
    published = _versions(spark, [(t, p, datetime(2026, 11, 28), 0, 0, None) for t, p, _ in PUBLISHED])
    starts = spark.createDataFrame(
        [(t, p, start) for t, p, start in PUBLISHED],
        "ticket_id string, priority string, interval_start string",
    )
    return published.join(starts, ["ticket_id", "priority"]).select(
        "ticket_id", validation.content_hash().alias("content_hash"), "interval_start"
    )


def test_the_latest_version_of_a_ticket_wins_and_the_others_are_accounted_for(spark) -> None:
    """Latest by Kafka time, then partition and offset; an identical earlier record is a duplicate,
    another version an update; against the last version published: equal is a duplicate, different
    is published again as an update of an earlier ticket."""
    found = validation.dispositions(_versions(spark, DEDUP_ROWS), _published(spark)).collect()
    assert {(row["partition"], row["offset"]): row["disposition"] for row in found} == {
        (2, 3): validation.DUPLICATE,
        (1, 7): validation.SUPERSEDED,
        (0, 2): validation.DUPLICATE,
        (0, 3): validation.UPDATED,
    }


@pytest.mark.parametrize("broadcast_max", [200_000, 0], ids=["broadcast", "shuffled"])
def test_without_duplicates_drops_exactly_the_records_not_published(
    spark, monkeypatch, broadcast_max
) -> None:
    from ticket_analysis import analysis as job

    monkeypatch.setattr(job, "BROADCAST_DUPLICATES_MAX", broadcast_max)
    checked = _versions(spark, DEDUP_ROWS)
    found = validation.dispositions(checked)
    dropped = found.where(F.col("disposition").isin(*validation.NOT_PUBLISHED)).select(*validation.POSITION)
    valid = checked.where(F.col("reject_reason").isNull())
    kept = job.without_duplicates(valid, dropped, dropped.count())
    assert sorted((row["ticket_id"], row["partition"], row["offset"]) for row in kept.collect()) == [
        ("A", 2, 9),
        ("B", 0, 1),
        ("C", 0, 2),
        ("D", 0, 3),
    ]


COUNTED = (
    "type string, support_team string, priority string, routing_rule_id string, schema_version long, "
    "sla_due_at timestamp"
)


def _counted(spark, rows: list[tuple]):
    """Enriched tickets reduced to what the count table reads (due time: ``hours`` and 30 minutes
    after 2026-11-28 00:00; schema version: the sixth item if any, else 1)."""
    day = datetime(2026, 11, 28)
    return spark.createDataFrame(
        [(*row[:4], (row[5:] or (1,))[0], day + timedelta(hours=row[4], minutes=30)) for row in rows], COUNTED
    )


def test_statistics_by_type_and_team_from_the_count_table(spark) -> None:
    tickets = _counted(
        spark,
        [
            ("incident", "incident", "critical", "r-incident", 8),
            ("incident", "incident", "high", "r-incident", 12),
            ("incident", "incident", "high", "r-incident", 13),
            ("question", "support_general", "low", "r-question", 76),
            ("billing", "support_general", "medium", "default", 28),
            ("billing", "support_general", "high", "default", 12, 2),
        ],
    )
    counts = statistics.count_table(tickets)
    by_type = {row["type"]: row for row in statistics.stats_by_type(counts, 6)}
    assert list(by_type) == sorted(schema.enums()["type"])  # every type, absent ones zero-filled
    assert by_type["incident"] == {
        "type": "incident",
        "tickets": 3,
        "low_count": 0,
        "medium_count": 0,
        "high_count": 2,
        "critical_count": 1,
        "high_or_critical_count": 3,
        "share_of_total": 0.5,
    }
    assert by_type["feature_request"]["tickets"] == 0
    assert by_type["feature_request"]["share_of_total"] == 0.0
    assert by_type["billing"]["share_of_total"] == 0.333333  # 2/6, six decimals
    by_team = {row["support_team"]: row for row in statistics.stats_by_team(counts, 6)}
    assert {team: row["tickets"] for team, row in by_team.items()} == {
        "incident": 3,
        "produit": 0,
        "support_general": 3,
    }
    assert by_team["produit"]["team_topic"] == "tickets_equipe_produit"
    assert by_team["support_general"]["high_or_critical_count"] == 1
    assert statistics.tickets_by_rule(counts) == {"default": 2, "r-incident": 3, "r-question": 1}
    assert statistics.tickets_by_schema_version(counts) == {"1": 5, "2": 1}


def test_sla_pressure_counts_overdue_tickets_and_due_hours(spark) -> None:
    """Hour 2026-11-28 04:00-05:00; due times at hh:30 of the hour given."""
    tickets = _counted(
        spark,
        [
            ("incident", "incident", "critical", "r", 4),  # 04:30: already due at 05:00
            ("incident", "incident", "critical", "r", 8),
            ("incident", "incident", "high", "r", 12),
            ("incident", "incident", "high", "r", 12),
        ],
    )
    end = datetime(2026, 11, 28, 5, tzinfo=UTC)
    sla = statistics.sla_pressure(statistics.count_table(tickets), end)
    assert sla["overdue_at_end"] == {"low": 0, "medium": 0, "high": 0, "critical": 1}
    assert sla["due_by_hour"] == {
        "low": {},
        "medium": {},
        "high": {"2026-11-28T12:00:00Z": 2},
        "critical": {"2026-11-28T04:00:00Z": 1, "2026-11-28T08:00:00Z": 1},
    }


def _ranked_by_spark(tickets, depth: int, types: dict[str, int]) -> list[dict]:
    return [row.asDict() for row in statistics.term_ranking(tickets, depth, types).collect()]


def _ranked_on_the_driver(tickets, depth: int, types: dict[str, int]) -> list[dict]:
    counts = [row.asDict() for row in statistics.term_counts(tickets).collect()]
    return statistics.rank_counts(counts, depth, types)


# The two ways an hour's terms are ranked (statistics.ranked_terms): the same rows.
RANKINGS = pytest.mark.parametrize(
    "ranked", [_ranked_by_spark, _ranked_on_the_driver], ids=["spark", "driver"]
)


@RANKINGS
def test_term_ranking_keeps_what_a_merge_of_hours_needs(spark, ranked) -> None:
    tickets = spark.createDataFrame(
        [
            ("incident", ["panne", "réseau"], ["panne réseau"]),
            ("incident", ["panne", "vpn"], []),
            ("question", ["facture", "panne"], ["facture panne"]),
        ],
        "type string, keywords array<string>, phrases array<string>",
    )
    types = {"incident": 2, "question": 1}
    ranking = ranked(tickets, 3, types)
    scopes = statistics.terms_by_scope(ranking, "word", 2)
    assert scopes["all"] == {
        "words": [{"word": "panne", "tickets": 3}, {"word": "facture", "tickets": 1}],
        "others_max": 1,  # réseau and vpn, 1 each, left out
    }
    assert scopes["question"] == {
        "words": [{"word": "facture", "tickets": 1}, {"word": "panne", "tickets": 1}],
        "others_max": 0,
    }
    assert statistics.terms_by_scope(ranking, "phrase", 1)["all"] == {
        "phrases": [{"phrase": "facture panne", "tickets": 1}],
        "others_max": 1,
    }
    assert [tuple(row.values()) for row in statistics.word_frequency_rows(ranking, 1)] == [
        ("all", 1, "panne", 3),
        ("incident", 1, "panne", 2),
        ("question", 1, "facture", 1),
    ]


@RANKINGS
def test_distinctive_terms_of_a_type_by_g2_with_a_minimum_support(spark, ranked) -> None:
    """60 billing tickets say "remboursement", 3 of 140 others do; "erreur" is everywhere; "typo"
    is in 2 billing tickets only (below the minimum support)."""
    rows = [("billing", ["remboursement", "erreur"], ["remboursement rapide"])] * 60
    rows += [("billing", ["erreur", "typo"], [])] * 2 + [("billing", ["erreur"], [])] * 38
    rows += [("incident", ["remboursement", "erreur"], [])] * 3 + [("incident", ["erreur"], [])] * 97
    tickets = spark.createDataFrame(rows, "type string, keywords array<string>, phrases array<string>")
    types = {"billing": 100, "incident": 100}
    ranking = ranked(tickets, 5, types)
    billing = statistics.distinctive_by_type(ranking, types)["billing"]
    assert [(e["term"], e["kind"], e["tickets"]) for e in billing] == [
        ("remboursement rapide", "phrase", 60),  # no incident ticket says it: more distinctive
        ("remboursement", "word", 60),
    ]
    assert billing[1]["expected"] == 3.0 and billing[1]["score"] == pytest.approx(
        keywords.g2(60, 100, 3, 100), abs=1e-3
    )
    assert statistics.distinctive_by_type(ranking, types)["incident"] == []


def test_a_generated_hour_is_ranked_alike_on_the_driver_and_by_spark(spark, monkeypatch) -> None:
    """statistics.ranked_terms ranks a small vocabulary on the driver, a large one by Spark: a
    generated hour of 600 tickets (about 2,000 type-term counts) gives the same rows both ways."""
    from ticket_demo.generator import generate_batch

    start = datetime(2026, 11, 28, 4, tzinfo=UTC)
    batch = generate_batch(start, start + timedelta(hours=1), 600, seed=11).dicts()
    rows = [(t["type"], t["subject"], t["description"]) for t in batch]
    frame = spark.createDataFrame(rows, "type string, subject string, description string")
    stopwords = enrichment.with_default_stopwords(enrichment.load_stopwords(STOPWORDS_PATH))
    tickets = enrichment.with_terms(frame, stopwords).cache()
    types = {row["type"]: row["count"] for row in tickets.groupBy("type").count().collect()}
    assert statistics.term_counts(tickets).count() > 1_000

    on_the_driver = statistics.ranked_terms(tickets, 8, types, 50, 100_000)
    monkeypatch.setattr(statistics, "DRIVER_RANKING_MAX_COUNTS", 100)
    by_spark = statistics.ranked_terms(tickets, 8, types, 50, 100_000)
    tickets.unpersist()

    def key(row: dict) -> tuple:
        return row["scope"], row["kind"], row["term"]

    assert len(on_the_driver) == len(by_spark) > 100
    assert any(row["score"] is not None for row in by_spark)
    for ours, theirs in zip(sorted(on_the_driver, key=key), sorted(by_spark, key=key), strict=True):
        # Every field equal; the score listed by both or by neither, and equal up to rounding.
        assert {**ours, "score": ours["score"] is None} == {**theirs, "score": theirs["score"] is None}
        if ours["score"] is not None:
            assert ours["score"] == pytest.approx(theirs["score"], rel=1e-12)


def test_g2_column_is_the_library_score(spark) -> None:
    cases = [(30, 100, 10, 1000), (1, 10, 0, 10), (0, 10, 5, 10), (60, 1000, 0, 24000), (5, 5, 5, 5)]
    df = spark.createDataFrame(cases, "a long, n long, b long, m long")
    scores = df.select(
        statistics.g2_column(F.col("a"), F.col("n"), F.col("b"), F.col("m")).alias("g")
    ).collect()
    assert [row["g"] for row in scores] == pytest.approx(
        [abs(keywords.g2(*case)) for case in cases], abs=1e-9
    )


def test_statistics_of_an_empty_interval_and_their_parquet_types(spark, tmp_path) -> None:
    """Written by the driver (small_tables), read back by Spark with the dataset's contract."""
    import pyarrow.parquet as pq

    from ticket_analysis import small_tables
    from ticket_analysis.storage import HadoopStore

    empty = spark.createDataFrame([], COUNTED)
    by_team = statistics.stats_by_team(statistics.count_table(empty), 0)
    assert [row["tickets"] for row in by_team] == [0, 0, 0]
    assert {row["share_of_total"] for row in by_team} == {0.0}
    data = small_tables.table(by_team, statistics.stats_schema(("support_team", "team_topic")))
    small_tables.write(HadoopStore(spark), str(tmp_path / "stats_by_team"), data)
    assert (tmp_path / "stats_by_team" / "_SUCCESS").is_file()
    frame = spark.read.parquet(str(tmp_path / "stats_by_team"))
    assert [(f.name, f.dataType.simpleString()) for f in frame.schema.fields] == [
        ("support_team", "string"),
        ("team_topic", "string"),
        ("tickets", "bigint"),
        ("low_count", "bigint"),
        ("medium_count", "bigint"),
        ("high_count", "bigint"),
        ("critical_count", "bigint"),
        ("high_or_critical_count", "bigint"),
        ("share_of_total", "double"),
    ]
    assert frame.count() == 3
    written = pq.read_schema(tmp_path / "stats_by_team" / small_tables.FILE_NAME)
    assert [name for name in written.names if not written.field(name).nullable] == [
        "tickets",
        "low_count",
        "medium_count",
        "high_count",
        "critical_count",
        "high_or_critical_count",
        "share_of_total",
    ]


def test_share_rounds_half_up() -> None:
    assert statistics._share(1, 8_000_000) == 0.0  # 0.000000125
    assert statistics._share(5, 10_000_000) == 0.000001  # 0.0000005: half, up
    assert statistics._share(0, 0) == 0.0

"""Unit tests of the console features of the topic browser that need no service: the records view's
filters and read position (parsed from the page's parameters, then matched against raw records),
the schema version a record names, and consumer-group lag."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ticket_airflow.ui import filters, schemas, topics

TICKET = {
    "ticket_id": "TCK-00ab",
    "priority": "critical",
    "support_team": "incident",
    "priority_score": 3,
    "escalated": True,
    "assignee": None,
    "tags": ["billing", "vip"],
    "customer": {"tier": "gold", "region": "eu"},
}
T0 = int(datetime(2026, 11, 26, 8, tzinfo=UTC).timestamp() * 1000)


def matches(query: filters.RecordQuery, **record) -> bool:
    defaults = {"key": b"TCK-00ab", "headers": [], "value": json.dumps(TICKET).encode(), "timestamp_ms": T0}
    return query.matches(**{**defaults, **record})


class TestParseQuery:
    def test_nothing_given_is_an_unfiltered_view_of_the_latest_records(self) -> None:
        query = filters.parse_query(key="", header=[""], field=[], start="", end="", seek="")
        assert query == filters.RecordQuery() and not query.filtered and query.seek is None

    def test_every_filter_is_parsed(self) -> None:
        query = filters.parse_query(
            key="00a",
            header=["schema_version=2", "run_id"],
            field=["priority=critical", "customer.tier=gold"],
            start="2026-11-26T08:00Z",
            end="2026-11-26T10:00+01:00",
            scan=1000,
        )
        assert query.filtered
        assert query.headers == (("schema_version", "2"), ("run_id", None))
        assert query.fields == ((("priority",), "critical"), (("customer", "tier"), "gold"))
        assert query.start == datetime(2026, 11, 26, 8, tzinfo=UTC)
        assert query.end == datetime(2026, 11, 26, 9, tzinfo=UTC)
        assert query.as_dict()["field"] == ["priority=critical", "customer.tier=gold"]

    @pytest.mark.parametrize(
        ("text", "seek"),
        [
            ("earliest", filters.Seek()),
            ("1200", filters.Seek(offset=1200)),
            ("0", filters.Seek(offset=0)),
            ("2026-11-26T08:00Z", filters.Seek(time=datetime(2026, 11, 26, 8, tzinfo=UTC))),
        ],
    )
    def test_seek_is_earliest_an_offset_or_a_time(self, text, seek) -> None:
        assert filters.parse_query(seek=text).seek == seek

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"seek": "-3"}, "an offset is 0 or more"),
            ({"seek": "soon"}, "give earliest, an offset"),
            ({"field": ["priority"]}, "give path=value"),
            ({"field": ["customer..tier=gold"]}, "give path=value"),
            ({"header": ["=2"]}, "give name=value"),
            ({"start": "2026-11-26T25:00"}, "from='2026-11-26T25:00' is not an ISO-8601 time"),
            ({"start": "2026-11-26T09:00Z", "end": "2026-11-26T08:00Z"}, "is not after from"),
            ({"scan": 0}, "from 1 to 200000 records per partition"),
            ({"key": "x" * 501}, "key: give 1 to 500 characters"),
        ],
    )
    def test_a_wrong_parameter_is_named(self, params, message) -> None:
        with pytest.raises(filters.QueryError, match=message):
            filters.parse_query(**params)


class TestMatches:
    def test_key_is_a_case_sensitive_substring(self) -> None:
        assert matches(filters.RecordQuery(key="00a"))
        assert matches(filters.RecordQuery(key="TCK-00ab"))
        assert not matches(filters.RecordQuery(key="00A"))
        assert not matches(filters.RecordQuery(key="00a"), key=None)

    def test_header_value_is_exact_and_a_name_alone_asks_for_the_header(self) -> None:
        headers = [("schema_version", b"2"), ("schema_id", b"7"), ("empty", None)]
        assert matches(filters.RecordQuery(headers=(("schema_version", "2"),)), headers=headers)
        assert not matches(filters.RecordQuery(headers=(("schema_version", "1"),)), headers=headers)
        assert not matches(filters.RecordQuery(headers=(("schema_version", "22"),)), headers=headers)
        assert matches(filters.RecordQuery(headers=(("schema_id", None),)), headers=headers)
        assert matches(filters.RecordQuery(headers=(("empty", None),)), headers=headers)
        both = filters.RecordQuery(headers=(("schema_version", "2"), ("schema_id", "8")))
        assert not matches(both, headers=headers)  # every one must match

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("priority=critical", True),
            ("priority=Critical", False),
            ("support_team=incident", True),
            ("priority_score=3", True),
            ("priority_score=3.0", True),
            ("priority_score=4", False),
            ("escalated=true", True),
            ("escalated=True", False),
            ("assignee=null", True),
            ("tags=vip", True),
            ("tags=vi", False),
            ("customer.tier=gold", True),
            ("customer=gold", False),
            ("customer.tier.name=gold", False),
            ("missing=", False),
        ],
    )
    def test_json_field(self, text, expected) -> None:
        query = filters.parse_query(field=[text])
        assert matches(query) is expected

    def test_json_field_of_a_value_that_is_not_json_or_null_never_matches(self) -> None:
        query = filters.parse_query(field=["priority=critical"])
        assert not matches(query, value=b"priority=critical")
        assert not matches(query, value=None)

    def test_time_range_is_from_inclusive_to_exclusive(self) -> None:
        query = filters.parse_query(start="2026-11-26T08:00Z", end="2026-11-26T08:00:01Z")
        assert matches(query, timestamp_ms=T0)
        assert matches(query, timestamp_ms=T0 + 999)
        assert not matches(query, timestamp_ms=T0 + 1000)
        assert not matches(query, timestamp_ms=T0 - 1)
        assert not matches(query, timestamp_ms=None)

    def test_forward_reads_are_those_with_seek_or_from(self) -> None:
        assert not topics.reads_forward(filters.parse_query(end="2026-11-26T08:00Z", key="a"))
        assert topics.reads_forward(filters.parse_query(start="2026-11-26T08:00Z"))
        assert topics.reads_forward(filters.parse_query(seek="earliest"))


class TestRecordSchema:
    VERSIONS = schemas.VersionMap("http://127.0.0.1:18081", "client_tickets-value", {1: 1, 2: 2})

    def test_a_known_id_names_its_version(self) -> None:
        label = schemas.record_schema([("schema_version", "2"), ("schema_id", "2")], self.VERSIONS)
        assert label == {"id": 2, "version": 2, "known": True, "text": "schema v2 (id 2)"}

    def test_an_unknown_id_says_so(self) -> None:
        label = schemas.record_schema([("schema_id", "99")], self.VERSIONS)
        assert not label["known"] and "schema id 99: unknown to the registry" in label["text"]

    def test_a_registry_that_did_not_answer_leaves_the_id(self) -> None:
        down = schemas.VersionMap("http://127.0.0.1:1", "client_tickets-value", {}, "does not answer")
        label = schemas.record_schema([("schema_id", "2")], down)
        assert label["text"] == "schema id 2 (the registry did not answer)"

    def test_a_version_header_without_id_and_no_header_at_all(self) -> None:
        assert (
            schemas.record_schema([("schema_version", "1")], self.VERSIONS)["text"]
            == "schema v1 (no schema id)"
        )
        assert schemas.record_schema([("run_id", "x")], self.VERSIONS) is None

    def test_a_header_that_disagrees_with_the_id_is_shown(self) -> None:
        label = schemas.record_schema([("schema_version", "1"), ("schema_id", "2")], self.VERSIONS)
        assert label["text"] == "schema v2 (id 2), but its schema_version header says 1"

    def test_a_registry_that_does_not_answer_is_said_and_kept_for_the_cache_period(self, monkeypatch) -> None:
        """A real address where nothing listens (port 9 on loopback: refused at once)."""
        monkeypatch.setattr(schemas, "_cache", {})
        url = "http://127.0.0.1:9"
        versions = schemas.version_map(url, "client_tickets-value")
        assert versions.versions == {} and f"the schema registry at {url} does not answer" in versions.problem
        first = schemas._cache[(url, "client_tickets-value")]
        assert schemas.version_map(url, "client_tickets-value").problem == versions.problem
        assert schemas._cache[(url, "client_tickets-value")] is first  # not asked again


class TestLag:
    def test_lag_per_partition_and_in_total(self) -> None:
        group = topics.ConsumerGroup(
            "team-reader",
            "EMPTY",
            [],
            [
                topics.GroupPartition("t", 0, 40, 100),
                topics.GroupPartition("t", 1, None, 50),
                topics.GroupPartition("t", 2, 80, 80),
                topics.GroupPartition("u", 0, 5, 3),  # committed past the end (a re-created topic)
            ],
        )
        assert [p.lag for p in group.partitions] == [60, None, 0, 0]
        assert group.lag == 60 and group.on("t").lag == 60 and group.on("u").lag == 0
        body = group.as_dict()
        assert body["uncommitted_partitions"] == 1 and body["partitions"][0]["lag"] == 60


def test_the_schemas_page_names_the_registry_that_does_not_answer(monkeypatch) -> None:
    from ticket_airflow.ui import pages

    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://127.0.0.1:9")
    overview = pages.registry_overview()
    assert overview["registry"] == "http://127.0.0.1:9" and overview["subjects"] == []
    assert "the schema registry at http://127.0.0.1:9 does not answer" in overview["problem"]

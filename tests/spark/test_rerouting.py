"""Issue 23, items 1 to 4: a rules change previewed on the published hour; a ticket that changes
team is recorded in ``routing_changes`` and its old team's compacted topic gets a tombstone after
the new team's topic got the ticket; one rules version, one content. Real broker, real spark-submit, the real team topics (read for this test's
runs only)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from confluent_kafka.admin import AdminClient
from job_runs import published, run_job, zone_args
from rules_change import NEVER_MATCHES, candidate_rules, falling_to_default
from timeline import RECENT_DAY

from ticket_demo.generator import generate_batch
from ticket_demo.producer import build_producer, produce_records
from ticket_etl import artifacts
from ticket_etl.config import ROUTING_RULES_PATH
from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments
from ticket_etl.job_contract import ExitCode
from ticket_etl.kafka_io import consume_all, create_topic, end_offsets
from ticket_etl.rules import digest_of
from ticket_etl.rules_preview import PREVIEWS, REPORT_NAME, preview_path
from ticket_etl.topics import ensure_topics
from ticket_etl.topology import TEAM_TOPICS, topic_specs

pytestmark = pytest.mark.integration

HOUR = Interval.hour_starting(RECENT_DAY + timedelta(hours=6))
NEXT_HOUR = Interval.hour_starting(RECENT_DAY + timedelta(hours=7))


@pytest.fixture(scope="module")
def zone(kafka_bootstrap: str, tmp_path_factory) -> dict:
    """A fresh source topic with 40 tickets in HOUR, a dead-letter topic, an artifacts root."""
    source = f"rerouting_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, source, partitions=3)
    create_topic(kafka_bootstrap, f"{source}_dlq", partitions=1)
    team_topics = tuple(spec for spec in topic_specs() if spec.name in TEAM_TOPICS)
    ensure_topics(AdminClient({"bootstrap.servers": kafka_bootstrap}), team_topics)
    records = generate_batch(HOUR.start, HOUR.end, 40, seed=31).records()
    produce_records(build_producer(kafka_bootstrap), source, records)
    return {
        "bootstrap": kafka_bootstrap,
        "source": source,
        "output": str(tmp_path_factory.mktemp("stats")),
        "records": records,
    }


def _rules(folder: Path, version: str, question_team: str) -> Path:
    """The shipped rules with questions sent to ``question_team``, as ``version``."""
    rules = yaml.safe_load(ROUTING_RULES_PATH.read_text())
    rules["version"] = version
    for rule in rules["rules"]:
        if rule["when"].get("type") == ["question"]:
            rule["team"] = question_team
    path = folder / f"rules-{version}-{question_team}.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    return path


def _args(zone: dict, interval: Interval, run_id: str, rules: Path) -> JobArguments:
    return zone_args(zone, interval, run_id, rules=rules)


def _run(zone: dict, interval: Interval, run_id: str, rules: Path) -> dict:
    return published(_args(zone, interval, run_id, rules))


def _changes(zone: dict, interval: Interval) -> pd.DataFrame:
    return pd.read_parquet(artifacts.partition_path(zone["output"], "routing_changes", interval))


def _team_messages(zone: dict, run_ids: set[str]) -> list[tuple[str, str, bytes | None, dict]]:
    """(topic, key, value, headers) of the team topics' records written by ``run_ids``, in order."""
    found = []
    for topic in TEAM_TOPICS:
        for message in consume_all(zone["bootstrap"], topic):
            headers = {k: v.decode() for k, v in message.headers() or []}
            if headers.get("run_id") in run_ids:
                found.append((topic, message.key().decode(), message.value(), headers))
    return found


def _latest_by_team(messages: list[tuple[str, str, bytes | None, dict]]) -> dict[str, set[str]]:
    """What a consumer of each compacted team topic ends with: the keys whose last value is not null."""
    last: dict[tuple[str, str], bytes | None] = {}
    for topic, key, value, _ in messages:
        last[(topic, key)] = value
    held: dict[str, set[str]] = defaultdict(set)
    for (topic, key), value in last.items():
        if value is not None:
            held[topic].add(key)
    return held


@pytest.fixture(scope="module")
def reprocessed(zone: dict, tmp_path_factory) -> dict:
    """HOUR run under rules v1 (rr-1); the same rules edited under v1 (refused); reprocessed under
    v2, which sends questions to produit (rr-2), then again under v2 (rr-3). What each step
    reported and left, for the tests below."""
    folder = tmp_path_factory.mktemp("rules")
    v1, edited, v2 = (
        _rules(folder, "v1", "support_general"),
        _rules(folder, "v1", "produit"),
        _rules(folder, "v2", "produit"),
    )
    steps: dict = {"v1": v1, "edited": edited, "first": _run(zone, HOUR, "rr-1", v1)}
    steps["changes_after_first"] = _changes(zone, HOUR)
    steps["refused"] = run_job(_args(zone, HOUR, "rr-refused", edited))
    steps["summary_after_refused"] = artifacts.read_summary(zone["output"], HOUR)
    steps["second"] = _run(zone, HOUR, "rr-2", v2)
    steps["changes_after_second"] = _changes(zone, HOUR)
    steps["third"] = _run(zone, HOUR, "rr-3", v2)
    steps["v2"] = v2
    return steps


def _questions(zone: dict) -> set[str]:
    return {
        json.loads(value)["ticket_id"]
        for _, value, _ in zone["records"]
        if json.loads(value)["type"] == "question"
    }


def test_a_first_run_of_an_hour_has_no_changes(reprocessed: dict) -> None:
    assert reprocessed["first"]["routing_changes"] == {"tickets": 0, "moves": {}, "tombstones": {}}
    assert reprocessed["changes_after_first"].empty


def test_edited_rules_under_a_published_version_are_refused_naming_both_digests(
    zone: dict, reprocessed: dict
) -> None:
    """Item 4: exit 2 with one line naming the version, both digests and the run that recorded the
    first content; nothing changed, nothing sent."""
    result, report = reprocessed["refused"]
    assert result.returncode == ExitCode.DATA_ERROR and report is not None
    digests = (digest_of(reprocessed[name].read_text())[:12] for name in ("v1", "edited"))
    for part in ("'v1'", *digests, "rr-1"):
        assert part in report.error
    assert reprocessed["summary_after_refused"]["run"]["run_id"] == "rr-1"
    assert not _team_messages(zone, {"rr-refused"})


def test_a_reprocess_with_new_rules_records_the_moves_and_tombstones_the_old_team(
    zone: dict, reprocessed: dict
) -> None:
    questions = _questions(zone)
    assert questions
    assert reprocessed["second"]["routing_changes"]["moves"] == {"support_general -> produit": len(questions)}
    changes = reprocessed["changes_after_second"]
    assert set(changes["ticket_id"]) == questions and len(changes) == len(questions)
    assert set(changes["old_run_id"]) == {"rr-1"} and set(changes["run_id"]) == {"rr-2"}
    assert set(changes["old_rules_version"]) == {"v1"} and set(changes["new_rules_version"]) == {"v2"}
    assert set(changes["new_rule"]) == {"question-to-general-support"}

    messages = _team_messages(zone, {"rr-1", "rr-2"})
    tombstones = [m for m in messages if m[2] is None]
    assert sorted(m[1] for m in tombstones) == sorted(questions)
    assert {m[0] for m in tombstones} == {"tickets_equipe_support_general"}
    assert all(m[3]["new_team"] == "produit" and m[3]["rules_version"] == "v2" for m in tombstones)
    enriched = pd.read_parquet(artifacts.partition_path(zone["output"], "tickets_enriched", HOUR))
    expected = {topic: set(rows["ticket_id"]) for topic, rows in enriched.groupby("team_topic")}
    assert dict(_latest_by_team(messages)) == expected


def test_reprocessing_again_with_the_same_rules_moves_nothing(zone: dict, reprocessed: dict) -> None:
    assert reprocessed["third"]["routing_changes"]["tickets"] == 0
    assert len(_changes(zone, HOUR)) == len(_questions(zone))  # the hour's history is kept
    assert not [m for m in _team_messages(zone, {"rr-3"}) if m[2] is None]


def test_a_ticket_updated_in_the_next_hour_as_another_type_leaves_its_team(
    zone: dict, reprocessed: dict
) -> None:
    """A question (in produit under v2, published by rr-3) sent again in the next hour as an
    incident: published there as an update, moved, and tombstoned on produit. Reprocessing the
    first hour then does not send its older version again."""
    key, value, _ = next(r for r in zone["records"] if json.loads(r[1])["type"] == "question")
    updated = json.dumps({**json.loads(value), "type": "incident"}, ensure_ascii=False).encode()
    produce_records(
        build_producer(zone["bootstrap"]), zone["source"], [(key, updated, NEXT_HOUR.start_ms + 1000)]
    )

    report = _run(zone, NEXT_HOUR, "up-1", reprocessed["v2"])
    assert report["totals"]["earlier_tickets_updated"] == 1
    assert report["routing_changes"]["moves"] == {"produit -> incident": 1}
    changes = _changes(zone, NEXT_HOUR)
    assert list(changes["ticket_id"]) == [key.decode()] and list(changes["old_run_id"]) == ["rr-3"]
    held = _latest_by_team(_team_messages(zone, {"rr-1", "rr-2", "rr-3", "up-1"}))
    assert key.decode() in held["tickets_equipe_incident"]
    assert key.decode() not in held["tickets_equipe_produit"]

    # HOUR reprocessed after: its version of the ticket stays in its datasets, but the team
    # topics keep the newer one (nothing sent for it, no tombstone), and the summary says so.
    again = _run(zone, HOUR, "rr-4", reprocessed["v2"])
    assert key.decode() not in {m[1] for m in _team_messages(zone, {"rr-4"})}
    held = _latest_by_team(_team_messages(zone, {"rr-1", "rr-2", "rr-3", "up-1", "rr-4"}))
    assert key.decode() in held["tickets_equipe_incident"]
    assert key.decode() not in held["tickets_equipe_produit"]
    assert again["updated_later"] == 1
    produit_before = reprocessed["third"]["published"]["tickets_equipe_produit"]
    assert again["published"]["tickets_equipe_produit"] == produit_before - 1


def _candidate(folder: Path) -> Path:
    """Candidate rules for the preview: questions lose their rule and fall to the default team."""
    path = folder / "candidate.yaml"
    path.write_text(yaml.safe_dump(candidate_rules("candidate-1", default_team="support_general")))
    return path


def _published_state(zone: dict) -> tuple[dict[str, str], dict[tuple[str, int], int]]:
    """Checksums of every file of the artifacts root outside ``_previews``, and the end offsets of
    the topics the job writes."""
    root = Path(zone["output"])
    files = {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and PREVIEWS not in path.parts
    }
    return files, end_offsets(zone["bootstrap"], [*TEAM_TOPICS, zone["source"], f"{zone['source']}_dlq"])


def test_a_rules_preview_counts_the_moves_and_changes_nothing(
    zone: dict, reprocessed: dict, tmp_path
) -> None:
    """Item 1, through the command line: the hour as published under v2 (questions in produit),
    previewed with candidate rules that drop the question rule and add one that matches nothing."""
    before = _published_state(zone)
    command = [
        sys.executable,
        "-m",
        "ticket_etl.cli",
        "rules",
        "preview",
        "--rules",
        str(_candidate(tmp_path)),
    ]
    earlier = HOUR.hours_before(1)[0]  # never published: named as missing
    command += ["--from", earlier.as_dict()["start"], "--to", HOUR.as_dict()["end"], "--id", "pv-1"]
    result = subprocess.run(
        command, env={**os.environ, "STATS_DIR": zone["output"]}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]

    questions = sorted(_questions(zone))
    enriched = pd.read_parquet(artifacts.partition_path(zone["output"], "tickets_enriched", HOUR))
    report = json.loads((Path(preview_path(zone["output"], "pv-1")) / REPORT_NAME).read_text())
    assert (report["hours_read"], report["hours_missing"]) == (1, [earlier.as_dict()["start"]])
    assert (report["tickets"], report["moved"]) == (len(enriched), len(questions))
    assert report["moves"] == [
        {
            "old_team": "produit",
            "new_team": "support_general",
            "tickets": len(questions),
            "examples": questions[:3],
        }
    ]
    assert [(c["old_rule"], c["new_rule"], c["tickets"]) for c in report["rule_changes"]] == [
        ("question-to-general-support", "default-general-support", len(questions))
    ]
    assert report["never_matching"] == [NEVER_MATCHES]
    fallen = falling_to_default(enriched)  # the questions and the tickets no rule matched
    assert (report["default_team"]["tickets"], report["default_team"]["examples"]) == (
        len(fallen),
        fallen[:3],
    )
    assert report["by_hour"] == [
        {"hour": HOUR.as_dict()["start"], "tickets": len(enriched), "moved": len(questions)}
    ]
    assert f"**{len(questions)} ticket(s) would change team.**" in result.stdout
    assert _published_state(zone) == before

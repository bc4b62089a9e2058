"""A new problem planted in one hour, after two ordinary hours, through real runs of the DAG (scheduler,
spark-submit, Kafka): its terms lead the hour's surging terms, an alert reaches `ticket_alerts`, the
summary and the asset event, and the ordinary hours raise none."""

from __future__ import annotations

import pandas as pd
import pytest

from ticket_etl import artifacts
from ticket_etl.kafka_io import consume_all
from ticket_etl.topology import ALERTS_TOPIC

pytestmark = pytest.mark.integration

# What the wave's text ("certificat SSL expiré") gives: its terms and its phrases.
PLANTED = {"certificat", "ssl", "expiré", "certificat ssl", "ssl expiré"}


@pytest.fixture(scope="module")
def wave_summary(airflow_stack, wave_hours) -> dict:
    return artifacts.read_summary(airflow_stack.stats_dir, wave_hours.wave.interval)


def test_the_planted_terms_lead_the_hours_surging_terms(wave_summary: dict) -> None:
    assert wave_summary["baseline"]["hours"] >= 2
    surging = wave_summary["surging_terms"]
    assert {term["term"] for term in surging[:3]} <= PLANTED, surging
    for term in surging[:3]:
        assert term["tickets"] >= 20 and term["lift"] >= 4 and term["examples"], term


def test_the_example_tickets_mention_their_term(airflow_stack, wave_hours, wave_summary: dict) -> None:
    enriched = pd.read_parquet(
        artifacts.partition_path(airflow_stack.stats_dir, "tickets_enriched", wave_hours.wave.interval)
    ).set_index("ticket_id")
    for term in wave_summary["surging_terms"]:
        column = "keywords" if term["kind"] == "word" else "phrases"
        assert all(term["term"] in enriched.loc[ticket, column] for ticket in term["examples"]), term


def test_the_wave_raises_alerts_on_the_topic_and_in_the_asset_event(
    airflow_stack, wave_hours, wave_summary: dict, kafka_bootstrap: str
) -> None:
    alerts = wave_summary["alerts"]
    assert alerts and {alert["term"] for alert in alerts} <= PLANTED, alerts
    run_id = wave_hours.wave.run_id
    records = [
        m
        for m in consume_all(kafka_bootstrap, ALERTS_TOPIC)
        if dict(m.headers())["run_id"] == run_id.encode()
    ]
    token = wave_hours.wave.interval.token
    assert sorted(m.key().decode() for m in records) == sorted(
        f"{token}|{a['kind']}|{a['term']}" for a in alerts
    )
    events = airflow_stack.api.request(
        "GET", "/assets/events", params={"source_run_id": run_id, "source_dag_id": "ticket_pipeline"}
    )["asset_events"]
    insights = [event for event in events if event["name"] == "ticket_insights"]
    assert len(insights) == 1 and insights[0]["extra"]["alerts"] == alerts


def test_the_ordinary_hours_raise_no_alert(airflow_stack, wave_hours) -> None:
    for hour in wave_hours.ordinary:
        summary = artifacts.read_summary(airflow_stack.stats_dir, hour.interval)
        assert summary["alerts"] == [], (hour.interval, summary["alerts"])

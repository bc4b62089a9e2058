"""``python -m ticket_demo.cli``: usage errors exit 2 with a message; batch and stream runs produce."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from ticket_etl.kafka_io import consume_all


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticket_demo.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "required: {batch,stream}"),
        (("batch", "--start", "2026-11-28T05:00", "--end", "2026-11-28T04:00"), "must be after --start"),
        (("batch", "--start", "yesterday", "--end", "2026-11-28T04:00"), "invalid date-time 'yesterday'"),
        (("batch", "--start", "2026-11-28T04:00"), "the following arguments are required: --end"),
        (("batch", "--start", "2999-01-01T00:00", "--end", "2999-01-01T01:00"), "1 hour in the future"),
        (
            ("batch", "--start", "2026-11-28T04:00", "--end", "2026-11-28T05:00", "--count", "-3"),
            "must be >= 0",
        ),
        (
            ("batch", "--start", "2026-11-28T04:00", "--end", "2026-11-28T05:00", "--malformed-share", "1.5"),
            "between 0 and 1",
        ),
        (("stream", "--rate", "0"), "must be > 0"),
        (("stream", "--rate", "abc"), "not a number"),
        (("stream", "--rate", "5", "--duration", "1", "--count", "3"), "not allowed with argument"),
    ],
)
def test_bad_arguments_exit_2_with_usage(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "usage: python -m ticket_demo.cli" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


HOUR = ("--start", "2026-11-28T04:00", "--end", "2026-11-28T05:00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("batch", *HOUR, "--incident-wave", "paiement refusé"), "no ':' between the text and the share"),
        (("batch", *HOUR, "--incident-wave", "paiement refusé:1.5"), "the share must be in (0, 1], got 1.5"),
        (("batch", *HOUR, "--incident-wave", "paiement refusé:6%"), "the share '6%' is not a number"),
        (("stream", "--rate", "5", "--incident-wave", ":0.06"), "the text is empty"),
    ],
)
def test_bad_incident_wave_exits_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"python -m ticket_demo.cli {args[0]}: error: argument --incident-wave: ")
    assert message in error and "TEXT:SHARE" in error


@pytest.mark.integration
def test_batch_with_incident_wave_adds_its_tickets_to_a_generated_hour(
    kafka_bootstrap: str, unique_topic: str
) -> None:
    """The hour first without a wave, then with one: the wave's tickets (ids of their own) are sent,
    every one an incident quoting the text; the same wave again sends nothing."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    interval = ("--start", (end - timedelta(hours=1)).isoformat(), "--end", end.isoformat())
    common = ("--topic", unique_topic, "--bootstrap", kafka_bootstrap, "--seed", "4", "--count", "200")
    wave = ("--incident-wave", "paiement refusé par la banque:0.1", "--no-progress")
    plain = run_cli("batch", *interval, *common, "--no-progress")
    assert plain.returncode == 0, plain.stderr
    with_wave = run_cli("batch", *interval, *common, *wave)
    assert with_wave.returncode == 0, with_wave.stderr
    assert "generated=200 already_present=180 sent=20 malformed=0 failed=0 wave=20" in with_wave.stdout
    again = run_cli("batch", *interval, *common, *wave)
    assert "already_present=200 sent=0" in again.stdout and "wave=0" in again.stdout
    tickets = [json.loads(m.value()) for m in consume_all(kafka_bootstrap, unique_topic)]
    quoting = [t for t in tickets if "paiement refusé par la banque" in t["description"]]
    assert len(tickets) == 220 and len(quoting) == 20
    assert all(t["type"] == "incident" and "paiement refusé par la banque" in t["subject"] for t in quoting)


def test_bad_batch_size_setting_is_a_usage_error() -> None:
    result = run_cli(
        "batch", "--start", "2026-11-28T04:00", "--end", "2026-11-28T05:00", env={"BATCH_SIZE": "x"}
    )
    assert result.returncode == 2 and "BATCH_SIZE='x': expected a whole number" in result.stderr


@pytest.mark.integration
def test_batch_then_rerun(kafka_bootstrap: str, unique_topic: str) -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    interval = ("--start", (end - timedelta(hours=1)).isoformat(), "--end", end.isoformat())
    common = ("--topic", unique_topic, "--bootstrap", kafka_bootstrap, "--seed", "3", "--no-progress")
    first = run_cli("batch", *interval, *common, env={"BATCH_SIZE": "250"})
    assert first.returncode == 0, first.stderr
    assert "generated=250 already_present=0 sent=250" in first.stdout
    again = run_cli("batch", *interval, *common, "--count", "250")
    assert "generated=250 already_present=250 sent=0" in again.stdout
    assert len(list(consume_all(kafka_bootstrap, unique_topic))) == 250


@pytest.mark.integration
def test_stream_sends_count_tickets(kafka_bootstrap: str, unique_topic: str) -> None:
    result = run_cli(
        "stream",
        "--rate",
        "200",
        "--count",
        "60",
        "--seed",
        "1",
        "--topic",
        unique_topic,
        "--bootstrap",
        kafka_bootstrap,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    assert "sent=60" in result.stdout
    now_ms = datetime.now(UTC).timestamp() * 1000
    stamps = [m.timestamp()[1] for m in consume_all(kafka_bootstrap, unique_topic)]
    assert len(stamps) == 60 and all(now_ms - 60_000 < t <= now_ms for t in stamps)


def test_unreachable_broker_exits_1_without_traceback() -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    result = run_cli(
        "batch",
        "--start",
        (end - timedelta(hours=1)).isoformat(),
        "--end",
        end.isoformat(),
        "--count",
        "5",
        "--bootstrap",
        "127.0.0.1:1",
        "--no-progress",
        "--timeout",
        "3",
    )
    assert result.returncode == 1
    assert "error: cannot read topic" in result.stderr and "Traceback" not in result.stderr

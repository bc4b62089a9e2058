"""The local metadata database: which file it is, and write-ahead logging on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ticket_etl import airflow_db


def test_default_database_is_airflow_db_under_airflow_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)
    assert airflow_db.sqlite_path(tmp_path) == tmp_path / "airflow.db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////srv/airflow/meta.db", Path("/srv/airflow/meta.db")),
        ("sqlite:////srv/airflow/meta.db?timeout=30", Path("/srv/airflow/meta.db")),
        ("postgresql+psycopg2://airflow:airflow@postgres/airflow", None),
    ],
)
def test_configured_database(monkeypatch, tmp_path: Path, url: str, expected: Path | None) -> None:
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", url)
    assert airflow_db.sqlite_path(tmp_path) == expected


def test_write_ahead_log_persists_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "home" / "airflow.db"
    assert airflow_db.use_write_ahead_log(path) == "wal"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.commit()
    connection.close()
    reopened = sqlite3.connect(path)
    assert reopened.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    reopened.close()
    assert airflow_db.use_write_ahead_log(path) == "wal"  # again: a no-op

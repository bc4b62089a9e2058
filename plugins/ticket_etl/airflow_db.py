"""The local Airflow metadata database (SQLite): its connect arguments and its journal mode.

`airflow standalone` runs the scheduler, the API server, the DAG processor and the task processes
against one SQLite file, and a CLI command such as `airflow backfill create` competes with them.

- SQLite's default busy timeout (5 s) turns any wait for the write lock into "database is locked":
  wait up to a minute instead. Wired in by include/env.sh
  (AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS[_ASYNC]).
- In SQLite's default rollback-journal mode a commit waits until no connection is reading, and
  new readers wait for that commit: one slow reader stalls every API call and task, and a
  process reading on one connection while writing on another waits for itself until the timeout.
  Write-ahead logging lets readers and the one writer proceed together; it is a property of the
  database file, set by ``use_write_ahead_log`` before Airflow starts (airflow_service.start).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

SQLITE_BUSY_TIMEOUT_S = 60

CONNECT_ARGS = {"timeout": SQLITE_BUSY_TIMEOUT_S}
CONNECT_ARGS_ASYNC = {"timeout": SQLITE_BUSY_TIMEOUT_S}

SQLITE_PREFIX = "sqlite:///"


def sqlite_path(airflow_home: Path) -> Path | None:
    """The metadata database file, or None when it is not SQLite (e.g. PostgreSQL).

    Airflow's own rule: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, else ``$AIRFLOW_HOME/airflow.db``.
    """
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"{SQLITE_PREFIX}{airflow_home}/airflow.db")
    if not url.startswith(SQLITE_PREFIX):
        return None
    return Path(url.removeprefix(SQLITE_PREFIX).split("?", 1)[0])


def use_write_ahead_log(path: Path) -> str:
    """Put the SQLite database ``path`` (created if missing) in WAL mode; returns the mode now in
    force. It persists in the file, so every later connection uses it; a no-op when already set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        (mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
    finally:
        connection.close()
    return str(mode)

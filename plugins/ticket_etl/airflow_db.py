"""SQLAlchemy connect arguments of the local Airflow metadata database (SQLite).

`airflow standalone` runs the scheduler, the API server and the DAG processor against one SQLite
file; a CLI command such as `airflow backfill create` then competes for its write lock. SQLite's
default busy timeout (5 s) turns that into "database is locked" errors; wait up to a minute instead.
Wired in by include/env.sh (AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS[_ASYNC]).
"""

SQLITE_BUSY_TIMEOUT_S = 60

CONNECT_ARGS = {"timeout": SQLITE_BUSY_TIMEOUT_S}
CONNECT_ARGS_ASYNC = {"timeout": SQLITE_BUSY_TIMEOUT_S}

# Environment of the local stack. Sourced by the Makefile; source it yourself to
# use the `airflow` CLI or spark-submit by hand:   source include/env.sh
# Every variable keeps a value you exported before sourcing.

TICKETS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export TICKETS_ROOT
export PATH="$TICKETS_ROOT/.venv/bin:$PATH"

# Pipeline and stack settings (defaults from include/defaults.env) and the Airflow connections.
source "$TICKETS_ROOT/include/settings.sh"

# Airflow: home inside the project, DAGs and plugins from the repository.
export AIRFLOW_HOME="${AIRFLOW_HOME:-$TICKETS_ROOT/.platform/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$TICKETS_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$TICKETS_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
# Task processes reach the Execution API through the base URL: it must follow the port.
export AIRFLOW__API__BASE_URL="http://localhost:$AIRFLOW__API__PORT"
# Metadata database: PostgreSQL on loopback, run by make (include/ticket_devstack/postgres_service.py).
# Its password is in a file only the owner can read, made by postgres_service: both of Airflow's
# drivers (psycopg2 through libpq, and asyncpg) read it through PGPASSFILE, so the URL has none.
if [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow@127.0.0.1:$AIRFLOW_DB_PORT/airflow"
    export PGPASSFILE="$AIRFLOW_HOME/postgres.pgpass"
fi
# The secret that signs Airflow's tokens: made once per Airflow home, outside the repository (the
# folder also names the home it serves), mode 0600. Airflow runs the command to read it, so the
# secret itself is in no environment variable. It follows AIRFLOW_HOME (the test stack has its own).
_tickets_secrets="${XDG_CONFIG_HOME:-$HOME/.config}/ticket-etl/$(printf '%s' "$AIRFLOW_HOME" | sha256sum | cut -c1-16)"
export AIRFLOW_JWT_SECRET_FILE="$_tickets_secrets/jwt_secret"
if [ ! -s "$AIRFLOW_JWT_SECRET_FILE" ]; then
    (umask 077 && mkdir -p "$_tickets_secrets" && printf '%s\n' "$AIRFLOW_HOME" > "$_tickets_secrets/airflow_home" \
        && head -c 48 /dev/urandom | base64 -w0 > "$AIRFLOW_JWT_SECRET_FILE")
fi
export AIRFLOW__API_AUTH__JWT_SECRET_CMD="cat '$AIRFLOW_JWT_SECRET_FILE'"
unset _tickets_secrets
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"

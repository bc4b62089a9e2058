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
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-postgresql+psycopg2://airflow@127.0.0.1:$AIRFLOW_DB_PORT/airflow}"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"

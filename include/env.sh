# Environment of the local stack. Sourced by the Makefile; source it yourself to
# use the `airflow` CLI or spark-submit by hand:   source include/env.sh
# Every variable keeps a value you exported before sourcing.

TICKETS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export TICKETS_ROOT
export PATH="$TICKETS_ROOT/.venv/bin:$PATH"
export PYTHONPATH="$TICKETS_ROOT/plugins:$TICKETS_ROOT${PYTHONPATH:+:$PYTHONPATH}"

# Pipeline settings (see README, Configuration)
export KAFKA_BROKER="${KAFKA_BROKER:-localhost:19092}"
export TOPIC_NAME="${TOPIC_NAME:-client_tickets}"
export SPARK_MASTER="${SPARK_MASTER:-local[*]}"
export SPARK_DRIVER_MEMORY="${SPARK_DRIVER_MEMORY:-2g}"
export LOG_LEVEL="${LOG_LEVEL:-INFO}"
export BATCH_SIZE="${BATCH_SIZE:-1000}"
export STATS_DIR="${STATS_DIR:-$TICKETS_ROOT/stats}"

# Airflow: home inside the project, DAGs and plugins from the repository.
export AIRFLOW_HOME="${AIRFLOW_HOME:-$TICKETS_ROOT/.platform/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$TICKETS_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$TICKETS_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
# Task processes reach the Execution API through the base URL: it must follow the port.
export AIRFLOW__API__BASE_URL="http://localhost:$AIRFLOW__API__PORT"
export AIRFLOW__LOGGING__LOGGING_LEVEL="${LOG_LEVEL}"
# Metadata database: PostgreSQL on loopback, run by make (plugins/ticket_etl/platform/postgres_service.py).
export AIRFLOW_DB_PORT="${AIRFLOW_DB_PORT:-15432}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-postgresql+psycopg2://airflow@127.0.0.1:$AIRFLOW_DB_PORT/airflow}"
# Connections from the environment, JSON form (the URI form of spark://local[*] does not parse).
export AIRFLOW_CONN_KAFKA_DEFAULT="{\"conn_type\": \"kafka\", \"extra\": {\"bootstrap.servers\": \"$KAFKA_BROKER\"}}"
export AIRFLOW_CONN_SPARK_DEFAULT="{\"conn_type\": \"spark\", \"host\": \"$SPARK_MASTER\"}"
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"

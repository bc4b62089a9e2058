# The pipeline's settings for a shell (bash): every one not already set takes its default from
# include/defaults.env, the one place defaults are written; then the Airflow connections follow
# the settings. Sourced by include/env.sh (local stack) and include/docker/entrypoint.sh (image).

_tickets_include="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_tickets_broker_set="${KAFKA_BROKER:-}"
while IFS='=' read -r name value; do
    case "$name" in '' | '#'*) continue ;; esac
    [ -n "${!name:-}" ] || export "$name=$value"
done < "$_tickets_include/defaults.env"
# KAFKA_BROKER names every broker. Left unset with KAFKA_BROKERS=3, it is the default's host and
# port, then the ports two and four above it (each broker's controller takes its port + 1).
if [ -z "$_tickets_broker_set" ] && [ "$KAFKA_BROKERS" = 3 ]; then
    _tickets_host="${KAFKA_BROKER%:*}" _tickets_port="${KAFKA_BROKER##*:}"
    export KAFKA_BROKER="$_tickets_host:$_tickets_port,$_tickets_host:$((_tickets_port + 2)),$_tickets_host:$((_tickets_port + 4))"
fi
unset _tickets_include _tickets_broker_set _tickets_host _tickets_port name value

# Connections from the environment, JSON form (the URI form of spark://local[*] does not parse).
export AIRFLOW_CONN_KAFKA_DEFAULT="{\"conn_type\": \"kafka\", \"extra\": {\"bootstrap.servers\": \"$KAFKA_BROKER\"}}"
export AIRFLOW_CONN_SPARK_DEFAULT="{\"conn_type\": \"spark\", \"host\": \"$SPARK_MASTER\"}"
export AIRFLOW__LOGGING__LOGGING_LEVEL="$LOG_LEVEL"

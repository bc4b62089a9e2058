#!/usr/bin/env bash
# Entry point of the Spark services of docker-compose.yml (profile spark): a standalone master or
# worker, whose class and arguments are the command, run with spark-class from the Spark inside the
# image's pyspark wheel: the same Spark, Python and Java as the driver in airflow-scheduler. The
# settings take their defaults from include/defaults.env (as for the local stack); a worker reads
# SPARK_WORKER_CORES and SPARK_WORKER_MEMORY itself.
set -euo pipefail
source /opt/tickets/include/settings.sh
SPARK_HOME="$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME
exec "$SPARK_HOME/bin/spark-class" "$@"

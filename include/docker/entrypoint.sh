#!/usr/bin/env bash
# Entry point of the Airflow image: the pipeline's settings take their defaults from
# include/defaults.env and the Airflow connections follow them (include/settings.sh, as for the
# local stack), then the image's own entry point runs the command.
set -euo pipefail
source /opt/tickets/include/settings.sh
exec /entrypoint "$@"

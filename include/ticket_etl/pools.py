"""The Airflow pool of the ``analyze`` task, defined once for the DAG and the stacks that create it.

One slot: one analysis at a time whatever the run type (a backfill's runs are limited by the
backfill's own ``max_active_runs``, not the DAG's). The local stack (``ticket_devstack``) and
docker-compose's ``airflow-init`` create it; a task whose pool does not exist waits
(docs/local-stack.md).
"""

ANALYSIS_POOL = "ticket_analysis"
ANALYSIS_POOL_SLOTS = 1
ANALYSIS_POOL_DESCRIPTION = "ticket_pipeline's analyze task: one analysis at a time, whatever the run type"

"""
# ticket_rules_preview

Try a routing rules change before applying it: the candidate rules are applied to the tickets
the pipeline **published** for a range of hours (the newest version of each ticket), with Spark.
Nothing is sent to Kafka and no published artifact changes.

| param | meaning |
|---|---|
| `rules` | a rules file under `include/` (e.g. `routing_rules.yaml`), or the YAML itself, pasted |
| `start`, `end` | the range of hours (UTC, on the hour, at most a week); empty: the 24 hours before the last full hour |

| task | does |
|---|---|
| `check_candidate` | validates the rules and the range (a bad rules file fails at once, naming the rule and the problem) |
| `preview` | `spark-submit spark_jobs/preview_rules.py`: tickets per old team -> new team and old rule -> new rule, per hour and in total, example ids, rules that route no ticket, tickets falling to the default team. The report is in this task's log (Markdown) and on the *Rules previews* page (*Browse*) |

Then apply the change: edit `include/routing_rules.yaml` (with a new `version`) and backfill the
hours with `--reprocess-behavior completed`; each moved ticket is announced to its old team's topic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Param, dag, task

from ticket_airflow import preview_tasks, tasks
from ticket_airflow.operators import PreviewJobOperator
from ticket_etl import config


@dag(
    dag_id="ticket_rules_preview",
    schedule=None,  # on request, from the UI or the API
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=2,
    dagrun_timeout=timedelta(hours=1),
    tags=["tickets", "spark", "rules"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": timedelta(seconds=config.task_retry_delay_seconds()),
        "execution_timeout": timedelta(minutes=45),
    },
    params={
        "rules": Param(
            "routing_rules.yaml",
            type="string",
            minLength=1,
            description="A rules file under include/, or the candidate rules' YAML pasted here.",
        ),
        "start": Param(None, type=["null", "string"], description="First hour, e.g. 2026-12-04T00:00:00Z."),
        "end": Param(None, type=["null", "string"], description="End of the range (exclusive), on the hour."),
    },
)
def ticket_rules_preview() -> None:
    @task
    @tasks.data_error_fails
    def check_candidate(params: dict) -> dict:
        """Validate the candidate rules and the range, before Spark starts."""
        return preview_tasks.check_candidate(params["rules"], params.get("start"), params.get("end"))

    PreviewJobOperator(task_id="preview", checked=check_candidate())


ticket_rules_preview()

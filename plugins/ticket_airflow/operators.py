"""The Spark tasks' operators: ``SparkSubmitOperator`` that builds the submission of a job
(:func:`ticket_etl.spark_submit.submission`) from what upstream tasks returned, and returns the
job's report: the analysis (``analyze``) and the rules preview (``preview``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException

from ticket_airflow import tasks
from ticket_etl.job_contract import ExitCode, RunReport, read_report


class AnalyzeJobOperator(SparkSubmitOperator):
    """Runs the analysis job on ``interval`` with the ``rules`` snapshot ``check_rules`` returned
    (both XComs). A data error fails the task at once with the job's own message; other failures
    are retried; on success the task returns the job's run report."""

    template_fields = (*SparkSubmitOperator.template_fields, "interval", "rules")

    def __init__(self, *, interval: Any, rules: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interval = interval
        self.rules = rules

    @tasks.data_error_fails
    def execute(self, context: Any) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="analyze-") as folder:
            report_path = Path(folder) / "report.json"
            args = tasks.job_arguments(
                self.interval, self.rules, context["run_id"], context["params"], report_path
            )
            self._submit(args.argv())
            try:
                super().execute(context)
            except AirflowException as error:
                raise outcome_error(read_report(report_path), error) from None
            report = read_report(report_path)
        if report is None or report.exit_code != ExitCode.OK:
            raise AirflowException(f"the job succeeded but wrote no run report ({report})")
        return report.as_dict()

    def _submit(self, job_args: list[str]) -> None:
        """Take the fields of the job's submission (:func:`ticket_etl.spark_submit.submission`)."""
        from ticket_etl.spark_submit import submission

        for name, value in submission(job_args).operator_fields().items():
            setattr(self, name, value)


def outcome_error(report: RunReport | None, error: AirflowException) -> Exception:
    """Why the job failed, in its own words: a :class:`tasks.DataError` (not retried) or an
    ``AirflowException`` (retried); the provider's error when the job wrote no report (killed)."""
    if report is None or report.error is None:
        return error
    if report.exit_code == ExitCode.DATA_ERROR:
        return tasks.DataError(report.error)
    return AirflowException(f"the job failed (exit code {int(report.exit_code)}): {report.error}")


class PreviewJobOperator(SparkSubmitOperator):
    """Runs the rules preview job (``spark_jobs/preview_rules.py``) on what ``check_candidate``
    returned (an XCom), logs its Markdown report and returns the report."""

    template_fields = (*SparkSubmitOperator.template_fields, "checked")

    def __init__(self, *, checked: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checked = checked

    def execute(self, context: Any) -> dict[str, Any]:
        from ticket_airflow.preview_tasks import preview_arguments
        from ticket_etl import config
        from ticket_etl.rules_preview import REPORT_NAME, markdown, read_report
        from ticket_etl.spark_submit import submission

        args = preview_arguments(self.checked, context["run_id"])
        for name, value in (
            submission(args.argv(), application=config.PREVIEW_JOB_PATH).operator_fields().items()
        ):
            setattr(self, name, value)
        super().execute(context)
        report = read_report(args.output)
        if report is None:
            raise AirflowException(f"the preview job succeeded but wrote no {REPORT_NAME} in {args.output}")
        self.log.info("%s", markdown(report))
        return report

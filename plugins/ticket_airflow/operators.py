"""The ``analyze`` task's operator: ``SparkSubmitOperator`` that knows the job's exit codes and
returns the job's digest of the run (its last output line) as the task's XCom."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

# spark_jobs/analyze_tickets.py: exit 2 is a data error (retrying cannot help); its one-line
# message starts with ERROR_PREFIX. Other failures (1, 3 source unreadable, 4 hour busy, a kill)
# are retried.
DATA_ERROR_EXIT_CODE = 2
ERROR_PREFIX = "analyze_tickets: error: "
KEPT_LINES = 400


class AnalyzeJobOperator(SparkSubmitOperator):
    """Runs the analysis job; a data error fails the task at once with the job's own message,
    without retry; on success the task returns the job's digest of the run.

    ``rules_text``: the rules the run checked, kept by content where the job's ``--rules`` points
    (so the task finds them on whichever worker it runs), with the job's modules for
    ``--py-files``."""

    template_fields = (*SparkSubmitOperator.template_fields, "rules_text")

    def __init__(self, *, rules_text: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules_text = rules_text
        self._output: deque[str] = deque(maxlen=KEPT_LINES)

    def _get_hook(self) -> SparkSubmitHook:
        hook = super()._get_hook()
        process_log = hook._process_spark_submit_log

        def keep_lines(lines: Iterator[str]) -> None:
            process_log(self._kept(lines))

        hook._process_spark_submit_log = keep_lines  # type: ignore[method-assign]
        return hook

    def _kept(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            self._output.append(line.strip())
            yield line

    def execute(self, context: Any) -> dict[str, Any]:
        from ticket_etl.rules import write_snapshot
        from ticket_etl.spark_submit import build_py_files

        write_snapshot(self.rules_text)
        build_py_files()
        try:
            super().execute(context)
        except AirflowException as error:
            raise self._explained(error) from None
        return self._digest()

    def _explained(self, error: AirflowException) -> AirflowException:
        """The job's own message, and no retry when it is a data error."""
        message = next((line for line in reversed(self._output) if ERROR_PREFIX in line), None)
        process = getattr(self._hook, "_submit_sp", None)
        exit_code = process.returncode if process is not None else None
        if message is None:
            return error
        message = message[message.index(ERROR_PREFIX) + len(ERROR_PREFIX) :]
        if exit_code == DATA_ERROR_EXIT_CODE:
            return AirflowFailException(f"data error (not retried): {message}")
        return AirflowException(f"the job failed (exit code {exit_code}): {message}")

    def _digest(self) -> dict[str, Any]:
        from ticket_etl.job_args import read_digest

        digest = read_digest(self._output)
        if digest is not None:
            return digest
        raise AirflowException("the job succeeded but printed no digest of its run")

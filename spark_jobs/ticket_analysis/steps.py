"""The steps of a run: how long each took and the Spark work it ran (issue 25), logged as
``step <name>: <s>s (<j> jobs, <s> stages, <t> tasks, <r>s in jobs)`` (``LOG_LEVEL=INFO``: the task
log; the Spark benchmark reads these lines). The work is read from Spark's status tracker and
status store, each step's jobs being tagged with a job group of their own: stages and tasks that
ran (a stage skipped because its shuffle output was reused counts none), and the time from the
submission of its jobs to their completion (overlaps counted once); the rest of the step is the
driver's: planning, code generation, Python, files written through Hadoop. A streaming query tags
its jobs with its own group (its run id): the step that runs it names that group with
:func:`also_count`."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from py4j.protocol import Py4JJavaError
from pyspark import SparkContext

log = logging.getLogger("analyze_tickets")

GROUP_PROPERTY = "spark.jobGroup.id"
_numbers = itertools.count(1)
_running: list[list[str]] = []  # the job groups of each step running, the innermost last


@dataclass(frozen=True)
class SparkWork:
    """What Spark ran for one step."""

    jobs: int
    stages: int
    tasks: int
    in_jobs_s: float = 0.0

    def __str__(self) -> str:
        return f"{self.jobs} jobs, {self.stages} stages, {self.tasks} tasks, {self.in_jobs_s:.1f}s in jobs"


def also_count(group: str) -> None:
    """Count the jobs of ``group`` (a streaming query's run id) in the step running now."""
    if _running:
        _running[-1].append(group)


def work_of_groups(context: SparkContext, groups: list[str]) -> SparkWork:
    """The jobs of the job groups ``groups``, and the stages and tasks they ran."""
    tracker = context.statusTracker()
    job_ids = [job for group in groups for job in tracker.getJobIdsForGroup(group)]
    stage_ids = {stage for job in job_ids if (info := tracker.getJobInfo(job)) for stage in info.stageIds}
    ran = [info for stage in stage_ids if (info := tracker.getStageInfo(stage)) and info.numCompletedTasks]
    return SparkWork(
        len(job_ids),
        len(ran),
        sum(info.numCompletedTasks + info.numFailedTasks for info in ran),
        covered_s([span for job in job_ids if (span := _job_span(context, job))]),
    )


def _job_span(context: SparkContext, job_id: int) -> tuple[float, float] | None:
    """When job ``job_id`` was submitted and completed (epoch seconds), from the status store;
    None while it runs or once the store has dropped it."""
    try:
        data = context._jsc.sc().statusStore().job(job_id)  # type: ignore[union-attr]
    except Py4JJavaError:  # NoSuchElementException: a job the store no longer keeps
        return None
    submitted, completed = data.submissionTime(), data.completionTime()
    if not (submitted.isDefined() and completed.isDefined()):
        return None
    return submitted.get().getTime() / 1000, completed.get().getTime() / 1000


def covered_s(spans: list[tuple[float, float]]) -> float:
    """The time the ``(start, end)`` spans cover, overlaps counted once."""
    covered, reached = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reached:
            covered += end - max(start, reached)
            reached = end
    return covered


@contextmanager
def step(name: str) -> Iterator[None]:
    """Time the block and tag the Spark jobs it starts (threads it starts inherit the tag), then
    log both; the job group that was set before is restored."""
    context = SparkContext._active_spark_context  # the driver's one context, whichever thread
    started = time.monotonic()
    if context is None:
        yield
        log.info("step %s: %.1fs", name, time.monotonic() - started)
        return
    previous = context.getLocalProperty(GROUP_PROPERTY)
    groups = [f"step {next(_numbers)}: {name}"]
    context.setJobGroup(groups[0], name)
    _running.append(groups)
    try:
        yield
    finally:
        _running.pop()
        context.setLocalProperty(GROUP_PROPERTY, previous)  # type: ignore[arg-type]  # None unsets it
    log.info("step %s: %.1fs (%s)", name, time.monotonic() - started, work_of_groups(context, groups))

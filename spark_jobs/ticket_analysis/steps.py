"""The steps of a run: how long each took and the Spark work it ran (issue 25), logged as
``step <name>: <s>s (<j> jobs, <s> stages, <t> tasks)`` (``LOG_LEVEL=INFO``: the task log; the
Spark benchmark reads these lines). The work is read from Spark's status tracker, each step's jobs
being tagged with a job group of their own: stages and tasks that ran (a stage skipped because its
shuffle output was reused counts none)."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark import SparkContext

log = logging.getLogger("analyze_tickets")

GROUP_PROPERTY = "spark.jobGroup.id"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class SparkWork:
    """What Spark ran for one step."""

    jobs: int
    stages: int
    tasks: int

    def __str__(self) -> str:
        return f"{self.jobs} jobs, {self.stages} stages, {self.tasks} tasks"


def work_of_group(context: SparkContext, group: str) -> SparkWork:
    """The jobs of job group ``group``, and the stages and tasks they ran."""
    tracker = context.statusTracker()
    job_ids = tracker.getJobIdsForGroup(group)
    stage_ids = {stage for job in job_ids if (info := tracker.getJobInfo(job)) for stage in info.stageIds}
    ran = [info for stage in stage_ids if (info := tracker.getStageInfo(stage)) and info.numCompletedTasks]
    return SparkWork(
        len(job_ids), len(ran), sum(info.numCompletedTasks + info.numFailedTasks for info in ran)
    )


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
    group = f"step {next(_numbers)}: {name}"
    context.setJobGroup(group, name)
    try:
        yield
    finally:
        context.setLocalProperty(GROUP_PROPERTY, previous)  # type: ignore[arg-type]  # None unsets it
    log.info("step %s: %.1fs (%s)", name, time.monotonic() - started, work_of_group(context, group))

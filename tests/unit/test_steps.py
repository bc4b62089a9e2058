"""Each step of a run logs its time and the Spark work it ran, read from the status tracker."""

from __future__ import annotations

import logging

from ticket_analysis.steps import GROUP_PROPERTY, also_count, covered_s, step


def test_a_step_logs_the_jobs_stages_and_tasks_it_ran(spark, caplog) -> None:
    frame = spark.range(0, 1000, numPartitions=4)
    spark.sparkContext.setJobGroup("outer", "outer")
    with caplog.at_level(logging.INFO, logger="analyze_tickets"):
        with step("count"):
            assert frame.count() == 1000
        with step("nothing"):
            pass
        with step("two actions"):
            frame.groupBy((frame.id % 3).alias("k")).count().collect()
            frame.collect()
    lines = [record.getMessage() for record in caplog.records]
    assert lines[1] == "step nothing: 0.0s (0 jobs, 0 stages, 0 tasks, 0.0s in jobs)"
    count = lines[0].split("(")[1]
    assert count.startswith("1 jobs, 2 stages,") or count.startswith("1 jobs, 1 stages,"), lines[0]
    took = float(lines[2].split(": ")[1].split("s (")[0])
    jobs, stages, tasks, in_jobs = (
        part.split()[0] for part in lines[2].split("(")[1].rstrip(")").split(", ")
    )
    assert int(jobs) >= 2 and int(stages) >= 2 and int(tasks) >= 5, lines[2]
    assert 0 < float(in_jobs.rstrip("s")) <= took + 0.1, lines[2]  # the jobs ran within the step
    assert spark.sparkContext.getLocalProperty(GROUP_PROPERTY) == "outer"  # restored


def test_a_streaming_query_counts_in_the_step_that_runs_it(spark, caplog, tmp_path) -> None:
    """A streaming query tags its jobs with its run id, not the step's group: the step that runs
    it names that group (as the landing does)."""
    spark.range(0, 100, numPartitions=2).write.parquet(str(tmp_path / "in"))
    source = spark.readStream.schema("id long").parquet(str(tmp_path / "in"))
    with caplog.at_level(logging.INFO, logger="analyze_tickets"), step("stream"):
        query = (
            source.writeStream.foreachBatch(lambda batch, _: batch.count())
            .option("checkpointLocation", str(tmp_path / "checkpoint"))
            .trigger(availableNow=True)
            .start()
        )
        also_count(str(query.runId))
        query.awaitTermination()
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("step stream"))
    assert int(line.split("(")[1].split()[0]) >= 1, line  # the query's jobs


def test_the_time_in_jobs_counts_overlapping_jobs_once() -> None:
    assert covered_s([]) == 0.0
    assert covered_s([(10.0, 12.0), (11.0, 13.0), (20.0, 20.5)]) == 3.5  # 10-13 and 20-20.5
    assert covered_s([(5.0, 9.0), (6.0, 7.0)]) == 4.0  # one within the other

"""A session-scoped local SparkSession for the unit tests of the transformations (no service)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after
# logging has shut down, which prints a "Logging error" trace below the test summary.
logging.getLogger("py4j").setLevel(logging.WARNING)
FULL_JIT = "-XX:TieredStopAtLevel=4"  # the JVM's default: C1, then C2 for hot code


@pytest.fixture(scope="session")
def spark() -> Iterator:
    from pyspark.sql import SparkSession

    from ticket_etl.spark_submit import driver_java_options

    session = (
        SparkSession.builder.master("local[2]")
        # The job's driver options: its JVM flags and, once setup made it, the class-data archive
        # (a faster JVM start). Full JIT whatever the suite's SPARK_DRIVER_JAVA_OPTIONS: this one
        # session runs every unit test's queries, and C2's code pays for itself over them.
        .config("spark.driver.extraJavaOptions", driver_java_options(extra=(FULL_JIT,)))
        .appName("ticket-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()

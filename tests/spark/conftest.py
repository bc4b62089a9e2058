"""A session-scoped local SparkSession for the unit tests of the transformations."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

from ticket_etl.config import SPARK_JOBS_DIR

if str(SPARK_JOBS_DIR) not in sys.path:
    sys.path.insert(0, str(SPARK_JOBS_DIR))


# py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after
# logging has shut down, which prints a "Logging error" trace below the test summary.
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def spark() -> Iterator:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("ticket-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()

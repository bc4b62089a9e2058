"""pyspark's Python code, its jars and the Kafka connector jars are one Spark version."""

from __future__ import annotations

import re
from pathlib import Path

import pyspark

from ticket_etl.spark_submit import spark_kafka_jars


def _version_of(jar_prefix: str, jars: list[Path]) -> str:
    for jar in jars:
        match = re.fullmatch(rf"{re.escape(jar_prefix)}-(\d+\.\d+\.\d+)\.jar", jar.name)
        if match:
            return match.group(1)
    raise AssertionError(f"no {jar_prefix} jar among {[j.name for j in jars]}")


def test_pyspark_matches_its_own_jars() -> None:
    jars = list((Path(pyspark.__file__).parent / "jars").glob("*.jar"))
    assert pyspark.__version__ == _version_of("spark-core_2.13", jars)


def test_connector_matches_pyspark() -> None:
    assert pyspark.__version__ == _version_of("spark-sql-kafka-0-10_2.13", spark_kafka_jars())
